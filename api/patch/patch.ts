// The three patch types of kubectl patch and the Kubernetes API, applied to
// the Kubernetes JSON form of an object: strategic merge (strategic.ts),
// RFC 7386 JSON merge patch (merge-patch.ts) and RFC 6902 JSON patch
// (json-patch.ts). tsctl patches client-side and the API server server-side
// with these same functions. Pure; errors are PatchError.

import { PatchError } from './errors';
import { jsonPatch } from './json-patch';
import { jsonMergePatch } from './merge-patch';
import { isMap, type Json, type JsonMap } from './shape';
import { strategicMergePatch } from './strategic';

export { PatchError } from './errors';
export { jsonPatch } from './json-patch';
export { jsonMergePatch } from './merge-patch';
export { strategicMergePatch } from './strategic';

export type PatchType = 'strategic' | 'merge' | 'json';

export const PATCH_TYPES: readonly PatchType[] = ['strategic', 'merge', 'json'];

/** Applies a patch of `type` to `live` (the Kubernetes JSON of an object of message `typeName`). */
export function applyPatch(type: PatchType, typeName: string, live: JsonMap, patch: Json): JsonMap {
  const out = type === 'strategic' ? strategicMergePatch(typeName, live, patch) : type === 'merge' ? jsonMergePatch(live, patch) : jsonPatch(live, patch);
  if (!isMap(out)) throw new PatchError('the patched object is not a JSON object', 'Invalid');
  return out;
}
