// A lean etcd v3 client for the API server's hot paths: Range, Txn, Compact,
// Status and Watch over @grpc/grpc-js, with the few etcdserverpb messages
// encoded by hand (field numbers from etcd's api/etcdserverpb/rpc.proto and
// mvccpb/kv.proto). etcd3's generic client decodes every response into
// objects with string revisions through protobufjs and wraps each call in
// retry and circuit-breaker policies; on a create that was a third of the API
// server's CPU. Failover: calls go to the first URL; on UNAVAILABLE the next
// one is tried, so a multi-member --etcd-servers list keeps working.

import * as grpc from '@grpc/grpc-js';
import { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire';

export interface RawKeyValue {
  key: string;
  value: Buffer;
  createRevision: number;
  modRevision: number;
}

export interface RangeRequest {
  key: Buffer;
  rangeEnd?: Buffer | undefined;
  limit?: number;
  revision?: number;
  keysOnly?: boolean;
  countOnly?: boolean;
}

export interface RangeResponse {
  revision: number;
  kvs: RawKeyValue[];
  more: boolean;
  count: number;
}

export type CompareTarget = 'version' | 'create' | 'mod';
export type CompareResult = 'equal' | 'greater' | 'less' | 'notEqual';

export interface CompareSpec {
  key: Buffer;
  target: CompareTarget;
  result: CompareResult;
  value: number;
}

export type RequestOp = { put: { key: Buffer; value: Buffer } } | { deleteRange: { key: Buffer; rangeEnd?: Buffer } };

export interface TxnResponse {
  revision: number;
  succeeded: boolean;
}

export interface WatchCreate {
  key: Buffer;
  rangeEnd: Buffer;
  startRevision: number;
  prevKv: boolean;
}

export interface WatchEventRaw {
  type: 'put' | 'delete';
  kv: RawKeyValue;
  prevKv: RawKeyValue | undefined;
}

export interface WatchResponse {
  revision: number;
  created: boolean;
  canceled: boolean;
  compactRevision: number;
  cancelReason: string;
  events: WatchEventRaw[];
}

const TARGET: Record<CompareTarget, number> = { version: 0, create: 1, mod: 2 };
const RESULT: Record<CompareResult, number> = { equal: 0, greater: 1, less: 2, notEqual: 3 };
/** Compare.target_union field numbers: version 4, create_revision 5, mod_revision 6. */
const TARGET_FIELD: Record<CompareTarget, number> = { version: 4, create: 5, mod: 6 };

function buf(u8: Uint8Array): Buffer {
  return Buffer.from(u8.buffer, u8.byteOffset, u8.length);
}

function encodeRange(r: RangeRequest): Buffer {
  const w = new BinaryWriter();
  w.uint32(10).bytes(r.key);
  if (r.rangeEnd) w.uint32(18).bytes(r.rangeEnd);
  if (r.limit) w.uint32(24).int64(r.limit);
  if (r.revision) w.uint32(32).int64(r.revision);
  if (r.keysOnly) w.uint32(64).bool(true);
  if (r.countOnly) w.uint32(72).bool(true);
  return Buffer.from(w.finish());
}

function decodeHeaderRevision(reader: BinaryReader, len: number): number {
  const end = reader.pos + len;
  let revision = 0;
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag >>> 3 === 3 && (tag & 7) === 0) revision = Number(reader.int64());
    else reader.skip(tag & 7);
  }
  return revision;
}

function decodeKeyValue(reader: BinaryReader, len: number): RawKeyValue {
  const end = reader.pos + len;
  const kv: RawKeyValue = { key: '', value: Buffer.alloc(0), createRevision: 0, modRevision: 0 };
  while (reader.pos < end) {
    const tag = reader.uint32();
    switch (tag) {
      case 10:
        kv.key = buf(reader.bytes()).toString();
        break;
      case 16:
        kv.createRevision = Number(reader.int64());
        break;
      case 24:
        kv.modRevision = Number(reader.int64());
        break;
      case 42:
        kv.value = buf(reader.bytes());
        break;
      default:
        reader.skip(tag & 7);
    }
  }
  return kv;
}

function decodeRangeResponse(b: Buffer): RangeResponse {
  const reader = new BinaryReader(b);
  const res: RangeResponse = { revision: 0, kvs: [], more: false, count: 0 };
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    switch (tag) {
      case 10:
        res.revision = decodeHeaderRevision(reader, reader.uint32());
        break;
      case 18:
        res.kvs.push(decodeKeyValue(reader, reader.uint32()));
        break;
      case 24:
        res.more = reader.bool();
        break;
      case 32:
        res.count = Number(reader.int64());
        break;
      default:
        reader.skip(tag & 7);
    }
  }
  return res;
}

function encodeTxn(compares: CompareSpec[], success: RequestOp[]): Buffer {
  const w = new BinaryWriter();
  for (const c of compares) {
    w.uint32(10).fork();
    if (RESULT[c.result] !== 0) w.uint32(8).int32(RESULT[c.result]);
    if (TARGET[c.target] !== 0) w.uint32(16).int32(TARGET[c.target]);
    w.uint32(26).bytes(c.key);
    // The oneof must be present even when 0, so etcd knows which target is meant.
    w.uint32(TARGET_FIELD[c.target] << 3).int64(c.value);
    w.join();
  }
  for (const op of success) {
    w.uint32(18).fork();
    if ('put' in op) {
      w.uint32(18).fork().uint32(10).bytes(op.put.key).uint32(18).bytes(op.put.value).join();
    } else {
      w.uint32(26).fork().uint32(10).bytes(op.deleteRange.key);
      if (op.deleteRange.rangeEnd) w.uint32(18).bytes(op.deleteRange.rangeEnd);
      w.join();
    }
    w.join();
  }
  return Buffer.from(w.finish());
}

function decodeTxnResponse(b: Buffer): TxnResponse {
  const reader = new BinaryReader(b);
  const res: TxnResponse = { revision: 0, succeeded: false };
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag === 10) res.revision = decodeHeaderRevision(reader, reader.uint32());
    else if (tag === 16) res.succeeded = reader.bool();
    else reader.skip(tag & 7);
  }
  return res;
}

function encodeWatchCreate(c: WatchCreate): Buffer {
  const w = new BinaryWriter();
  w.uint32(10).fork();
  w.uint32(10).bytes(c.key).uint32(18).bytes(c.rangeEnd);
  if (c.startRevision) w.uint32(24).int64(c.startRevision);
  if (c.prevKv) w.uint32(48).bool(true);
  w.join();
  return Buffer.from(w.finish());
}

function decodeWatchEvent(reader: BinaryReader, len: number): WatchEventRaw {
  const end = reader.pos + len;
  const ev: WatchEventRaw = { type: 'put', kv: { key: '', value: Buffer.alloc(0), createRevision: 0, modRevision: 0 }, prevKv: undefined };
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === 8) ev.type = reader.int32() === 1 ? 'delete' : 'put';
    else if (tag === 18) ev.kv = decodeKeyValue(reader, reader.uint32());
    else if (tag === 26) ev.prevKv = decodeKeyValue(reader, reader.uint32());
    else reader.skip(tag & 7);
  }
  return ev;
}

function decodeWatchResponse(b: Buffer): WatchResponse {
  const reader = new BinaryReader(b);
  const res: WatchResponse = { revision: 0, created: false, canceled: false, compactRevision: 0, cancelReason: '', events: [] };
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    switch (tag) {
      case 10:
        res.revision = decodeHeaderRevision(reader, reader.uint32());
        break;
      case 24:
        res.created = reader.bool();
        break;
      case 32:
        res.canceled = reader.bool();
        break;
      case 40:
        res.compactRevision = Number(reader.int64());
        break;
      case 50:
        res.cancelReason = reader.string();
        break;
      case 90:
        res.events.push(decodeWatchEvent(reader, reader.uint32()));
        break;
      default:
        reader.skip(tag & 7);
    }
  }
  return res;
}

function decodeStatusVersion(b: Buffer): string {
  const reader = new BinaryReader(b);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag === 18) return reader.string();
    reader.skip(tag & 7);
  }
  return '';
}

const identity = (b: Buffer): Buffer => b;

/** An etcd error with the server's message (e.g. "etcdserver: mvcc: required revision has been compacted"). */
export class EtcdCallError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
    this.name = 'EtcdCallError';
  }
}

export class EtcdClient {
  private clients: grpc.Client[];
  private current = 0;

  constructor(readonly urls: string[]) {
    if (urls.length === 0) throw new Error('no etcd servers given');
    this.clients = urls.map(
      (u) =>
        new grpc.Client(u.replace(/^https?:\/\//, ''), grpc.credentials.createInsecure(), {
          'grpc.max_receive_message_length': -1,
          'grpc.max_send_message_length': -1,
          'grpc.enable_channelz': 0,
          // A large HTTP/2 window: a busy event loop must not make etcd's
          // watch sender block, or etcd demotes the watcher to "slow" and
          // replays its events from disk.
          'grpc-node.flow_control_window': 16 * 1024 * 1024,
          'grpc.keepalive_time_ms': 30_000,
          'grpc.keepalive_timeout_ms': 10_000,
          'grpc.initial_reconnect_backoff_ms': 100,
          'grpc.max_reconnect_backoff_ms': 2000,
        }),
    );
  }

  private unary(path: string, req: Buffer, timeoutMs = 30_000): Promise<Buffer> {
    const attempt = (n: number): Promise<Buffer> =>
      new Promise<Buffer>((resolve, reject) => {
        const client = this.clients[this.current]!;
        client.makeUnaryRequest(path, identity, identity, req, { deadline: Date.now() + timeoutMs }, (err, res) => {
          if (!err) {
            resolve(res as Buffer);
            return;
          }
          if (err.code === grpc.status.UNAVAILABLE && n + 1 < this.clients.length) {
            this.current = (this.current + 1) % this.clients.length;
            attempt(n + 1).then(resolve, reject);
            return;
          }
          reject(new EtcdCallError(err.code, err.details || err.message));
        });
      });
    return attempt(0);
  }

  async range(r: RangeRequest): Promise<RangeResponse> {
    return decodeRangeResponse(await this.unary('/etcdserverpb.KV/Range', encodeRange(r)));
  }

  async txn(compares: CompareSpec[], success: RequestOp[]): Promise<TxnResponse> {
    return decodeTxnResponse(await this.unary('/etcdserverpb.KV/Txn', encodeTxn(compares, success)));
  }

  async compact(revision: number): Promise<void> {
    const w = new BinaryWriter();
    w.uint32(8).int64(revision).uint32(16).bool(true);
    await this.unary('/etcdserverpb.KV/Compact', Buffer.from(w.finish()));
  }

  async version(timeoutMs = 2000): Promise<string> {
    return decodeStatusVersion(await this.unary('/etcdserverpb.Maintenance/Status', Buffer.alloc(0), timeoutMs));
  }

  /** Opens a Watch stream and sends one create request on it. */
  watch(create: WatchCreate): grpc.ClientDuplexStream<Buffer, WatchResponse> {
    const client = this.clients[this.current]!;
    const stream = client.makeBidiStreamRequest('/etcdserverpb.Watch/Watch', identity, decodeWatchResponse) as grpc.ClientDuplexStream<Buffer, WatchResponse>;
    stream.write(encodeWatchCreate(create));
    return stream;
  }

  close(): void {
    for (const c of this.clients) c.close();
  }
}
