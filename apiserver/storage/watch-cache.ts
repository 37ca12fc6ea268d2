// The watch cache of one kind (Kubernetes' cacher): ONE etcd watch on the
// kind's prefix feeds an in-memory store of every object, a ring buffer of
// recent events by revision, and any number of watchers, each with its own
// filter. Events are dispatched synchronously, in revision order, from the
// single etcd stream, so every watcher sees the same order etcd gave.
//
// Objects in the cache are shared and must never be mutated by readers.

import { ExpiredError, type ApiError } from '../../api/errors';
import { fieldValue } from '../../api/fields';
import { InterningReader } from '../../api/interning-reader';
import { KINDS, type ApiObject, type KindName } from '../../api/kinds';
import type { KeyValue } from './etcd-store';
import { codecOf, decodeStored, encodeForClient, encodeForStorage, withoutResourceVersion, withResourceVersion } from './objects';
import { kindPrefix } from './keys';
import { encodeWatchEvent, type WatchEventType } from './wire';
import { TRIGGER_FIELDS, WatcherSet } from './watcher-set';

/** One change as etcd reports it. */
export interface RawEvent {
  readonly type: 'put' | 'delete';
  readonly key: string;
  /** The new value (put); empty for a delete. */
  readonly value: Buffer;
  /** The revision of the change. */
  readonly modRevision: number;
  /** The value before the change, when the source asked for it. */
  readonly prevValue?: Buffer | undefined;
  readonly prevModRevision?: number | undefined;
}

export interface WatchHandle {
  cancel(): void;
  /**
   * Asks etcd for a progress notification (etcd's RequestProgress): once every
   * event up to its current revision was sent on this watch, onProgress is
   * called with that revision. Optional: a source without it serves
   * consistent reads from etcd once the cache lags.
   */
  requestProgress?(): void;
}

/** Where the cache's data comes from: etcd in production, a fake in unit tests. */
export interface CacheSource {
  list(): Promise<{ kvs: KeyValue[]; revision: number }>;
  /**
   * Delivers every change after `fromRevision - 1` in order; onError when the
   * watch cannot continue; onProgress when etcd says every change up to a
   * revision has been delivered (an answer to requestProgress).
   */
  watch(fromRevision: number, onEvents: (events: RawEvent[]) => void, onError: (err: Error) => void, onProgress?: (revision: number) => void): WatchHandle;
  /**
   * etcd's current revision, by a cheap read (KEP-2340): what a consistent
   * read must have seen, whichever API server made the writes before it.
   */
  currentRevision?(): Promise<number>;
}

/** The trigger value of an object not yet looked at (undefined is a value: the field is unset). */
const UNKNOWN: unique symbol = Symbol('unknown');

/**
 * An object at one revision, held as its client encoding only: the stored
 * bytes with the revision spliced in, in a buffer of its own (a slice of a
 * larger one would keep the whole of it alive: an etcd response, or one of
 * Node's 8 KiB pool slabs). The decoded object is built when something looks
 * inside (a selector, a lifecycle check) and kept only while something uses
 * it (a WeakRef), as the encoding is the truth: decoded objects cost several
 * times their encoding, and a cache of 150,000 pods cannot keep them all.
 * Kubernetes' watch cache keeps each object once too.
 */
export class CachedObject {
  private decoded: WeakRef<ApiObject> | undefined;
  /** The trigger field's value (TRIGGER_FIELDS), kept so that indexing watchers needs no decode. */
  private trigger: string | undefined | typeof UNKNOWN = UNKNOWN;
  private events: Map<WatchEventType, Buffer> | undefined;
  private constructor(
    readonly kind: KindName,
    readonly key: string,
    readonly revision: number,
    /** The client encoding: apiVersion, kind and resourceVersion included. */
    readonly bytes: Buffer,
    /** Whether `bytes` were encoded again from a value in an older encoding (not what etcd holds). */
    private readonly reencoded: boolean,
    obj: ApiObject | undefined,
  ) {
    if (obj) this.decoded = new WeakRef(obj);
  }

  /** From an etcd value (the stored encoding) at its mod revision. */
  static fromStored(kind: KindName, key: string, stored: Buffer, revision: number): CachedObject {
    // Values written by this server start with apiVersion (field 1); older
    // ones without it are re-encoded so clients always get apiVersion/kind.
    if (stored[0] === 0x0a) return new CachedObject(kind, key, revision, withResourceVersion(stored, revision), false, undefined);
    const obj = decodeStored(kind, stored, revision);
    return new CachedObject(kind, key, revision, ownBuffer(encodeForClient(kind, obj)), true, obj);
  }

  /** From a decoded object (resourceVersion set), and its client encoding when known. */
  static fromObject(kind: KindName, key: string, obj: ApiObject, revision: number, encoded?: Buffer): CachedObject {
    return new CachedObject(kind, key, revision, ownBuffer(encoded ?? encodeForClient(kind, obj)), false, obj);
  }

  get obj(): ApiObject {
    let obj = this.decoded?.deref();
    if (!obj) {
      // Decoded objects of one kind share most short strings: one copy of each while they live.
      obj = codecOf(this.kind).decode(new InterningReader(this.bytes));
      this.decoded = new WeakRef(obj);
    }
    return obj;
  }

  /** The namespace, from the key (/registry/<plural>/<namespace>/<name>), without decoding. */
  get namespace(): string {
    if (!KINDS[this.kind].namespaced) return '';
    const rest = this.key.slice(kindPrefix(this.kind).length);
    return rest.slice(0, rest.indexOf('/'));
  }

  /**
   * The value of a selectable field: the name and namespace from the key,
   * the kind's trigger field (TRIGGER_FIELDS) kept after its first decode,
   * anything else from the decoded object.
   */
  fieldValue(field: string): string | undefined {
    if (field === 'metadata.namespace') return this.namespace;
    if (field === 'metadata.name') return this.key.slice(this.key.lastIndexOf('/') + 1);
    if (field !== TRIGGER_FIELDS[this.kind]) return fieldValue(this.kind, this.obj as never, field);
    if (this.trigger === UNKNOWN) this.trigger = fieldValue(this.kind, this.obj as never, field);
    return this.trigger;
  }

  /**
   * The bytes as stored in etcd (without resourceVersion), for an update to
   * start from: the revision's field cut out again (cheaper than an encode);
   * undefined for an object in an older encoding.
   */
  storedBytes(): Buffer | undefined {
    if (this.reencoded) return undefined;
    return withoutResourceVersion(this.bytes, this.revision) ?? encodeForStorage(this.kind, this.obj);
  }

  /** The encoded <Kind>WatchEvent for this object, built once and shared by every watcher. */
  eventBytes(type: WatchEventType): Buffer {
    if (!this.events) this.events = new Map();
    let b = this.events.get(type);
    if (!b) {
      b = encodeWatchEvent(type, this.bytes);
      this.events.set(type, b);
    }
    return b;
  }

  /**
   * Drops the encoded watch events once every watcher has its copy: kept,
   * they would double the memory of every object the cache holds. A later
   * replay (a watch from an older revision) encodes them again.
   */
  releaseEvents(): void {
    this.events = undefined;
  }

  /** The same content stamped with another resourceVersion (a deletion's). */
  atRevision(revision: number): CachedObject {
    const stored = this.storedBytes();
    if (stored) return CachedObject.fromStored(this.kind, this.key, stored, revision);
    const obj = { ...this.obj, metadata: { ...this.obj.metadata, resourceVersion: String(revision) } };
    return CachedObject.fromObject(this.kind, this.key, obj, revision);
  }
}

/**
 * `b` in a buffer of its own: a small Buffer is often a slice of a larger
 * one (Node's 8 KiB pool, a gRPC message) that it would otherwise keep alive.
 */
function ownBuffer(b: Buffer): Buffer {
  if (b.byteOffset === 0 && b.buffer.byteLength === b.length) return b;
  const out = Buffer.allocUnsafeSlow(b.length);
  b.copy(out);
  return out;
}

export class CacheEvent {
  private deleted: CachedObject | undefined;
  /** The trigger field's old and new values (WatchCache.triggersOf), once computed. */
  triggers: readonly string[] | undefined;
  constructor(
    readonly type: 'ADDED' | 'MODIFIED' | 'DELETED',
    readonly revision: number,
    readonly key: string,
    /** The new state; undefined for DELETED. */
    readonly object: CachedObject | undefined,
    /** The state before the change, when there was one. */
    readonly prev: CachedObject | undefined,
  ) {}

  /** The previous state at this event's revision: what a DELETED event carries. */
  get deletedObject(): CachedObject | undefined {
    if (!this.deleted && this.prev) this.deleted = this.prev.atRevision(this.revision);
    return this.deleted;
  }
}

/** What a watcher registered with the cache provides. */
export interface WatchSink {
  /** Whether the object is of interest; decode via o.obj only when needed. */
  matches(o: CachedObject): boolean;
  /** Takes one event; false when the sink cannot keep up (it is then dropped and closed). */
  deliver(type: WatchEventType, obj: CachedObject): boolean;
  close(err: ApiError): void;
  /**
   * The value `field` must have for an object to match (a field selector's
   * `field=value`), or undefined: the cache then offers the watcher only
   * the events of objects with that value, before or after the change.
   */
  requiredValue?(field: string): string | undefined;
}

/**
 * Applies previous-object semantics (Kubernetes' cacheWatcher): an object
 * that stops matching is DELETED for this watcher, one that starts matching
 * is ADDED. Returns undefined when the watcher does not see the event.
 */
export function eventFor(ev: CacheEvent, matches: (o: CachedObject) => boolean): { type: WatchEventType; obj: CachedObject } | undefined {
  const cur = ev.object !== undefined && matches(ev.object);
  const old = ev.prev !== undefined && matches(ev.prev);
  if (cur && !old) return { type: 'ADDED', obj: ev.object! };
  if (cur && old) return { type: 'MODIFIED', obj: ev.object! };
  if (!cur && old) return { type: 'DELETED', obj: ev.deletedObject! };
  return undefined;
}

/** Thrown by watch() when the buffer no longer holds events after the revision. */
export class TooOldError extends Error {
  constructor(
    readonly requested: number,
    readonly oldest: number,
  ) {
    super(`resourceVersion ${requested} is older than the watch cache's window (from ${oldest})`);
  }
}

interface Registered {
  readonly sink: WatchSink;
  readonly after: number;
  /** The trigger field's value the sink requires, if any (its WatcherSet key). */
  readonly indexValue: string | undefined;
}

export interface WatchCacheOptions {
  /** Ring buffer capacity in events. */
  capacity?: number;
  /** Called with the object count when it changes. */
  onSizeChange?: (size: number) => void;
  /** Back-off before re-listing after the etcd watch failed. */
  relistDelayMs?: number;
}

/**
 * How long a consistent read (a list, a watch from the most recent state)
 * waits for the cache to catch up with this server's writes; a list then
 * reads etcd instead.
 */
export const FRESH_TIMEOUT_MS = 3000;

const MAX_SNAPSHOTS = 4;
const SNAPSHOT_TTL_MS = 60_000;

enum CacheState {
  Starting,
  Ready,
  Relisting,
  Stopped,
}

export class WatchCache {
  private readonly store = new Map<string, CachedObject>();
  private readonly ring: (CacheEvent | undefined)[];
  private ringStart = 0;
  private ringCount = 0;
  private readonly watchers = new WatcherSet<Registered>();
  /** The field watchers are indexed by (TRIGGER_FIELDS), if any. */
  private readonly triggerField: string | undefined;
  private state = CacheState.Starting;
  private handle: WatchHandle | undefined;
  private lastRevision = 0;
  /** Every event with a revision above this one is in the ring. */
  private coveredFrom = 0;
  private readyPromise: Promise<void>;
  private readonly capacity: number;
  /** The highest revision this API server wrote to the kind's prefix. */
  private writeRevision = 0;
  private freshWaiters: { target: number; resolve: (ok: boolean) => void }[] = [];
  /** Objects this server just wrote, by key, so their watch events need no decode. */
  private expected = new Map<string, { revision: number; obj: ApiObject; bytes: Buffer }>();
  /** Sorted snapshots by revision, newest last, for consistent paginated lists. */
  private snapshots: { revision: number; items: CachedObject[]; at: number }[] = [];

  constructor(
    readonly kind: KindName,
    private readonly source: CacheSource,
    private readonly opts: WatchCacheOptions = {},
  ) {
    this.capacity = opts.capacity ?? 10_000;
    this.triggerField = TRIGGER_FIELDS[kind];
    this.ring = new Array<CacheEvent | undefined>(this.capacity);
    this.readyPromise = this.load();
  }

  /** Resolves once the initial list is loaded and the etcd watch started. */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  /** The last revision the cache has processed. */
  get revision(): number {
    return this.lastRevision;
  }

  /** The oldest revision a watch can start from without going to etcd. */
  get oldestServable(): number {
    return this.coveredFrom;
  }

  get size(): number {
    return this.store.size;
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  get(key: string): CachedObject | undefined {
    return this.store.get(key);
  }

  /** Every cached object (shared; do not mutate). */
  values(): IterableIterator<CachedObject> {
    return this.store.values();
  }

  /**
   * Registers a watcher for every event after `after`: replays what the ring
   * holds, then live events. Throws TooOldError when the ring does not reach
   * back that far. Synchronous, so no event can slip between replay and live.
   */
  watch(after: number, sink: WatchSink): { stop(): void } {
    if (this.state !== CacheState.Ready) throw new TooOldError(after, this.coveredFrom);
    if (after < this.coveredFrom) throw new TooOldError(after, this.coveredFrom);
    const indexValue = this.triggerField !== undefined ? sink.requiredValue?.(this.triggerField) : undefined;
    const reg: Registered = { sink, after, indexValue };
    for (let i = this.firstIndexAfter(after); i < this.ringCount; i++) {
      const ev = this.ring[(this.ringStart + i) % this.capacity]!;
      // Watches restarted together (a client's connection reset) each replay the ring: the index spares the selector checks.
      if (indexValue !== undefined && !this.triggersOf(ev).includes(indexValue)) continue;
      if (!this.deliverTo(reg, ev)) return { stop: () => undefined };
    }
    this.watchers.add(reg, indexValue);
    return { stop: () => this.watchers.delete(reg, indexValue) };
  }

  /**
   * How many of the kind's events the ring holds at `revision`: more than one
   * when a transaction wrote several objects (BindBatch); undefined when the
   * ring does not reach back that far.
   */
  eventsAt(revision: number): number | undefined {
    if (this.state !== CacheState.Ready || revision - 1 < this.coveredFrom) return undefined;
    let n = 0;
    for (let i = this.firstIndexAfter(revision - 1); i < this.ringCount; i++) {
      if (this.ring[(this.ringStart + i) % this.capacity]!.revision !== revision) break;
      n++;
    }
    return n;
  }

  /**
   * Records a write this API server made to the kind (a txn's revision):
   * what a consistent read must see even when the source cannot tell etcd's
   * current revision. Other API servers' writes are covered by
   * source.currentRevision (waitFresh).
   */
  noteWrite(revision: number): void {
    if (revision > this.writeRevision) this.writeRevision = revision;
  }

  /**
   * Offers the object (and its client encoding) a write just stored at
   * `revision`; the matching watch event then uses it instead of decoding.
   * The object must not be mutated afterwards.
   */
  expect(key: string, revision: number, obj: ApiObject, bytes: Buffer): void {
    if (revision <= this.lastRevision) return;
    if (this.expected.size > 10_000) this.expected.clear(); // never consumed: a reload happened
    this.expected.set(key, { revision, obj, bytes });
  }

  /**
   * Waits until the cache holds everything written before this call, by any
   * API server (Kubernetes' consistent reads from cache, KEP-2340): the target
   * is etcd's current revision, read cheaply; the cache reaches it through
   * its events or a progress notification it asks etcd for. False after
   * `timeoutMs` or when etcd cannot be read: read etcd instead.
   */
  async waitFresh(timeoutMs: number): Promise<boolean> {
    let target = this.writeRevision;
    if (this.source.currentRevision !== undefined) {
      try {
        target = Math.max(target, await this.source.currentRevision());
      } catch {
        return false;
      }
    }
    if (this.state === CacheState.Ready && this.lastRevision >= target) return true;
    // Without progress notifications the cache cannot learn that it is at
    // etcd's revision when other kinds moved it: read etcd at once.
    if (this.state === CacheState.Ready && this.handle?.requestProgress === undefined) return false;
    // Writes to other kinds move etcd's revision too: only etcd can say the cache is at it.
    this.handle?.requestProgress?.();
    return new Promise((resolve) => {
      const waiter = { target, resolve };
      this.freshWaiters.push(waiter);
      setTimeout(() => {
        const i = this.freshWaiters.indexOf(waiter);
        if (i >= 0) {
          this.freshWaiters.splice(i, 1);
          resolve(false);
        }
      }, timeoutMs).unref();
    });
  }

  /** etcd's current revision (a cheap linearizable read), or undefined when the source cannot tell. */
  async etcdRevision(): Promise<number | undefined> {
    return this.source.currentRevision?.();
  }

  /**
   * Every object at the cache's current revision, sorted by key (etcd's
   * order). Kept for a while so the next pages of a list are served from the
   * same snapshot.
   */
  snapshot(now = Date.now()): { revision: number; items: CachedObject[] } {
    const last = this.snapshots[this.snapshots.length - 1];
    if (last && last.revision === this.lastRevision) {
      last.at = now;
      return last;
    }
    const items = [...this.store.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const snap = { revision: this.lastRevision, items, at: now };
    this.snapshots = this.snapshots.filter((s) => now - s.at < SNAPSHOT_TTL_MS).slice(-(MAX_SNAPSHOTS - 1));
    this.snapshots.push(snap);
    return snap;
  }

  /** A snapshot kept at exactly `revision`, if any. */
  snapshotAt(revision: number, now = Date.now()): { revision: number; items: CachedObject[] } | undefined {
    const snap = this.snapshots.find((s) => s.revision === revision && now - s.at < SNAPSHOT_TTL_MS);
    if (snap) snap.at = now;
    return snap;
  }

  /** Stops the etcd watch and closes every watcher. */
  stop(err: ApiError): void {
    this.state = CacheState.Stopped;
    this.handle?.cancel();
    this.closeAll(err);
  }

  private async load(): Promise<void> {
    const { kvs, revision } = await this.source.list();
    this.store.clear();
    for (const kv of kvs) {
      this.store.set(kv.key, CachedObject.fromStored(this.kind, kv.key, kv.value, kv.modRevision));
    }
    this.ringStart = 0;
    this.ringCount = 0;
    this.ring.fill(undefined);
    this.lastRevision = revision;
    this.coveredFrom = revision;
    this.opts.onSizeChange?.(this.store.size);
    this.snapshots = [];
    if ((this.state as CacheState) === CacheState.Stopped) return;
    this.state = CacheState.Ready;
    const ready = this.freshWaiters.filter((w) => w.target <= revision);
    this.freshWaiters = this.freshWaiters.filter((w) => w.target > revision);
    for (const w of ready) w.resolve(true);
    this.handle = this.source.watch(
      revision + 1,
      (events) => this.apply(events),
      (err) => this.onWatchError(err),
      (progress) => this.progress(progress),
    );
  }

  /** The etcd watch broke for good (compaction while disconnected): watchers re-list, the cache reloads. */
  private onWatchError(err: Error): void {
    if (this.state !== CacheState.Ready) return;
    this.state = CacheState.Relisting;
    this.handle?.cancel();
    this.closeAll(new ExpiredError(`the watch cache for ${this.kind} lost its etcd watch (${err.message}); list again`));
    const retry = (): void => {
      if ((this.state as CacheState) === CacheState.Stopped) return;
      this.readyPromise = this.load().catch(() => {
        setTimeout(retry, this.opts.relistDelayMs ?? 1000);
      });
    };
    setTimeout(retry, this.opts.relistDelayMs ?? 100);
  }

  private closeAll(err: ApiError): void {
    const all = this.watchers.all();
    for (const w of all) this.watchers.delete(w, w.indexValue);
    for (const w of all) w.sink.close(err);
  }

  /** Applies a batch of etcd events in order and fans each out. */
  apply(events: readonly RawEvent[]): void {
    if (this.state !== CacheState.Ready) return;
    let sizeChanged = false;
    for (const raw of events) {
      if (raw.modRevision < this.lastRevision) continue; // replayed after a reconnect
      const prev = this.store.get(raw.key);
      let ev: CacheEvent;
      if (raw.type === 'put') {
        if (prev && prev.revision >= raw.modRevision) continue;
        const known = this.expected.get(raw.key);
        if (known) this.expected.delete(raw.key);
        const obj =
          known && known.revision === raw.modRevision
            ? CachedObject.fromObject(this.kind, raw.key, known.obj, raw.modRevision, known.bytes)
            : CachedObject.fromStored(this.kind, raw.key, raw.value, raw.modRevision);
        this.store.set(raw.key, obj);
        ev = new CacheEvent(prev ? 'MODIFIED' : 'ADDED', raw.modRevision, raw.key, obj, prev);
        if (!prev) sizeChanged = true;
      } else {
        if (!prev) continue;
        this.store.delete(raw.key);
        ev = new CacheEvent('DELETED', raw.modRevision, raw.key, undefined, prev);
        sizeChanged = true;
      }
      this.lastRevision = raw.modRevision;
      this.push(ev);
      for (const w of this.watchers.candidates(this.watchers.hasIndexed ? this.triggersOf(ev) : undefined)) {
        if (ev.revision > w.after && !this.deliverTo(w, ev)) this.watchers.delete(w, w.indexValue);
      }
      // The store keeps the object; the encoded events (and a deletion's copy, in the ring only) need not stay.
      ev.object?.releaseEvents();
    }
    if (sizeChanged) this.opts.onSizeChange?.(this.store.size);
    this.resolveFresh();
  }

  /**
   * etcd sent every event of the prefix up to `revision`: the cache is at it
   * although no object of the kind changed (a bookmark of the etcd watch).
   */
  progress(revision: number): void {
    if (this.state !== CacheState.Ready || revision <= this.lastRevision) return;
    this.lastRevision = revision;
    this.resolveFresh();
  }

  private resolveFresh(): void {
    if (this.freshWaiters.length === 0) return;
    const ready = this.freshWaiters.filter((w) => w.target <= this.lastRevision);
    this.freshWaiters = this.freshWaiters.filter((w) => w.target > this.lastRevision);
    for (const w of ready) w.resolve(true);
  }

  /** The trigger field's old and new values of the event's object, computed once per event. */
  private triggersOf(ev: CacheEvent): readonly string[] {
    if (ev.triggers) return ev.triggers;
    const field = this.triggerField;
    const values: string[] = [];
    if (field !== undefined) {
      for (const o of [ev.object, ev.prev]) {
        const v = o?.fieldValue(field);
        if (v !== undefined) values.push(v);
      }
    }
    ev.triggers = values;
    return values;
  }

  /** False when the sink refused (too slow); it has then been closed. */
  private deliverTo(w: Registered, ev: CacheEvent): boolean {
    const out = eventFor(ev, (o) => w.sink.matches(o));
    if (!out) return true;
    return w.sink.deliver(out.type, out.obj);
  }

  private push(ev: CacheEvent): void {
    if (this.ringCount === this.capacity) {
      const evicted = this.ring[this.ringStart]!;
      this.coveredFrom = evicted.revision;
      this.ringStart = (this.ringStart + 1) % this.capacity;
      this.ringCount--;
    }
    this.ring[(this.ringStart + this.ringCount) % this.capacity] = ev;
    this.ringCount++;
  }

  /** Index (0-based from the oldest) of the first buffered event with revision > after. */
  private firstIndexAfter(after: number): number {
    let lo = 0;
    let hi = this.ringCount;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ring[(this.ringStart + mid) % this.capacity]!.revision > after) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
