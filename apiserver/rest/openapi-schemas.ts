// The schemas of tsk's kinds in Kubernetes' OpenAPI form, generated from the
// proto schema (api/gen/schema.ts): definition names as Kubernetes has them
// (io.k8s.api.core.v1.Pod, io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta),
// x-kubernetes-group-version-kind on kinds, Kubernetes' list extensions
// (patch strategy and merge key, list type and map keys) on lists,
// int-or-string, quantities and times as Kubernetes types them. kubectl
// explain and client-side validation read these. Pure.

import { QUANTITY_FIELDS, QUANTITY_MAPS, type JsonObject } from '../../api/codec';
import { descriptions } from '../../api/gen/descriptions';
import { schema } from '../../api/gen/schema';
import { KINDS, KIND_NAMES } from '../../api/kinds';
import { listTypeOf } from '../../api/patch/list-types';
import type { FieldSchema, ValueType } from '../../api/schema-types';

type Json = JsonObject[string];

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const INT_OR_STRING_DEF = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';
const QUANTITY_DEF = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
const TIME_DEF = `${META}.Time`;
const MICRO_TIME_DEF = `${META}.MicroTime`;
const FIELDS_V1_DEF = `${META}.FieldsV1`;
/** A JSON object in Kubernetes' form that proto keeps as its JSON text (api/codec.ts). */
const FIELDS_V1 = 'tsk.v1.ManagedFieldsEntry.fieldsV1';

/** Messages of apimachinery's meta/v1, and of API groups other than core, by their tsk name. */
const META_TYPES = new Set(['ObjectMeta', 'ListMeta', 'OwnerReference', 'ManagedFieldsEntry', 'LabelSelector', 'LabelSelectorRequirement']);
const GROUP_PACKAGES: Readonly<Record<string, string>> = {
  Lease: 'io.k8s.api.coordination.v1',
  LeaseSpec: 'io.k8s.api.coordination.v1',
  LeaseList: 'io.k8s.api.coordination.v1',
};

/** String fields holding a metav1.Time (RFC 3339) or MicroTime. */
const MICRO_TIMES = new Set(['tsk.v1.LeaseSpec.acquireTime', 'tsk.v1.LeaseSpec.renewTime', 'tsk.v1.Event.eventTime']);
const isTime = (json: string): boolean => /(Timestamp|Time)$/.test(json) || json === 'startedAt' || json === 'finishedAt';

/** Fields Kubernetes marks required (no omitempty in k8s.io/api). */
const REQUIRED: Readonly<Record<string, readonly string[]>> = {
  'tsk.v1.Container': ['name'],
  'tsk.v1.PodSpec': ['containers'],
  'tsk.v1.ContainerPort': ['containerPort'],
  'tsk.v1.ServicePort': ['port'],
  'tsk.v1.EndpointPort': ['port'],
  'tsk.v1.EndpointAddress': ['ip'],
  'tsk.v1.EnvVar': ['name'],
  'tsk.v1.Volume': ['name'],
  'tsk.v1.VolumeMount': ['name', 'mountPath'],
  'tsk.v1.KeyToPath': ['key', 'path'],
  'tsk.v1.HTTPGetAction': ['port'],
  'tsk.v1.TCPSocketAction': ['port'],
  'tsk.v1.ConfigMapKeySelector': ['key'],
  'tsk.v1.SecretKeySelector': ['key'],
  'tsk.v1.ObjectFieldSelector': ['fieldPath'],
  'tsk.v1.ResourceFieldSelector': ['resource'],
  'tsk.v1.OwnerReference': ['apiVersion', 'kind', 'name', 'uid'],
  'tsk.v1.LabelSelectorRequirement': ['key', 'operator'],
  'tsk.v1.NodeSelectorRequirement': ['key', 'operator'],
  'tsk.v1.NodeSelector': ['nodeSelectorTerms'],
  'tsk.v1.PreferredSchedulingTerm': ['weight', 'preference'],
  'tsk.v1.WeightedPodAffinityTerm': ['weight', 'podAffinityTerm'],
  'tsk.v1.PodAffinityTerm': ['topologyKey'],
  'tsk.v1.TopologySpreadConstraint': ['maxSkew', 'topologyKey', 'whenUnsatisfiable'],
  'tsk.v1.Taint': ['key', 'effect'],
  'tsk.v1.NodeAddress': ['type', 'address'],
  'tsk.v1.NodeCondition': ['type', 'status'],
  'tsk.v1.PodCondition': ['type', 'status'],
  'tsk.v1.NamespaceCondition': ['type', 'status'],
  'tsk.v1.ReplicationControllerCondition': ['type', 'status'],
  'tsk.v1.HostAlias': ['ip'],
  'tsk.v1.Sysctl': ['name', 'value'],
  'tsk.v1.PodSchedulingGate': ['name'],
  'tsk.v1.ContainerStatus': ['name', 'ready', 'restartCount', 'image', 'imageID'],
  'tsk.v1.ReplicationControllerStatus': ['replicas'],
  'tsk.v1.PodList': ['items'],
  'tsk.v1.ReplicationControllerList': ['items'],
  'tsk.v1.ServiceList': ['items'],
  'tsk.v1.EndpointsList': ['items'],
  'tsk.v1.NodeList': ['items'],
  'tsk.v1.NamespaceList': ['items'],
  'tsk.v1.EventList': ['items'],
  'tsk.v1.ConfigMapList': ['items'],
  'tsk.v1.SecretList': ['items'],
  'tsk.v1.LeaseList': ['items'],
  'tsk.v1.Event': ['metadata', 'involvedObject'],
};

/** The Kubernetes definition name of a tsk message: tsk.v1.Pod -> io.k8s.api.core.v1.Pod. */
export function definitionName(typeName: string): string {
  const short = typeName.slice(typeName.lastIndexOf('.') + 1);
  if (typeName === 'tsk.v1.IntOrString') return INT_OR_STRING_DEF;
  if (META_TYPES.has(short)) return `${META}.${short}`;
  return `${GROUP_PACKAGES[short] ?? 'io.k8s.api.core.v1'}.${short}`;
}

/** How a schema refers to another: `#/definitions/X` (Swagger 2.0) or `#/components/schemas/X` (OpenAPI 3). */
export type RefStyle = 'v2' | 'v3';

function ref(def: string, style: RefStyle, description: string | undefined): JsonObject {
  const target = style === 'v2' ? `#/definitions/${def}` : `#/components/schemas/${def}`;
  // Kubernetes' v3 wraps a reference in allOf so it can carry a description and default beside it.
  if (style === 'v3') return { allOf: [{ $ref: target }], ...(description ? { description } : {}), default: {} };
  return { $ref: target, ...(description ? { description } : {}) };
}

function scalar(kind: string): JsonObject {
  switch (kind) {
    case 'bool':
      return { type: 'boolean' };
    case 'int32':
      return { type: 'integer', format: 'int32' };
    case 'int64':
      return { type: 'integer', format: 'int64' };
    case 'double':
      return { type: 'number', format: 'double' };
    case 'bytes':
      return { type: 'string', format: 'byte' };
    default:
      return { type: 'string' };
  }
}

function valueSchema(v: ValueType, style: RefStyle, quantity: boolean): JsonObject {
  if (v.kind === 'message') return ref(definitionName(v.type), style, undefined);
  if (quantity) return ref(QUANTITY_DEF, style, undefined);
  return scalar(v.kind);
}

/** The field's proto comment, as its description. */
function withDescription(s: JsonObject, description: string | undefined): JsonObject {
  return description ? { description, ...s } : s;
}

function fieldSchema(owner: string, f: FieldSchema, style: RefStyle): JsonObject {
  const full = `${owner}.${f.json}`;
  const description = descriptions[owner]?.fields[f.json];
  if (f.kind === 'map') return withDescription({ type: 'object', additionalProperties: valueSchema(f.value, style, QUANTITY_MAPS.has(full)) }, description);
  let element: JsonObject;
  if (full === FIELDS_V1) return ref(FIELDS_V1_DEF, style, 'The fields this manager owns, as a set in the FieldsV1 encoding.');
  if (f.kind === 'message') element = ref(definitionName(f.type), style, undefined);
  else if (QUANTITY_FIELDS.has(full)) element = ref(QUANTITY_DEF, style, undefined);
  else if (f.kind === 'string' && isTime(f.json)) element = ref(MICRO_TIMES.has(full) ? MICRO_TIME_DEF : TIME_DEF, style, undefined);
  else element = scalar(f.kind);
  if (!f.repeated) return withDescription(element, description);
  const lt = listTypeOf(owner, f.json);
  return {
    ...(description ? { description } : {}),
    type: 'array',
    items: element,
    ...(lt?.patchStrategy ? { 'x-kubernetes-patch-strategy': lt.patchStrategy } : {}),
    ...(lt?.mergeKey ? { 'x-kubernetes-patch-merge-key': lt.mergeKey } : {}),
    'x-kubernetes-list-type': lt?.type ?? 'atomic',
    ...(lt?.keys ? { 'x-kubernetes-list-map-keys': [...lt.keys] } : {}),
  };
}

/** The group/version/kind of the top-level messages (kinds and their lists). */
function gvkOf(typeName: string): JsonObject | undefined {
  for (const name of KIND_NAMES) {
    const k = KINDS[name];
    if (k.typeName === typeName) return { group: k.group, kind: k.kind, version: k.version };
    if (`${k.typeName}List` === typeName) return { group: k.group, kind: k.listKind, version: k.version };
  }
  return undefined;
}

function messageSchema(typeName: string, style: RefStyle): JsonObject {
  const fields = schema[typeName] ?? {};
  const properties: JsonObject = {};
  for (const f of Object.values(fields)) properties[f.json] = fieldSchema(typeName, f, style);
  const required = (REQUIRED[typeName] ?? []).filter((r) => r in fields);
  const gvk = gvkOf(typeName);
  return {
    description: descriptions[typeName]?.description ?? '',
    type: 'object',
    properties,
    ...(required.length > 0 ? { required } : {}),
    ...(gvk ? { 'x-kubernetes-group-version-kind': [gvk] } : {}),
  };
}

/** The messages reachable from `roots`, in a stable order. */
function reachable(roots: readonly string[]): string[] {
  const seen = new Set<string>();
  const visit = (t: string): void => {
    if (seen.has(t) || !schema[t]) return;
    seen.add(t);
    if (t === 'tsk.v1.IntOrString') return;
    for (const f of Object.values(schema[t]!)) {
      if (f.kind === 'message') visit(f.type);
      if (f.kind === 'map' && f.value.kind === 'message') visit(f.value.type);
    }
  };
  roots.forEach(visit);
  return [...seen];
}

/** The definitions for the kinds of one group/version (all of them when undefined), with the meta types they use. */
export function definitionsFor(style: RefStyle, groupVersion?: { group: string; version: string }): JsonObject {
  const kinds = KIND_NAMES.map((n) => KINDS[n]).filter((k) => !groupVersion || (k.group === groupVersion.group && k.version === groupVersion.version));
  const out: JsonObject = {};
  for (const t of reachable(kinds.flatMap((k) => [k.typeName, `${k.typeName}List`]))) {
    out[definitionName(t)] = t === 'tsk.v1.IntOrString' ? { type: 'string', format: 'int-or-string' } : messageSchema(t, style);
  }
  const used = JSON.stringify(out);
  const extra: Record<string, Json> = {
    [QUANTITY_DEF]: { type: 'string', description: 'Quantity is a fixed-point representation of a number: 100m, 1Gi, 2.' },
    [TIME_DEF]: { type: 'string', format: 'date-time', description: 'Time is RFC 3339 in UTC to the second.' },
    [MICRO_TIME_DEF]: { type: 'string', format: 'date-time', description: 'MicroTime is RFC 3339 in UTC with microseconds.' },
    [FIELDS_V1_DEF]: {
      type: 'object',
      description:
        'FieldsV1 is a set of fields as a trie in JSON: "f:<name>" a field, "k:<keys>" a list item by its keys, "v:<value>" a set value, "." the node itself.',
    },
    [`${META}.Patch`]: { type: 'object', description: 'Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.' },
  };
  for (const [name, s] of Object.entries(extra)) if (name.endsWith('.Patch') || used.includes(`/${name}"`)) out[name] = s;
  return out;
}
