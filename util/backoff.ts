// The one exponential back-off of tsk, on cockatiel's ExponentialBackoff:
// the first wait is initialMs, each further one doubles up to maxMs, and
// reset() starts over after a success. Used by the informers' re-list and
// re-watch, the kubelet's node registration, its tunnel's reconnects and,
// per key, its CrashLoopBackOff/ImagePullBackOff table. Back-offs that keep
// only a failure count per key (the work queue's rate limiter, the
// scheduler's pod back-off) take the same wait from exponentialDelay.
//
// The jitter is ours, not cockatiel's decorrelatedJitterGenerator: that one
// reads Math.random itself, and tsk injects randomness so tests control it
// (STYLE.md). Jitter only lengthens a wait (by up to `jitter` of it, as
// client-go's wait.Jitter does), so the doubling sequence stays a floor.

import { ExponentialBackoff, noJitterGenerator, type GeneratorFn, type IBackoff, type IBackoffFactory, type IExponentialBackoffOptions } from 'cockatiel';

export interface BackoffOptions {
  /** The first wait, in milliseconds. */
  readonly initialMs: number;
  /** The longest wait before jitter, in milliseconds. */
  readonly maxMs: number;
  /** Each wait grows by up to this fraction of itself (0.1: up to 10% longer); default 0, no jitter. */
  readonly jitter?: number;
  /** A number in [0, 1) for the jitter; default Math.random. */
  readonly random?: () => number;
}

/**
 * client-go's wait.Jitter: `periodMs` lengthened by up to `factor` of itself.
 * Periodic loops use it (wait.JitterUntil) so that many clients started
 * together, or held up together by a stalled server, do not stay in step.
 */
export function jitteredMs(periodMs: number, factor: number, random: () => number = Math.random): number {
  return factor > 0 ? periodMs + random() * factor * periodMs : periodMs;
}

/** The delays without jitter, as cockatiel's options. */
function cockatielOptions(options: Pick<BackoffOptions, 'initialMs' | 'maxMs'>): IExponentialBackoffOptions<number> {
  return { initialDelay: options.initialMs, maxDelay: options.maxMs, exponent: 2, generator: noJitterGenerator };
}

/** The wait after `failures` earlier failures: initialMs doubled that many times, capped at maxMs (no jitter). */
export function exponentialDelay(options: Pick<BackoffOptions, 'initialMs' | 'maxMs'>, failures: number): number {
  return noJitterGenerator(failures, cockatielOptions(options))[0];
}

function jittered(jitter: number, random: () => number): GeneratorFn<number> {
  return (attempt, options) => {
    const [delay, next] = noJitterGenerator(attempt, options);
    return [jitter > 0 ? Math.round(delay * (1 + jitter * random())) : delay, next];
  };
}

/** A resettable sequence of waits: initialMs, doubling, capped at maxMs, plus jitter. Not shared between callers. */
export class Backoff {
  private readonly factory: IBackoffFactory<undefined>;
  private current: IBackoff<undefined> | undefined;

  constructor(options: BackoffOptions) {
    if (!(options.initialMs > 0) || !(options.maxMs >= options.initialMs)) {
      throw new RangeError(`back-off: initialMs (${options.initialMs}) must be positive and at most maxMs (${options.maxMs})`);
    }
    this.factory = new ExponentialBackoff({ ...cockatielOptions(options), generator: jittered(options.jitter ?? 0, options.random ?? Math.random) });
  }

  /** The wait before the next attempt; each call is one more failure. */
  next(): number {
    this.current = (this.current ?? this.factory).next(undefined);
    return this.current.duration;
  }

  /** After a success: the next wait is initialMs again. */
  reset(): void {
    this.current = undefined;
  }
}
