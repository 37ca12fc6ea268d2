// The rate-limited work queue of client-go (util/workqueue), for controllers.
//
// Contract:
// - A key is queued at most once, however often it is added (dirty set).
// - A key is never handed to two workers at once (processing set): a key
//   added while a worker holds it is queued again only when done() is called.
// - addRateLimited() re-adds after a per-key exponential back-off (base
//   doubling to a cap), also bounded by a global token bucket; forget() ends
//   a key's back-off after success.
// - shutDown() wakes every waiting worker with `shutdown: true`; keys added
//   afterwards are ignored.

import { exponentialDelay } from '../util/backoff';
import { realClock, type Clock, type TimerHandle } from './clock';
import { errorMessage } from '../util/errors';

/** When a key should be retried. */
export interface RateLimiter<K> {
  /** The delay before the next retry of key (and counts the attempt). */
  when(key: K): number;
  forget(key: K): void;
  numRequeues(key: K): number;
}

/** Per-key exponential back-off: baseMs * 2^failures, capped at maxMs. */
export class ExponentialRateLimiter<K> implements RateLimiter<K> {
  private readonly failures = new Map<K, number>();
  constructor(
    private readonly baseMs = 5,
    private readonly maxMs = 60_000,
  ) {}
  when(key: K): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    return exponentialDelay({ initialMs: this.baseMs, maxMs: this.maxMs }, n);
  }
  forget(key: K): void {
    this.failures.delete(key);
  }
  numRequeues(key: K): number {
    return this.failures.get(key) ?? 0;
  }
}

/** A global token bucket: `qps` retries per second with bursts of `burst`. */
export class BucketRateLimiter<K> implements RateLimiter<K> {
  private tokens: number;
  private last: number;
  constructor(
    private readonly qps: number,
    private readonly burst: number,
    private readonly clock: Clock = realClock,
  ) {
    this.tokens = burst;
    this.last = clock.now();
  }
  when(_key: K): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
    this.tokens -= 1;
    // A negative balance is a reservation: wait until it is paid back.
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.qps) * 1000);
  }
  forget(_key: K): void {}
  numRequeues(_key: K): number {
    return 0;
  }
}

/** The longest delay of several limiters (client-go's MaxOfRateLimiter). */
export class MaxOfRateLimiter<K> implements RateLimiter<K> {
  private readonly limiters: readonly RateLimiter<K>[];
  constructor(...limiters: RateLimiter<K>[]) {
    this.limiters = limiters;
  }
  when(key: K): number {
    return Math.max(0, ...this.limiters.map((l) => l.when(key)));
  }
  forget(key: K): void {
    for (const l of this.limiters) l.forget(key);
  }
  numRequeues(key: K): number {
    return Math.max(0, ...this.limiters.map((l) => l.numRequeues(key)));
  }
}

/** client-go's default: 5 ms doubling to 1000 s per key, and 10 qps / burst 100 overall. */
export function defaultControllerRateLimiter<K>(clock: Clock = realClock): RateLimiter<K> {
  return new MaxOfRateLimiter<K>(new ExponentialRateLimiter<K>(5, 1_000_000), new BucketRateLimiter<K>(10, 100, clock));
}

export type QueueItem<K> = { key: K; shutdown: false } | { key: undefined; shutdown: true };

export interface WorkQueueOptions<K> {
  readonly clock?: Clock;
  readonly rateLimiter?: RateLimiter<K>;
}

export class WorkQueue<K = string> {
  private readonly queue: K[] = [];
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly waiting: ((item: QueueItem<K>) => void)[] = [];
  private readonly delayed = new Map<K, { at: number; handle: TimerHandle }>();
  private readonly clock: Clock;
  private readonly limiter: RateLimiter<K>;
  private shuttingDown = false;

  constructor(options: WorkQueueOptions<K> = {}) {
    this.clock = options.clock ?? realClock;
    this.limiter = options.rateLimiter ?? defaultControllerRateLimiter<K>(this.clock);
  }

  /** Queues key unless it is already queued; if a worker holds it, it is re-queued on done(). */
  add(key: K): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.push(key);
  }

  /** Adds key after ms milliseconds; an earlier pending add-after of the same key wins. */
  addAfter(key: K, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const at = this.clock.now() + ms;
    const pending = this.delayed.get(key);
    if (pending && pending.at <= at) return;
    if (pending) this.clock.clearTimeout(pending.handle);
    const handle = this.clock.setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { at, handle });
  }

  /** Re-adds key after its rate limiter's delay (call after a failed sync). */
  addRateLimited(key: K): void {
    this.addAfter(key, this.limiter.when(key));
  }

  /** Ends key's back-off (call after a successful sync). */
  forget(key: K): void {
    this.limiter.forget(key);
  }

  numRequeues(key: K): number {
    return this.limiter.numRequeues(key);
  }

  /**
   * The next key to work on, waiting until one is queued. The caller must
   * call done(key) when finished. After shutDown() it resolves with
   * `shutdown: true` once the queue is empty.
   */
  get(): Promise<QueueItem<K>> {
    const key = this.queue.shift();
    if (key !== undefined) return Promise.resolve(this.take(key));
    if (this.shuttingDown) return Promise.resolve({ key: undefined, shutdown: true });
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Marks key finished; if it was added meanwhile it is queued again. */
  done(key: K): void {
    if (!this.processing.delete(key)) throw new Error(`invariant: done(${String(key)}) for a key not being processed`);
    if (this.dirty.has(key)) this.push(key);
  }

  /** Keys waiting (not counting keys being processed or delayed). */
  len(): number {
    return this.queue.length;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Stops accepting keys and releases every waiting worker. Idempotent. */
  shutDown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    for (const { handle } of this.delayed.values()) this.clock.clearTimeout(handle);
    this.delayed.clear();
    for (const w of this.waiting.splice(0)) w({ key: undefined, shutdown: true });
  }

  private push(key: K): void {
    const w = this.waiting.shift();
    if (w) w(this.take(key));
    else this.queue.push(key);
  }

  private take(key: K): QueueItem<K> {
    this.processing.add(key);
    this.dirty.delete(key);
    return { key, shutdown: false };
  }
}

/**
 * Runs one worker until the queue shuts down: get a key, sync it, forget it
 * on success or re-add it rate-limited on failure, then done(). Errors are
 * reported, never thrown. Start several for concurrency: the queue keeps
 * them off the same key.
 */
export async function runWorker<K>(
  queue: WorkQueue<K>,
  sync: (key: K) => Promise<void>,
  onError: (key: K, err: unknown) => void = (key, err) => console.error(`sync ${String(key)} failed: ${errorMessage(err)}`),
): Promise<void> {
  for (;;) {
    const item = await queue.get();
    if (item.shutdown) return;
    const { key } = item;
    try {
      await sync(key);
      queue.forget(key);
    } catch (err) {
      onError(key, err);
      queue.addRateLimited(key);
    } finally {
      queue.done(key);
    }
  }
}
