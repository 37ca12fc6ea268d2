// Server-side apply's field sets (sigs.k8s.io/structured-merge-diff): which
// fields of an object a manager owns, as a set of paths, and their FieldsV1
// encoding in metadata.managedFields. A path is a list of elements:
//   f:<name>            a field of a struct or a key of a map
//   k:{"name":"web"}    an item of an associative list (listType=map), by its keys
//   v:"value"           a value of a set (listType=set)
// Atomic lists and scalars are leaves; maps, structs and list items recurse.
// Pure.

import { childShape, isMap, shapeOf, type Json, type JsonMap, type Shape } from '../../api/patch/shape';

/** A set of paths, each serialized as the JSON text of its element list. */
export type FieldSet = Set<string>;

export type PathElement = string;

/** Fields the server owns, never a manager (Kubernetes' fieldmanager strips them). */
const STRIPPED: readonly (readonly PathElement[])[] = [
  ['f:apiVersion'],
  ['f:kind'],
  ['f:metadata', 'f:name'],
  ['f:metadata', 'f:namespace'],
  ['f:metadata', 'f:creationTimestamp'],
  ['f:metadata', 'f:selfLink'],
  ['f:metadata', 'f:uid'],
  ['f:metadata', 'f:generation'],
  ['f:metadata', 'f:managedFields'],
  ['f:metadata', 'f:resourceVersion'],
];

/**
 * Paths are kept as their elements joined by NUL, which no element holds
 * (field names and label keys cannot, and JSON text escapes it): a set of
 * paths is a set of strings, built and split without JSON on the hot path.
 */
const SEP = '\u0000';
export const pathKey = (path: readonly PathElement[]): string => path.join(SEP);
const STRIPPED_KEYS: ReadonlySet<string> = new Set(STRIPPED.map(pathKey));
export const parsePathKey = (key: string): PathElement[] => key.split(SEP);
/** Whether path `key` is `prefix` or lies under it. */
export const isWithin = (key: string, prefix: string): boolean => key === prefix || key.startsWith(prefix + SEP);

/** The k: element of an item of an associative list: its key fields, sorted by name as structured-merge-diff does. */
export function keyElement(item: JsonMap, keys: readonly string[]): PathElement | undefined {
  const present = [...keys].sort().filter((k) => item[k] !== undefined && item[k] !== null);
  if (present.length === 0) return undefined;
  return `k:${JSON.stringify(Object.fromEntries(present.map((k) => [k, item[k]!])))}`;
}

/** What fieldSetOf collects besides the set, for an update's comparison. */
export interface FieldSetExtras {
  /**
   * The paths of the non-empty maps (labels, annotations): an update that
   * adds a map owns the map itself (structured-merge-diff's comparison
   * counts the node as added, which FieldsV1 shows as ".").
   */
  readonly maps?: FieldSet;
  /** The value at each path of the set that is a field (f:), to tell which changed. */
  readonly values?: Map<string, Json>;
}

/** Every path of `value` (an object of message `typeName`) a manager would own by setting it. */
export function fieldSetOf(typeName: string, value: JsonMap, extras: FieldSetExtras = {}): FieldSet {
  const out: FieldSet = new Set();
  walk(shapeOf(typeName), value, '', 0, out, extras);
  for (const p of STRIPPED_KEYS) out.delete(p);
  return out;
}

/** Walks `value` at path `key` (`depth` elements long). */
function walk(shape: Shape, value: Json, key: string, depth: number, out: FieldSet, extras: FieldSetExtras): void {
  const under = (el: string): string => (depth === 0 ? el : key + SEP + el);
  if (isMap(value) && (shape.kind === 'message' || shape.kind === 'map')) {
    let empty = true;
    for (const k of Object.keys(value)) {
      const v = value[k]!;
      if (v === null) continue;
      empty = false;
      const child = under(`f:${k}`);
      // Only the top two levels hold stripped fields: deeper paths skip the look-up.
      if (depth < 2 && STRIPPED_KEYS.has(child)) continue;
      walk(childShape(shape, k), v, child, depth + 1, out, extras);
    }
    // An empty map or struct is itself a value someone set.
    if (empty && depth > 0) leaf(key, value, out, extras);
    else if (!empty && shape.kind === 'map') extras.maps?.add(key);
    return;
  }
  if (Array.isArray(value) && shape.kind === 'list' && shape.listType && value.length > 0) {
    const keys = shape.listType.keys;
    for (const item of value) {
      if (shape.listType.type === 'set') {
        out.add(under(`v:${JSON.stringify(item)}`));
        continue;
      }
      const element = isMap(item) && keys ? keyElement(item, keys) : undefined;
      if (element === undefined || !isMap(item)) {
        // An item without its keys cannot be tracked alone: the list is owned whole.
        leaf(key, value, out, extras);
        return;
      }
      const itemKey = under(element);
      out.add(itemKey);
      walk(shape.element, item, itemKey, depth + 1, out, extras);
    }
    return;
  }
  leaf(key, value, out, extras);
}

function leaf(key: string, value: Json, out: FieldSet, extras: FieldSetExtras): void {
  out.add(key);
  extras.values?.set(key, value);
}

/** The value at a path, or undefined. */
export function valueAt(root: Json, path: readonly PathElement[]): Json | undefined {
  let cur: Json | undefined = root;
  for (const el of path) {
    if (cur === undefined || cur === null) return undefined;
    if (el.startsWith('f:')) cur = isMap(cur) ? cur[el.slice(2)] : undefined;
    else if (el.startsWith('k:')) cur = Array.isArray(cur) ? cur.find((i) => matchesKey(i, el)) : undefined;
    else if (el.startsWith('v:')) {
      const v = JSON.parse(el.slice(2)) as Json;
      cur = Array.isArray(cur) && cur.some((i) => JSON.stringify(i) === JSON.stringify(v)) ? v : undefined;
    } else return undefined;
  }
  return cur;
}

function matchesKey(item: Json, el: PathElement): boolean {
  if (!isMap(item)) return false;
  const key = JSON.parse(el.slice(2)) as JsonMap;
  return Object.entries(key).every(([k, v]) => JSON.stringify(item[k]) === JSON.stringify(v));
}

/** Removes the value at a path from `root` (mutated); a missing path is nothing to do. */
export function removeAt(root: JsonMap, path: readonly PathElement[]): void {
  if (path.length === 0) return;
  const parent = valueAt(root, path.slice(0, -1));
  const last = path[path.length - 1]!;
  if (last.startsWith('f:') && isMap(parent)) delete parent[last.slice(2)];
  else if (last.startsWith('k:') && Array.isArray(parent)) {
    const i = parent.findIndex((x) => matchesKey(x, last));
    if (i >= 0) parent.splice(i, 1);
  } else if (last.startsWith('v:') && Array.isArray(parent)) {
    const i = parent.findIndex((x) => JSON.stringify(x) === last.slice(2));
    if (i >= 0) parent.splice(i, 1);
  }
}

/** structured-merge-diff's path text, as conflicts print it: .spec.containers[name="web"].image, .metadata.finalizers[="x"]. */
export function pathString(path: readonly PathElement[]): string {
  return path
    .map((el) => {
      if (el.startsWith('f:')) return `.${el.slice(2)}`;
      if (el.startsWith('v:')) return `[=${el.slice(2)}]`;
      if (el.startsWith('k:')) {
        const key = JSON.parse(el.slice(2)) as JsonMap;
        return `[${Object.entries(key)
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(',')}]`;
      }
      return el;
    })
    .join('');
}

/**
 * The FieldsV1 object of a set: each path a nested key; "." marks a path
 * that is a member and has children. Keys come in Kubernetes' order ("."
 * first, then f:, k:, v: elements, each sorted): the paths are inserted
 * sorted, and NUL, the smallest character, joins the elements, so the
 * strings sort as their element lists do and a parent comes before its children.
 */
export function encodeFieldsV1(set: FieldSet): JsonMap {
  const root: JsonMap = {};
  // Members that have no child yet: their first child brings the "." before it.
  const childless = new Set<JsonMap>();
  for (const key of [...set].sort()) {
    let node = root;
    for (const el of key.split(SEP)) {
      let next = node[el] as JsonMap | undefined;
      if (next === undefined) {
        if (childless.delete(node)) node['.'] = {};
        next = node[el] = {};
      }
      node = next;
    }
    childless.add(node);
  }
  return root;
}

/** The set a FieldsV1 object encodes. */
export function decodeFieldsV1(fields: Json | undefined): FieldSet {
  const out: FieldSet = new Set();
  const visit = (node: Json | undefined, path: PathElement[]): void => {
    if (!isMap(node)) return;
    const children = Object.keys(node).filter((k) => k !== '.');
    if (path.length > 0 && (children.length === 0 || '.' in node)) out.add(pathKey(path));
    for (const k of children) visit(node[k], [...path, k]);
  };
  visit(fields, []);
  return out;
}

export function union(...sets: FieldSet[]): FieldSet {
  const out: FieldSet = new Set();
  for (const s of sets) for (const p of s) out.add(p);
  return out;
}

export function difference(a: FieldSet, b: FieldSet): FieldSet {
  return new Set([...a].filter((p) => !b.has(p)));
}
