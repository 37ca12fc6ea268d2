// Recording Events, as client-go's record.EventRecorder: components say what
// happened to an object ("Scheduled", "FailedScheduling", "SuccessfulCreate")
// and carry on. Writing is asynchronous and never blocks or fails the caller:
// an Event is a hint for humans (`tsctl describe`), not state to reconcile.
//
// Like Kubernetes' EventCorrelator, a repeat of the same event (same object,
// type, reason, message and source) within the aggregation window updates
// the stored Event's count and lastTimestamp instead of writing a new one, and
// a per-object token bucket stops one object from flooding etcd.
//
// Writes go out `concurrency` at a time (one by default), one at a time per
// Event; a repeat recorded while its Event waits to be written joins that
// write (one update for a burst of repeats).
// Nothing is dropped silently: what is (a full queue, a failed write, the
// spam filter) is counted in event_recorder_dropped_events_total.

import type { Event } from '../api/gen/tsk/v1/core';
import type { ObjectReference } from '../api/gen/tsk/v1/meta';
import { ConflictError, NotFoundError } from '../api/errors';
import { isKindName, KINDS, type ApiObject } from '../api/kinds';
import { realClock, type Clock } from './clock';
import type { ResourceClient } from './resource';
import { rfc3339 } from '../util/time';
import { Counter, type Registry } from 'prom-client';

export type EventType = 'Normal' | 'Warning';

/** The two verbs the recorder needs of the Event client. */
export type EventWriter = Pick<ResourceClient<Event>, 'create' | 'update'>;

/** Who reports: Event.source.component (such as "default-scheduler") and host (a node's name). */
export interface EventSource {
  readonly component: string;
  readonly host?: string;
}

export interface EventRecorder {
  /** Records that `reason` happened to the object; never throws, never waits. */
  event(object: ObjectReference, type: EventType, reason: string, message: string): void;
}

/** A reference to an object for Event.involvedObject; `kind` as in the API (Pod, Node, ...). */
export function referenceTo(kind: string, object: ApiObject): ObjectReference {
  const m = object.metadata;
  return {
    kind,
    apiVersion: isKindName(kind) ? KINDS[kind].apiVersion : 'v1',
    namespace: m?.namespace ?? '',
    name: m?.name ?? '',
    uid: m?.uid ?? '',
    resourceVersion: m?.resourceVersion ?? '',
    fieldPath: '',
  };
}

export interface RecorderOptions {
  clock?: Clock;
  /** Repeats within this window update one Event; default 10 minutes (Kubernetes' default). */
  aggregateWindowMs?: number;
  /** Per-object burst before the rate limit; default 25 (Kubernetes' spam filter). */
  burst?: number;
  /** Per-object refill interval once the burst is spent; default 5 minutes. */
  refillMs?: number;
  /** Events waiting to be written beyond this are dropped; default 1000 (client-go's maxQueuedEvents). */
  maxQueue?: number;
  /** Writes in flight at once; default DEFAULT_EVENT_WRITES_IN_FLIGHT. */
  concurrency?: number;
  /** Called when an Event could not be written (it is dropped). */
  onError?: (err: unknown, event: Event) => void;
  /** Counts what the recorder drops, by reason. */
  metrics?: EventRecorderMetrics;
}

/**
 * Writes a recorder has in flight at once by default: one, as client-go's
 * core/v1 broadcaster writes. More lets a scheduler or a replication
 * controller making pods faster than one Event per round trip keep up, but
 * tsk has no API Priority and Fairness to put Events behind other writes: in
 * bench:scale on an overloaded machine (load average 16-19), 8 in flight
 * (16 in each hollow kubelet, then 2) took the server from pods and
 * heartbeats until nodes went NotReady and their pods were evicted, in both
 * runs, while the same tree writing one at a time bound every pod.
 */
export const DEFAULT_EVENT_WRITES_IN_FLIGHT = 1;

/** Why an event was not written. */
export type DropReason = 'queue_full' | 'write_failed' | 'rate_limited';

/**
 * The recorders' counter of dropped events (by component and reason): a drop
 * is never silent. Several recorders (and components) may share one registry.
 */
export class EventRecorderMetrics {
  private readonly dropped: Counter<'component' | 'reason'>;

  constructor(registry: Registry) {
    const name = 'event_recorder_dropped_events_total';
    this.dropped =
      (registry.getSingleMetric(name) as Counter<'component' | 'reason'> | undefined) ??
      new Counter({
        name,
        help: 'Events a recorder did not write, by reason: queue_full (more waiting than its queue holds), write_failed (the API refused or failed), rate_limited (the per-object spam filter).',
        labelNames: ['component', 'reason'],
        registers: [registry],
      });
  }

  drop(component: string, reason: DropReason): void {
    this.dropped.inc({ component, reason });
  }
}

interface Aggregate {
  /** The Event's name, chosen when the key is first recorded in its window. */
  readonly name: string;
  /** The stored Event this key last wrote; undefined until the first write succeeds. */
  stored?: Event;
  count: number;
  firstTimestamp: string;
  lastSeen: number;
  /** The newest state not yet written: a repeat recorded meanwhile replaces it (one write for both). */
  pending?: Event;
  /** A write of this key is in flight: the next one waits for it (an update needs what it stored). */
  busy: boolean;
}

interface Bucket {
  tokens: number;
  last: number;
}

/** The Event's name, as Kubernetes: the object's name and the time in hex nanoseconds. */
function eventName(objectName: string, nowMs: number, seq: number): string {
  const nanos = BigInt(nowMs) * 1_000_000n + BigInt(seq % 1_000_000);
  return `${objectName}.${nanos.toString(16)}`;
}

/**
 * Writes up to `concurrency` Events at once, one at a time per aggregate key
 * (the update of a repeat needs the Event its create stored); while a key
 * waits, a repeat only changes what it will write (count, lastTimestamp), so
 * a burst of repeats costs one write, not one each. Keys are written in the
 * order they were first queued.
 */
export class ApiEventRecorder implements EventRecorder {
  private readonly clock: Clock;
  private readonly window: number;
  private readonly burst: number;
  private readonly refillMs: number;
  private readonly maxQueue: number;
  private readonly concurrency: number;
  private readonly aggregates = new Map<string, Aggregate>();
  private readonly buckets = new Map<string, Bucket>();
  /** Keys with a pending state and no write in flight, oldest first. */
  private readonly ready: string[] = [];
  private readyHead = 0;
  private inFlight = 0;
  /** Keys with a pending state: in `ready`, or waiting for their write in flight. */
  private pendingKeys = 0;
  private idleWaiters: (() => void)[] = [];
  private seq = 0;
  private stopped = false;

  constructor(
    private readonly events: EventWriter,
    private readonly source: EventSource,
    private readonly options: RecorderOptions = {},
  ) {
    this.clock = options.clock ?? realClock;
    this.window = options.aggregateWindowMs ?? 10 * 60_000;
    this.burst = options.burst ?? 25;
    this.refillMs = options.refillMs ?? 5 * 60_000;
    this.maxQueue = options.maxQueue ?? 1000;
    this.concurrency = options.concurrency ?? DEFAULT_EVENT_WRITES_IN_FLIGHT;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) throw new RangeError(`concurrency must be a positive integer, not ${this.concurrency}`);
  }

  event(object: ObjectReference, type: EventType, reason: string, message: string): void {
    if (this.stopped) return;
    if (!this.allow(object)) {
      this.options.metrics?.drop(this.source.component, 'rate_limited');
      return;
    }
    const now = this.clock.now();
    const key = [object.kind, object.namespace, object.name, object.uid, type, reason, message].join('\u0000');
    const agg = this.aggregate(key, object, now);
    const stamp = rfc3339(now);
    if (!agg.firstTimestamp) agg.firstTimestamp = stamp;
    const event: Event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: {
        name: agg.name,
        // Cluster-scoped objects' events live in "default", as in Kubernetes.
        namespace: object.namespace || 'default',
      },
      involvedObject: object,
      reason,
      message,
      source: { component: this.source.component, host: this.source.host ?? '' },
      firstTimestamp: agg.firstTimestamp,
      lastTimestamp: stamp,
      count: agg.count,
      type,
      eventTime: '',
      action: '',
      reportingComponent: this.source.component,
      reportingInstance: this.source.host ?? '',
    };
    if (agg.pending) {
      agg.pending = event; // coalesced with the write already waiting
      return;
    }
    if (this.queued() >= this.maxQueue) {
      this.drop('queue_full', new Error(`event queue full (${this.maxQueue} waiting); dropped`), event);
      return;
    }
    agg.pending = event;
    this.pendingKeys++;
    if (!agg.busy) this.ready.push(key);
    this.pump();
  }

  /** Events recorded and not yet written (each key's newest state counts once). */
  queued(): number {
    return this.pendingKeys;
  }

  /** Resolves when every event recorded so far has been written (or dropped). */
  flush(): Promise<void> {
    if (this.idle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops taking events and waits for the queue to drain. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.flush();
  }

  private idle(): boolean {
    return this.inFlight === 0 && this.ready.length === this.readyHead;
  }

  private drop(reason: DropReason, err: unknown, event: Event): void {
    this.options.metrics?.drop(this.source.component, reason);
    this.options.onError?.(err, event);
  }

  private aggregate(key: string, object: ObjectReference, now: number): Aggregate {
    const prev = this.aggregates.get(key);
    if (prev && now - prev.lastSeen <= this.window) {
      prev.count++;
      prev.lastSeen = now;
      return prev;
    }
    // A key still being written keeps its aggregate past the window: the write in flight refers to it.
    if (prev && (prev.busy || prev.pending)) {
      prev.lastSeen = now;
      prev.count++;
      return prev;
    }
    const fresh: Aggregate = { name: eventName(object.name ?? '', now, this.seq++), count: 1, firstTimestamp: '', lastSeen: now, busy: false };
    this.aggregates.set(key, fresh);
    this.prune(now);
    return fresh;
  }

  /** Forgets idle aggregates and buckets older than the window, so memory stays bounded. */
  private prune(now: number): void {
    if (this.aggregates.size % 256 !== 0) return;
    for (const [k, a] of this.aggregates) if (now - a.lastSeen > this.window && !a.busy && !a.pending) this.aggregates.delete(k);
    for (const [k, b] of this.buckets) if (now - b.last > this.window) this.buckets.delete(k);
  }

  /** The per-object token bucket. */
  private allow(object: ObjectReference): boolean {
    const now = this.clock.now();
    const key = `${object.kind}/${object.namespace}/${object.name}/${object.uid}`;
    const b = this.buckets.get(key) ?? { tokens: this.burst, last: now };
    const refill = Math.floor((now - b.last) / this.refillMs);
    if (refill > 0) {
      b.tokens = Math.min(this.burst, b.tokens + refill);
      b.last = now;
    }
    this.buckets.set(key, b);
    if (b.tokens <= 0) return false;
    b.tokens--;
    return true;
  }

  /** Starts writes of ready keys while there is room in flight. */
  private pump(): void {
    while (this.inFlight < this.concurrency && this.readyHead < this.ready.length) {
      const key = this.ready[this.readyHead++]!;
      if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
        this.ready.splice(0, this.readyHead);
        this.readyHead = 0;
      }
      const agg = this.aggregates.get(key);
      const event = agg?.pending;
      if (!agg || !event) continue;
      agg.pending = undefined;
      this.pendingKeys--;
      agg.busy = true;
      this.inFlight++;
      this.write(agg, event)
        .catch((err: unknown) => this.drop('write_failed', err, event))
        .finally(() => this.written(key, agg));
    }
    if (this.idle()) this.wakeIdle();
  }

  /** A key's write ended: its newest state, recorded meanwhile, goes next. */
  private written(key: string, agg: Aggregate): void {
    agg.busy = false;
    this.inFlight--;
    if (agg.pending) this.ready.push(key);
    this.pump();
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Creates the Event, or updates the one this key wrote before; falls back to a create when that one is gone. */
  private async write(agg: Aggregate, event: Event): Promise<void> {
    const stored = agg.stored;
    if (stored && (event.count ?? 1) > 1) {
      try {
        agg.stored = await this.events.update({ ...event, metadata: { ...stored.metadata, namespace: stored.metadata?.namespace ?? '' } });
        return;
      } catch (err) {
        if (!(err instanceof NotFoundError || err instanceof ConflictError)) throw err;
        // Expired (--event-ttl) or changed by someone else: start a new Event.
        agg.stored = await this.events.create({
          ...event,
          metadata: { name: eventName(event.involvedObject?.name ?? '', this.clock.now(), this.seq++), namespace: event.metadata?.namespace ?? '' },
        });
        return;
      }
    }
    agg.stored = await this.events.create(event);
  }
}
