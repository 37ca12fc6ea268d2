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
// An update (updatedManagedFields: create, update, the other patches) owns
// the fields it added or changed and takes them from everyone else, without
// conflicts. Pure: the clock is an argument.

import type { JsonObject } from '../../api/codec';
import { ApiError, BadRequestError, type Cause } from '../../api/errors';
import { schema } from '../../api/gen/schema';
import { childShape, clone, isMap, jsonEqual, shapeOf, type Json, type JsonMap, type Shape } from '../../api/patch/shape';
import {
  decodeFieldsV1,
  difference,
  encodeFieldsV1,
  fieldSetOf,
  isWithin,
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
    if ([...ownedByOthers].some((o) => isWithin(o, key))) continue;
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
  return withEntries(merged, capUpdateManagers(next));
}

/** What an update (a write that is not an apply) records. */
export interface UpdateOptions {
  /** The fieldManager, else the User-Agent's prefix (field-manager.ts). */
  readonly manager: string;
  /** "status" or "scale" for a write to that subresource: its entry is its own, and the request's managedFields are ignored. */
  readonly subresource?: string | undefined;
  /** metadata.managedFields as the request carried them (Kubernetes JSON); undefined when it had none. */
  readonly requested?: Json | undefined;
  /** RFC 3339 time of this write. */
  readonly now: string;
}

/** Kubernetes' DefaultMaxUpdateManagers: beyond it, the oldest Update entries merge into one per apiVersion. */
export const MAX_UPDATE_MANAGERS = 10;
/** The manager those merged entries get (Kubernetes' oldUpdatesManagerName). */
export const ANCIENT_CHANGES = 'ancient-changes';

/**
 * The managed fields of a write that is not an apply (create, update, a
 * patch), as Kubernetes' FieldManager.Update: the entries start from the
 * request's managedFields when they are valid and not empty (a client may
 * edit them), none when the request resets them (`[]` or `[{}]`), else the
 * live object's (a client that does not know them cannot drop them; a
 * subresource write never sets them). Then `opts.manager`'s Update entry
 * owns the fields that were added or changed from `before` (undefined for a
 * create) to `after`, and every other entry loses them; removed fields leave
 * every entry. Only an entry that took fields gets the new time. Returns
 * the new metadata.managedFields, or undefined when they stay the live
 * object's as they are.
 */
export function updatedManagedFields(typeName: string, before: JsonObject | undefined, after: JsonObject, opts: UpdateOptions): JsonMap[] | undefined {
  const base = baseEntries(typeName, before, opts);
  const afterMaps: FieldSet = new Set();
  const beforeMaps: FieldSet = new Set();
  const afterValues = new Map<string, Json>();
  const beforeValues = new Map<string, Json>();
  const afterSet = fieldSetOf(typeName, after, { maps: afterMaps, values: afterValues });
  const beforeSet = before ? fieldSetOf(typeName, before, { maps: beforeMaps, values: beforeValues }) : new Set<string>();
  // A list item or set value changes by coming or going; what changes inside an item is its fields' change.
  const valueChanged = (p: string): boolean => afterValues.has(p) && !jsonEqual(beforeValues.get(p), afterValues.get(p));
  const changed = new Set([...afterSet].filter((p) => !beforeSet.has(p) || valueChanged(p)));
  for (const m of difference(afterMaps, beforeMaps)) changed.add(m);
  const removed = union(difference(beforeSet, afterSet), difference(beforeMaps, afterMaps));
  if (changed.size === 0 && removed.size === 0 && base.fromLive) return undefined;
  const lost = union(changed, removed);
  const apiVersion = typeof after['apiVersion'] === 'string' ? after['apiVersion'] : 'v1';
  const subresource = opts.subresource || undefined;
  const mine = (e: ManagedEntry): boolean =>
    e.manager === opts.manager && e.operation === 'Update' && e.apiVersion === apiVersion && e.subresource === subresource;
  const previous = base.entries.find(mine);
  const rest = base.entries.filter((e) => !mine(e)).map((e) => ({ ...e, fields: difference(e.fields, lost) }));
  const kept = previous ? [{ ...previous, fields: difference(previous.fields, removed) }] : [];
  const entry: ManagedEntry = {
    manager: opts.manager,
    operation: 'Update',
    apiVersion,
    time: opts.now,
    ...(subresource ? { subresource } : {}),
    fields: union(previous?.fields ?? new Set(), changed),
  };
  return encodeEntries(capUpdateManagers([...rest, ...(changed.size > 0 ? [entry] : kept)]));
}

/** updatedManagedFields on `after` itself: the object to store, with its managedFields. */
export function recordUpdate(typeName: string, before: JsonObject | undefined, after: JsonObject, opts: UpdateOptions): JsonObject {
  const next = updatedManagedFields(typeName, before, after, opts);
  const out = clone(after) as JsonMap;
  const meta: JsonMap = isMap(out['metadata']) ? out['metadata'] : {};
  const live = before && isMap(before['metadata']) ? before['metadata']['managedFields'] : undefined;
  const value = next ?? live;
  if (value === undefined || (Array.isArray(value) && value.length === 0)) delete meta['managedFields'];
  else meta['managedFields'] = value;
  out['metadata'] = meta;
  return out;
}

/** Kubernetes' isResetManagedFields: an empty list, or a list of one empty entry, clears the managed fields. */
export function isResetManagedFields(requested: Json | undefined): boolean {
  if (!Array.isArray(requested)) return false;
  if (requested.length === 0) return true;
  const only = requested[0];
  return requested.length === 1 && isMap(only) && Object.values(only).every((v) => v === null || v === '' || (isMap(v) && Object.keys(v).length === 0));
}

/** The entries an update starts from, and whether they are the live object's. */
function baseEntries(typeName: string, before: JsonObject | undefined, opts: UpdateOptions): { entries: ManagedEntry[]; fromLive: boolean } {
  if (!opts.subresource) {
    if (isResetManagedFields(opts.requested)) return { entries: [], fromLive: false };
    const sent = Array.isArray(opts.requested) ? decodeEntries(opts.requested) : undefined;
    if (sent !== undefined && sent.length > 0) return { entries: sent, fromLive: false };
  }
  const live = before ? decodeEntries(managedFieldsOf(before)) : [];
  // Live entries that do not decode are dropped, as Kubernetes' emptyManagedFieldsOnErr.
  return { entries: live ?? [], fromLive: live !== undefined };
}

/**
 * Entries in Kubernetes JSON as decodeManagedFields takes them: operation
 * Apply or Update, an apiVersion, fieldsType FieldsV1 and a fieldsV1 object;
 * undefined when any entry is not so (the caller falls back to the live ones).
 */
export function decodeEntries(raw: readonly Json[]): ManagedEntry[] | undefined {
  const out: ManagedEntry[] = [];
  for (const e of raw) {
    if (!isMap(e)) return undefined;
    const { manager, operation, apiVersion, time, fieldsType, fieldsV1, subresource } = e;
    if (operation !== 'Apply' && operation !== 'Update') return undefined;
    if (typeof apiVersion !== 'string' || apiVersion === '' || fieldsType !== 'FieldsV1') return undefined;
    if (fieldsV1 !== undefined && fieldsV1 !== null && !isMap(fieldsV1)) return undefined;
    out.push({
      manager: typeof manager === 'string' ? manager : '',
      operation,
      apiVersion,
      time: typeof time === 'string' ? time : '',
      ...(typeof subresource === 'string' && subresource !== '' ? { subresource } : {}),
      fields: decodeFieldsV1(fieldsV1 ?? {}),
    });
  }
  return out;
}

/**
 * Kubernetes' capManagersManager: with more than MAX_UPDATE_MANAGERS Update
 * entries, the oldest merge into an "ancient-changes" entry of their
 * apiVersion until the count is back under the cap.
 */
function capUpdateManagers(entries: readonly ManagedEntry[]): ManagedEntry[] {
  const updaters = entries.filter((e) => e.operation === 'Update' && e.fields.size > 0);
  if (updaters.length <= MAX_UPDATE_MANAGERS) return [...entries];
  const oldest = [...updaters].sort((a, b) => compareText(a.time, b.time) || compareText(a.manager, b.manager));
  let out = [...entries];
  let count = updaters.length;
  for (const e of oldest) {
    if (count <= MAX_UPDATE_MANAGERS) break;
    const isBucket = (b: ManagedEntry): boolean => b.manager === ANCIENT_CHANGES && b.operation === 'Update' && b.apiVersion === e.apiVersion && !b.subresource;
    if (isBucket(e)) continue;
    const bucket = out.find(isBucket);
    out = out.filter((o) => o !== e && o !== bucket);
    out.push({
      manager: ANCIENT_CHANGES,
      operation: 'Update',
      apiVersion: e.apiVersion,
      time: bucket && bucket.time > e.time ? bucket.time : e.time,
      fields: union(bucket?.fields ?? new Set(), e.fields),
    });
    if (bucket) count--;
  }
  return out;
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
 * The entries of an object's managedFields for an apply. An existing object
 * that has none (written before anyone tracked them) has its fields owned by
 * "before-first-apply", as Kubernetes does, so a first apply still conflicts
 * with what others set. Entries that do not decode count as none.
 */
function entriesOf(typeName: string, o: JsonObject): ManagedEntry[] {
  const raw = managedFieldsOf(o);
  if (raw.length === 0) {
    const existing = isMap(o['metadata']) ? fieldSetOf(typeName, o) : new Set<string>();
    if (existing.size === 0) return [];
    const apiVersion = typeof o['apiVersion'] === 'string' ? o['apiVersion'] : 'v1';
    const time = isMap(o['metadata']) && typeof o['metadata']['creationTimestamp'] === 'string' ? o['metadata']['creationTimestamp'] : '';
    return [{ manager: BEFORE_FIRST_APPLY, operation: 'Update', apiVersion, time, fields: existing }];
  }
  return decodeEntries(raw) ?? [];
}

function withEntries(o: JsonMap, entries: readonly ManagedEntry[]): JsonMap {
  const meta: JsonMap = isMap(o['metadata']) ? o['metadata'] : {};
  const encoded = encodeEntries(entries);
  if (encoded.length === 0) delete meta['managedFields'];
  else meta['managedFields'] = encoded;
  o['metadata'] = meta;
  return o;
}

/** Entries with fields, in Kubernetes JSON, in its order: Apply before Update, then by time, manager, apiVersion, subresource. */
function encodeEntries(entries: readonly ManagedEntry[]): JsonMap[] {
  const order = (a: ManagedEntry, b: ManagedEntry): number =>
    compareText(a.operation, b.operation) ||
    compareText(a.time, b.time) ||
    compareText(a.manager, b.manager) ||
    compareText(a.apiVersion, b.apiVersion) ||
    compareText(a.subresource ?? '', b.subresource ?? '');
  return entries
    .filter((e) => e.fields.size > 0)
    .sort(order)
    .map((e) => ({
      manager: e.manager,
      operation: e.operation,
      apiVersion: e.apiVersion,
      ...(e.time ? { time: e.time } : {}),
      fieldsType: 'FieldsV1',
      fieldsV1: encodeFieldsV1(e.fields),
      ...(e.subresource ? { subresource: e.subresource } : {}),
    }));
}

/** Go's string order (bytes), not the locale's. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
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

/**
 * Kubernetes' printManager: an Update manager is named with its apiVersion.
 * It prints the manager's identifier, which never holds the time, so the
 * time is never printed.
 */
function managerName(e: ManagedEntry): string {
  let name = JSON.stringify(e.manager);
  if (e.subresource) name += ` with subresource ${JSON.stringify(e.subresource)}`;
  if (e.operation === 'Update') name += ` using ${e.apiVersion}`;
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
