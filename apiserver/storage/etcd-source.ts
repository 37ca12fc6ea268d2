// etcd as the source of a watch cache or of a watch replayed from history:
// a full range of a prefix, and an etcd watch on it from a revision, on a
// Watch stream of etcd3's RPC layer (Etcd3.watchClient). Watched values pass
// the store's transformers (decryption) as ranged ones do.

import type { Etcd3, IDuplexStream, IWatchRequest, IWatchResponse } from 'etcd3';
import { asError } from '../../util/errors';
import type { StorageTransformers } from './encryption';
import type { EtcdStore, KeyValue } from './etcd-store';
import { prefixEnd } from './keys';
import type { CacheSource, RawEvent, WatchHandle } from './watch-cache';

function toRawEvents(res: IWatchResponse, from: number, transformers: StorageTransformers): RawEvent[] {
  const out: RawEvent[] = [];
  for (const e of res.events) {
    const modRevision = Number(e.kv.mod_revision);
    if (modRevision < from) continue; // replayed after a reconnect
    const key = e.kv.key.toString();
    out.push({
      // At run time the enum's proto name (PUT, DELETE); the typings say Put/Delete.
      type: String(e.type).toLowerCase() === 'delete' ? 'delete' : 'put',
      key,
      value: transformers.fromStorage(key, e.kv.value),
      modRevision,
      prevValue: e.prev_kv ? transformers.fromStorage(key, e.prev_kv.value) : undefined,
      prevModRevision: e.prev_kv ? Number(e.prev_kv.mod_revision) : undefined,
    });
  }
  return out;
}

type WatchStream = IDuplexStream<IWatchRequest, IWatchResponse>;

/**
 * Ends a stream we no longer want. end() first: etcd3 marks the host failed
 * (and closes its channels) on an error of a stream that is still writable,
 * and a cancel is reported as an error.
 */
function closeStream(s: WatchStream): void {
  s.end();
  s.cancel();
}

/**
 * Watches `prefix` from `fromRevision` on its own etcd watch stream. After a
 * broken stream (an etcd restart) it reconnects and resumes after the last
 * revision it delivered, so nothing is lost or repeated. (etcd3's Watcher
 * resumes from the response header's revision, which can skip events still
 * being replayed from history.) onError is called once when etcd cancels the
 * watch, e.g. because the revision was compacted; the message says so.
 */
export function watchPrefix(
  store: { readonly etcd: Etcd3; readonly transformers: StorageTransformers },
  prefix: string,
  fromRevision: number,
  withPrev: boolean,
  onEvents: (events: RawEvent[]) => void,
  onError: (err: Error) => void,
  onProgress?: (revision: number) => void,
  progressRequests = true,
): WatchHandle {
  let cancelled = false;
  let next = fromRevision;
  let stream: WatchStream | undefined;
  let backoff = 50;

  const fail = (err: Error): void => {
    if (cancelled) return;
    cancelled = true;
    if (stream) closeStream(stream);
    onError(err);
  };
  const reconnect = (): void => {
    if (cancelled) return;
    stream = undefined;
    setTimeout(connect, backoff);
    backoff = Math.min(backoff * 2, 2000);
  };
  const attach = (s: WatchStream): void => {
    if (cancelled) {
      closeStream(s);
      return;
    }
    stream = s;
    let ended = false;
    const lost = (): void => {
      if (ended) return;
      ended = true;
      reconnect();
    };
    s.on('data', (res: IWatchResponse) => {
      if (cancelled || ended) return;
      if (res.canceled) {
        ended = true;
        closeStream(s);
        const compactRevision = Number(res.compact_revision);
        fail(
          new Error(
            compactRevision > 0
              ? `required revision ${next} has been compacted (compacted up to ${compactRevision})`
              : `etcd cancelled the watch: ${res.cancel_reason || 'no reason given'}`,
          ),
        );
        return;
      }
      backoff = 50;
      if (res.events.length === 0) {
        // No events, not the creation answer: a progress notification, every event up to the header's revision was sent.
        const revision = Number(res.header?.revision ?? 0);
        if (!res.created && revision > 0) {
          next = Math.max(next, revision + 1);
          onProgress?.(revision);
        }
        return;
      }
      let events: RawEvent[];
      try {
        events = toRawEvents(res, next, store.transformers);
      } catch (err) {
        // A value no provider can read (a lost or changed key): the watch cannot go on without it.
        ended = true;
        closeStream(s);
        fail(asError(err));
        return;
      }
      if (events.length === 0) return;
      next = events[events.length - 1]!.modRevision + 1;
      onEvents(events);
    });
    s.on('error', lost);
    s.on('end', lost);
    s.write({ create_request: { key: Buffer.from(prefix), range_end: prefixEnd(prefix), start_revision: next, prev_kv: withPrev } });
  };
  const connect = (): void => {
    if (cancelled) return;
    store.etcd.watchClient.watch().then(attach, reconnect);
  };
  connect();
  const cancel = (): void => {
    if (cancelled) return;
    cancelled = true;
    if (stream) closeStream(stream);
  };
  if (!progressRequests) return { cancel };
  return {
    cancel,
    // Unanswered while the stream reconnects or its watcher still catches up: the caller then times out and reads etcd.
    requestProgress: () => {
      if (cancelled || stream === undefined) return;
      try {
        stream.write({ progress_request: {} });
      } catch {
        // The stream just broke: it reconnects by itself, and the caller's wait times out.
      }
    },
  };
}

/** Objects per range request while loading a cache. */
const LIST_PAGE = 2000;

export class EtcdCacheSource implements CacheSource {
  /** `progressRequests`: whether etcd's progress notifications may be asked for (progress-support.ts). */
  constructor(
    private readonly store: EtcdStore,
    private readonly prefix: string,
    private readonly type: string,
    private readonly progressRequests = true,
  ) {}

  /** The whole prefix at one revision, read in pages (as a reflector lists) so no response is huge. */
  async list(): Promise<{ kvs: KeyValue[]; revision: number }> {
    const end = prefixEnd(this.prefix);
    const kvs: KeyValue[] = [];
    let start: string | Buffer = this.prefix;
    let revision = 0;
    for (;;) {
      const res = await this.store.range(start, this.type, { end, revision, limit: LIST_PAGE });
      if (revision === 0) revision = res.revision;
      kvs.push(...res.kvs);
      if (!res.more || res.kvs.length === 0) return { kvs, revision };
      start = Buffer.concat([Buffer.from(res.kvs[res.kvs.length - 1]!.key), Buffer.from([0])]);
    }
  }

  watch(fromRevision: number, onEvents: (events: RawEvent[]) => void, onError: (err: Error) => void, onProgress?: (revision: number) => void): WatchHandle {
    return watchPrefix(this.store, this.prefix, fromRevision, false, onEvents, onError, onProgress, this.progressRequests);
  }

  /** etcd's revision now: a get of the prefix key itself (no object lives there), answered from the header. */
  async currentRevision(): Promise<number> {
    return (await this.store.range(this.prefix, this.type, { limit: 1, keysOnly: true })).revision;
  }
}
