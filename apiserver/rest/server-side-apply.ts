// Server-side apply as Kubernetes does it (structured-merge-diff), on the
// Kubernetes JSON form, and the managed-fields bookkeeping of other writes.
//
// metadata.managedFields says which manager owns which fields (fieldset.ts).
// An apply:
// - merges the configuration into the live object (maps and structs field by
//   field, associative lists item by item by their keys, sets by value,
//   atomic lists and scalars whole);
// - conflicts when a field it changes is owned by another manager: 409 with
//   Kubernetes' message and a FieldManagerConflict cause per field, unless
//   `force` takes the fields over; applying the value another manager set
//   shares the field instead;
// - owns exactly the fields of its configuration;
// - removes the fields it applied before and no longer applies, unless
//   another manager owns them too.
// An update (recordUpdate) owns the fields it changed and takes them from
// everyone else, without conflicts. Pure: the clock is an argument.

import type { JsonObject } from '../../api/codec';
import { ApiError, BadRequestError, type Cause } from '../../api/errors';
import { schema } from '../../api/gen/schema';
import { childShape, clone, isMap, jsonEqual, shapeOf, type Json, type JsonMap, type Shape } from '../../api/patch/shape';
import {
  decodeFieldsV1,
  difference,
  encodeFieldsV1,
  fieldSetOf,
  keyElement,
  parsePathKey,
  pathString,
  removeAt,
  union,
  valueAt,
  type FieldSet,
} from './fieldset';

export type Operation = 'Apply' | 'Update';

/** One entry of metadata.managedFields, with its set decoded. */
export interface ManagedEntry {
  readonly manager: string;
  readonly operation: Operation;
  readonly apiVersion: string;
  readonly time: string;
  readonly subresource?: string;
  readonly fields: FieldSet;
}

/** The manager Kubernetes gives the fields of an object that existed before its first apply. */
export const BEFORE_FIRST_APPLY = 'before-first-apply';

export interface ApplyOptions {
  readonly fieldManager?: string | undefined;
  readonly force: boolean;
  /** RFC 3339 time of this write. */
  readonly now: string;
}

/**
 * Applies `config` (the applier's object) to `live` (the stored object, or
 * {} when it does not exist yet) for message `typeName`. Returns the object
 * to store, with its managedFields. Throws ApiError: 422 without a
 * fieldManager (as Kubernetes validates PatchOptions), 400 when the
 * configuration carries managedFields, 409 on conflicts.
 */
export function serverSideApply(typeName: string, live: JsonObject, config: JsonObject, opts: ApplyOptions): JsonObject {
  const manager = opts.fieldManager ?? '';
  if (manager === '') {
    throw invalidPatchOptions({ field: 'fieldManager', message: 'Required value: is required for apply patch', reason: 'FieldValueRequired' });
  }
  const configMeta = config['metadata'];
  if (isMap(configMeta) && Array.isArray(configMeta['managedFields']) && configMeta['managedFields'].length > 0) {
    throw new BadRequestError('metadata.managedFields must be nil');
  }
  const applied = withLiveKeys(shapeOf(typeName), live, withoutResetFields(typeName, config)) as JsonMap;
  const configSet = fieldSetOf(typeName, applied);
  const entries = entriesOf(typeName, live);
  const mine = (e: ManagedEntry): boolean => e.manager === manager && e.operation === 'Apply' && e.subresource === undefined;
  const merged = mergeApplied(shapeOf(typeName), live, applied) as JsonMap;

  const conflicts = conflictsOf(
    configSet,
    entries.filter((e) => !mine(e)),
    live,
    merged,
  );
  if (conflicts.length > 0 && !opts.force) throw conflictError(conflicts);
  const taken = new Set(conflicts.map((c) => c.path));
  const others = entries.filter((e) => !mine(e)).map((e) => ({ ...e, fields: difference(e.fields, taken) }));

  const previous = entries.find(mine);
  const ownedByOthers = union(...others.map((e) => e.fields));
  const removed = difference(difference(previous?.fields ?? new Set(), configSet), ownedByOthers);
  for (const key of [...removed].sort((a, b) => a.length - b.length)) {
    const path = parsePathKey(key);
    // An item others still own fields of stays; only this manager's fields in it go.
    if ([...ownedByOthers].some((o) => o.startsWith(key.slice(0, -1)))) continue;
    // The key fields of an item that stays stay with it (they name it).
    if (isKeyField(path)) continue;
    removeAt(merged, path);
  }

  const apiVersion = typeof applied['apiVersion'] === 'string' ? applied['apiVersion'] : (entries[0]?.apiVersion ?? 'v1');
  const unchanged = previous !== undefined && sameSet(previous.fields, configSet) && jsonEqual(stripManaged(merged), stripManaged(live));
  const entry: ManagedEntry = { manager, operation: 'Apply', apiVersion, time: unchanged ? previous.time : opts.now, fields: configSet };
  const next = previous
    ? entries.map((e) => (mine(e) ? entry : others.find((o) => o.manager === e.manager && o.operation === e.operation && o.subresource === e.subresource)!))
    : [...others, entry];
  return withEntries(merged, next);
}

/**
 * The managed fields of a write that is not an apply (create, update, a
 * patch): `manager`'s Update entry owns the fields that changed from
 * `before` (undefined for a create) to `after`, and every other manager
 * loses them; removed fields leave every set. A write that changes nothing
 * leaves the entries as they were. When `after` carries no managedFields,
 * `before`'s are kept (Kubernetes: a client that does not send them does
 * not reset them).
 */
export function recordUpdate(typeName: string, before: JsonObject | undefined, after: JsonObject, manager: string, now: string): JsonObject {
  const source = managedFieldsOf(after).length > 0 || before === undefined ? after : before;
  const entries = entriesOf(typeName, source, false);
  const afterSet = fieldSetOf(typeName, after);
  const beforeSet = before ? fieldSetOf(typeName, before) : new Set<string>();
  // A list item or set value changes by coming or going; what changes inside an item is its fields' change.
  const valueChanged = (p: string): boolean => {
    const path = parsePathKey(p);
    return path[path.length - 1]!.startsWith('f:') && !jsonEqual(valueAt(before ?? {}, path), valueAt(after, path));
  };
  const changed = new Set([...afterSet].filter((p) => !beforeSet.has(p) || valueChanged(p)));
  const removed = difference(beforeSet, afterSet);
  if (changed.size === 0 && removed.size === 0) return withEntries(clone(after), entries);
  const lost = union(changed, removed);
  const mine = (e: ManagedEntry): boolean => e.manager === manager && e.operation === 'Update' && e.subresource === undefined;
  const apiVersion = typeof after['apiVersion'] === 'string' ? after['apiVersion'] : 'v1';
  const previous = entries.find(mine);
  const entry: ManagedEntry = {
    manager,
    operation: 'Update',
    apiVersion,
    time: now,
    fields: difference(union(previous?.fields ?? new Set(), changed), removed),
  };
  const rest = entries.map((e) => (mine(e) ? entry : { ...e, fields: difference(e.fields, lost) }));
  return withEntries(clone(after), previous ? rest : [...rest, entry]);
}

/** Whether a path is a key field of a list item (`name` under `k:{"name":"c"}`). */
function isKeyField(path: readonly string[]): boolean {
  const last = path[path.length - 1] ?? '';
  const parent = path[path.length - 2] ?? '';
  if (!last.startsWith('f:') || !parent.startsWith('k:')) return false;
  return last.slice(2) in (JSON.parse(parent.slice(2)) as JsonMap);
}

/** Kubernetes' answer to bad PatchOptions: 422 Invalid, kind PatchOptions of group meta.k8s.io. */
export function invalidPatchOptions(cause: Cause): ApiError {
  return new ApiError('Invalid', `PatchOptions.meta.k8s.io "" is invalid: ${cause.field}: ${cause.message}`, [cause], { kind: 'PatchOptions' });
}

/** Kubernetes resets status on an apply to the main resource: the status subresource owns it. */
function withoutResetFields(typeName: string, config: JsonObject): JsonMap {
  const out = clone(config) as JsonMap;
  if (schema[typeName]?.['status']) delete out['status'];
  return out;
}

function stripManaged(o: JsonMap): JsonMap {
  const out = clone(o);
  const meta = out['metadata'];
  if (isMap(meta)) delete meta['managedFields'];
  return out;
}

function sameSet(a: FieldSet, b: FieldSet): boolean {
  return a.size === b.size && [...a].every((p) => b.has(p));
}

function managedFieldsOf(o: JsonObject): Json[] {
  const meta = o['metadata'];
  const mf = isMap(meta) ? meta['managedFields'] : undefined;
  return Array.isArray(mf) ? mf : [];
}

/**
 * The entries of an object's managedFields. An existing object that has
 * none (written before anyone tracked them) has its fields owned by
 * "before-first-apply", as Kubernetes does, so a first apply still
 * conflicts with what others set.
 */
function entriesOf(typeName: string, o: JsonObject, adoptUntracked = true): ManagedEntry[] {
  const raw = managedFieldsOf(o);
  if (raw.length === 0) {
    const existing = adoptUntracked && isMap(o['metadata']) ? fieldSetOf(typeName, o) : new Set<string>();
    if (existing.size === 0) return [];
    const apiVersion = typeof o['apiVersion'] === 'string' ? o['apiVersion'] : 'v1';
    const time = isMap(o['metadata']) && typeof o['metadata']['creationTimestamp'] === 'string' ? o['metadata']['creationTimestamp'] : '';
    return [{ manager: BEFORE_FIRST_APPLY, operation: 'Update', apiVersion, time, fields: existing }];
  }
  return raw.filter(isMap).map((e) => ({
    manager: typeof e['manager'] === 'string' ? e['manager'] : '',
    operation: e['operation'] === 'Apply' ? 'Apply' : 'Update',
    apiVersion: typeof e['apiVersion'] === 'string' ? e['apiVersion'] : '',
    time: typeof e['time'] === 'string' ? e['time'] : '',
    ...(typeof e['subresource'] === 'string' && e['subresource'] !== '' ? { subresource: e['subresource'] } : {}),
    fields: decodeFieldsV1(e['fieldsV1']),
  }));
}

function withEntries(o: JsonMap, entries: readonly ManagedEntry[]): JsonMap {
  const meta: JsonMap = isMap(o['metadata']) ? o['metadata'] : {};
  const kept = entries.filter((e) => e.fields.size > 0);
  if (kept.length === 0) delete meta['managedFields'];
  else
    meta['managedFields'] = kept.map((e) => ({
      manager: e.manager,
      operation: e.operation,
      apiVersion: e.apiVersion,
      ...(e.time ? { time: e.time } : {}),
      fieldsType: 'FieldsV1',
      fieldsV1: encodeFieldsV1(e.fields),
      ...(e.subresource ? { subresource: e.subresource } : {}),
    }));
  o['metadata'] = meta;
  return o;
}

/**
 * The configuration with the key fields its list items leave out taken from
 * the live item they name (a port without `protocol` is the live port with
 * protocol TCP): Kubernetes defaults the configuration before it applies it,
 * so the items' keys are complete.
 */
function withLiveKeys(shape: Shape, live: Json | undefined, config: Json): Json {
  if (isMap(config) && (shape.kind === 'message' || shape.kind === 'map')) {
    const out: JsonMap = {};
    for (const [k, v] of Object.entries(config)) out[k] = withLiveKeys(childShape(shape, k), isMap(live) ? live[k] : undefined, v);
    return out;
  }
  if (Array.isArray(config) && shape.kind === 'list' && shape.listType?.type === 'map') {
    const keys = shape.listType.keys ?? [];
    const liveItems = Array.isArray(live) ? live.filter(isMap) : [];
    return config.map((item) => {
      if (!isMap(item)) return item;
      const candidates = liveItems.filter((l) => keys.every((k) => item[k] === undefined || item[k] === null || jsonEqual(item[k], l[k])));
      const match = candidates.length === 1 ? candidates[0] : undefined;
      const filled: JsonMap = { ...item };
      if (match) for (const k of keys) if (filled[k] === undefined && match[k] !== undefined) filled[k] = match[k]!;
      return withLiveKeys(shape.element, match, filled);
    });
  }
  return config;
}

/** structured-merge-diff's merge of an applied configuration into the live value. */
function mergeApplied(shape: Shape, live: Json | undefined, config: Json): Json {
  if (isMap(config) && (shape.kind === 'message' || shape.kind === 'map')) {
    const out: JsonMap = isMap(live) ? clone(live) : {};
    for (const [k, v] of Object.entries(config)) {
      if (v === null) continue;
      out[k] = mergeApplied(childShape(shape, k), out[k], v);
    }
    return out;
  }
  if (Array.isArray(config) && Array.isArray(live) && shape.kind === 'list' && shape.listType) {
    const lt = shape.listType;
    if (lt.type === 'set') return [...live, ...config.filter((c) => !live.some((l) => jsonEqual(l, c)))];
    const keys = lt.keys ?? [];
    const keyOf = (item: Json): string | undefined => (isMap(item) ? keyElement(item, keys) : undefined);
    if (config.some((c) => keyOf(c) === undefined)) return clone(config);
    const out = clone(live);
    for (const item of config) {
      const at = out.findIndex((l) => keyOf(l) === keyOf(item));
      if (at >= 0) out[at] = mergeApplied(shape.element, out[at], item);
      else out.push(clone(item));
    }
    return out;
  }
  return clone(config);
}

interface Conflict {
  readonly manager: ManagedEntry;
  readonly path: string;
}

/** Fields of the configuration whose value the apply changes while another manager owns them. */
function conflictsOf(configSet: FieldSet, others: readonly ManagedEntry[], live: JsonMap, merged: JsonMap): Conflict[] {
  const out: Conflict[] = [];
  for (const key of configSet) {
    const path = parsePathKey(key);
    const last = path[path.length - 1] ?? '';
    // A list item or set value is there or not; what changes inside it is its fields' business.
    if (!last.startsWith('f:')) continue;
    if (jsonEqual(valueAt(live, path), valueAt(merged, path))) continue;
    for (const e of others) if (e.fields.has(key)) out.push({ manager: e, path: key });
  }
  return out;
}

/** Kubernetes' printManager: an Update manager is named with its apiVersion and time. */
function managerName(e: ManagedEntry): string {
  let name = JSON.stringify(e.manager);
  if (e.subresource) name += ` with subresource ${JSON.stringify(e.subresource)}`;
  if (e.operation === 'Update') name += e.time ? ` using ${e.apiVersion} at ${e.time}` : ` using ${e.apiVersion}`;
  return name;
}

/** 409 Conflict as Kubernetes' fieldmanager words it, one FieldManagerConflict cause per field. */
function conflictError(conflicts: readonly Conflict[]): ApiError {
  const causes: Cause[] = conflicts.map((c) => ({
    reason: 'FieldManagerConflict',
    message: `conflict with ${managerName(c.manager)}`,
    field: pathString(parsePathKey(c.path)),
  }));
  if (conflicts.length === 1) {
    const c = causes[0]!;
    return new ApiError('Conflict', `Apply failed with 1 conflict: ${c.message}: ${c.field}`, causes);
  }
  const byManager = new Map<string, string[]>();
  for (const c of conflicts) {
    const name = managerName(c.manager);
    byManager.set(name, [...(byManager.get(name) ?? []), pathString(parsePathKey(c.path))]);
  }
  const lines: string[] = [];
  for (const name of [...byManager.keys()].sort()) {
    lines.push(`conflicts with ${name}:`);
    for (const p of byManager.get(name)!) lines.push(`- ${p}`);
  }
  return new ApiError('Conflict', `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`, causes);
}
