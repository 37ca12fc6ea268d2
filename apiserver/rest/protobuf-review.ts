// kubectl sends its SelfSubjectAccessReview (`auth can-i`) in Kubernetes'
// protobuf encoding only (its typed client does not fall back to JSON on a
// 415), so that one body is read here: the "k8s\0" envelope
// (runtime.Unknown: typeMeta, raw) around authorization/v1's
// SelfSubjectAccessReview, of which only the spec is needed. Field numbers
// from k8s.io/api/authorization/v1/generated.proto.

import { BinaryReader } from '@bufbuild/protobuf/wire';
import type { JsonObject } from '../../api/codec';
import { BadRequestError } from '../../api/errors';

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** The length-delimited fields of a message, by number (the last of each wins; repeated fields are not needed here). */
function fields(bytes: Uint8Array): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [no, type] = r.tag();
    if (type === 2) out.set(no, r.bytes());
    else r.skip(type, no);
  }
  return out;
}

function strings(bytes: Uint8Array | undefined, names: Record<number, string>): JsonObject {
  const out: JsonObject = {};
  if (bytes === undefined) return out;
  for (const [no, value] of fields(bytes)) {
    const name = names[no];
    if (name !== undefined && value.length > 0) out[name] = Buffer.from(value).toString('utf8');
  }
  return out;
}

const RESOURCE_ATTRIBUTES = { 1: 'namespace', 2: 'verb', 3: 'group', 4: 'version', 5: 'resource', 6: 'subresource', 7: 'name' };
const NON_RESOURCE_ATTRIBUTES = { 1: 'path', 2: 'verb' };

/** The JSON form ({spec: {resourceAttributes | nonResourceAttributes}}) of a protobuf SelfSubjectAccessReview body. */
export function decodeReviewProtobuf(body: Buffer): JsonObject {
  if (body.length < MAGIC.length || !body.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new BadRequestError('the protobuf body does not start with the "k8s\\0" envelope');
  }
  try {
    const raw = fields(body.subarray(MAGIC.length)).get(2);
    if (raw === undefined) throw new BadRequestError('the protobuf body has no object');
    const spec = fields(fields(raw).get(2) ?? new Uint8Array());
    const out: JsonObject = {};
    if (spec.has(1)) out['resourceAttributes'] = strings(spec.get(1), RESOURCE_ATTRIBUTES);
    if (spec.has(2)) out['nonResourceAttributes'] = strings(spec.get(2), NON_RESOURCE_ATTRIBUTES);
    return { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: out };
  } catch (err) {
    if (err instanceof BadRequestError) throw err;
    throw new BadRequestError(`the protobuf SelfSubjectAccessReview does not decode: ${err instanceof Error ? err.message : String(err)}`);
  }
}
