// Serving one Watch call: a bounded outgoing queue per client stream, fed by
// the kind's watch cache, or first by a watch replayed from etcd history when
// the requested resourceVersion is older than the cache's window (after an
// API server restart). A kind without a watch cache (Events, as Kubernetes'
// DefaultWatchCacheSizes has them) is watched straight from etcd, each watch
// on an etcd watch of its own. Periodic BOOKMARKs when asked for (from the
// cache only: Kubernetes' etcd watches send none either). The transport (a
// gRPC stream, or the REST API's chunked JSON) is behind WatchOutput.

import { Metadata, type ServerWritableStream } from '@grpc/grpc-js';
import { BadRequestError, ExpiredError, UnavailableError, toServiceError, type ApiError } from '../../api/errors';
import { KINDS, type KindName } from '../../api/kinds';
import type { WatchRequest } from '../../api/gen/tsk/v1/meta';
import type { EtcdStore } from '../storage/etcd-store';
import { EtcdCacheSource, watchPrefix } from '../storage/etcd-source';
import type { ObjectFilter } from '../storage/filter';
import { kindPrefix, listPrefix } from '../storage/keys';
import { encodeForClient } from '../storage/objects';
import {
  CacheEvent,
  CachedObject,
  FRESH_TIMEOUT_MS,
  TooOldError,
  eventFor,
  type RawEvent,
  type WatchCache,
  type WatchSink,
  type WatchHandle,
} from '../storage/watch-cache';
import { RawMessage, encodeWatchEvent, type WatchEventType } from '../storage/wire';

/** Where a watch's events go: one client's stream, whatever its encoding. */
export interface WatchOutput {
  /**
   * Queues one event; false when the client is behind (wait for drained()).
   * `shared`: the event's encoding may be kept on the cached object for the
   * other watchers (not for the initial state, which would stay in memory).
   */
  send(type: WatchEventType, obj: CachedObject, shared: boolean): boolean;
  /** A BOOKMARK at `revision`. */
  bookmark(revision: number): void;
  /** Events queued and not yet taken by the client. */
  readonly pending: number;
  /** Resolves when the client can take more, or has gone. */
  drained(): Promise<void>;
  /** Ends the watch with an error for the client. */
  fail(err: ApiError): void;
  /** `f` runs when the client goes away or the stream ends. */
  onClose(f: () => void): void;
  /** Tells the client its watch is registered (every later change will reach it). */
  registered(): void;
}

/** A gRPC Watch call as a WatchOutput: pre-encoded <Kind>WatchEvent messages. */
export function grpcWatchOutput(kind: KindName, call: ServerWritableStream<WatchRequest, unknown>): WatchOutput {
  return {
    send: (type, obj, shared) => call.write(new RawMessage(shared ? obj.eventBytes(type) : encodeWatchEvent(type, obj.bytes))),
    bookmark: (revision) => {
      const obj = encodeForClient(kind, { metadata: { resourceVersion: String(revision) } });
      call.write(new RawMessage(encodeWatchEvent('BOOKMARK', obj)));
    },
    get pending() {
      return call.writableLength;
    },
    drained: () =>
      new Promise((resolve) => {
        const done = (): void => {
          call.off('drain', done);
          call.off('close', done);
          call.off('cancelled', done);
          resolve();
        };
        call.on('drain', done);
        call.on('close', done);
        call.on('cancelled', done);
      }),
    fail: (err) => call.emit('error', toServiceError(err)),
    onClose: (f) => {
      call.on('cancelled', f);
      call.on('close', f);
    },
    // grpc-js sends the response headers only once: with initial events they already left with the first one.
    registered: () => call.sendMetadata(new Metadata()),
  };
}

export interface WatchOptions {
  /** Events a client may have outstanding before it is cut off as too slow. */
  maxQueue: number;
  bookmarkIntervalMs: number;
  onEventSent: () => void;
}

/** The client side of one watch: queue bound, bookmarks, the last revision sent. */
class ClientStream implements WatchSink {
  lastRevision: number;
  closed = false;
  private bookmarkTimer: NodeJS.Timeout | undefined;
  onClose: (() => void) | undefined;

  constructor(
    private readonly kind: KindName,
    private readonly out: WatchOutput,
    private readonly filter: ObjectFilter,
    private readonly opts: WatchOptions,
    startRevision: number,
  ) {
    this.lastRevision = startRevision;
    out.onClose(() => this.finish());
  }

  matches(o: CachedObject): boolean {
    return this.filter.matchesEntry(o);
  }

  requiredValue(field: string): string | undefined {
    return this.filter.requiredValue(field);
  }

  /**
   * An ADDED event for each object of the initial state that matches, at the
   * pace the client reads (they are not counted against the queue bound);
   * ends early when the client goes away.
   */
  async sendInitial(items: readonly CachedObject[]): Promise<void> {
    for (const o of items) {
      if (this.closed) return;
      if (!this.matches(o)) continue;
      // Not shared: kept on the cached object, the whole state's encodings
      // would stay in memory after this one watch.
      if (!this.out.send('ADDED', o, false)) await this.out.drained();
      this.opts.onEventSent();
    }
  }

  deliver(type: WatchEventType, obj: CachedObject): boolean {
    if (this.closed) return false;
    if (this.out.pending >= this.opts.maxQueue) {
      this.close(
        new UnavailableError(
          `watch of ${this.kind} closed: the client fell ${this.out.pending} events behind; watch again from resourceVersion ${this.lastRevision}`,
        ),
      );
      return false;
    }
    this.lastRevision = obj.revision;
    this.out.send(type, obj, true);
    this.opts.onEventSent();
    return true;
  }

  /** Sends a BOOKMARK at `revision` when it moves the client forward. */
  bookmark(revision: number): void {
    if (this.closed || revision <= this.lastRevision) return;
    this.lastRevision = revision;
    this.out.bookmark(revision);
  }

  startBookmarks(current: () => number): void {
    this.bookmarkTimer = setInterval(() => this.bookmark(current()), this.opts.bookmarkIntervalMs);
    this.bookmarkTimer.unref();
  }

  close(err: ApiError): void {
    if (this.closed) return;
    this.out.fail(err);
    this.finish();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.bookmarkTimer);
    this.onClose?.();
  }
}

export interface WatchDeps {
  kind: KindName;
  /** The kind's watch cache; undefined: the kind is not cached, every watch reads etcd. */
  cache: WatchCache | undefined;
  store: EtcdStore;
  filter: ObjectFilter;
  opts: WatchOptions;
}

/** Serves a watch until the client goes away or the server stops; throws what fails before the first event. */
export async function serveWatch(out: WatchOutput, req: WatchRequest, deps: WatchDeps): Promise<void> {
  const { kind, cache, store } = deps;
  await cache?.ready();
  const rvText = req.resourceVersion ?? '';
  if (rvText !== '' && !/^\d+$/.test(rvText)) {
    throw new BadRequestError(`invalid resourceVersion "${rvText}" for watch: want a decimal number`, [
      { field: 'resourceVersion', message: 'must be a decimal number' },
    ]);
  }
  // Kubernetes' semantics: with no resourceVersion the watch starts from the
  // most recent state, with "0" from any state (here both the cache's), and
  // first sends an ADDED event for every object in it; with a revision, only
  // the changes after it.
  const initial = rvText === '' || rvText === '0' ? await initialState(cache, store, kind, req.namespace ?? '', rvText === '') : undefined;
  const requested = initial ? initial.revision : Number(rvText);
  const client = new ClientStream(kind, out, deps.filter, deps.opts, requested);
  let stopCurrent: () => void = () => undefined;
  client.onClose = () => stopCurrent();
  if (initial) {
    await client.sendInitial(initial.items);
    if (client.closed) return;
  }

  let fromCache = false;
  const attachToCache = (cache: WatchCache, after: number): void => {
    let reg: { stop(): void };
    try {
      reg = cache.watch(after, client);
    } catch (err) {
      if (err instanceof TooOldError && after >= cache.oldestServable) {
        // The cache is re-listing after losing its etcd watch.
        throw new UnavailableError(`the watch cache for ${kind} is re-initialising; watch again shortly`);
      }
      throw err;
    }
    fromCache = true;
    stopCurrent = () => reg.stop();
  };

  if (cache && requested >= cache.oldestServable) {
    attachToCache(cache, requested);
  } else {
    // Older than the cache's window: replay from etcd history, then hand
    // over to the cache once it holds everything after what was sent.
    // Without a cache, the etcd watch serves the whole watch, and says
    // itself when the revision was compacted (the revision may also be
    // etcd's current one, which a read at the next would call a future one).
    if (!initial && cache) await assertNotCompacted(store, kind, requested);
    if (client.closed) return;
    const prefix = listPrefix(kind, req.namespace ?? '');
    let handle: WatchHandle | undefined;
    const onEvents = (events: RawEvent[]): void => {
      if (client.closed) return;
      for (const raw of events) {
        const out = eventFor(historyEvent(kind, raw), (o) => client.matches(o));
        if (out && !client.deliver(out.type, out.obj)) return;
        client.lastRevision = Math.max(client.lastRevision, raw.modRevision);
      }
      const last = client.lastRevision;
      if (cache && last >= cache.oldestServable && last <= cache.revision) {
        // Attach first (synchronous: replay + register), then stop the etcd
        // watch, so no event is missed or sent twice; if the cache cannot
        // take over yet, keep replaying from etcd.
        try {
          attachToCache(cache, last);
          handle?.cancel();
        } catch {
          fromCache = false;
        }
      }
    };
    handle = watchPrefix(store, prefix, requested + 1, true, onEvents, (err) => {
      client.close(
        /compacted/.test(err.message)
          ? new ExpiredError(`too old resource version: ${requested} (${err.message})`)
          : new UnavailableError(`watch from etcd failed: ${err.message}`),
      );
    });
    stopCurrent = () => handle?.cancel();
  }
  // The client learns its watch is registered: every change after the
  // requested revision will reach it.
  if (!client.closed) out.registered();
  // A bookmark promises every event up to it was sent: from the cache that is
  // its revision; while replaying history, only what was already delivered.
  // A watch from a revision another API server returned may be ahead of this cache: never bookmark below it.
  if (req.allowBookmarks && cache) client.startBookmarks(() => (fromCache ? Math.max(cache.revision, requested) : client.lastRevision));
}

/**
 * The state an initial-events watch starts from: the cache's; when
 * `consistent` and the cache cannot show it is at etcd's revision, or
 * without a cache, etcd's own at its current revision (the watch then goes
 * on from there; without a cache only the namespace's objects are read).
 */
async function initialState(
  cache: WatchCache | undefined,
  store: EtcdStore,
  kind: KindName,
  namespace: string,
  consistent: boolean,
): Promise<{ revision: number; items: CachedObject[] }> {
  if (cache && (!consistent || (await cache.waitFresh(FRESH_TIMEOUT_MS)))) return cache.snapshot();
  const prefix = cache ? kindPrefix(kind) : listPrefix(kind, KINDS[kind].namespaced ? namespace : '');
  const { kvs, revision } = await new EtcdCacheSource(store, prefix, KINDS[kind].plural).list();
  return { revision, items: kvs.map((kv) => CachedObject.fromStored(kind, kv.key, kv.value, kv.modRevision)) };
}

/** Reading at the revision fails when etcd has compacted it away. */
async function assertNotCompacted(store: EtcdStore, kind: KindName, revision: number): Promise<void> {
  try {
    await store.range(kindPrefix(kind), 'revision', { revision: revision + 1, limit: 1, keysOnly: true });
  } catch (err) {
    if (err instanceof ExpiredError) {
      throw new ExpiredError(`too old resource version: ${revision} (etcd has compacted it); list again`);
    }
    throw err;
  }
}

/** An etcd history event in the cache's terms (prev from prev_kv). */
function historyEvent(kind: KindName, raw: RawEvent): CacheEvent {
  const prev = raw.prevValue && raw.prevValue.length > 0 ? CachedObject.fromStored(kind, raw.key, raw.prevValue, raw.prevModRevision ?? 0) : undefined;
  if (raw.type === 'delete') return new CacheEvent('DELETED', raw.modRevision, raw.key, undefined, prev);
  const cur = CachedObject.fromStored(kind, raw.key, raw.value, raw.modRevision);
  return new CacheEvent(prev ? 'MODIFIED' : 'ADDED', raw.modRevision, raw.key, cur, prev);
}
