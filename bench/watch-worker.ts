// A process of watchers for bench/api.ts: opens N pod watches on one
// connection and records, per pod name, the wall-clock time (Date.now(), the
// clock the creator's acknowledgement times use) each ADDED event arrived.
// Watchers live in their own processes, as a cluster's components do, so the
// creator's work and the measurement do not share one event loop.
//
// Protocol (IPC): parent sends {address, namespace, watchers, labelSelector,
// credentials}; the worker answers {ready: true} once every watch is
// registered; {count: true} is answered with {count: events received so far};
// {stop: true} with {receipts: [name, times[]][]}, and the worker exits.

import * as grpc from '@grpc/grpc-js';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { PodServiceService } from '../api/gen/tsk/v1/api';
import { authMetadata, channelCredentials, channelOptions, type ClientCredentials } from '../client';

export interface WatchWorkerStart {
  address: string;
  namespace: string;
  watchers: number;
  labelSelector: string;
  /** Optional; with `spec.nodeName!=` a pod's ADDED event is the moment it is seen bound. */
  fieldSelector?: string;
  /** The admin's client certificate, or plaintext and a bearer token against a --insecure-plaintext-for-benchmarks-only server. */
  credentials: ClientCredentials;
}

export type WatchWorkerReply = { ready: true } | { count: number } | { receipts: [string, number[]][] };

/** The bytes of length-delimited field `field` of a message, or undefined. */
function findField(buf: Uint8Array, field: number): Uint8Array | undefined {
  const r = new BinaryReader(buf);
  while (r.pos < r.len) {
    const [no, wire] = r.tag();
    if (no === field && wire === WireType.LengthDelimited) return r.bytes();
    r.skip(wire);
  }
  return undefined;
}

/**
 * The type and pod name of an encoded PodWatchEvent {1 type, 2 Pod {3
 * metadata {1 name}}}. Only these are read: a full decode would time the
 * client's protobuf decoder, not delivery.
 */
export function peekWatchEvent(buf: Buffer): { type: string; name: string } {
  const type = findField(buf, 1);
  const obj = findField(buf, 2);
  const meta = obj && findField(obj, 3);
  const name = meta && findField(meta, 1);
  return { type: type ? Buffer.from(type).toString() : '', name: name ? Buffer.from(name).toString() : '' };
}

function run(start: WatchWorkerStart): void {
  const channel = new grpc.Client(start.address, channelCredentials(start.credentials, start.address), channelOptions(-1));
  const def = PodServiceService.watch;
  const receipts = new Map<string, number[]>();
  const streams: grpc.ClientReadableStream<Buffer>[] = [];
  let opened = 0;
  let count = 0;
  for (let w = 0; w < start.watchers; w++) {
    const s = channel.makeServerStreamRequest(
      def.path,
      def.requestSerialize,
      (b: Buffer) => b,
      {
        namespace: start.namespace,
        labelSelector: start.labelSelector,
        fieldSelector: start.fieldSelector ?? '',
      },
      authMetadata(start.credentials),
    ) as grpc.ClientReadableStream<Buffer>;
    s.on('metadata', () => {
      if (++opened === start.watchers) process.send!({ ready: true } satisfies WatchWorkerReply);
    });
    s.on('data', (ev: Buffer) => {
      const now = Date.now();
      const { type, name } = peekWatchEvent(ev);
      if (type !== 'ADDED') return;
      count++;
      const list = receipts.get(name);
      if (list) list.push(now);
      else receipts.set(name, [now]);
    });
    s.on('error', () => undefined);
    streams.push(s);
  }
  if (start.watchers === 0) process.send!({ ready: true } satisfies WatchWorkerReply);
  process.on('message', (msg: { count?: boolean; stop?: boolean }) => {
    if (msg.count) process.send!({ count } satisfies WatchWorkerReply);
    if (!msg.stop) return;
    for (const s of streams) s.cancel();
    channel.close();
    process.send!({ receipts: [...receipts] } satisfies WatchWorkerReply, () => process.exit(0));
  });
}

if (require.main === module) {
  process.once('message', (msg: WatchWorkerStart) => run(msg));
}
