// Time as an injected dependency: informers, work queues and back-off read
// the clock only through this interface, so tests drive time by hand.

export type TimerHandle = { readonly id: number };

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls fn once after ms milliseconds unless cleared. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock. Timers do not keep the process alive (unref). */
export const realClock: Clock = (() => {
  const timers = new Map<number, NodeJS.Timeout>();
  let next = 1;
  return {
    now: () => Date.now(),
    setTimeout(fn: () => void, ms: number): TimerHandle {
      const id = next++;
      const t = setTimeout(
        () => {
          timers.delete(id);
          fn();
        },
        Math.max(0, ms),
      );
      t.unref();
      timers.set(id, t);
      return { id };
    },
    clearTimeout(handle: TimerHandle): void {
      const t = timers.get(handle.id);
      if (t) clearTimeout(t);
      timers.delete(handle.id);
    },
  };
})();

/**
 * A clock for tests: time moves only when advance() is called; due timers run
 * in due order, with promise jobs flushed between them.
 */
export class FakeClock implements Clock {
  private time: number;
  private nextId = 1;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start = 1_700_000_000_000) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + Math.max(0, ms), fn });
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle.id);
  }

  /** Number of timers not yet fired. */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves time forward by ms, running every timer that falls due, in order. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      await flushPromises();
      let dueId: number | undefined;
      let dueAt = Infinity;
      for (const [id, t] of this.timers) {
        if (t.at <= end && t.at < dueAt) {
          dueAt = t.at;
          dueId = id;
        }
      }
      if (dueId === undefined) break;
      const timer = this.timers.get(dueId);
      this.timers.delete(dueId);
      this.time = Math.max(this.time, dueAt);
      timer?.fn();
    }
    this.time = end;
    await flushPromises();
  }
}

/** A periodic call started by every(); stop() is idempotent. */
export interface Ticker {
  stop(): void;
}

/**
 * Calls fn now and then every periodMs after the previous call returned, on
 * `clock`, until stop() (client-go's wait.Until: a sliding period, so a slow
 * call never overlaps the next). For a controller's periodic resync.
 */
export function every(clock: Clock, periodMs: number, fn: () => void): Ticker {
  let stopped = false;
  let timer: TimerHandle | undefined;
  const tick = (): void => {
    if (stopped) return;
    fn();
    if (!stopped) timer = clock.setTimeout(tick, periodMs);
  };
  tick();
  return {
    stop: () => {
      stopped = true;
      if (timer !== undefined) clock.clearTimeout(timer);
    },
  };
}

/** Lets every queued promise job (and the jobs they queue) run. */
export async function flushPromises(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
