// One serialized worker per pod (Kubernetes' pod_workers.go): a pod's syncs
// never overlap, and updates that arrive while one runs collapse into a
// single follow-up pass (only the latest matters, since every sync re-reads
// the current state). Different pods sync concurrently, so a pod stopping
// with a 30 s grace period delays no other pod.

import type { Clock, TimerHandle } from '../client';

/** Syncs one pod by UID; resolves with when to sync it again (ms), if it wants to. */
export type SyncFn = (uid: string) => Promise<number | undefined>;

interface Worker {
  /** An update arrived since the running pass began. */
  dirty: boolean;
  running: Promise<void> | undefined;
  timer: TimerHandle | undefined;
  timerAt: number;
}

export interface PodWorkersOptions {
  clock: Clock;
  /** A sync that threw: reported, then retried after this many ms (default 5 s). */
  retryMs?: number;
  onError: (uid: string, err: unknown) => void;
}

export class PodWorkers {
  private readonly workers = new Map<string, Worker>();
  private stopped = false;

  constructor(
    private readonly sync: SyncFn,
    private readonly opts: PodWorkersOptions,
  ) {}

  /** Asks for a sync of the pod: now if idle, else once the running pass ends. */
  enqueue(uid: string): void {
    if (this.stopped) return;
    const w = this.worker(uid);
    w.dirty = true;
    if (!w.running) w.running = this.loop(uid, w);
  }

  /** A sync after `ms` (an earlier one already scheduled wins). */
  enqueueAfter(uid: string, ms: number): void {
    if (this.stopped) return;
    const w = this.worker(uid);
    const at = this.opts.clock.now() + ms;
    if (w.timer && w.timerAt <= at) return;
    if (w.timer) this.opts.clock.clearTimeout(w.timer);
    w.timerAt = at;
    w.timer = this.opts.clock.setTimeout(() => {
      w.timer = undefined;
      this.enqueue(uid);
    }, ms);
  }

  /** UIDs with a worker (running, pending or scheduled). */
  get active(): string[] {
    return [...this.workers.keys()];
  }

  /** True while the pod's sync runs. */
  busy(uid: string): boolean {
    return this.workers.get(uid)?.running !== undefined;
  }

  /** Stops taking work and waits for running passes to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.workers.values()) if (w.timer) this.opts.clock.clearTimeout(w.timer);
    await Promise.all([...this.workers.values()].map((w) => w.running));
  }

  private worker(uid: string): Worker {
    let w = this.workers.get(uid);
    if (!w) {
      w = { dirty: false, running: undefined, timer: undefined, timerAt: 0 };
      this.workers.set(uid, w);
    }
    return w;
  }

  private async loop(uid: string, w: Worker): Promise<void> {
    // Yield first: the caller stores this promise in w.running before the loop can clear it.
    await Promise.resolve();
    while (w.dirty && !this.stopped) {
      w.dirty = false;
      try {
        const again = await this.sync(uid);
        if (again !== undefined) this.enqueueAfter(uid, again);
      } catch (err) {
        this.opts.onError(uid, err);
        this.enqueueAfter(uid, this.opts.retryMs ?? 5000);
      }
    }
    w.running = undefined;
    // Idle with nothing scheduled: forget the worker (a later update makes a new one).
    if (!w.dirty && !w.timer && this.workers.get(uid) === w) this.workers.delete(uid);
  }
}
