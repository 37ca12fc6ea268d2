// Recording Events, as client-go's record.EventRecorder: components say what
// happened to an object ("Scheduled", "FailedScheduling", "SuccessfulCreate")
// and carry on. Writing is asynchronous and never blocks or fails the caller:
// an Event is a hint for humans (`tsctl describe`), not state to reconcile.
//
// Like Kubernetes' EventCorrelator, a repeat of the same event (same object,
// type, reason, message and source) within the aggregation window updates
// the stored Event's count and lastTimestamp instead of writing a new one, and
// a per-object token bucket stops one object from flooding etcd.

import type { Event } from '../api/gen/tsk/v1/core';
import type { ObjectReference } from '../api/gen/tsk/v1/meta';
import { ConflictError, NotFoundError } from '../api/errors';
import { isKindName, KINDS, type ApiObject } from '../api/kinds';
import { realClock, type Clock } from './clock';
import type { ResourceClient } from './resource';
import { rfc3339 } from '../util/time';

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
  /** Events waiting to be written beyond this are dropped; default 1000. */
  maxQueue?: number;
  /** Called when an Event could not be written (it is dropped). */
  onError?: (err: unknown, event: Event) => void;
}

interface Aggregate {
  /** The stored Event this key last wrote; undefined until the first write succeeds. */
  stored?: Event;
  count: number;
  firstTimestamp: string;
  lastSeen: number;
}

interface Bucket {
  tokens: number;
  last: number;
}

interface Pending {
  key: string;
  event: Event;
}

/** The Event's name, as Kubernetes: the object's name and the time in hex nanoseconds. */
function eventName(objectName: string, nowMs: number, seq: number): string {
  const nanos = BigInt(nowMs) * 1_000_000n + BigInt(seq % 1_000_000);
  return `${objectName}.${nanos.toString(16)}`;
}

export class ApiEventRecorder implements EventRecorder {
  private readonly clock: Clock;
  private readonly window: number;
  private readonly burst: number;
  private readonly refillMs: number;
  private readonly maxQueue: number;
  private readonly aggregates = new Map<string, Aggregate>();
  private readonly buckets = new Map<string, Bucket>();
  private readonly queue: Pending[] = [];
  private writing: Promise<void> | undefined;
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
  }

  event(object: ObjectReference, type: EventType, reason: string, message: string): void {
    if (this.stopped || !this.allow(object)) return;
    const now = this.clock.now();
    const key = [object.kind, object.namespace, object.name, object.uid, type, reason, message].join('\u0000');
    const agg = this.aggregate(key, now);
    const stamp = rfc3339(now);
    const event: Event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: {
        name: agg.stored?.metadata?.name ?? eventName(object.name ?? '', now, this.seq++),
        // Cluster-scoped objects' events live in "default", as in Kubernetes.
        namespace: object.namespace || 'default',
      },
      involvedObject: object,
      reason,
      message,
      source: { component: this.source.component, host: this.source.host ?? '' },
      firstTimestamp: agg.firstTimestamp || stamp,
      lastTimestamp: stamp,
      count: agg.count,
      type,
      eventTime: '',
      action: '',
      reportingComponent: this.source.component,
      reportingInstance: this.source.host ?? '',
    };
    if (!agg.firstTimestamp) agg.firstTimestamp = stamp;
    if (this.queue.length >= this.maxQueue) {
      this.options.onError?.(new Error(`event queue full (${this.maxQueue}); dropped`), event);
      return;
    }
    this.queue.push({ key, event });
    this.kick();
  }

  /** Resolves when every event recorded so far has been written (or dropped). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  /** Stops taking events and waits for the queue to drain. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.flush();
  }

  private aggregate(key: string, now: number): Aggregate {
    const prev = this.aggregates.get(key);
    if (prev && now - prev.lastSeen <= this.window) {
      prev.count++;
      prev.lastSeen = now;
      return prev;
    }
    const fresh: Aggregate = { count: 1, firstTimestamp: '', lastSeen: now };
    this.aggregates.set(key, fresh);
    this.prune(now);
    return fresh;
  }

  /** Forgets aggregates and buckets idle for longer than the window, so memory stays bounded. */
  private prune(now: number): void {
    if (this.aggregates.size % 256 !== 0) return;
    for (const [k, a] of this.aggregates) if (now - a.lastSeen > this.window) this.aggregates.delete(k);
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

  private kick(): void {
    if (this.writing) return;
    this.writing = this.drain().finally(() => {
      this.writing = undefined;
      if (this.queue.length > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    for (let next = this.queue.shift(); next; next = this.queue.shift()) {
      try {
        await this.write(next);
      } catch (err) {
        this.options.onError?.(err, next.event);
      }
    }
  }

  /** Creates the Event, or updates the one this key wrote before; falls back to a create when that one is gone. */
  private async write({ key, event }: Pending): Promise<void> {
    const agg = this.aggregates.get(key);
    const stored = agg?.stored;
    let written: Event;
    if (stored && (event.count ?? 1) > 1) {
      try {
        written = await this.events.update({ ...event, metadata: { ...stored.metadata, namespace: stored.metadata?.namespace ?? '' } });
      } catch (err) {
        if (!(err instanceof NotFoundError || err instanceof ConflictError)) throw err;
        // Expired (--event-ttl) or changed by someone else: start a new Event.
        written = await this.events.create({
          ...event,
          metadata: { name: eventName(event.involvedObject?.name ?? '', this.clock.now(), this.seq++), namespace: event.metadata?.namespace ?? '' },
        });
      }
    } else {
      written = await this.events.create(event);
    }
    if (agg) agg.stored = written;
  }
}
