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

/** Kubernetes' 415 for a body in a format the server does not decode (tsk has no protobuf form of Kubernetes' types). */
export function unsupportedBody(contentType: string): ApiError {
  return new ApiError(
    'UnsupportedMediaType',
    `the body of the request was in an unknown format (${contentType}) - accepted media types include: application/json, application/yaml`,
  );
}

/**
 * Parses a body of `contentType` (JSON, or YAML; none given: JSON) to an
 * object; malformed input or a non-object is a BadRequest, another media type a 415.
 */
export function parseJsonObject(text: string, contentType = 'application/json'): JsonObject {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  let value: unknown;
  if (type === 'application/yaml') {
    try {
      value = load(text, { schema: KUBE_YAML_SCHEMA });
    } catch (err) {
      throw new BadRequestError(`the request body is not valid YAML: ${errorMessage(err)}`);
    }
  } else if (type === 'application/json' || type === '') {
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new BadRequestError(`the request body is not valid JSON: ${errorMessage(err)}`);
    }
  } else {
    throw unsupportedBody(type);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new BadRequestError('the request body must be a JSON object');
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
