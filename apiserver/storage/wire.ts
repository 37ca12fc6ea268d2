// Hand-assembled protobuf messages for the two hot paths: a list response
// (the items' bytes are already encoded in the watch cache, so a list of
// 10,000 pods is a memory copy, not 10,000 encodes) and a watch event (one
// encoding of the object shared by every watcher). The layouts are those of
// <Kind>List {1 apiVersion, 2 kind, 3 metadata, 4 items} and
// <Kind>WatchEvent {1 type, 2 object} in proto/tsk/v1.

import { ListMeta } from '../../api/gen/tsk/v1/meta';

/** A response already serialised; the service definitions pass it through. */
export class RawMessage {
  constructor(readonly bytes: Buffer) {}
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(buf: Buffer, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

/** Size of a length-delimited field with a one-byte tag. */
function fieldSize(len: number): number {
  return 1 + varintSize(len) + len;
}

function writeField(buf: Buffer, pos: number, tag: number, data: Uint8Array): number {
  buf[pos++] = tag;
  pos = writeVarint(buf, pos, data.length);
  buf.set(data, pos);
  return pos + data.length;
}

const TAG_1 = (1 << 3) | 2;
const TAG_2 = (2 << 3) | 2;
const TAG_3 = (3 << 3) | 2;
const TAG_4 = (4 << 3) | 2;

export function encodeList(apiVersion: string, listKind: string, meta: ListMeta, items: readonly Uint8Array[]): Buffer {
  const av = Buffer.from(apiVersion);
  const kind = Buffer.from(listKind);
  const metaBytes = ListMeta.encode(meta).finish();
  let size = fieldSize(av.length) + fieldSize(kind.length) + fieldSize(metaBytes.length);
  for (const item of items) size += fieldSize(item.length);
  const buf = Buffer.allocUnsafe(size);
  let pos = writeField(buf, 0, TAG_1, av);
  pos = writeField(buf, pos, TAG_2, kind);
  pos = writeField(buf, pos, TAG_3, metaBytes);
  for (const item of items) pos = writeField(buf, pos, TAG_4, item);
  return buf;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

export function encodeWatchEvent(type: WatchEventType, object: Uint8Array): Buffer {
  const t = Buffer.from(type);
  const buf = Buffer.allocUnsafe(fieldSize(t.length) + fieldSize(object.length));
  const pos = writeField(buf, 0, TAG_1, t);
  writeField(buf, pos, TAG_2, object);
  return buf;
}
