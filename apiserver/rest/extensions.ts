// What the REST API takes from outside its core: PATCH (JSON, merge,
// strategic merge patches and server-side apply, api/patch/) and the OpenAPI
// documents. Injected, so the router has no knowledge of either.

import type { JsonObject } from '../../api/codec';
import { ApiError } from '../../api/errors';

export interface RestExtensions {
  /** Applies a PATCH body of the given Content-Type to the live object (Kubernetes JSON); throws ApiError (415 for an unknown type, 400/422 for a bad patch). */
  patch(typeName: string, live: JsonObject, body: string, contentType: string, opts: { fieldManager?: string; force: boolean }): JsonObject;
  /** /openapi/v2, /openapi/v3 and /openapi/v3/<path> documents, or undefined for an unknown path. */
  openapi(path: string): JsonObject | undefined;
}

/**
 * TEMPORARY, until the patch (api/patch/, apiserver/rest/server-side-apply.ts)
 * and OpenAPI (apiserver/rest/openapi.ts) modules are merged: every PATCH is
 * a 415 and /openapi a 404. The lead replaces this at the merge.
 */
export const PENDING_EXTENSIONS: RestExtensions = {
  patch: () => {
    throw new ApiError('UnsupportedMediaType', 'patch type not yet supported');
  },
  openapi: () => undefined,
};
