// Kubernetes' strategic merge patch (k8s.io/apimachinery strategicpatch) on
// the Kubernetes JSON form of a tsk object. Like a JSON merge patch, except:
// - lists with patchStrategy "merge" merge: lists of objects item by item by
//   their patchMergeKey (containers by name), lists of scalars as a union
//   (finalizers); other lists are replaced whole;
// - directives steer the merge: `$patch: replace` (a map or a list replaced
//   by the patch), `$patch: delete` (a map removed, or a list item by its
//   key), `$retainKeys` (the keys a map keeps), `$deleteFromPrimitiveList/f`
//   (values removed from list f), `$setElementOrder/f` (the order of list f);
// - the merged list keeps the server's order for its own items and the
//   patch's order for the patch's items; new items come first (Kubernetes'
//   normalizeElementOrder).
// null deletes a key. Pure; errors carry Kubernetes' messages (mergepatch).

import { PatchError } from './errors';
import { childShape, clone, isMap, jsonEqual, shapeOf, type Json, type JsonMap, type Shape } from './shape';

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList/';
const SET_ELEMENT_ORDER = '$setElementOrder/';

type ListShape = Extract<Shape, { kind: 'list' }>;

/** A map as Go's fmt prints a map[string]interface{} (keys sorted), for Kubernetes' messages. */
function goMap(v: Json): string {
  return `map[${Object.entries(isMap(v) ? v : {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, x]) => `${k}:${typeof x === 'object' && x !== null ? JSON.stringify(x) : String(x)}`)
    .join(' ')}]`;
}

const badPatchType = (directive: Json | undefined, patch: JsonMap): PatchError =>
  new PatchError(`unknown patch type: ${String(directive)} in map: ${goMap(patch)}`);
const noMergeKey = (item: JsonMap, mergeKey: string): PatchError => new PatchError(`map: ${goMap(item)} does not contain declared merge key: ${mergeKey}`);

/** Applies a strategic merge patch to `live`, an object of message `typeName` (tsk.v1.Pod). */
export function strategicMergePatch(typeName: string, live: JsonMap, patch: Json): JsonMap {
  if (!isMap(patch))
    throw new PatchError(`json: cannot unmarshal ${Array.isArray(patch) ? 'array' : typeof patch} into Go value of type map[string]interface {}`);
  return mergeMap(shapeOf(typeName), clone(live), clone(patch));
}

/** Merges `patch` into `original` (both owned: mutated and returned). */
function mergeMap(shape: Shape, original: JsonMap, patch: JsonMap): JsonMap {
  const directive = patch[DIRECTIVE];
  if (directive !== undefined) {
    if (directive === 'replace') return stripDirectives(shape, patch);
    if (directive === 'delete') return {};
    if (directive !== 'merge') throw badPatchType(directive, patch);
    delete patch[DIRECTIVE];
  }
  applyRetainKeys(original, patch);
  for (const key of Object.keys(patch).filter((k) => k.startsWith(SET_ELEMENT_ORDER))) {
    const field = key.slice(SET_ELEMENT_ORDER.length);
    const order = patch[key]!;
    if (!Array.isArray(order)) throw new PatchError('invalid patch format of setElementOrder list');
    const fieldPatch = patch[field];
    delete patch[key];
    delete patch[field];
    const fieldShape = childShape(shape, field);
    const base = original[field];
    if (fieldPatch === null) {
      delete original[field];
      continue;
    }
    if (fieldShape.kind !== 'list' || !Array.isArray(base)) {
      if (fieldPatch !== undefined) original[field] = mergeValue(fieldShape, base, fieldPatch);
      continue;
    }
    const patchList = fieldPatch === undefined ? [] : fieldPatch;
    if (!Array.isArray(patchList)) {
      original[field] = mergeValue(fieldShape, base, patchList);
      continue;
    }
    original[field] = mergeList(fieldShape, base, patchList, order);
  }
  for (const [rawKey, value] of Object.entries(patch)) {
    if (rawKey.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
      deleteFromPrimitiveList(original, rawKey.slice(DELETE_FROM_PRIMITIVE_LIST.length), value);
      continue;
    }
    if (value === null) delete original[rawKey];
    else original[rawKey] = mergeValue(childShape(shape, rawKey), original[rawKey], value);
  }
  return original;
}

/** `$retainKeys: [a, b]`: the original keeps only those keys; the patch may only set them. */
function applyRetainKeys(original: JsonMap, patch: JsonMap): void {
  if (!(RETAIN_KEYS in patch)) return;
  const retain = patch[RETAIN_KEYS];
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(retain)) throw new PatchError('invalid patch format of retainKeys');
  const keep = new Set(retain.map((k) => String(k)));
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k.startsWith(DELETE_FROM_PRIMITIVE_LIST) || k.startsWith(SET_ELEMENT_ORDER)) continue;
    if (!keep.has(k)) throw new PatchError('invalid patch format of retainKeys');
  }
  for (const k of Object.keys(original)) if (!keep.has(k)) delete original[k];
}

function deleteFromPrimitiveList(original: JsonMap, field: string, values: Json): void {
  if (!Array.isArray(values)) throw new PatchError('invalid patch format of primitive list');
  const list = original[field];
  if (!Array.isArray(list)) return;
  original[field] = list.filter((v) => !values.some((d) => jsonEqual(d, v)));
}

function mergeValue(shape: Shape, original: Json | undefined, patch: Json): Json {
  if (isMap(patch) && (shape.kind === 'message' || shape.kind === 'map')) {
    // A map the original lacks is merged into an empty one, so its directives are honoured too.
    return mergeMap(shape, isMap(original) ? original : {}, patch);
  }
  if (Array.isArray(patch) && shape.kind === 'list') {
    return mergeList(shape, Array.isArray(original) ? original : [], patch, undefined);
  }
  if (Array.isArray(patch) && patch.some(Array.isArray)) throw new PatchError('lists of lists are not supported');
  return patch;
}

/**
 * A list with its patch: merged when the list's patchStrategy is "merge",
 * replaced otherwise; `order` is a `$setElementOrder` list, if any.
 */
function mergeList(shape: ListShape, original: Json[], patch: Json[], order: Json[] | undefined): Json[] {
  if (patch.some(Array.isArray)) throw new PatchError('lists of lists are not supported');
  const merging = shape.listType?.patchStrategy !== undefined;
  const mergeKey = shape.listType?.mergeKey;
  if (!merging) {
    // Kubernetes lets `$patch: replace` items through on any list; they only mean "replace", which this is.
    return patch.filter((p) => !(isMap(p) && DIRECTIVE in p)).map((p) => stripDirectives(shape.element, p));
  }
  if (mergeKey === undefined) return orderList(dedupe([...original, ...patch.filter((p) => !isMap(p))]), patch, original, order, undefined);
  let live = original;
  const items: JsonMap[] = [];
  let replace = false;
  for (const p of patch) {
    if (!isMap(p)) throw new PatchError(`map: ${JSON.stringify(p)} does not contain declared merge key: ${mergeKey}`);
    const directive = p[DIRECTIVE];
    if (directive === undefined) items.push(p);
    else if (directive === 'delete') {
      if (!(mergeKey in p)) throw noMergeKey(p, mergeKey);
      live = live.filter((l) => !(isMap(l) && jsonEqual(l[mergeKey], p[mergeKey])));
    } else if (directive === 'replace') replace = true;
    else if (directive === 'merge') throw new PatchError('merging lists cannot yet be specified in the patch');
    else throw badPatchType(directive, p);
  }
  if (replace) return items.map((i) => stripDirectives(shape.element, i));
  const merged = [...live];
  for (const item of items) {
    if (!(mergeKey in item)) throw noMergeKey(item, mergeKey);
    const at = merged.findIndex((l) => isMap(l) && jsonEqual(l[mergeKey], item[mergeKey]));
    const base = at >= 0 ? merged[at] : undefined;
    const value = mergeMap(shape.element, isMap(base) ? clone(base) : {}, item);
    if (at >= 0) merged[at] = value;
    else merged.push(value);
  }
  return orderList(merged, items, live, order, mergeKey);
}

function dedupe(values: Json[]): Json[] {
  return values.filter((v, i) => values.findIndex((w) => jsonEqual(v, w)) === i);
}

/** The identity of a list item: its merge key's value, or the value itself for scalars. */
function identity(item: Json, mergeKey: string | undefined): Json | undefined {
  return mergeKey === undefined ? item : isMap(item) ? item[mergeKey] : undefined;
}

function indexIn(list: readonly Json[], item: Json, mergeKey: string | undefined): number {
  const id = identity(item, mergeKey);
  return list.findIndex((x) => jsonEqual(identity(x, mergeKey), id));
}

/**
 * Kubernetes' normalizeElementOrder: the items the patch names follow the
 * patch's (or `$setElementOrder`'s) order, the server's other items keep
 * theirs, and the two interleave by the server's order; an item the server
 * never had goes before the server's remaining items.
 */
function orderList(merged: Json[], patch: Json[], server: Json[], setOrder: Json[] | undefined, mergeKey: string | undefined): Json[] {
  const order = setOrder ?? patch;
  const byOrder = (list: readonly Json[]) => (a: Json, b: Json) => indexIn(list, a, mergeKey) - indexIn(list, b, mergeKey);
  const named = merged.filter((m) => indexIn(order, m, mergeKey) >= 0).sort(byOrder(order));
  const serverOnly = merged.filter((m) => indexIn(order, m, mergeKey) < 0).sort(byOrder(server));
  const out: Json[] = [];
  let i = 0;
  let j = 0;
  while (i < serverOnly.length || j < named.length) {
    if (j >= named.length) out.push(serverOnly[i++]!);
    else if (i >= serverOnly.length) out.push(named[j++]!);
    else {
      const li = indexIn(server, serverOnly[i]!, mergeKey);
      const ri = indexIn(server, named[j]!, mergeKey);
      if (li >= 0 && ri >= 0 && li < ri) out.push(serverOnly[i++]!);
      else out.push(named[j++]!);
    }
  }
  return out;
}

/** A value taken whole from the patch, without the directives nested in it. */
function stripDirectives(shape: Shape, value: JsonMap): JsonMap;
function stripDirectives(shape: Shape, value: Json): Json;
function stripDirectives(shape: Shape, value: Json): Json {
  if (isMap(value)) {
    const out: JsonMap = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === DIRECTIVE || k === RETAIN_KEYS || k.startsWith(SET_ELEMENT_ORDER) || k.startsWith(DELETE_FROM_PRIMITIVE_LIST)) continue;
      out[k] = stripDirectives(childShape(shape, k), v);
    }
    return out;
  }
  if (Array.isArray(value)) {
    const element = shape.kind === 'list' ? shape.element : shape;
    return value.map((v) => stripDirectives(element, v));
  }
  return value;
}
