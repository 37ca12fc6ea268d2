// etcd as the source of a watch cache or of a watch replayed from history:
// a full range of a prefix, and an etcd watch on it from a revision.

import type { ClientDuplexStream } from '@grpc/grpc-js';
import type { EtcdClient, WatchResponse } from './etcd-client';
import type { EtcdStore, KeyValue } from './etcd-store';
import { prefixEnd } from './keys';
import type { CacheSource, RawEvent, WatchHandle } from './watch-cache';

function toRawEvents(res: WatchResponse): RawEvent[] {
  return res.events.map((e) => ({
    type: e.type,
    key: e.kv.key,
    value: e.kv.value,
    modRevision: e.kv.modRevision,
    prevValue: e.prevKv?.value,
    prevModRevision: e.prevKv?.modRevision,
  }));
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
  client: EtcdClient,
  prefix: string,
  fromRevision: number,
  withPrev: boolean,
  onEvents: (events: RawEvent[]) => void,
  onError: (err: Error) => void,
): WatchHandle {
  let cancelled = false;
  let next = fromRevision;
  let stream: ClientDuplexStream<Buffer, WatchResponse> | undefined;
  let backoff = 50;

  const fail = (err: Error): void => {
    if (cancelled) return;
    cancelled = true;
    stream?.cancel();
    onError(err);
  };
  const reconnect = (): void => {
    if (cancelled) return;
    stream = undefined;
    setTimeout(connect, backoff);
    backoff = Math.min(backoff * 2, 2000);
  };
  const connect = (): void => {
    if (cancelled) return;
    const s = client.watch({ key: Buffer.from(prefix), rangeEnd: prefixEnd(prefix), startRevision: next, prevKv: withPrev });
    stream = s;
    let ended = false;
    const lost = (): void => {
      if (ended) return;
      ended = true;
      reconnect();
    };
    s.on('data', (res: WatchResponse) => {
      if (cancelled || ended) return;
      if (res.canceled) {
        ended = true;
        s.cancel();
        const compacted = res.compactRevision > 0;
        fail(
          new Error(
            compacted
              ? `required revision ${next} has been compacted (compacted up to ${res.compactRevision})`
              : `etcd cancelled the watch: ${res.cancelReason || 'no reason given'}`,
          ),
        );
        return;
      }
      backoff = 50;
      if (res.events.length === 0) return;
      const events = toRawEvents(res).filter((e) => e.modRevision >= next);
      if (events.length === 0) return;
      next = events[events.length - 1]!.modRevision + 1;
      onEvents(events);
    });
    s.on('error', lost);
    s.on('end', lost);
  };
  connect();
  return {
    cancel: () => {
      if (cancelled) return;
      cancelled = true;
      stream?.cancel();
    },
  };
}

/** Objects per range request while loading a cache. */
const LIST_PAGE = 2000;

export class EtcdCacheSource implements CacheSource {
  constructor(
    private readonly store: EtcdStore,
    private readonly prefix: string,
    private readonly type: string,
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

  watch(fromRevision: number, onEvents: (events: RawEvent[]) => void, onError: (err: Error) => void): WatchHandle {
    return watchPrefix(this.store.client, this.prefix, fromRevision, false, onEvents, onError);
  }
}
