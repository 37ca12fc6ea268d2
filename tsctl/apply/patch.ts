// kubectl patch's three patch types, applied client-side to the Kubernetes
// JSON form of the object read: strategic merge (the default; lists with a
// patch merge key, such as containers by name, merge item by item, null
// deletes a field, `$patch: delete|replace` as Kubernetes), RFC 7386 JSON merge patch (objects merge, null deletes,
// lists are replaced) and RFC 6902 JSON patch (add, remove, replace, move,
// copy, test). Pure; errors are one line naming what is wrong.

import { clone, isMap, threeWayMerge, type Json, type JsonMap } from './merge';

export type PatchType = 'strategic' | 'merge' | 'json';

export const PATCH_TYPES: readonly PatchType[] = ['strategic', 'merge', 'json'];

export class PatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PatchError';
  }
}

/** A strategic merge patch on an object of message `typeName` (tsk.v1.Pod). */
export function strategicMergePatch(typeName: string, live: JsonMap, patch: Json): JsonMap {
  if (!isMap(patch)) throw new PatchError('a strategic merge patch must be a JSON object');
  return threeWayMerge(typeName, undefined, patch, live, 'live');
}

/** RFC 7386: merges `patch` into `target`. */
export function jsonMergePatch(target: Json | undefined, patch: Json): Json {
  if (!isMap(patch)) return clone(patch);
  const out: JsonMap = isMap(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = jsonMergePatch(out[key], value);
  }
  return out;
}

/** RFC 6901: "/spec/containers/0/name" -> ["spec", "containers", "0", "name"]. */
function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(`invalid JSON pointer "${pointer}": it must start with "/"`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function arrayIndex(list: Json[], token: string, pointer: string, forAdd: boolean): number {
  if (forAdd && token === '-') return list.length;
  if (!/^(0|[1-9]\d*)$/.test(token)) throw new PatchError(`invalid array index "${token}" in "${pointer}"`);
  const i = Number(token);
  if (i > list.length || (!forAdd && i === list.length)) throw new PatchError(`array index ${i} out of range in "${pointer}"`);
  return i;
}

/** The container of the pointer's last token, and that token. */
function parentOf(doc: Json, pointer: string): { parent: Json; token: string } {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) throw new PatchError('the root "" cannot be the target of this operation');
  let cur: Json = doc;
  for (const t of tokens.slice(0, -1)) {
    const next: Json | undefined = Array.isArray(cur) ? cur[arrayIndex(cur, t, pointer, false)] : isMap(cur) ? cur[t] : undefined;
    if (next === undefined) throw new PatchError(`path "${pointer}" does not exist`);
    cur = next;
  }
  return { parent: cur, token: tokens[tokens.length - 1]! };
}

function getAt(doc: Json, pointer: string): Json {
  if (pointer === '') return doc;
  const { parent, token } = parentOf(doc, pointer);
  const v = Array.isArray(parent) ? parent[arrayIndex(parent, token, pointer, false)] : isMap(parent) ? parent[token] : undefined;
  if (v === undefined) throw new PatchError(`path "${pointer}" does not exist`);
  return v;
}

function addAt(doc: Json, pointer: string, value: Json): Json {
  if (pointer === '') return clone(value);
  const { parent, token } = parentOf(doc, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, token, pointer, true), 0, clone(value));
  else if (isMap(parent)) parent[token] = clone(value);
  else throw new PatchError(`path "${pointer}": its parent is not an object or array`);
  return doc;
}

function removeAt(doc: Json, pointer: string): Json {
  const { parent, token } = parentOf(doc, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, token, pointer, false), 1);
  else if (isMap(parent) && token in parent) delete parent[token];
  else throw new PatchError(`path "${pointer}" does not exist`);
  return doc;
}

function jsonEq(a: Json, b: Json): boolean {
  return JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));
}

function sorted(v: Json): Json {
  if (Array.isArray(v)) return v.map(sorted);
  if (isMap(v))
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sorted(v[k]!)]),
    );
  return v;
}

/** RFC 6902: the operations in order; any failure fails the whole patch. */
export function jsonPatch(doc: Json, ops: Json): Json {
  if (!Array.isArray(ops)) throw new PatchError('a JSON patch must be a JSON array of operations');
  let out = clone(doc);
  ops.forEach((op, i) => {
    if (!isMap(op)) throw new PatchError(`operation ${i}: must be an object`);
    const kind = op['op'];
    const path = op['path'];
    if (typeof path !== 'string') throw new PatchError(`operation ${i}: "path" is required`);
    const value = (): Json => {
      if (!('value' in op)) throw new PatchError(`operation ${i} (${String(kind)}): "value" is required`);
      return op['value']!;
    };
    const from = (): string => {
      if (typeof op['from'] !== 'string') throw new PatchError(`operation ${i} (${String(kind)}): "from" is required`);
      return op['from'];
    };
    switch (kind) {
      case 'add':
        out = addAt(out, path, value());
        break;
      case 'remove':
        out = removeAt(out, path);
        break;
      case 'replace':
        getAt(out, path);
        out = path === '' ? clone(value()) : addAt(removeAt(out, path), path, value());
        break;
      case 'move': {
        const v = getAt(out, from());
        out = addAt(removeAt(out, from()), path, v);
        break;
      }
      case 'copy':
        out = addAt(out, path, getAt(out, from()));
        break;
      case 'test':
        if (!jsonEq(getAt(out, path), value())) throw new PatchError(`operation ${i} (test): the value at "${path}" is not the one expected`);
        break;
      default:
        throw new PatchError(`operation ${i}: unsupported op "${String(kind)}" (add, remove, replace, move, copy or test)`);
    }
  });
  return out;
}

/** Applies a patch of `type` to `live` (the Kubernetes JSON of an object of message `typeName`). */
export function applyPatch(type: PatchType, typeName: string, live: JsonMap, patch: Json): JsonMap {
  const out = type === 'strategic' ? strategicMergePatch(typeName, live, patch) : type === 'merge' ? jsonMergePatch(live, patch) : jsonPatch(live, patch);
  if (!isMap(out)) throw new PatchError('the patched object is not a JSON object');
  return out;
}
