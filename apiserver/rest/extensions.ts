// What the REST API takes from outside its core: PATCH (JSON, merge,
// strategic merge patches and server-side apply, api/patch/) and the OpenAPI
// documents. Injected, so the router has no knowledge of either and tests can
// stand in for them.

import type { JsonObject } from '../../api/codec';
import { openapiDocument } from './openapi';
import { checkPatchType, patchObject } from './patch';

export interface RestExtensions {
  /** Applies a PATCH body of the given Content-Type to the live object (Kubernetes JSON); throws ApiError (415 for an unknown type, 400/422 for a bad patch). */
  patch(typeName: string, live: JsonObject, body: string, contentType: string, opts: { fieldManager?: string; force: boolean }): JsonObject;
  /** Throws the 415 of patch() for a Content-Type it does not take; checked before the object is read, as Kubernetes does. */
  checkPatchType(contentType: string): void;
  /** /openapi/v2, /openapi/v3 and /openapi/v3/<path> documents, or undefined for an unknown path. */
  openapi(path: string): JsonObject | undefined;
}

/** tsk's own: api/patch/ with server-side apply for PATCH, the documents generated from the schema for /openapi. */
export const CORE_EXTENSIONS: RestExtensions = { patch: patchObject, checkPatchType, openapi: openapiDocument };
