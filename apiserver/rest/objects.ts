// Request and response bodies in Kubernetes JSON (api/codec.ts): objects out
// with apiVersion and kind, objects in with kubectl's field validation
// (fieldValidation=Strict|Warn|Ignore over the codec's unknown fields).

import { DecodeError, decodeJson, encodeJson, type JsonObject } from '../../api/codec';
import { load } from 'js-yaml';
import { ApiError, BadRequestError } from '../../api/errors';
import { KUBE_YAML_SCHEMA } from '../../util/kube-yaml';
import { KINDS, type ApiObject, type KindName } from '../../api/kinds';
import { errorMessage } from '../../util/errors';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

/** The fieldValidation query parameter; Warn when absent (Kubernetes' default since 1.27). */
export function parseFieldValidation(value: string | null): FieldValidation {
  if (value === null || value === '') return 'Warn';
  if (value === 'Strict' || value === 'Warn' || value === 'Ignore') return value;
  throw new BadRequestError(`fieldValidation: "${value}" must be Strict, Warn or Ignore`);
}

/** An object of `kind` in Kubernetes JSON, apiVersion and kind first. */
export function objectJson(kind: KindName, obj: ApiObject): JsonObject {
  const body = encodeJson(KINDS[kind].typeName, obj);
  return { ...body, apiVersion: KINDS[kind].apiVersion, kind: KINDS[kind].kind };
}

/**
 * Kubernetes' 415 for a body in a format the server does not decode (tsk has
 * no protobuf form of Kubernetes' types), in its words (negotiation's
 * errUnsupportedMediaType), which do not repeat the type refused.
 */
export function unsupportedBody(): ApiError {
  return new ApiError(
    'UnsupportedMediaType',
    'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml',
  );
}

/** Kubernetes' summarizeData: up to `max` characters of a JSON object's text, else of the bytes in hex, for a decode error. */
export function summarizeBody(text: string, max = 30): string {
  if (text === '') return '<empty>';
  if (text.startsWith('{')) return text.length > max ? `${text.slice(0, max)} ...` : text;
  const hex = Buffer.from(text, 'utf8').toString('hex');
  return hex.length > 2 * max ? `${hex.slice(0, 2 * max)} ...` : hex;
}

/** Kubernetes' transformDecodeError for a body with no readable kind: `the object provided is unrecognized (must be of type Pod): ...`. */
function unrecognized(kind: string, why: string, text: string): BadRequestError {
  return new BadRequestError(`the object provided is unrecognized (must be of type ${kind}): ${why} (${summarizeBody(text)})`);
}

function describeJson(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}

/**
 * Parses a body of `contentType` (JSON, or YAML; none given: JSON) meant to
 * be an object of `kind` (named in the errors). Malformed input or a
 * non-object is a BadRequest in kube-apiserver's words (the parser's own
 * message in place of Go's), another media type a 415.
 */
export function parseJsonObject(text: string, contentType = 'application/json', kind = 'Object'): JsonObject {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  let value: unknown;
  if (type === 'application/yaml') {
    try {
      value = load(text, { schema: KUBE_YAML_SCHEMA });
    } catch (err) {
      throw unrecognized(kind, `error converting YAML to JSON: ${errorMessage(err).split('\n')[0]!}`, text);
    }
  } else if (type === 'application/json' || type === '') {
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw unrecognized(kind, `couldn't get version/kind; json parse error: ${errorMessage(err)}`, text);
    }
  } else {
    throw unsupportedBody();
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw unrecognized(kind, `couldn't get version/kind; json parse error: cannot unmarshal ${describeJson(value)} into an object`, text);
  }
  return value as JsonObject;
}

/**
 * A body as `typeName` (a kind's or a subresource's message), with its
 * apiVersion and kind checked against `want` when the body states them.
 * Returns the warnings for the caller (Warn) or throws for unknown fields (Strict).
 */
export function decodeObject<T>(
  typeName: string,
  body: JsonObject,
  want: { apiVersion: string; kind: string },
  validation: FieldValidation,
): { value: T; warnings: string[] } {
  const { apiVersion, kind, ...rest } = body;
  if (apiVersion !== undefined && apiVersion !== want.apiVersion) {
    throw new BadRequestError(`the API version in the data (${String(apiVersion)}) does not match the expected API version (${want.apiVersion})`);
  }
  if (kind !== undefined && kind !== want.kind) {
    throw new BadRequestError(`the kind in the data (${String(kind)}) does not match the expected kind (${want.kind})`);
  }
  let decoded;
  try {
    decoded = decodeJson<T>(typeName, rest);
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
    throw new BadRequestError(
      `${want.kind} in version "${want.apiVersion}" cannot be handled as a ${want.kind}: ${err.message}`,
      err.problems.map((p) => ({ field: p.field, message: p.message, reason: 'FieldValueInvalid' })),
    );
  }
  const unknown = decoded.unknownFields.map((f) => `unknown field "${f}"`);
  if (validation === 'Strict' && unknown.length > 0) {
    throw new BadRequestError(
      `strict decoding error: ${unknown.join(', ')}`,
      decoded.unknownFields.map((f) => ({ field: f, message: `unknown field "${f}"`, reason: 'FieldValueInvalid' })),
    );
  }
  return { value: decoded.value, warnings: validation === 'Warn' ? unknown : [] };
}
