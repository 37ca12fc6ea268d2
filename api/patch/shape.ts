// The shape of a value at a place in a Kubernetes JSON object, from the
// schema generated from proto/: a message, a map, a list (with Kubernetes'
// list type) or a scalar. The patch and apply code walks objects with it.

import { schema } from '../gen/schema';
import type { FieldSchema } from '../schema-types';
import { listTypeOf, type ListType } from './list-types';

export type Json = null | boolean | number | string | Json[] | JsonMap;
export type JsonMap = { [key: string]: Json };

export type Shape =
  | { readonly kind: 'message'; readonly type: string }
  | { readonly kind: 'map'; readonly value: Shape }
  | { readonly kind: 'list'; readonly element: Shape; readonly listType?: ListType }
  | { readonly kind: 'scalar' };

const INT_OR_STRING = 'tsk.v1.IntOrString';
const SCALAR: Shape = { kind: 'scalar' };

export function isMap(v: Json | undefined): v is JsonMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function clone<T extends Json>(v: T): T {
  return structuredClone(v);
}

/** The shape of a top-level object of message `typeName` (tsk.v1.Pod). */
export function shapeOf(typeName: string): Shape {
  return { kind: 'message', type: typeName };
}

/** Field lookup by JSON name (the schema's keys are the JSON names). */
export function fieldOf(typeName: string, json: string): FieldSchema | undefined {
  const fields = schema[typeName];
  return fields && Object.prototype.hasOwnProperty.call(fields, json) ? fields[json] : undefined;
}

export function shapeOfField(owner: string, f: FieldSchema): Shape {
  let element: Shape;
  if (f.kind === 'map') element = { kind: 'map', value: f.value.kind === 'message' ? shapeOf(f.value.type) : SCALAR };
  else if (f.kind === 'message') element = f.type === INT_OR_STRING ? SCALAR : shapeOf(f.type);
  else element = SCALAR;
  if (!f.repeated) return element;
  const listType = listTypeOf(owner, f.json);
  return listType ? { kind: 'list', element, listType } : { kind: 'list', element };
}

/** The shape of `key` inside a value of `shape`; unknown fields are scalars (replaced whole). */
export function childShape(shape: Shape, key: string): Shape {
  if (shape.kind === 'message') {
    const f = fieldOf(shape.type, key);
    return f ? shapeOfField(shape.type, f) : SCALAR;
  }
  if (shape.kind === 'map') return shape.value;
  return SCALAR;
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
