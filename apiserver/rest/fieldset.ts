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

export const pathKey = (path: readonly PathElement[]): string => JSON.stringify(path);
const STRIPPED_KEYS: ReadonlySet<string> = new Set(STRIPPED.map(pathKey));
export const parsePathKey = (key: string): PathElement[] => JSON.parse(key) as PathElement[];

/** The k: element of an item of an associative list: its key fields, sorted by name as structured-merge-diff does. */
export function keyElement(item: JsonMap, keys: readonly string[]): PathElement | undefined {
  const present = [...keys].sort().filter((k) => item[k] !== undefined && item[k] !== null);
  if (present.length === 0) return undefined;
  return `k:${JSON.stringify(Object.fromEntries(present.map((k) => [k, item[k]!])))}`;
}

/**
 * Every path of `value` (an object of message `typeName`) a manager would
 * own by setting it. With `maps`, the paths of the non-empty maps (labels,
 * annotations) are collected there too: an update that adds a map owns the
 * map itself (structured-merge-diff's comparison counts the node as added,
 * which FieldsV1 shows as ".").
 */
export function fieldSetOf(typeName: string, value: JsonMap, maps?: FieldSet): FieldSet {
  const out: FieldSet = new Set();
  walk(shapeOf(typeName), value, [], out, maps);
  for (const p of STRIPPED_KEYS) out.delete(p);
  return out;
}

function walk(shape: Shape, value: Json, path: PathElement[], out: FieldSet, maps: FieldSet | undefined): void {
  if (isMap(value) && (shape.kind === 'message' || shape.kind === 'map')) {
    const entries = Object.entries(value).filter(([, v]) => v !== null);
    // An empty map or struct is itself a value someone set.
    if (entries.length === 0 && path.length > 0) out.add(pathKey(path));
    else if (maps && shape.kind === 'map') maps.add(pathKey(path));
    for (const [k, v] of entries) {
      const child = [...path, `f:${k}`];
      // Only the top two levels hold stripped fields: deeper paths skip the look-up.
      if (path.length < 2 && STRIPPED_KEYS.has(pathKey(child))) continue;
      walk(childShape(shape, k), v, child, out, maps);
    }
    return;
  }
  if (Array.isArray(value) && shape.kind === 'list' && shape.listType && value.length > 0) {
    const keys = shape.listType.keys;
    for (const item of value) {
      if (shape.listType.type === 'set') {
        out.add(pathKey([...path, `v:${JSON.stringify(item)}`]));
        continue;
      }
      const element = isMap(item) && keys ? keyElement(item, keys) : undefined;
      if (element === undefined || !isMap(item)) {
        // An item without its keys cannot be tracked alone: the list is owned whole.
        out.add(pathKey(path));
        return;
      }
      const itemPath = [...path, element];
      out.add(pathKey(itemPath));
      walk(shape.element, item, itemPath, out, maps);
    }
    return;
  }
  out.add(pathKey(path));
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

/** The FieldsV1 object of a set: each path a nested key; "." marks a path that is a member and has children. */
export function encodeFieldsV1(set: FieldSet): JsonMap {
  const root: JsonMap = {};
  const nodeAt = (path: readonly PathElement[]): JsonMap => {
    let node = root;
    for (const el of path) {
      const next = node[el];
      node = isMap(next) ? next : (node[el] = {});
    }
    return node;
  };
  const paths = [...set].map(parsePathKey);
  for (const path of paths) nodeAt(path);
  for (const path of paths) {
    const node = nodeAt(path);
    if (Object.keys(node).some((k) => k !== '.')) node['.'] = {};
  }
  return sortKeys(root);
}

/** Kubernetes' order: "." first, then f:, k:, v: elements, each sorted (plain string order gives exactly that). */
function sortKeys(m: JsonMap): JsonMap {
  const out: JsonMap = {};
  for (const k of Object.keys(m).sort()) out[k] = sortKeys(m[k] as JsonMap);
  return out;
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
