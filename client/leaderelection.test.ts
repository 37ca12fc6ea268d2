// The election state machine with a fake clock and an in-memory lock that
// has the API server's optimistic concurrency (a write with a stale version
// is a Conflict, a second create AlreadyExists).

import test from 'ava';
import { Registry } from 'prom-client';
import { AlreadyExistsError, ConflictError } from '../api/errors';
import { FakeClock } from './clock';
import { LeaderElectionMetrics, LeaderElector, timingsError, type LeaderElectorOptions } from './leaderelection';
import { recordText, type LeaderElectionRecord, type ResourceLock, type SeenRecord } from './leaselock';

/** The stored record and its version, shared by every candidate's lock. */
class FakeStore {
  record: LeaderElectionRecord | undefined;
  version = 0;
  writes = 0;
  /** The watches of observing locks, told of every write as it happens. */
  readonly watchers = new Set<(seen: SeenRecord) => void>();

  seen(): SeenRecord | undefined {
    return this.record ? { record: { ...this.record }, raw: recordText(this.record), revision: this.version } : undefined;
  }
}

class FakeLock implements ResourceLock {
  /** The version last read or written: the precondition of the next update. */
  private seen = -1;
  /** While set, every call rejects (the API server is unreachable for this candidate). */
  failing = false;
  readonly events: string[] = [];

  constructor(
    readonly identity: string,
    protected readonly store: FakeStore,
  ) {}

  async get(): Promise<{ record: LeaderElectionRecord; raw: string } | undefined> {
    if (this.failing) throw new Error('connection refused');
    if (!this.store.record) return undefined;
    this.seen = this.store.version;
    return { record: { ...this.store.record }, raw: recordText(this.store.record) };
  }

  async create(record: LeaderElectionRecord): Promise<void> {
    if (this.failing) throw new Error('connection refused');
    if (this.store.record) throw new AlreadyExistsError('Lease', 'kube-scheduler');
    this.write(record);
  }

  async update(record: LeaderElectionRecord): Promise<void> {
    if (this.failing) throw new Error('connection refused');
    if (this.seen !== this.store.version) throw new ConflictError('the object has been modified');
    this.write(record);
  }

  private write(record: LeaderElectionRecord): void {
    this.store.record = { ...record };
    this.store.version++;
    this.store.writes++;
    this.seen = this.store.version;
    const seen = this.store.seen();
    if (seen) for (const w of this.store.watchers) w(seen);
  }

  recordEvent(message: string): void {
    this.events.push(`${this.identity} ${message}`);
  }

  describe(): string {
    return 'kube-system/kube-scheduler';
  }
}

/** A lock whose watch reports every write of the store at once (LeaseLock with a watcher). */
class ObservingLock extends FakeLock {
  observe(onChange: (seen: SeenRecord) => void): () => Promise<void> {
    const watcher = (seen: SeenRecord): void => {
      if (!this.failing) onChange(seen);
    };
    this.store.watchers.add(watcher);
    const current = this.store.seen();
    if (current) watcher(current);
    return () => {
      this.store.watchers.delete(watcher);
      return Promise.resolve();
    };
  }
}

interface Candidate {
  readonly lock: FakeLock;
  readonly elector: LeaderElector;
  /** "start" and "stop" as the callbacks ran, with the clock's time. */
  readonly calls: string[];
  signal: AbortSignal | undefined;
}

const T0 = 1_700_000_000_000;
const TIMINGS = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

function candidate(identity: string, store: FakeStore, clock: FakeClock, extra: Partial<LeaderElectorOptions> = {}, observing = false): Candidate {
  const lock = observing ? new ObservingLock(identity, store) : new FakeLock(identity, store);
  const c: Candidate = { lock, calls: [], signal: undefined, elector: undefined as unknown as LeaderElector };
  const elector = new LeaderElector({
    ...TIMINGS,
    lock,
    name: 'kube-scheduler',
    clock,
    random: () => 0,
    log: () => undefined,
    callbacks: {
      onStartedLeading: (signal) => {
        c.signal = signal;
        c.calls.push(`start@${clock.now() - T0}`);
      },
      onStoppedLeading: () => {
        c.calls.push(`stop@${clock.now() - T0}`);
      },
    },
    ...extra,
  });
  (c as { elector: LeaderElector }).elector = elector;
  return c;
}

function setup(): { clock: FakeClock; store: FakeStore } {
  return { clock: new FakeClock(T0), store: new FakeStore() };
}

test('a free lock is created and held; the holder renews every retry period, keeping acquireTime', async (t) => {
  const { clock, store } = setup();
  const registry = new Registry();
  const a = candidate('host-a_1', store, clock, { metrics: new LeaderElectionMetrics(registry) });
  a.elector.run();
  await clock.advance(0);
  t.true(a.elector.isLeader());
  t.deepEqual(a.calls, ['start@0']);
  t.deepEqual(a.lock.events, ['host-a_1 became leader']);
  t.like(store.record, { holderIdentity: 'host-a_1', leaseDurationSeconds: 15, acquireTime: T0, renewTime: T0, leaderTransitions: 0 });
  t.regex(await registry.metrics(), /leader_election_master_status\{name="kube-scheduler"\} 1/);
  await clock.advance(2_000);
  t.like(store.record, { holderIdentity: 'host-a_1', acquireTime: T0, renewTime: T0 + 2_000, leaderTransitions: 0 });
  await clock.advance(20_000);
  t.is(store.record?.renewTime, T0 + 22_000);
  t.false(a.signal?.aborted);
  await a.elector.stop();
  t.regex(await registry.metrics(), /leader_election_master_status\{name="kube-scheduler"\} 0/);
});

test('a standby waits while the holder renews, and takes over a lease duration after it last saw a change', async (t) => {
  const { clock, store } = setup();
  const a = candidate('host-a_1', store, clock);
  const b = candidate('host-b_2', store, clock);
  a.elector.run();
  await clock.advance(0);
  b.elector.run();
  await clock.advance(30_000);
  t.true(a.elector.isLeader());
  t.false(b.elector.isLeader());
  t.deepEqual(b.calls, []);
  t.is(b.elector.getLeader(), 'host-a_1');

  // The leader's API server goes away: it gives up within retry period + renew deadline...
  a.lock.failing = true;
  const lastRenew = store.record!.renewTime - T0;
  await clock.advance(12_000);
  t.false(a.elector.isLeader());
  t.true(a.signal?.aborted);
  const stoppedAt = Number(a.calls[1]?.split('@')[1]);
  t.true(stoppedAt - lastRenew <= 12_000, `stopped ${stoppedAt - lastRenew} ms after the last renewal`);
  t.false(b.elector.isLeader(), 'the standby has not taken over before the old leader stopped');
  // ...and the standby takes over once 15 s have passed since it saw the last renewal.
  await clock.advance(6_000);
  t.true(b.elector.isLeader());
  const startedAt = Number(b.calls[0]?.split('@')[1]);
  t.true(startedAt - lastRenew >= 15_000 && startedAt - lastRenew <= 15_000 + 2_000 + 2_400, `took over ${startedAt - lastRenew} ms after`);
  t.like(store.record, { holderIdentity: 'host-b_2', leaderTransitions: 1 });
  t.deepEqual(b.lock.events, ['host-b_2 became leader']);
  t.deepEqual(a.lock.events, ['host-a_1 became leader', 'host-a_1 stopped leading']);
  // The old leader is a candidate again, and stays one while b renews.
  a.lock.failing = false;
  await clock.advance(30_000);
  t.false(a.elector.isLeader());
  t.true(b.elector.isLeader());
  await Promise.all([a.elector.stop(), b.elector.stop()]);
});

test('expiry is measured on the local clock from the last observed change, not from the renewTime written (clock skew)', async (t) => {
  const { clock, store } = setup();
  // Another server, its clock an hour behind, holds the lease and just wrote it.
  store.record = { holderIdentity: 'skewed_0', leaseDurationSeconds: 15, acquireTime: T0 - 3_600_000, renewTime: T0 - 3_600_000, leaderTransitions: 4 };
  store.version = 1;
  const b = candidate('host-b_2', store, clock);
  b.elector.run();
  await clock.advance(14_000);
  t.false(b.elector.isLeader(), 'the written renewTime is long past, but the record was seen only now');
  await clock.advance(4_000);
  t.true(b.elector.isLeader());
  t.like(store.record, { holderIdentity: 'host-b_2', leaderTransitions: 5 });
  await b.elector.stop();
});

test('a renewal seen from the other server restarts the wait', async (t) => {
  const { clock, store } = setup();
  store.record = { holderIdentity: 'other_0', leaseDurationSeconds: 15, acquireTime: 0, renewTime: 0, leaderTransitions: 0 };
  store.version = 1;
  const b = candidate('host-b_2', store, clock);
  b.elector.run();
  await clock.advance(10_000);
  // The holder renews (its write changes the record).
  store.record = { ...store.record, renewTime: 1 };
  store.version++;
  await clock.advance(10_000);
  t.false(b.elector.isLeader(), '20 s after the first sight, but only ~9 s after the renewal was seen');
  await clock.advance(8_000);
  t.true(b.elector.isLeader());
  await b.elector.stop();
});

test('two candidates racing for a free lock: exactly one wins, by create or by resourceVersion', async (t) => {
  const { clock, store } = setup();
  const a = candidate('host-a_1', store, clock);
  const b = candidate('host-b_2', store, clock);
  a.elector.run();
  b.elector.run();
  await clock.advance(0);
  t.is([a, b].filter((c) => c.elector.isLeader()).length, 1);
  await clock.advance(60_000);
  t.is([a, b].filter((c) => c.elector.isLeader()).length, 1);
  t.is(store.record?.leaderTransitions, 0);

  // After a release both see a free lock; the update of one makes the other's stale.
  const leader = a.elector.isLeader() ? a : b;
  const other = leader === a ? b : a;
  await leader.elector.stop();
  const c = candidate('host-c_3', store, clock);
  c.elector.run();
  await clock.advance(5_000);
  t.is([other, c].filter((x) => x.elector.isLeader()).length, 1);
  await Promise.all([other.elector.stop(), c.elector.stop()]);
});

test('stop() stops the work first, then releases: the holder is cleared and a standby takes over at its next retry', async (t) => {
  const { clock, store } = setup();
  const a = candidate('host-a_1', store, clock);
  const b = candidate('host-b_2', store, clock);
  a.elector.run();
  await clock.advance(0);
  b.elector.run();
  await clock.advance(5_000);
  let stoppedBeforeRelease = false;
  const writes = store.writes;
  a.calls.push = function (this: string[], ...items: string[]): number {
    if (items.some((i) => i.startsWith('stop'))) stoppedBeforeRelease = store.writes === writes;
    return Array.prototype.push.apply(this, items);
  };
  await a.elector.stop();
  t.true(stoppedBeforeRelease);
  t.like(store.record, { holderIdentity: '', leaseDurationSeconds: 1, leaderTransitions: 0 });
  t.is(a.elector.state, 'stopped');
  await clock.advance(2_000 + 2_400);
  t.true(b.elector.isLeader(), 'no lease duration to wait out after a release');
  t.like(store.record, { holderIdentity: 'host-b_2', leaderTransitions: 1 });
  await b.elector.stop();
});

test('without release on cancel the lease is left to expire', async (t) => {
  const { clock, store } = setup();
  const a = candidate('host-a_1', store, clock, { releaseOnCancel: false });
  a.elector.run();
  await clock.advance(0);
  await a.elector.stop();
  t.is(store.record?.holderIdentity, 'host-a_1');
});

test('a leader whose record was taken over stops at once, without waiting for the renew deadline', async (t) => {
  const { clock, store } = setup();
  const a = candidate('host-a_1', store, clock);
  a.elector.run();
  await clock.advance(0);
  // An admin (or a partitioned peer) writes another holder in.
  store.record = { ...store.record!, holderIdentity: 'intruder_9', renewTime: T0 + 1 };
  store.version++;
  await clock.advance(2_000);
  t.false(a.elector.isLeader());
  t.true(a.signal?.aborted);
  t.deepEqual(a.calls, ['start@0', 'stop@2000']);
  await a.elector.stop();
  t.is(store.record?.holderIdentity, 'intruder_9', 'a candidate that does not hold the lease releases nothing');
});

test('a renewal that hangs past the renew deadline counts as lost', async (t) => {
  const { clock, store } = setup();
  const a = candidate('host-a_1', store, clock);
  a.elector.run();
  await clock.advance(0);
  // A call with no answer (gRPC's own deadline is 30 s, longer than the renew deadline).
  let fail: (err: Error) => void = () => undefined;
  const hang = new Promise<never>((_, reject) => (fail = reject));
  hang.catch(() => undefined);
  a.lock.get = () => hang;
  await clock.advance(2_000 + 10_000);
  t.false(a.elector.isLeader());
  t.deepEqual(a.calls, ['start@0', 'stop@12000']);
  fail(new Error('deadline exceeded'));
  await a.elector.stop();
});

test("client-go's rules between the durations", (t) => {
  t.is(timingsError({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }), undefined);
  t.is(timingsError({ leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }), 'leaseDuration must be greater than renewDeadline');
  t.is(timingsError({ leaseDurationMs: 15_000, renewDeadlineMs: 2_400, retryPeriodMs: 2_000 }), 'renewDeadline must be greater than retryPeriod*JitterFactor');
  t.throws(() => candidate('x', new FakeStore(), new FakeClock(), { leaseDurationMs: 5_000 }), { instanceOf: RangeError });
});

test('a standby that watches the lock takes over exactly a lease duration after the dead holder last renewed', async (t) => {
  const { clock, store } = setup();
  const a = candidate('host-a_1', store, clock, {}, true);
  // The standby's retry ticks are as late as the jitter allows: only the lease's expiry may wake it.
  const b = candidate('host-b_2', store, clock, { random: () => 1 }, true);
  a.elector.run();
  await clock.advance(0);
  b.elector.run();
  await clock.advance(7_300);
  t.true(a.elector.isLeader());
  // kill -9 of the leader: no more renewals, no release.
  a.lock.failing = true;
  const lastRenew = store.record!.renewTime - T0;
  await clock.advance(20_000);
  t.true(b.elector.isLeader());
  const startedAt = Number(b.calls[0]?.split('@')[1]);
  t.true(startedAt - lastRenew >= 15_000 && startedAt - lastRenew <= 15_010, `took over ${startedAt - lastRenew} ms after the last renewal`);
  await Promise.all([a.elector.stop(), b.elector.stop()]);
});

test('a watched release wakes a standby at once; a late sighting of an older version changes nothing', async (t) => {
  const { clock, store } = setup();
  const a = candidate('host-a_1', store, clock, {}, true);
  const b = candidate('host-b_2', store, clock, { random: () => 1 }, true);
  a.elector.run();
  await clock.advance(0);
  b.elector.run();
  await clock.advance(5_000);
  const old = store.seen()!;
  await clock.advance(1_000);
  // A reply that lags behind the watch (an older revision) must not restart the holder's lease on b's clock.
  for (const w of store.watchers) w({ ...old, raw: old.raw + ' ' });
  t.false(b.elector.isLeader());
  await a.elector.stop();
  await clock.advance(1);
  t.true(b.elector.isLeader(), 'the release was seen through the watch and acted on before the next retry tick');
  await b.elector.stop();
});
