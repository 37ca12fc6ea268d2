// Runs the proxy's sync as kube-proxy's BoundedFrequencyRunner does: at most
// once per minInterval however many changes arrive (a burst of changes is one
// sync), at least once per maxInterval (the periodic full resync), never two
// at once, and again soon after a failure (back-off doubling from
// minInterval up to maxInterval).

import type { Clock, TimerHandle } from '../client';

export interface SyncRunnerOptions {
  /** Shortest time between the starts of two syncs. */
  readonly minIntervalMs: number;
  /** Longest time between two syncs: the periodic resync. */
  readonly maxIntervalMs: number;
  readonly clock: Clock;
  /** Called when a sync throws; the runner retries it. */
  readonly onError?: (err: unknown) => void;
}

type RunnerState = 'new' | 'running' | 'stopped';

export class SyncRunner {
  private state: RunnerState = 'new';
  private timer: { handle: TimerHandle; at: number } | undefined;
  private inFlight: Promise<void> | undefined;
  /** A change arrived that no started sync has seen yet. */
  private pending = false;
  private lastStart = -Infinity;
  private failures = 0;
  private retryAt = Infinity;

  constructor(
    private readonly sync: () => Promise<void>,
    private readonly options: SyncRunnerOptions,
  ) {
    if (!(options.minIntervalMs >= 0) || !(options.maxIntervalMs >= options.minIntervalMs)) {
      throw new Error(`invariant: sync intervals min ${options.minIntervalMs} ms, max ${options.maxIntervalMs} ms`);
    }
  }

  /** Starts the runner with a first sync at once. Calling it twice is an invariant error. */
  start(): void {
    if (this.state !== 'new') throw new Error(`invariant: sync runner started while ${this.state}`);
    this.state = 'running';
    this.pending = true;
    this.schedule();
  }

  /** Asks for a sync: as soon as minInterval allows; requests meanwhile coalesce into it. */
  run(): void {
    this.pending = true;
    this.schedule();
  }

  /** Stops timers and waits for a sync in progress. Idempotent. */
  async stop(): Promise<void> {
    this.state = 'stopped';
    if (this.timer) this.options.clock.clearTimeout(this.timer.handle);
    this.timer = undefined;
    await this.inFlight;
  }

  /** When the next sync is due, from the last start, pending work and retries. */
  private dueAt(): number {
    const { minIntervalMs, maxIntervalMs } = this.options;
    const periodic = this.lastStart + maxIntervalMs;
    const requested = this.pending ? this.lastStart + minIntervalMs : Infinity;
    return Math.max(Math.min(periodic, requested, this.retryAt), this.lastStart + minIntervalMs);
  }

  private schedule(): void {
    if (this.state !== 'running' || this.inFlight) return; // the sync in flight schedules the next one
    const clock = this.options.clock;
    const at = Math.max(this.dueAt(), clock.now());
    if (this.timer && this.timer.at <= at) return;
    if (this.timer) clock.clearTimeout(this.timer.handle);
    const handle = clock.setTimeout(() => {
      this.timer = undefined;
      this.fire();
    }, at - clock.now());
    this.timer = { handle, at };
  }

  private fire(): void {
    if (this.state !== 'running') return;
    const clock = this.options.clock;
    this.pending = false;
    this.retryAt = Infinity;
    this.lastStart = clock.now();
    this.inFlight = this.sync().then(
      () => {
        this.failures = 0;
      },
      (err: unknown) => {
        this.failures++;
        const { minIntervalMs, maxIntervalMs } = this.options;
        const delay = Math.min(maxIntervalMs, Math.max(minIntervalMs, 1000) * 2 ** Math.min(this.failures - 1, 20));
        this.retryAt = clock.now() + delay;
        this.options.onError?.(err);
      },
    );
    void this.inFlight.then(() => {
      this.inFlight = undefined;
      this.schedule();
    });
  }
}
