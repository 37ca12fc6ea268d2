// The scheduling queue (Kubernetes' PriorityQueue in
// pkg/scheduler/internal/queue): three places a pending pod can wait.
//
// - active: pods to try now, higher spec.priority first, then older
//   (creationTimestamp), then first queued.
// - backoff: pods whose last attempt failed wait 1 s doubling per attempt
//   up to 10 s (podInitialBackoff / podMaxBackoff) before going active.
// - unschedulable: pods no node could take. They go back (to active, or to
//   backoff while their back-off runs) when the cluster changes in a way
//   that may help (moveAll), and at the latest after 5 minutes.
//
// A popped pod is "in flight" until its cycle ends with done() or a
// requeue. If the cluster changed while it was in flight (a node came in
// between the pod's snapshot and its failure), a failed pod goes to backoff
// instead of unschedulable, so that change is not missed. Updates and
// deletes of an in-flight pod are remembered and applied when it returns.

import type { Pod } from '../../api/gen/tsk/v1/core';
import { type Clock, objectKey, realClock, type TimerHandle } from '../../client';
import { exponentialDelay } from '../../util/backoff';
import { KeyedHeap } from './heap';

export interface QueuedPodInfo {
  pod: Pod;
  readonly key: string;
  /** When the pod last entered a queue (ms); its back-off counts from here. */
  timestamp: number;
  /** Scheduling attempts so far (pops). */
  attempts: number;
  /** When the pod was first queued (ms): for the attempt duration metric. */
  readonly initialAttemptTimestamp: number;
  /** Set by pop(): the scheduling cycle of this attempt. */
  cycle: number;
  /** Arrival order, the last tie-breaker. */
  readonly seq: number;
}

export interface QueueOptions {
  readonly clock?: Clock;
  /** Kubernetes' podInitialBackoffSeconds: 1 s. */
  readonly initialBackoffMs?: number;
  /** Kubernetes' podMaxBackoffSeconds: 10 s. */
  readonly maxBackoffMs?: number;
  /** Longest stay in unschedulable without a cluster change: 5 minutes, as Kubernetes. */
  readonly maxUnschedulableMs?: number;
  /** How often unschedulable pods are checked against maxUnschedulableMs: 30 s, as Kubernetes. */
  readonly unschedulableFlushMs?: number;
}

export interface QueueLengths {
  active: number;
  backoff: number;
  unschedulable: number;
}

interface InFlight {
  deleted: boolean;
  latest?: Pod;
}

/** Parsed creation times, per pod object: the heap compares each pod many times. */
const creationTimes = new WeakMap<Pod, number>();

function creationMs(pod: Pod): number {
  let t = creationTimes.get(pod);
  if (t === undefined) {
    t = Date.parse(pod.metadata?.creationTimestamp ?? '');
    if (Number.isNaN(t)) t = 0;
    creationTimes.set(pod, t);
  }
  return t;
}

function activeBefore(a: QueuedPodInfo, b: QueuedPodInfo): boolean {
  const pa = a.pod.spec?.priority ?? 0;
  const pb = b.pod.spec?.priority ?? 0;
  if (pa !== pb) return pa > pb;
  const ca = creationMs(a.pod);
  const cb = creationMs(b.pod);
  if (ca !== cb) return ca < cb;
  return a.seq < b.seq;
}

/** Whether an update may change the pod's scheduling result (not a status or resourceVersion change). */
export function schedulingRelevantChange(oldPod: Pod | undefined, newPod: Pod): boolean {
  if (!oldPod) return true;
  return (
    JSON.stringify(oldPod.spec ?? {}) !== JSON.stringify(newPod.spec ?? {}) ||
    JSON.stringify(oldPod.metadata?.labels ?? {}) !== JSON.stringify(newPod.metadata?.labels ?? {})
  );
}

export class SchedulingQueue {
  private readonly clock: Clock;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxUnschedulableMs: number;
  private readonly active = new KeyedHeap<QueuedPodInfo>((p) => p.key, activeBefore);
  private readonly backoff = new KeyedHeap<QueuedPodInfo>(
    (p) => p.key,
    (a, b) => this.readyAt(a) < this.readyAt(b) || (this.readyAt(a) === this.readyAt(b) && a.seq < b.seq),
  );
  private readonly unschedulable = new Map<string, QueuedPodInfo>();
  private readonly inFlight = new Map<string, InFlight>();
  private readonly waiters: ((p: QueuedPodInfo | undefined) => void)[] = [];
  private schedulingCycle = 0;
  private moveRequestCycle = -1;
  private seq = 0;
  private backoffTimer: { handle: TimerHandle; at: number } | undefined;
  private flushTimer: TimerHandle | undefined;
  private closed = false;

  constructor(private readonly options: QueueOptions = {}) {
    this.clock = options.clock ?? realClock;
    this.initialBackoffMs = options.initialBackoffMs ?? 1000;
    this.maxBackoffMs = options.maxBackoffMs ?? 10_000;
    this.maxUnschedulableMs = options.maxUnschedulableMs ?? 5 * 60_000;
    this.scheduleUnschedulableFlush();
  }

  /** A new pending pod (or a known one: then it is an update). */
  add(pod: Pod): void {
    this.update(undefined, pod);
  }

  /** The pod changed; an unschedulable pod whose spec or labels changed is retried. */
  update(oldPod: Pod | undefined, pod: Pod): void {
    if (this.closed) return;
    const key = objectKey(pod);
    const flight = this.inFlight.get(key);
    if (flight) {
      flight.latest = pod;
      flight.deleted = false;
      return;
    }
    const queued = this.active.get(key) ?? this.backoff.get(key);
    if (queued) {
      queued.pod = pod;
      if (this.active.has(key)) this.active.push(queued);
      return;
    }
    const parked = this.unschedulable.get(key);
    if (parked) {
      const relevant = oldPod !== undefined && schedulingRelevantChange(oldPod, pod);
      parked.pod = pod;
      if (relevant) {
        this.unschedulable.delete(key);
        this.toActiveOrBackoff(parked);
        this.wake();
      }
      return;
    }
    const now = this.clock.now();
    this.active.push({ pod, key, timestamp: now, attempts: 0, initialAttemptTimestamp: now, cycle: 0, seq: this.seq++ });
    this.wake();
  }

  /** The pod is gone, or no longer ours (bound, terminating): forget it everywhere. */
  delete(key: string): void {
    this.active.delete(key);
    this.backoff.delete(key);
    this.unschedulable.delete(key);
    const flight = this.inFlight.get(key);
    if (flight) flight.deleted = true;
    this.armBackoffTimer();
  }

  /** The next pod to schedule; waits while none is active; undefined once closed. */
  pop(): Promise<QueuedPodInfo | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    const next = this.take();
    if (next) return Promise.resolve(next);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The next pod to schedule if one is active now; undefined when none is (or once closed), without waiting. */
  popNow(): QueuedPodInfo | undefined {
    return this.closed ? undefined : this.take();
  }

  /** The cycle of this pod ended (scheduled, or dropped): it is no longer in flight. */
  done(key: string): void {
    this.inFlight.delete(key);
  }

  /** No node fits: park the pod (or back it off when the cluster changed during its cycle). */
  requeueUnschedulable(info: QueuedPodInfo): void {
    const pod = this.returning(info);
    if (!pod) return;
    if (this.moveRequestCycle >= info.cycle) this.pushBackoff(info);
    else this.unschedulable.set(info.key, info);
  }

  /** The attempt failed with an error (a plugin or the API): retry after the back-off. */
  requeueBackoff(info: QueuedPodInfo): void {
    if (!this.returning(info)) return;
    this.pushBackoff(info);
  }

  /**
   * The cluster changed in a way that may let parked pods fit (node added or
   * changed, a pod deleted or finished): retry every unschedulable pod, or
   * with `only` those it selects (Kubernetes' queueing hints: a pod bound
   * can help only pods with pod affinity or topology spread constraints).
   */
  moveAllToActiveOrBackoff(only?: (pod: Pod) => boolean): void {
    this.moveRequestCycle = this.schedulingCycle;
    if (this.unschedulable.size === 0) return;
    for (const [key, info] of this.unschedulable) {
      if (only && !only(info.pod)) continue;
      this.toActiveOrBackoff(info);
      this.unschedulable.delete(key);
    }
    this.wake();
  }

  lengths(): QueueLengths {
    return { active: this.active.size, backoff: this.backoff.size, unschedulable: this.unschedulable.size };
  }

  /** Where a pod waits: for tests and logs. */
  where(key: string): 'active' | 'backoff' | 'unschedulable' | 'inflight' | undefined {
    if (this.active.has(key)) return 'active';
    if (this.backoff.has(key)) return 'backoff';
    if (this.unschedulable.has(key)) return 'unschedulable';
    if (this.inFlight.has(key)) return 'inflight';
    return undefined;
  }

  /** The back-off of a pod after `attempts` attempts: initial doubling per attempt, capped. */
  backoffDuration(attempts: number): number {
    if (attempts <= 0) return 0;
    return exponentialDelay({ initialMs: this.initialBackoffMs, maxMs: this.maxBackoffMs }, attempts - 1);
  }

  /** Stops timers; waiting pops resolve with undefined. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.backoffTimer) this.clock.clearTimeout(this.backoffTimer.handle);
    if (this.flushTimer) this.clock.clearTimeout(this.flushTimer);
    this.backoffTimer = undefined;
    this.flushTimer = undefined;
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  private readyAt(info: QueuedPodInfo): number {
    return info.timestamp + this.backoffDuration(info.attempts);
  }

  private take(): QueuedPodInfo | undefined {
    const next = this.active.pop();
    if (!next) return undefined;
    next.attempts++;
    next.cycle = ++this.schedulingCycle;
    this.inFlight.set(next.key, { deleted: false });
    return next;
  }

  private wake(): void {
    while (this.waiters.length > 0 && this.active.size > 0) {
      const next = this.take();
      this.waiters.shift()?.(next);
    }
  }

  /** Ends the pod's flight; the pod to requeue (its latest version), or undefined when it was deleted meanwhile. */
  private returning(info: QueuedPodInfo): Pod | undefined {
    const flight = this.inFlight.get(info.key);
    this.inFlight.delete(info.key);
    if (this.closed || flight?.deleted) return undefined;
    if (flight?.latest) info.pod = flight.latest;
    info.timestamp = this.clock.now();
    return info.pod;
  }

  private toActiveOrBackoff(info: QueuedPodInfo): void {
    if (this.readyAt(info) > this.clock.now()) this.pushBackoff(info);
    else this.active.push(info);
  }

  private pushBackoff(info: QueuedPodInfo): void {
    this.backoff.push(info);
    this.armBackoffTimer();
  }

  /** One timer, at the earliest back-off end. */
  private armBackoffTimer(): void {
    if (this.closed) return;
    const first = this.backoff.peek();
    const at = first ? this.readyAt(first) : undefined;
    if (this.backoffTimer && this.backoffTimer.at === at) return;
    if (this.backoffTimer) this.clock.clearTimeout(this.backoffTimer.handle);
    this.backoffTimer = undefined;
    if (at === undefined) return;
    const handle = this.clock.setTimeout(() => {
      this.backoffTimer = undefined;
      this.flushBackoff();
    }, at - this.clock.now());
    this.backoffTimer = { handle, at };
  }

  private flushBackoff(): void {
    const now = this.clock.now();
    for (let first = this.backoff.peek(); first && this.readyAt(first) <= now; first = this.backoff.peek()) {
      this.backoff.pop();
      this.active.push(first);
    }
    this.armBackoffTimer();
    this.wake();
  }

  private scheduleUnschedulableFlush(): void {
    if (this.closed) return;
    this.flushTimer = this.clock.setTimeout(() => {
      this.flushTimer = undefined;
      this.flushUnschedulableLeftover();
      this.scheduleUnschedulableFlush();
    }, this.options.unschedulableFlushMs ?? 30_000);
  }

  /** Pods parked for longer than maxUnschedulableMs are retried even without a cluster change. */
  private flushUnschedulableLeftover(): void {
    const now = this.clock.now();
    let moved = false;
    for (const [key, info] of this.unschedulable) {
      if (now - info.timestamp < this.maxUnschedulableMs) continue;
      this.unschedulable.delete(key);
      this.toActiveOrBackoff(info);
      moved = true;
    }
    if (moved) this.wake();
  }
}
