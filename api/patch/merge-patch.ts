// RFC 7386 JSON merge patch: objects merge key by key, null deletes a key,
// anything else (lists included) replaces the target value.

import { clone, isMap, type Json, type JsonMap } from './shape';

export function jsonMergePatch(target: Json | undefined, patch: Json): Json {
  if (!isMap(patch)) return clone(patch);
  const out: JsonMap = isMap(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = jsonMergePatch(out[key], value);
  }
  return out;
}
