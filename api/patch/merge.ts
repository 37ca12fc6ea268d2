// kubectl apply's three-way merge, for tsk's core kinds, on the Kubernetes
// JSON form. Pure: no I/O, heavily unit-tested.
//
//   original: the last-applied configuration (what the file said last time)
//   modified: what the file says now
//   live:     the object as the server has it
//
// The result is the live object with the file's intent applied:
// - a field in `modified` is set (objects recurse; lists with a Kubernetes
//   patch merge key merge item by item; other lists and scalars are replaced);
// - a field in `original` but no longer in `modified` is removed: the user
//   deleted it from the file;
// - a field in neither is kept: the system or another writer set it (status,
//   clusterIP, nodeName, nodePort, uid, resourceVersion, defaults).
// List items merged by key follow the file's order; items only in live that
// the file never had are kept at the end. (A strategic merge patch, which
// keeps live's order and has directives, is strategic.ts.)

import { childShape, clone, isMap, shapeOf, type Json, type JsonMap, type Shape } from './shape';

export { jsonEqual, isMap, clone, type Json, type JsonMap } from './shape';

function mergeMapping(shape: Shape, original: Json | undefined, modified: JsonMap, live: JsonMap): JsonMap {
  const orig = isMap(original) ? original : {};
  const out: JsonMap = clone(live);
  for (const [key, m] of Object.entries(modified)) {
    // null deletes the field, as in kubectl apply's patch.
    if (m === null) delete out[key];
    else out[key] = mergeValue(childShape(shape, key), orig[key], m, live[key]);
  }
  for (const key of Object.keys(orig)) {
    if (key in modified) continue;
    const removed = removeApplied(childShape(shape, key), orig[key], out[key]);
    if (removed === undefined) delete out[key];
    else out[key] = removed;
  }
  return out;
}

/**
 * What remains of a live value once the part a previous apply set is removed
 * (the file dropped the whole field): for objects and keyed lists only the
 * keys/items the file had go, so what the system or others added stays;
 * undefined when nothing remains.
 */
function removeApplied(shape: Shape, original: Json | undefined, live: Json | undefined): Json | undefined {
  if (live === undefined) return undefined;
  if (isMap(original) && isMap(live) && (shape.kind === 'message' || shape.kind === 'map')) {
    const rest = mergeMapping(shape, original, {}, live);
    return Object.keys(rest).length === 0 ? undefined : rest;
  }
  if (Array.isArray(original) && Array.isArray(live) && shape.kind === 'list' && shape.listType?.mergeKey) {
    const rest = mergeList(shape, original, [], live);
    return rest.length === 0 ? undefined : rest;
  }
  return undefined;
}

function keyOf(item: Json, mergeKey: string): string | undefined {
  if (!isMap(item)) return undefined;
  const v = item[mergeKey];
  return v === undefined || v === null ? undefined : JSON.stringify(v);
}

function mergeList(shape: Extract<Shape, { kind: 'list' }>, original: Json | undefined, modified: Json[], live: Json[]): Json[] {
  const mergeKey = shape.listType?.mergeKey;
  // Without a merge key, or with items that lack it, the file's list wins whole.
  if (!mergeKey || modified.some((m) => keyOf(m, mergeKey) === undefined) || live.some((l) => keyOf(l, mergeKey) === undefined)) {
    return clone(modified);
  }
  if (modified.length === 0 && !Array.isArray(original)) return [];
  const byKey = (items: Json[]): Map<string, Json> => new Map(items.map((i) => [keyOf(i, mergeKey) as string, i]));
  const liveByKey = byKey(live);
  const origByKey = byKey(Array.isArray(original) ? original.filter((o) => keyOf(o, mergeKey) !== undefined) : []);
  const modKeys = new Set(modified.map((m) => keyOf(m, mergeKey) as string));
  const out: Json[] = [];
  for (const m of modified) {
    const k = keyOf(m, mergeKey) as string;
    const l = liveByKey.get(k);
    out.push(isMap(m) && isMap(l) ? mergeMapping(shape.element, origByKey.get(k), m, l) : clone(m));
  }
  for (const l of live) {
    const k = keyOf(l, mergeKey) as string;
    if (!modKeys.has(k) && !origByKey.has(k)) out.push(clone(l));
  }
  return out;
}

function mergeValue(shape: Shape, original: Json | undefined, modified: Json, live: Json | undefined): Json {
  if (isMap(modified) && isMap(live) && (shape.kind === 'message' || shape.kind === 'map')) {
    return mergeMapping(shape, original, modified, live);
  }
  if (Array.isArray(modified) && Array.isArray(live) && shape.kind === 'list') {
    return mergeList(shape, original, modified, live);
  }
  return clone(modified);
}

/**
 * The object to store: live with the change from original to modified
 * applied. `typeName` is the kind's message (tsk.v1.Pod). `original` is
 * undefined when the object was never applied (nothing is removed then).
 */
export function threeWayMerge(typeName: string, original: JsonMap | undefined, modified: JsonMap, live: JsonMap): JsonMap {
  return mergeMapping(shapeOf(typeName), original, modified, live);
}
