// Objects as the storage layer sees them: decoded from etcd values (the
// kind's protobuf binary encoding, without the fields the server derives),
// with resourceVersion, apiVersion and kind filled in on the way out.

import { API_VERSION, KINDS, type ApiObject, type KindName } from '../../api/kinds';
import type { ObjectMeta } from '../../api/gen/tsk/v1/meta';

/** The codec of a kind, erased to ApiObject for generic code. */
export function codecOf(kind: KindName): { encode(o: ApiObject): { finish(): Uint8Array }; decode(b: Uint8Array): ApiObject } {
  return KINDS[kind].codec as unknown as { encode(o: ApiObject): { finish(): Uint8Array }; decode(b: Uint8Array): ApiObject };
}

/** The metadata of an object, created when absent. */
export function metaOf(obj: ApiObject): ObjectMeta {
  if (!obj.metadata) obj.metadata = {};
  return obj.metadata;
}

/** Decodes a stored value and stamps the derived fields. */
export function decodeStored(kind: KindName, value: Uint8Array, modRevision: number): ApiObject {
  const obj = codecOf(kind).decode(value);
  obj.apiVersion = API_VERSION;
  obj.kind = kind;
  metaOf(obj).resourceVersion = String(modRevision);
  return obj;
}

/**
 * The bytes to store: the object without apiVersion, kind and
 * resourceVersion (etcd's mod revision is the truth for the latter).
 */
export function encodeForStorage(kind: KindName, obj: ApiObject): Buffer {
  const copy: ApiObject = { ...obj, apiVersion: undefined, kind: undefined, metadata: { ...obj.metadata, resourceVersion: undefined } };
  return Buffer.from(codecOf(kind).encode(copy).finish());
}

/** The full encoding as served to clients. */
export function encodeForClient(kind: KindName, obj: ApiObject): Buffer {
  return Buffer.from(codecOf(kind).encode(obj).finish());
}

/** A deep copy through the binary codec (objects are plain data). */
export function cloneObject<T extends ApiObject>(kind: KindName, obj: T): T {
  return codecOf(kind).decode(codecOf(kind).encode(obj).finish()) as T;
}

export function resourceVersionOf(obj: ApiObject): number {
  const rv = obj.metadata?.resourceVersion;
  return rv ? Number(rv) : 0;
}
