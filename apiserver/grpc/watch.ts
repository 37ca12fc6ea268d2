// Serving one Watch call: a bounded outgoing queue per client stream, fed by
// the kind's watch cache, or first by a watch replayed from etcd history when
// the requested resourceVersion is older than the cache's window (after an
// API server restart). Periodic BOOKMARKs when asked for.

import { Metadata, type ServerWritableStream } from '@grpc/grpc-js';
import { BadRequestError, ExpiredError, UnavailableError, toServiceError, type ApiError } from '../../api/errors';
import type { KindName } from '../../api/kinds';
import type { WatchRequest } from '../../api/gen/tsk/v1/meta';
import type { EtcdStore } from '../storage/etcd-store';
import { watchPrefix } from '../storage/etcd-source';
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
    private readonly call: ServerWritableStream<WatchRequest, unknown>,
    private readonly filter: ObjectFilter,
    private readonly opts: WatchOptions,
    startRevision: number,
  ) {
    this.lastRevision = startRevision;
    call.on('cancelled', () => this.finish());
    call.on('close', () => this.finish());
  }

  matches(o: CachedObject): boolean {
    return this.filter.matchesEntry(o);
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
      // Encoded here, not with eventBytes(): kept on the cached object, the
      // whole state's encodings would stay in memory after this one watch.
      if (!this.call.write(new RawMessage(encodeWatchEvent('ADDED', o.bytes)))) await this.drained();
      this.opts.onEventSent();
    }
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.call.off('drain', done);
        this.call.off('close', done);
        this.call.off('cancelled', done);
        resolve();
      };
      this.call.on('drain', done);
      this.call.on('close', done);
      this.call.on('cancelled', done);
    });
  }

  deliver(type: WatchEventType, obj: CachedObject): boolean {
    if (this.closed) return false;
    if (this.call.writableLength >= this.opts.maxQueue) {
      this.close(
        new UnavailableError(
          `watch of ${this.kind} closed: the client fell ${this.call.writableLength} events behind; watch again from resourceVersion ${this.lastRevision}`,
        ),
      );
      return false;
    }
    this.lastRevision = obj.revision;
    this.call.write(new RawMessage(obj.eventBytes(type)));
    this.opts.onEventSent();
    return true;
  }

  /** Sends a BOOKMARK at `revision` when it moves the client forward. */
  bookmark(revision: number): void {
    if (this.closed || revision <= this.lastRevision) return;
    this.lastRevision = revision;
    const obj = encodeForClient(this.kind, { metadata: { resourceVersion: String(revision) } });
    this.call.write(new RawMessage(encodeWatchEvent('BOOKMARK', obj)));
  }

  startBookmarks(current: () => number): void {
    this.bookmarkTimer = setInterval(() => this.bookmark(current()), this.opts.bookmarkIntervalMs);
    this.bookmarkTimer.unref();
  }

  close(err: ApiError): void {
    if (this.closed) return;
    this.call.emit('error', toServiceError(err));
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
  cache: WatchCache;
  store: EtcdStore;
  filter: ObjectFilter;
  opts: WatchOptions;
}

/** Serves a Watch call until the client cancels or the server stops. */
export async function serveWatch(call: ServerWritableStream<WatchRequest, unknown>, deps: WatchDeps): Promise<void> {
  const { kind, cache, store } = deps;
  await cache.ready();
  const req = call.request;
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
  const initial = rvText === '' || rvText === '0' ? await initialState(cache, kind, rvText === '') : undefined;
  const requested = initial ? initial.revision : Number(rvText);
  const client = new ClientStream(kind, call, deps.filter, deps.opts, requested);
  let stopCurrent: () => void = () => undefined;
  client.onClose = () => stopCurrent();
  if (initial) {
    await client.sendInitial(initial.items);
    if (client.closed) return;
  }

  let fromCache = false;
  const attachToCache = (after: number): void => {
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

  if (requested >= cache.oldestServable) {
    attachToCache(requested);
  } else {
    // Older than the cache's window: replay from etcd history, then hand
    // over to the cache once it holds everything after what was sent.
    await assertNotCompacted(store, kind, requested);
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
      if (last >= cache.oldestServable && last <= cache.revision) {
        // Attach first (synchronous: replay + register), then stop the etcd
        // watch, so no event is missed or sent twice; if the cache cannot
        // take over yet, keep replaying from etcd.
        try {
          attachToCache(last);
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
  // The response headers tell the client its watch is registered: every
  // change after the requested revision will reach it. (With initial events
  // they already left with the first one; grpc-js sends them only once.)
  if (!client.closed) call.sendMetadata(new Metadata());
  // A bookmark promises every event up to it was sent: from the cache that is
  // its revision; while replaying history, only what was already delivered.
  // A watch from a revision another API server returned may be ahead of this cache: never bookmark below it.
  if (req.allowBookmarks) client.startBookmarks(() => (fromCache ? Math.max(cache.revision, requested) : client.lastRevision));
}

/** The state an initial-events watch starts from: the cache's, fresh when `consistent`. */
async function initialState(cache: WatchCache, kind: KindName, consistent: boolean): Promise<{ revision: number; items: CachedObject[] }> {
  if (consistent && !(await cache.waitFresh(FRESH_TIMEOUT_MS))) {
    throw new UnavailableError(`the watch cache for ${kind} has not caught up with etcd; watch again shortly`);
  }
  return cache.snapshot();
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
