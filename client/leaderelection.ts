// Leader election, as client-go's tools/leaderelection with a LeaseLock:
// several copies of a component (the scheduler, the controller manager) run
// side by side and exactly one of them acts.
//
// A candidate acquires the lock when nobody holds it or the holder's record
// has expired, renews it every retry period while it leads, and gives the
// leadership up when it cannot renew within the renew deadline. Expiry is
// measured on the candidate's own clock from when it last saw the record
// change (client-go's observedTime), never from the renewTime written in it,
// so clock skew between servers does not matter. A lock that can observe
// (a watch on the Lease) reports each renewal as it is written, so that
// moment is the renewal itself rather than the candidate's next poll, and a
// candidate tries again exactly when the holder's lease runs out instead of
// at its next retry tick: a dead leader is replaced leaseDuration after its
// last renewal, not up to two retry periods later. Writes are guarded by the
// record's resourceVersion (ResourceLock.update), so two candidates cannot
// both win. Unlike Kubernetes' components, which exit when they lose the
// lease, tsk's run inside `tsk server`: the elector stops the leader's work
// (onStoppedLeading, awaited) and becomes a candidate again.
//
// Safety: the leader stops acting before anyone else may take over. It
// declares the lease lost at most retryPeriod + renewDeadline after its last
// successful renew (12 s by default), and another candidate waits
// leaseDuration (15 s) after it saw that renew; the callback's AbortSignal
// fires at that moment, so the component stops starting work then and has
// the rest of the margin to finish what is in flight.

import type { Registry } from 'prom-client';
import { Gauge } from 'prom-client';
import { realClock, type Clock, type TimerHandle } from './clock';
import { recordText, type LeaderElectionRecord, type ResourceLock, type SeenRecord } from './leaselock';
import { errorMessage } from '../util/errors';
import { jitteredMs } from '../util/backoff';

/** client-go's JitterFactor of the acquire loop's retry period. */
export const JITTER_FACTOR = 1.2;

export interface LeaderElectionTimings {
  /** How long a non-leader waits after it saw the record change before it may take over (--leader-elect-lease-duration). */
  readonly leaseDurationMs: number;
  /** How long the leader keeps retrying a failing renewal before it gives up (--leader-elect-renew-deadline). */
  readonly renewDeadlineMs: number;
  /** Between attempts to acquire or renew (--leader-elect-retry-period). */
  readonly retryPeriodMs: number;
}

/** Kubernetes' defaults: 15 s, 10 s, 2 s. */
export const DEFAULT_LEADER_ELECTION_TIMINGS: LeaderElectionTimings = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

/** client-go's NewLeaderElector checks; the message of the first broken rule, or undefined. */
export function timingsError(t: LeaderElectionTimings): string | undefined {
  if (t.leaseDurationMs <= t.renewDeadlineMs) return 'leaseDuration must be greater than renewDeadline';
  if (t.renewDeadlineMs <= JITTER_FACTOR * t.retryPeriodMs) return `renewDeadline must be greater than retryPeriod*JitterFactor`;
  if (t.leaseDurationMs < 1000) return 'leaseDuration must be at least one second';
  if (t.renewDeadlineMs < 1) return 'renewDeadline must be greater than zero';
  if (t.retryPeriodMs < 1) return 'retryPeriod must be greater than zero';
  return undefined;
}

export interface LeaderCallbacks {
  /**
   * This candidate leads from now on. `signal` aborts the moment it stops
   * leading (lost renewal, or stop()): start no new work after that.
   */
  onStartedLeading(signal: AbortSignal): void;
  /** Called after the signal aborted; awaited (stop the workers here) before the lock is released or sought again. */
  onStoppedLeading(): Promise<void> | void;
  /** The holder changed (another candidate, or this one); "" when the lock was released. */
  onNewLeader?(identity: string): void;
}

/** client-go's leader_election_master_status gauge: 1 while this process leads `name`, else 0. */
export class LeaderElectionMetrics {
  private readonly status: Gauge<'name'>;

  constructor(registry: Registry) {
    const existing = registry.getSingleMetric('leader_election_master_status');
    this.status =
      (existing as Gauge<'name'> | undefined) ??
      new Gauge({
        name: 'leader_election_master_status',
        help: "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. 'name' is the string used to identify the lease. Please make sure to group by name.",
        labelNames: ['name'],
        registers: [registry],
      });
  }

  set(name: string, leading: boolean): void {
    this.status.set({ name }, leading ? 1 : 0);
  }
}

export interface LeaderElectorOptions extends LeaderElectionTimings {
  readonly lock: ResourceLock;
  /** The lease's name, for the metric label and the logs ("kube-scheduler"). */
  readonly name: string;
  readonly callbacks: LeaderCallbacks;
  /** Release the lock on stop() so a successor takes over at once (client-go's ReleaseOnCancel); default true. */
  readonly releaseOnCancel?: boolean;
  readonly clock?: Clock;
  /** For the acquire loop's jitter; default Math.random. */
  readonly random?: () => number;
  readonly metrics?: LeaderElectionMetrics;
  readonly log?: (line: string) => void;
}

export type ElectorState = 'new' | 'candidate' | 'leading' | 'stopping' | 'stopped';

export class LeaderElector {
  private readonly clock: Clock;
  private readonly log: (line: string) => void;
  private currentState: ElectorState = 'new';
  /** The record last seen or written, and when (on our clock) it was last seen to change. */
  private observed: LeaderElectionRecord | undefined;
  private observedRaw = '';
  private observedTime = 0;
  /** The store revision of the observed record (0: unknown), so a late sighting of an older version is ignored. */
  private observedRevision = 0;
  /** Ends the candidate's wait early (the holder released the lock). */
  private wakeCandidate: (() => void) | undefined;
  private unobserve: (() => Promise<void>) | undefined;
  private reportedLeader: string | undefined;
  /** Bumped per attempt: a late reply of an abandoned attempt must not change what we observed. */
  private attempt = 0;
  private readonly stopper = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(private readonly opts: LeaderElectorOptions) {
    const err = timingsError(opts);
    if (err) throw new RangeError(err);
    this.clock = opts.clock ?? realClock;
    this.log = opts.log ?? ((line) => console.log(`leaderelection: ${line}`));
    opts.metrics?.set(opts.name, false);
  }

  get state(): ElectorState {
    return this.currentState;
  }

  /** Whether this candidate acts as the leader now. */
  isLeader(): boolean {
    return this.currentState === 'leading';
  }

  /** The holder of the record as last observed ("" when free or unknown). */
  getLeader(): string {
    return this.observed?.holderIdentity ?? '';
  }

  /** Starts campaigning in the background. Calling it twice is an invariant error. */
  run(): void {
    if (this.currentState !== 'new') throw new Error(`invariant: leader elector ${this.opts.name} run in state ${this.currentState}`);
    this.currentState = 'candidate';
    this.unobserve = this.opts.lock.observe?.((seen) => this.onSeen(seen));
    this.loop = this.campaign().catch((err: unknown) => this.log(`invariant: leader election of ${this.opts.name} ended: ${errorMessage(err)}`));
  }

  /**
   * Stops campaigning; a leader stops its work (onStoppedLeading) and then
   * releases the lock. Idempotent; resolves when all of that is done.
   */
  async stop(): Promise<void> {
    if (this.currentState === 'new') this.currentState = 'stopped';
    this.stopper.abort();
    await this.loop;
    await this.unobserve?.();
  }

  private get stopped(): boolean {
    return this.stopper.signal.aborted;
  }

  private async campaign(): Promise<void> {
    const { lock, name, callbacks } = this.opts;
    this.log(`attempting to acquire leader lease ${lock.describe()}...`);
    while (await this.acquire()) {
      this.currentState = 'leading';
      this.log(`successfully acquired lease ${lock.describe()}`);
      lock.recordEvent('became leader');
      this.opts.metrics?.set(name, true);
      const term = new AbortController();
      try {
        callbacks.onStartedLeading(term.signal);
        await this.renew();
      } catch (err) {
        this.log(`invariant: leading ${name} failed: ${errorMessage(err)}`);
      }
      term.abort();
      this.opts.metrics?.set(name, false);
      if (!this.stopped) this.log(`failed to renew lease ${lock.describe()}: lost leadership; stopping and campaigning again`);
      this.currentState = this.stopped ? 'stopping' : 'candidate';
      await callbacks.onStoppedLeading();
      if (this.stopped) {
        if (this.opts.releaseOnCancel !== false) await this.release();
        break;
      }
      lock.recordEvent('stopped leading');
    }
    this.currentState = 'stopped';
  }

  /**
   * Tries until it holds the lock (true) or stop() (false): client-go's
   * acquire, a jittered retry period apart. An attempt in flight when stop()
   * comes is awaited (a unary call has a deadline), and a lock it won is
   * released at once.
   */
  private async acquire(): Promise<boolean> {
    for (;;) {
      if (this.stopped) return false;
      const ok = await this.tryAcquireOrRenew();
      this.maybeReportTransition();
      if (ok && this.stopped) {
        if (this.opts.releaseOnCancel !== false) await this.release();
        return false;
      }
      if (ok) return true;
      await this.candidateSleep(this.candidateWaitMs());
    }
  }

  /**
   * Renews every retry period while leading; returns when stop() is called
   * or when no renewal succeeded within the renew deadline, or at once when
   * the record shows another holder (client-go retries until the deadline
   * even then; stopping at once narrows the window of two leaders).
   */
  private async renew(): Promise<void> {
    for (;;) {
      const deadline = this.clock.now() + this.opts.renewDeadlineMs;
      let renewed = false;
      while (!this.stopped && this.clock.now() < deadline) {
        const ok = await this.raceDeadline(this.tryAcquireOrRenew(), deadline);
        this.maybeReportTransition();
        if (ok) {
          renewed = true;
          break;
        }
        if (this.observed && this.observed.holderIdentity !== this.opts.lock.identity) return;
        await this.sleep(Math.min(this.opts.retryPeriodMs, deadline - this.clock.now()));
      }
      if (this.stopped || !renewed) return;
      await this.sleep(this.opts.retryPeriodMs);
      if (this.stopped) return;
    }
  }

  /** Whether the observed record's holder is us (client-go's IsLeader). */
  private holdsRecord(): boolean {
    return this.observed !== undefined && this.observed.holderIdentity === this.opts.lock.identity;
  }

  private leaseValid(now: number): boolean {
    return this.observedTime + (this.observed?.leaseDurationSeconds ?? 0) * 1000 > now;
  }

  private setObserved(record: LeaderElectionRecord, raw: string, revision?: number | void): void {
    this.observed = record;
    this.observedRaw = raw;
    this.observedTime = this.clock.now();
    if (typeof revision === 'number') this.observedRevision = revision;
  }

  /** Whether a read or watched version is older than the one already observed (a lagging reply). */
  private isStale(seen: SeenRecord): boolean {
    return seen.revision !== undefined && seen.revision < this.observedRevision;
  }

  /** A version the lock's watch reported: its arrival is the moment the holder's lease restarts. */
  private onSeen(seen: SeenRecord): void {
    if (this.stopped || this.isStale(seen)) return;
    if (seen.raw === this.observedRaw) {
      if (seen.revision !== undefined) this.observedRevision = seen.revision;
      return;
    }
    this.setObserved(seen.record, seen.raw, seen.revision);
    this.maybeReportTransition();
    if (seen.record.holderIdentity === '') this.wakeCandidate?.();
  }

  /**
   * How long a candidate waits before its next attempt: a jittered retry
   * period, or less when the holder's lease runs out sooner (1 ms after, as
   * leaseValid is strict).
   */
  private candidateWaitMs(): number {
    const retry = jitteredMs(this.opts.retryPeriodMs, JITTER_FACTOR, this.opts.random);
    if (!this.observed || this.observed.holderIdentity === '' || this.holdsRecord()) return retry;
    const untilExpiry = this.observedTime + this.observed.leaseDurationSeconds * 1000 - this.clock.now() + 1;
    return Math.max(0, Math.min(retry, untilExpiry));
  }

  /** client-go's tryAcquireOrRenew: one read and at most one write; true when we hold the lock afterwards. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const my = ++this.attempt;
    const { lock } = this.opts;
    const now = this.clock.now();
    const desired: LeaderElectionRecord = {
      holderIdentity: lock.identity,
      leaseDurationSeconds: Math.ceil(this.opts.leaseDurationMs / 1000),
      acquireTime: now,
      renewTime: now,
      leaderTransitions: 0,
    };
    try {
      const current = await lock.get();
      if (my !== this.attempt) return false;
      if (!current) {
        const revision = await lock.create(desired);
        if (my !== this.attempt) return false;
        this.setObserved(desired, recordText(desired), revision);
        return true;
      }
      // The record changed since we last looked: its holder is alive; restart its expiry on our clock.
      if (current.raw !== this.observedRaw && !this.isStale(current)) this.setObserved(current.record, current.raw, current.revision);
      const old = current.record;
      if (old.holderIdentity !== '' && this.leaseValid(now) && !this.holdsRecord()) return false;
      const next: LeaderElectionRecord = this.holdsRecord()
        ? { ...desired, acquireTime: old.acquireTime, leaderTransitions: old.leaderTransitions }
        : { ...desired, leaderTransitions: old.leaderTransitions + 1 };
      const revision = await lock.update(next);
      if (my !== this.attempt) return false;
      this.setObserved(next, recordText(next), revision);
      return true;
    } catch (err) {
      if (my === this.attempt) this.log(`error acquiring or renewing lease ${lock.describe()}: ${errorMessage(err)}`);
      return false;
    }
  }

  /** client-go's release: the holder is cleared and the duration cut to 1 s, so a successor need not wait. */
  private async release(): Promise<void> {
    if (!this.holdsRecord() || !this.observed) return;
    const now = this.clock.now();
    const released: LeaderElectionRecord = {
      holderIdentity: '',
      leaseDurationSeconds: 1,
      acquireTime: now,
      renewTime: now,
      leaderTransitions: this.observed.leaderTransitions,
    };
    this.attempt++;
    try {
      const revision = await this.opts.lock.update(released);
      this.setObserved(released, recordText(released), revision);
      this.log(`released lease ${this.opts.lock.describe()}`);
    } catch (err) {
      this.log(`failed to release lease ${this.opts.lock.describe()}: ${errorMessage(err)}`);
    }
  }

  private maybeReportTransition(): void {
    const holder = this.observed?.holderIdentity;
    if (holder === undefined || holder === this.reportedLeader) return;
    this.reportedLeader = holder;
    if (holder !== this.opts.lock.identity && holder !== '') this.log(`new leader elected: ${holder}`);
    this.opts.callbacks.onNewLeader?.(holder);
  }

  /** Waits `ms` on the clock, or less when stop() is called. */
  private async sleep(ms: number): Promise<void> {
    const timer = this.timer(ms);
    await timer.fired;
    timer.cancel();
  }

  /** A candidate's wait: `ms`, or less when stop() comes or the lock is released meanwhile. */
  private async candidateSleep(ms: number): Promise<void> {
    const timer = this.timer(ms);
    const woken = new Promise<void>((resolve) => (this.wakeCandidate = resolve));
    await Promise.race([timer.fired, woken]);
    this.wakeCandidate = undefined;
    timer.cancel();
  }

  /** A timer on the clock that also fires on stop(); cancel() frees it early. */
  private timer(ms: number): { fired: Promise<void>; cancel(): void } {
    let handle: TimerHandle | undefined;
    let fire: () => void = () => undefined;
    const fired = new Promise<void>((resolve) => (fire = resolve));
    const cancel = (): void => {
      if (handle !== undefined) this.clock.clearTimeout(handle);
      handle = undefined;
      this.stopper.signal.removeEventListener('abort', fire);
    };
    if (this.stopped) fire();
    else {
      handle = this.clock.setTimeout(fire, Math.max(0, ms));
      this.stopper.signal.addEventListener('abort', fire, { once: true });
    }
    return { fired, cancel };
  }

  /**
   * The attempt's result, or false once the deadline passes (or stop())
   * first; the abandoned attempt's late reply then changes nothing (see `attempt`).
   */
  private async raceDeadline(p: Promise<boolean>, deadline: number): Promise<boolean> {
    const timer = this.timer(deadline - this.clock.now());
    const ok = await Promise.race([p, timer.fired.then(() => undefined)]);
    timer.cancel();
    if (ok === undefined) {
      this.attempt++;
      return false;
    }
    return ok;
  }
}
