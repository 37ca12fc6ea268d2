// Objects as the storage layer sees them: decoded from etcd values (the
// kind's protobuf binary encoding, without the fields the server derives),
// with resourceVersion, apiVersion and kind filled in on the way out.

import { KINDS, type ApiObject, type KindName } from '../../api/kinds';
import { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire';
import type { ObjectMeta } from '../../api/gen/tsk/v1/meta';

type ErasedCodec = { encode(o: ApiObject, w?: BinaryWriter): BinaryWriter; decode(b: Uint8Array | BinaryReader): ApiObject };

/** The codec of a kind, erased to ApiObject for generic code. */
export function codecOf(kind: KindName): ErasedCodec {
  return KINDS[kind].codec as unknown as ErasedCodec;
}

/**
 * One writer reused by every encode: its buffer grows once to the largest
 * object seen instead of doubling from 64 bytes on each encode. finish()
 * copies the bytes out and resets it; encodes are synchronous, so sharing is safe.
 */
const writer = new BinaryWriter();

/** A Buffer over the bytes of `u8` (no copy). */
function asBuffer(u8: Uint8Array): Buffer {
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

function encodeWith(kind: KindName, obj: ApiObject): Buffer {
  return asBuffer(codecOf(kind).encode(obj, writer).finish());
}

/** The metadata of an object, created when absent. */
export function metaOf(obj: ApiObject): ObjectMeta {
  if (!obj.metadata) obj.metadata = {};
  return obj.metadata;
}

/** Decodes a stored value and stamps the derived fields. */
export function decodeStored(kind: KindName, value: Uint8Array, modRevision: number): ApiObject {
  const obj = codecOf(kind).decode(value);
  obj.apiVersion = KINDS[kind].apiVersion;
  obj.kind = kind;
  metaOf(obj).resourceVersion = String(modRevision);
  return obj;
}

/**
 * The bytes to store: the object without resourceVersion (etcd's mod
 * revision is the truth for it).
 */
export function encodeForStorage(kind: KindName, obj: ApiObject): Buffer {
  const meta = obj.metadata;
  const rv = meta?.resourceVersion;
  if (!meta || !rv) return encodeWith(kind, obj);
  // Left out for the encode and put back: cheaper than copying the object.
  meta.resourceVersion = '';
  try {
    return encodeWith(kind, obj);
  } finally {
    meta.resourceVersion = rv;
  }
}

function readVarint(b: Buffer, pos: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (;;) {
    const x = b[pos++]!;
    v += (x & 0x7f) * mul;
    if (x < 0x80) return [v, pos];
    mul *= 128;
  }
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

/**
 * The client encoding of a stored value at `revision`, without decoding it:
 * every kind is {1 apiVersion, 2 kind, 3 metadata, ...} and resourceVersion is
 * ObjectMeta field 5, so the metadata field is re-framed with the revision
 * appended. One copy instead of a decode and an encode on every write.
 */
export function withResourceVersion(stored: Buffer, revision: number): Buffer {
  const rv = Buffer.from(String(revision));
  const rvField = Buffer.concat([Buffer.from([(5 << 3) | 2]), varint(rv.length), rv]);
  let pos = 0;
  while (pos < stored.length) {
    const fieldStart = pos;
    const [tag, p1] = readVarint(stored, pos);
    const wire = tag & 7;
    if (wire === 2) {
      const [len, p2] = readVarint(stored, p1);
      if (tag >>> 3 === 3) {
        const meta = stored.subarray(p2, p2 + len);
        return concatOwn([stored.subarray(0, fieldStart), Buffer.from([(3 << 3) | 2]), varint(len + rvField.length), meta, rvField, stored.subarray(p2 + len)]);
      }
      pos = p2 + len;
    } else if (wire === 0) {
      pos = readVarint(stored, p1)[1];
    } else if (wire === 1) {
      pos = p1 + 8;
    } else if (wire === 5) {
      pos = p1 + 4;
    } else {
      break;
    }
  }
  return concatOwn([stored, Buffer.from([(3 << 3) | 2]), varint(rvField.length), rvField]);
}

/**
 * Buffer.concat into a buffer of its own: Buffer.concat takes small results
 * from Node's 8 KiB pool, and one such result kept in a cache keeps the
 * whole slab alive.
 */
function concatOwn(parts: readonly Buffer[]): Buffer {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = Buffer.allocUnsafeSlow(size);
  let pos = 0;
  for (const p of parts) pos += p.copy(out, pos);
  return out;
}

/**
 * The stored value that withResourceVersion(stored, revision) made `client`
 * from: the revision's field cut from the end of the metadata, one copy
 * instead of an encode. Undefined when the metadata does not end with exactly
 * that field after other fields (an object encoded some other way, or one
 * whose metadata held only the revision): then only an encode tells.
 */
export function withoutResourceVersion(client: Buffer, revision: number): Buffer | undefined {
  const rv = Buffer.from(String(revision));
  const rvField = Buffer.concat([Buffer.from([(5 << 3) | 2]), varint(rv.length), rv]);
  let pos = 0;
  while (pos < client.length) {
    const fieldStart = pos;
    const [tag, p1] = readVarint(client, pos);
    const wire = tag & 7;
    if (wire === 2) {
      const [len, p2] = readVarint(client, p1);
      if (tag >>> 3 === 3) {
        const meta = client.subarray(p2, p2 + len);
        const kept = len - rvField.length;
        if (kept <= 0 || !meta.subarray(kept).equals(rvField)) return undefined;
        return Buffer.concat([client.subarray(0, fieldStart), Buffer.from([(3 << 3) | 2]), varint(kept), meta.subarray(0, kept), client.subarray(p2 + len)]);
      }
      pos = p2 + len;
    } else if (wire === 0) {
      pos = readVarint(client, p1)[1];
    } else if (wire === 1) {
      pos = p1 + 8;
    } else if (wire === 5) {
      pos = p1 + 4;
    } else {
      return undefined;
    }
  }
  return undefined;
}

/** Client encodings already computed for response objects (the gRPC serializer uses them). */
const preEncoded = new WeakMap<object, Buffer>();

export function rememberEncoding(obj: ApiObject, bytes: Buffer): void {
  preEncoded.set(obj, bytes);
}

export function encodingOf(obj: unknown): Buffer | undefined {
  return typeof obj === 'object' && obj !== null ? preEncoded.get(obj) : undefined;
}

/** The full encoding as served to clients. */
export function encodeForClient(kind: KindName, obj: ApiObject): Buffer {
  return encodeWith(kind, obj);
}

/** A deep copy through the binary codec (objects are plain data). */
export function cloneObject<T extends ApiObject>(kind: KindName, obj: T): T {
  return codecOf(kind).decode(codecOf(kind).encode(obj, writer).finish()) as T;
}

export function resourceVersionOf(obj: ApiObject): number {
  const rv = obj.metadata?.resourceVersion;
  return rv ? Number(rv) : 0;
}
