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
// Like a strategic merge patch, list items merged by key follow the file's
// order; items only in live that the file never had are kept at the end.

import { schema } from '../../api/gen/schema';
import type { FieldSchema } from '../../api/schema-types';

export type Json = null | boolean | number | string | Json[] | JsonMap;
export type JsonMap = { [key: string]: Json };

/**
 * Kubernetes' patchMergeKey of list fields (by proto message and property),
 * from k8s.io/api/core/v1 struct tags.
 */
export const MERGE_KEYS: Readonly<Record<string, string>> = {
  'tsk.v1.PodSpec.containers': 'name',
  'tsk.v1.PodSpec.initContainers': 'name',
  'tsk.v1.PodSpec.volumes': 'name',
  'tsk.v1.Container.ports': 'containerPort',
  'tsk.v1.Container.env': 'name',
  'tsk.v1.Container.volumeMounts': 'mountPath',
  'tsk.v1.ServiceSpec.ports': 'port',
  'tsk.v1.ObjectMeta.ownerReferences': 'uid',
  'tsk.v1.PodStatus.conditions': 'type',
  'tsk.v1.NodeStatus.conditions': 'type',
  'tsk.v1.NodeStatus.addresses': 'type',
  'tsk.v1.ReplicationControllerStatus.conditions': 'type',
};

const INT_OR_STRING = 'tsk.v1.IntOrString';

/** Field lookup by JSON name, built once per message type. */
const byJsonCache = new Map<string, Map<string, FieldSchema>>();
function fieldByJson(typeName: string, key: string): FieldSchema | undefined {
  let m = byJsonCache.get(typeName);
  if (!m) {
    m = new Map(Object.values(schema[typeName] ?? {}).map((f) => [f.json, f]));
    byJsonCache.set(typeName, m);
  }
  return m.get(key);
}

export function isMap(v: Json | undefined): v is JsonMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function clone<T extends Json>(v: T): T {
  return structuredClone(v);
}

/**
 * The order of a list merged by key: the file's (apply: the file says where
 * its items go) or the live object's (a strategic merge patch: items keep
 * their places, new ones go at the end).
 */
export type ListOrder = 'modified' | 'live';

/** What is known about a value's place in the schema. */
type Ctx = { kind: 'message'; type: string } | { kind: 'map'; value: Ctx } | { kind: 'list'; element: Ctx; mergeKey?: string } | { kind: 'scalar' };

function ctxOfField(owner: string, f: FieldSchema): Ctx {
  let element: Ctx;
  if (f.kind === 'map') element = { kind: 'map', value: f.value.kind === 'message' ? { kind: 'message', type: f.value.type } : { kind: 'scalar' } };
  else if (f.kind === 'message') element = f.type === INT_OR_STRING ? { kind: 'scalar' } : { kind: 'message', type: f.type };
  else element = { kind: 'scalar' };
  if (f.repeated) return { kind: 'list', element, mergeKey: MERGE_KEYS[`${owner}.${f.name}`] };
  return element;
}

function childCtx(ctx: Ctx, key: string): Ctx {
  if (ctx.kind === 'message') {
    const f = fieldByJson(ctx.type, key);
    return f ? ctxOfField(ctx.type, f) : { kind: 'scalar' };
  }
  if (ctx.kind === 'map') return ctx.value;
  return { kind: 'scalar' };
}

/** A strategic merge patch's `$patch` directive on a map ("replace", "delete", "merge"), if any. */
function directiveOf(v: Json | undefined): string | undefined {
  return isMap(v) && typeof v['$patch'] === 'string' ? v['$patch'] : undefined;
}

function withoutDirective(m: JsonMap): JsonMap {
  const { $patch: _, ...rest } = m;
  return clone(rest);
}

function mergeMapping(ctx: Ctx, original: Json | undefined, modified: JsonMap, live: JsonMap, order: ListOrder): JsonMap {
  // A patch's `$patch: replace` puts the map in place of the live one.
  if (order === 'live' && directiveOf(modified) === 'replace') return withoutDirective(modified);
  const orig = isMap(original) ? original : {};
  const out: JsonMap = clone(live);
  for (const [key, m] of Object.entries(modified)) {
    // Other directives ($patch, $setElementOrder/..., $retainKeys) only steer a patch; they are never fields.
    if (order === 'live' && key.startsWith('$')) continue;
    // null deletes the field, as in a strategic merge patch (and kubectl apply's patch); so does `$patch: delete`.
    if (m === null || (order === 'live' && directiveOf(m) === 'delete')) delete out[key];
    else out[key] = mergeValue(childCtx(ctx, key), orig[key], m, live[key], order);
  }
  for (const key of Object.keys(orig)) {
    if (key in modified) continue;
    const removed = removeApplied(childCtx(ctx, key), orig[key], out[key], order);
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
function removeApplied(ctx: Ctx, original: Json | undefined, live: Json | undefined, order: ListOrder): Json | undefined {
  if (live === undefined) return undefined;
  if (isMap(original) && isMap(live) && (ctx.kind === 'message' || ctx.kind === 'map')) {
    const rest = mergeMapping(ctx, original, {}, live, order);
    return Object.keys(rest).length === 0 ? undefined : rest;
  }
  if (Array.isArray(original) && Array.isArray(live) && ctx.kind === 'list' && ctx.mergeKey) {
    const rest = mergeList(ctx, original, [], live, order);
    return rest.length === 0 ? undefined : rest;
  }
  return undefined;
}

function keyOf(item: Json, mergeKey: string): string | undefined {
  if (!isMap(item)) return undefined;
  const v = item[mergeKey];
  return v === undefined || v === null ? undefined : JSON.stringify(v);
}

function mergeList(ctx: Extract<Ctx, { kind: 'list' }>, original: Json | undefined, modified: Json[], live: Json[], order: ListOrder): Json[] {
  const mergeKey = ctx.mergeKey;
  if (order === 'live') {
    // A patch's list directives: an item `{"$patch": "replace"}` replaces the list with the other items;
    // `{"name": "x", "$patch": "delete"}` removes the live item of that key.
    if (modified.some((m) => directiveOf(m) === 'replace')) return modified.filter((m) => directiveOf(m) !== 'replace').map((m) => clone(m));
    if (mergeKey) {
      const deleted = new Set(modified.filter((m) => directiveOf(m) === 'delete').map((m) => keyOf(m, mergeKey)));
      if (deleted.size > 0) {
        live = live.filter((l) => !deleted.has(keyOf(l, mergeKey)));
        modified = modified.filter((m) => directiveOf(m) !== 'delete');
        if (modified.length === 0) return live.map((l) => clone(l));
      }
    }
  }
  // Without a merge key, or with items that lack it, the file's list wins whole.
  if (!mergeKey || modified.some((m) => keyOf(m, mergeKey) === undefined) || live.some((l) => keyOf(l, mergeKey) === undefined)) {
    return clone(modified);
  }
  if (modified.length === 0 && !Array.isArray(original)) return [];
  const byKey = (items: Json[]): Map<string, Json> => new Map(items.map((i) => [keyOf(i, mergeKey) as string, i]));
  const liveByKey = byKey(live);
  const origByKey = byKey(Array.isArray(original) ? original.filter((o) => keyOf(o, mergeKey) !== undefined) : []);
  const modKeys = new Set(modified.map((m) => keyOf(m, mergeKey) as string));
  if (order === 'live') {
    // A patch: live items keep their places (merged where the patch has them), new ones are appended.
    const patched = live.map((l) => {
      const k = keyOf(l, mergeKey) as string;
      const m = modified.find((x) => keyOf(x, mergeKey) === k);
      if (m === undefined) return clone(l);
      return isMap(m) && isMap(l) ? mergeMapping(ctx.element, undefined, m, l, order) : clone(m);
    });
    return [...patched, ...modified.filter((m) => !liveByKey.has(keyOf(m, mergeKey) as string)).map((m) => clone(m))];
  }
  const out: Json[] = [];
  for (const m of modified) {
    const k = keyOf(m, mergeKey) as string;
    const l = liveByKey.get(k);
    out.push(isMap(m) && isMap(l) ? mergeMapping(ctx.element, origByKey.get(k), m, l, order) : clone(m));
  }
  for (const l of live) {
    const k = keyOf(l, mergeKey) as string;
    if (!modKeys.has(k) && !origByKey.has(k)) out.push(clone(l));
  }
  return out;
}

function mergeValue(ctx: Ctx, original: Json | undefined, modified: Json, live: Json | undefined, order: ListOrder): Json {
  if (isMap(modified) && isMap(live) && (ctx.kind === 'message' || ctx.kind === 'map')) {
    return mergeMapping(ctx, original, modified, live, order);
  }
  if (Array.isArray(modified) && Array.isArray(live) && ctx.kind === 'list') {
    return mergeList(ctx, original, modified, live, order);
  }
  return clone(modified);
}

/**
 * The object to store: live with the change from original to modified
 * applied. `typeName` is the kind's message (tsk.v1.Pod). `original` is
 * undefined when the object was never applied (nothing is removed then).
 */
export function threeWayMerge(typeName: string, original: JsonMap | undefined, modified: JsonMap, live: JsonMap, order: ListOrder = 'modified'): JsonMap {
  return mergeMapping({ kind: 'message', type: typeName }, original, modified, live, order);
}

/** Deep equality of JSON values, ignoring the order of object keys. */
export function jsonEqual(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isMap(a) && isMap(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => k in b && jsonEqual(a[k], b[k]));
  }
  return false;
}
