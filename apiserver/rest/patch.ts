// PATCH for the Kubernetes REST API: the body's Content-Type picks the patch
// type, applied server-side to the live object (its Kubernetes JSON form):
//   application/json-patch+json             RFC 6902 JSON patch
//   application/merge-patch+json            RFC 7386 JSON merge patch
//   application/strategic-merge-patch+json  Kubernetes' strategic merge patch
//   application/apply-patch+yaml            server-side apply (fieldManager, force)
// The patch functions are tsctl's (api/patch/), so client- and server-side
// patches agree. Errors are ApiErrors with Kubernetes' codes and messages:
// 415 for another type, 400 for a body that does not parse or a malformed
// patch, 422 for one that cannot apply (a failed JSON patch test) and for
// `force` on a patch that is no apply, 409 for apply conflicts. An apply to an
// object that does not exist yet is an apply to {} (the result is created). The caller validates and stores the result (and records
// Update managed fields for the non-apply types through field-manager.ts).

import { load } from 'js-yaml';
import type { JsonObject } from '../../api/codec';
import { ApiError, BadRequestError } from '../../api/errors';
import { PatchError } from '../../api/patch/errors';
import { applyPatch, type PatchType } from '../../api/patch/patch';
import { isMap, type Json } from '../../api/patch/shape';
import { errorMessage } from '../../util/errors';
import { KUBE_YAML_SCHEMA } from '../../util/kube-yaml';
import { rfc3339 } from '../../util/time';
import { invalidPatchOptions, serverSideApply } from './server-side-apply';

export const JSON_PATCH = 'application/json-patch+json';
export const MERGE_PATCH = 'application/merge-patch+json';
export const STRATEGIC_MERGE_PATCH = 'application/strategic-merge-patch+json';
export const APPLY_PATCH = 'application/apply-patch+yaml';

/** In Kubernetes' order, as its 415 message lists them. */
export const PATCH_CONTENT_TYPES: readonly string[] = [JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH];

const PATCH_TYPE_OF: Readonly<Record<string, PatchType>> = { [JSON_PATCH]: 'json', [MERGE_PATCH]: 'merge', [STRATEGIC_MERGE_PATCH]: 'strategic' };

export interface PatchOptions {
  fieldManager?: string;
  force: boolean;
}

/** Applies a PATCH body of `contentType` to `live`, an object of message `typeName` (tsk.v1.Pod). Throws ApiError. */
export function patchObject(typeName: string, live: JsonObject, body: string, contentType: string, opts: PatchOptions): JsonObject {
  return patchObjectAt(typeName, live, body, contentType, opts, rfc3339(new Date()));
}

/** The PATCH Content-Type's media type, lower case; a 415 Status when it is none of the four patch types. */
export function checkPatchType(contentType: string): string {
  const mediaType = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  if (mediaType !== APPLY_PATCH && PATCH_TYPE_OF[mediaType] === undefined) {
    throw new ApiError(
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: ${PATCH_CONTENT_TYPES.join(', ')}`,
    );
  }
  return mediaType;
}

/** patchObject at a given time (the managed fields' time of an apply). */
export function patchObjectAt(typeName: string, live: JsonObject, body: string, contentType: string, opts: PatchOptions, now: string): JsonObject {
  const mediaType = checkPatchType(contentType);
  if (mediaType === APPLY_PATCH) return serverSideApply(typeName, live, parseApply(body), { fieldManager: opts.fieldManager, force: opts.force, now });
  const type = PATCH_TYPE_OF[mediaType]!;
  if (opts.force) throw invalidPatchOptions({ field: 'force', message: 'Forbidden: may not be specified for non-apply patch', reason: 'FieldValueForbidden' });
  const patch = parseJson(body, type);
  try {
    return applyPatch(type, typeName, live, patch);
  } catch (err) {
    if (!(err instanceof PatchError)) throw err;
    if (err.reason === 'BadRequest') throw new BadRequestError(err.message);
    // Kubernetes answers a patch that cannot apply with a generic 422 carrying json-patch's words as its cause.
    throw new ApiError('Invalid', 'the server rejected our request due to an error in our request', [
      { field: '', message: err.message, reason: 'UnexpectedServerResponse' },
    ]);
  }
}

function parseJson(body: string, type: PatchType): Json {
  try {
    return JSON.parse(body) as Json;
  } catch (err) {
    // json-patch's merge patch has its own word for a body that is not JSON.
    throw new BadRequestError(type === 'merge' ? 'Invalid JSON Patch' : errorMessage(err));
  }
}

function parseApply(body: string): JsonObject {
  let config: unknown;
  try {
    config = load(body, { schema: KUBE_YAML_SCHEMA });
  } catch (err) {
    throw new BadRequestError(`error decoding YAML: ${errorMessage(err)}`);
  }
  if (!isMap(config as Json)) throw new BadRequestError('error decoding YAML: the body must be one object');
  const obj = config as JsonObject;
  if (typeof obj['kind'] !== 'string' || obj['kind'] === '') throw new BadRequestError(`Object 'Kind' is missing in '${body.trim()}'`);
  return obj;
}
