// Per-key exponential back-off with Kubernetes' restart semantics
// (client-go flowcontrol.Backoff as the kubelet uses it for CrashLoopBackOff
// and ImagePullBackOff): the first wait is `initialMs`, each further failure
// doubles it up to `maxMs`, and an entry untouched for longer than the reset
// window (a container that ran 10 minutes) starts over. In memory only: a
// restarted kubelet forgets back-offs, as Kubernetes' does.
//
// The waits themselves are util/backoff's, one sequence per key. What this
// table adds, and why it is not that class: a sequence per container or image
// key, a reset decided by the time since the last failure (not by a
// success the caller reports), the time left measured from the failure that
// delays a start, and forgetting keys whose pods are gone.

import { Backoff } from '../util/backoff';

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** An entry whose last failure is older than this starts over; default 2 * maxMs. */
  resetMs?: number;
}

interface Entry {
  readonly backoff: Backoff;
  durationMs: number;
  /** When the back-off was last extended (the start it delayed). */
  lastUpdate: number;
}

/** Kubernetes' container restart back-off: 10 s doubling to 5 min, reset after 10 min. */
export const CRASH_BACKOFF: BackoffOptions = { initialMs: 10_000, maxMs: 300_000, resetMs: 600_000 };
/** Kubernetes' image pull back-off. */
export const IMAGE_BACKOFF: BackoffOptions = { initialMs: 10_000, maxMs: 300_000, resetMs: 600_000 };

export class BackoffTable {
  private readonly entries = new Map<string, Entry>();
  private readonly resetMs: number;

  constructor(private readonly opts: BackoffOptions) {
    this.resetMs = opts.resetMs ?? 2 * opts.maxMs;
  }

  /**
   * Records a failure-driven retry at `now`: the wait before the next one
   * doubles (or starts at initialMs). Returns the new wait.
   */
  next(key: string, now: number): number {
    const e = this.entries.get(key);
    const backoff = e?.backoff ?? new Backoff(this.opts);
    if (e !== undefined && now - e.lastUpdate > this.resetMs) backoff.reset();
    const durationMs = backoff.next();
    this.entries.set(key, { backoff, durationMs, lastUpdate: now });
    return durationMs;
  }

  /**
   * Milliseconds left before a retry of `key` is allowed after the failure at
   * `eventTime`, or 0 when it may go now. An entry whose failure came more
   * than the reset window after its last retry (the container ran long
   * enough) no longer holds anything back.
   */
  remaining(key: string, eventTime: number, now: number): number {
    const e = this.entries.get(key);
    if (e === undefined) return 0;
    if (eventTime - e.lastUpdate > this.resetMs) return 0;
    return Math.max(0, eventTime + e.durationMs - now);
  }

  /** The current wait of `key` (what a message reports), 0 when none. */
  duration(key: string): number {
    return this.entries.get(key)?.durationMs ?? 0;
  }

  /** Forgets keys for which `keep` is false (pods that went away). */
  prune(keep: (key: string) => boolean): void {
    for (const k of this.entries.keys()) if (!keep(k)) this.entries.delete(k);
  }
}

/** "5m0s", "10s", "2m40s": a Go duration as Kubernetes prints back-offs. */
export function goDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0) return `${h}h${m}m${sec}s`;
  if (m > 0) return `${m}m${sec}s`;
  return `${sec}s`;
}
