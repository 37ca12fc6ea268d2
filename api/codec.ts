// The Kubernetes JSON/YAML form of tsk objects, both ways.
//
// ts-proto's own JSON mapping is not Kubernetes' (int-or-string values,
// quantities written as numbers, omitempty), so this codec walks the schema
// generated from proto/ instead. Decoding is strict about types and reports
// every problem with the field's path; unknown fields are collected, not
// fatal, so a caller can warn (kubectl's --validate=warn) or refuse (strict).

import { schema } from './gen/schema';
import type { FieldSchema, ValueType } from './schema-types';

const INT_OR_STRING = 'tsk.v1.IntOrString';
/**
 * Server-side apply's field set: a JSON object in Kubernetes' form, kept as
 * its JSON text in proto (its keys, "f:name" and "k:{...}", are data, not a
 * schema).
 */
const FIELDS_V1 = 'tsk.v1.ManagedFieldsEntry.fieldsV1';

/**
 * Map fields whose values are resource quantities. Kubernetes accepts a bare
 * number there (`cpu: 1`), so the codec turns it into the string form.
 */
export const QUANTITY_MAPS: ReadonlySet<string> = new Set([
  'tsk.v1.ResourceRequirements.limits',
  'tsk.v1.ResourceRequirements.requests',
  'tsk.v1.NodeStatus.capacity',
  'tsk.v1.NodeStatus.allocatable',
]);
export const QUANTITY_FIELDS: ReadonlySet<string> = new Set(['tsk.v1.EmptyDirVolumeSource.sizeLimit', 'tsk.v1.ResourceFieldSelector.divisor']);

/**
 * Fields Kubernetes prints even when zero (no omitempty in core/v1): an exit
 * code of 0 or a restart count of 0 is information, not absence.
 */
const ALWAYS_EMIT = new Set([
  'tsk.v1.ContainerStatus.ready',
  'tsk.v1.ContainerStatus.restartCount',
  'tsk.v1.ContainerStateTerminated.exitCode',
  'tsk.v1.ReplicationControllerStatus.replicas',
  'tsk.v1.ContainerPort.containerPort',
  'tsk.v1.ServicePort.port',
  'tsk.v1.EndpointPort.port',
]);

/** One problem found while decoding, with the path of the field. */
export interface FieldProblem {
  readonly field: string;
  readonly message: string;
}

export class DecodeError extends Error {
  constructor(readonly problems: readonly FieldProblem[]) {
    super(problems.map((p) => `${p.field}: ${p.message}`).join('; '));
    this.name = 'DecodeError';
  }
}

export interface DecodeResult<T> {
  readonly value: T;
  /** Paths of fields tsk does not know (spec.containers[0].securityContext). */
  readonly unknownFields: readonly string[];
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

interface DecodeContext {
  readonly problems: FieldProblem[];
  readonly unknown: string[];
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function decodeScalar(kind: string, value: unknown, path: string, ctx: DecodeContext, quantity: boolean): unknown {
  switch (kind) {
    case 'string':
      if (typeof value === 'string') return value;
      if (value instanceof Date) return value.toISOString();
      if (quantity && typeof value === 'number' && Number.isFinite(value)) return String(value);
      break;
    case 'bool':
      if (typeof value === 'boolean') return value;
      break;
    case 'int32':
    case 'int64':
      if (typeof value === 'number' && Number.isInteger(value)) {
        if (kind === 'int32' && (value > 2147483647 || value < -2147483648)) {
          ctx.problems.push({ field: path, message: `${value} is out of range for a 32-bit integer` });
          return undefined;
        }
        return value;
      }
      if (typeof value === 'number') {
        ctx.problems.push({ field: path, message: `expected an integer, got ${value}` });
        return undefined;
      }
      break;
    case 'double':
      if (typeof value === 'number') return value;
      break;
    case 'bytes':
      if (typeof value === 'string') return decodeBase64(value, path, ctx);
      break;
  }
  const expected = kind === 'bool' ? 'boolean' : kind.startsWith('int') ? 'integer' : kind;
  ctx.problems.push({ field: path, message: `expected ${expected}, got ${describe(value)}` });
  return undefined;
}

/**
 * Standard base64 with padding, strictly as Go's encoding/json reads []byte
 * (Buffer.from would skip bad characters and decode garbage). Whitespace
 * line breaks are allowed, as Go's decoder ignores \r and \n.
 */
function decodeBase64(value: string, path: string, ctx: DecodeContext): Buffer | undefined {
  const text = value.replace(/[\r\n]/g, '');
  const bad = text.search(/[^A-Za-z0-9+/=]|=[^=]|={3}/);
  if (bad >= 0 || text.length % 4 !== 0) {
    ctx.problems.push({ field: path, message: `illegal base64 data at input byte ${bad >= 0 ? bad : text.length - (text.length % 4)}` });
    return undefined;
  }
  return Buffer.from(text, 'base64');
}

function decodeIntOrString(value: unknown, path: string, ctx: DecodeContext): unknown {
  if (typeof value === 'number' && Number.isInteger(value)) return { type: 0, intVal: value };
  if (typeof value === 'string') return { type: 1, strVal: value };
  ctx.problems.push({ field: path, message: `expected an integer or a string, got ${describe(value)}` });
  return undefined;
}

function decodeValue(type: ValueType, value: unknown, path: string, ctx: DecodeContext, quantity: boolean): unknown {
  if (type.kind === 'message') return decodeMessage(type.type, value, path, ctx);
  return decodeScalar(type.kind, value, path, ctx, quantity);
}

function decodeField(owner: string, field: FieldSchema, value: unknown, path: string, ctx: DecodeContext): unknown {
  if (value === null || value === undefined) return undefined;
  const fullName = `${owner}.${field.name}`;
  if (field.kind === 'map') {
    if (!isPlainObject(value)) {
      ctx.problems.push({ field: path, message: `expected a map, got ${describe(value)}` });
      return undefined;
    }
    const quantity = QUANTITY_MAPS.has(fullName);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const decoded = decodeValue(field.value, v, join(path, k), ctx, quantity);
      if (decoded !== undefined) out[k] = decoded;
    }
    return out;
  }
  if (fullName === FIELDS_V1) {
    if (isPlainObject(value)) return JSON.stringify(value);
    ctx.problems.push({ field: path, message: `expected an object, got ${describe(value)}` });
    return undefined;
  }
  const element: ValueType = field.kind === 'message' ? { kind: 'message', type: field.type } : { kind: field.kind };
  const quantity = QUANTITY_FIELDS.has(fullName);
  if (field.repeated) {
    if (!Array.isArray(value)) {
      ctx.problems.push({ field: path, message: `expected a list, got ${describe(value)}` });
      return undefined;
    }
    return value.map((v, i) => decodeValue(element, v, `${path}[${i}]`, ctx, quantity));
  }
  return decodeValue(element, value, path, ctx, quantity);
}

function decodeMessage(typeName: string, value: unknown, path: string, ctx: DecodeContext): unknown {
  if (value === null || value === undefined) return undefined;
  if (typeName === INT_OR_STRING) return decodeIntOrString(value, path, ctx);
  const fields = schema[typeName];
  if (!fields) throw new Error(`codec: no schema for ${typeName}`);
  if (!isPlainObject(value)) {
    ctx.problems.push({ field: path || '<root>', message: `expected an object, got ${describe(value)}` });
    return undefined;
  }
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const field = fields[key];
    const fieldPath = join(path, key);
    if (!field) {
      ctx.unknown.push(fieldPath);
      continue;
    }
    const decoded = decodeField(typeName, field, v, fieldPath, ctx);
    if (decoded !== undefined) out[field.name] = decoded;
  }
  return out;
}

/**
 * Decodes the Kubernetes JSON form of a message (already parsed from JSON or
 * YAML). Throws DecodeError listing every field of the wrong type.
 */
export function decodeJson<T>(typeName: string, value: unknown): DecodeResult<T> {
  const ctx: DecodeContext = { problems: [], unknown: [] };
  const decoded = decodeMessage(typeName, value, '', ctx);
  if (ctx.problems.length > 0) throw new DecodeError(ctx.problems);
  return { value: (decoded ?? {}) as T, unknownFields: ctx.unknown };
}

function isEmpty(value: Json | undefined): boolean {
  if (value === undefined || value === null || value === '' || value === 0 || value === false) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.keys(value).length === 0;
  return false;
}

function encodeScalar(value: unknown): Json | undefined {
  if (value === undefined || value === null) return undefined;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return undefined;
}

function encodeValue(type: ValueType, value: unknown): Json | undefined {
  return type.kind === 'message' ? encodeMessage(type.type, value) : encodeScalar(value);
}

/**
 * How to encode one field, worked out once per message type: the element
 * type, and the checks that depend only on the type and field name. Encoding
 * is on every REST answer and watch event (a list of 10,000 pods walks
 * hundreds of thousands of fields), so none of this is redone per value.
 */
interface FieldPlan {
  readonly field: FieldSchema;
  /** The element type of a message or scalar field (repeated or not); undefined for a map. */
  readonly element: ValueType | undefined;
  readonly fieldsV1: boolean;
  /** Kept when zero: proto3 optional, or one of ALWAYS_EMIT. */
  readonly emitZero: boolean;
}

const encodePlans = new Map<string, readonly FieldPlan[]>();

function encodePlan(typeName: string): readonly FieldPlan[] {
  let plan = encodePlans.get(typeName);
  if (plan !== undefined) return plan;
  const fields = schema[typeName];
  if (!fields) throw new Error(`codec: no schema for ${typeName}`);
  plan = Object.values(fields).map((field) => ({
    field,
    element: field.kind === 'map' ? undefined : field.kind === 'message' ? { kind: 'message', type: field.type } : { kind: field.kind },
    fieldsV1: `${typeName}.${field.name}` === FIELDS_V1,
    emitZero: field.optional === true || ALWAYS_EMIT.has(`${typeName}.${field.name}`),
  }));
  encodePlans.set(typeName, plan);
  return plan;
}

function encodeField(plan: FieldPlan, value: unknown): Json | undefined {
  const { field, element } = plan;
  if (field.kind === 'map') {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const encoded = encodeValue(field.value, v);
      if (encoded !== undefined) out[k] = encoded;
    }
    return out;
  }
  if (field.repeated) {
    return (value as unknown[]).map((v) => encodeValue(element!, v) ?? null);
  }
  return encodeValue(element!, value);
}

function encodeMessage(typeName: string, value: unknown): Json | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeName === INT_OR_STRING) {
    const v = value as { type?: number; intVal?: number; strVal?: string };
    return v.type === 1 ? (v.strVal ?? '') : (v.intVal ?? 0);
  }
  const source = value as Record<string, unknown>;
  const out: JsonObject = {};
  for (const plan of encodePlan(typeName)) {
    const v = source[plan.field.name];
    // An absent field is never emitted, whatever its kind.
    if (v === undefined || v === null) continue;
    const encoded = plan.fieldsV1 ? encodeFieldsV1(v) : encodeField(plan, v);
    const keep = plan.emitZero ? encoded !== undefined : !isEmpty(encoded);
    if (keep && encoded !== undefined) out[plan.field.json] = encoded;
  }
  return out;
}

function encodeFieldsV1(value: unknown): Json | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  return JSON.parse(value) as Json;
}

/**
 * Encodes a message into its Kubernetes JSON form: schema order, zero values
 * omitted (Kubernetes' omitempty) except proto3-optional fields and the few
 * fields Kubernetes always prints.
 */
export function encodeJson(typeName: string, value: unknown): JsonObject {
  const encoded = encodeMessage(typeName, value);
  return encoded !== null && typeof encoded === 'object' && !Array.isArray(encoded) ? encoded : {};
}
