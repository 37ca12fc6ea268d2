// RFC 6902 JSON patch (add, remove, replace, move, copy, test) with RFC 6901
// pointers, as Kubernetes applies it (evanphx/json-patch): the operations in
// order on a copy, any failure fails the whole patch. A body that is not a
// list of operations is a BadRequest; an operation that cannot apply to this
// document (a failed test, a missing path) is Invalid (HTTP 422), with
// json-patch's messages.

import { PatchError } from './errors';
import { clone, isMap, jsonEqual, type Json } from './shape';

const invalid = (message: string): PatchError => new PatchError(message, 'Invalid');

/** RFC 6901: "/spec/containers/0/name" -> ["spec", "containers", "0", "name"]; ~1 is "/", ~0 is "~". */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw invalid(`JSON pointer "${pointer}" must start with "/"`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function arrayIndex(list: Json[], token: string, forAdd: boolean): number {
  if (forAdd && token === '-') return list.length;
  if (!/^(0|[1-9]\d*)$/.test(token)) throw invalid(`Unable to access invalid index: ${token}: invalid index referenced`);
  const i = Number(token);
  if (i > list.length || (!forAdd && i === list.length)) throw invalid(`Unable to access invalid index: ${i}: invalid index referenced`);
  return i;
}

/** The container of the pointer's last token, and that token; undefined when a step on the way is missing. */
function parentOf(doc: Json, pointer: string): { parent: Json; token: string } | undefined {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return undefined;
  let cur: Json = doc;
  for (const t of tokens.slice(0, -1)) {
    const next: Json | undefined = Array.isArray(cur) ? cur[arrayIndex(cur, t, false)] : isMap(cur) ? cur[t] : undefined;
    if (next === undefined) return undefined;
    cur = next;
  }
  return { parent: cur, token: tokens[tokens.length - 1]! };
}

function getAt(doc: Json, pointer: string, op: string): Json {
  if (pointer === '') return doc;
  const at = parentOf(doc, pointer);
  if (!at) throw invalid(`${op} operation does not apply: doc is missing path: "${pointer}": missing value`);
  const { parent, token } = at;
  const v = Array.isArray(parent) ? parent[arrayIndex(parent, token, false)] : isMap(parent) ? parent[token] : undefined;
  if (v === undefined) throw invalid(`${op} operation does not apply: doc is missing key: ${pointer}: missing value`);
  return v;
}

function addAt(doc: Json, pointer: string, value: Json, op: string): Json {
  if (pointer === '') return clone(value);
  const at = parentOf(doc, pointer);
  if (!at) throw invalid(`${op} operation does not apply: doc is missing path: "${pointer}": missing value`);
  const { parent, token } = at;
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, token, true), 0, clone(value));
  else if (isMap(parent)) parent[token] = clone(value);
  else throw invalid(`${op} operation does not apply: doc is missing path: "${pointer}": missing value`);
  return doc;
}

function removeAt(doc: Json, pointer: string, op: string): Json {
  const at = parentOf(doc, pointer);
  if (!at) throw invalid(`${op} operation does not apply: doc is missing path: "${pointer}": missing value`);
  const { parent, token } = at;
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, token, false), 1);
  else if (isMap(parent) && token in parent) delete parent[token];
  else throw invalid(`Unable to remove nonexistent key: ${token}: missing value`);
  return doc;
}

/** Applies the operations in order; returns the patched copy. Throws PatchError. */
export function jsonPatch(doc: Json, ops: Json): Json {
  if (!Array.isArray(ops)) throw new PatchError(`json: cannot unmarshal ${isMap(ops) ? 'object' : typeof ops} into Go value of type jsonpatch.Patch`);
  let out = clone(doc);
  for (const op of ops) {
    if (!isMap(op)) throw new PatchError(`json: cannot unmarshal ${Array.isArray(op) ? 'array' : typeof op} into Go value of type jsonpatch.Operation`);
    out = applyOperation(out, op);
  }
  return out;
}

function applyOperation(doc: Json, op: { [key: string]: Json }): Json {
  const kind = op['op'];
  const path = op['path'];
  if (typeof path !== 'string') throw invalid(`${String(kind)} operation failed to decode path: missing value`);
  const value = (): Json => {
    if (!('value' in op)) throw invalid(`${String(kind)} operation, missing value field: missing value`);
    return op['value']!;
  };
  const from = (): string => {
    const f = op['from'];
    if (typeof f !== 'string') throw invalid(`${String(kind)} operation failed to decode from: missing value`);
    return f;
  };
  switch (kind) {
    case 'add':
      return addAt(doc, path, value(), 'add');
    case 'remove':
      return removeAt(doc, path, 'remove');
    case 'replace':
      getAt(doc, path, 'replace');
      return path === '' ? clone(value()) : addAt(removeAt(doc, path, 'replace'), path, value(), 'replace');
    case 'move': {
      const v = getAt(doc, from(), 'move');
      return addAt(removeAt(doc, from(), 'move'), path, v, 'move');
    }
    case 'copy':
      return addAt(doc, path, getAt(doc, from(), 'copy'), 'copy');
    case 'test': {
      const expected = value();
      let actual: Json | undefined;
      try {
        actual = getAt(doc, path, 'test');
      } catch {
        actual = undefined;
      }
      // json-patch: a test of null passes on a missing key.
      if (!(actual === undefined ? expected === null : jsonEqual(actual, expected))) throw invalid(`testing value ${path} failed: test failed`);
      return doc;
    }
    default:
      throw invalid(`Unexpected kind: ${String(kind)}`);
  }
}
