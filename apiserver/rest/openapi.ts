// The OpenAPI documents of the REST API, as Kubernetes serves them:
//   /openapi/v2              Swagger 2.0: every path and definition
//   /openapi/v3              the discovery of the group/version documents
//   /openapi/v3/api/v1       OpenAPI 3.0 of the core group (and /openapi/v3/apis/<group>/<version>)
// kubectl explain reads the v3 group/version document's components.schemas
// (the kind found by x-kubernetes-group-version-kind); kubectl apply
// --validate=strict asks the v3 document whether the kind's PATCH operation
// takes the fieldValidation query parameter, and validates on the server if
// so. Built once from the proto schema; pure.

import { createHash } from 'node:crypto';
import type { JsonObject } from '../../api/codec';
import { KINDS, KIND_NAMES, type KindInfo, type ApiObject } from '../../api/kinds';
import { definitionName, definitionsFor, type RefStyle } from './openapi-schemas';
import { PATCH_CONTENT_TYPES } from './patch';

type Json = JsonObject[string];

/** The Kubernetes version the documents claim, as /version would. */
const INFO = { title: 'Kubernetes', version: 'v1.30.0' };

interface GroupVersion {
  readonly group: string;
  readonly version: string;
}

const allKinds = (): KindInfo<ApiObject>[] => KIND_NAMES.map((n) => KINDS[n] as KindInfo<ApiObject>);

/** "api/v1" for the core group, "apis/coordination.k8s.io/v1" for the others. */
export function groupVersionPath(gv: GroupVersion): string {
  return gv.group === '' ? `api/${gv.version}` : `apis/${gv.group}/${gv.version}`;
}

function groupVersions(): GroupVersion[] {
  const seen = new Map<string, GroupVersion>();
  for (const k of allKinds()) seen.set(groupVersionPath(k), { group: k.group, version: k.version });
  return [...seen.values()];
}

/** Kubernetes' operation id stem: CoreV1, CoordinationV1. */
function opStem(k: KindInfo<ApiObject>): string {
  const group = k.group === '' ? 'core' : k.group.split('.')[0]!;
  return `${group[0]!.toUpperCase()}${group.slice(1)}${k.version[0]!.toUpperCase()}${k.version.slice(1)}`;
}

function queryParam(name: string, type: string, style: RefStyle, description: string): JsonObject {
  return style === 'v2' ? { name, in: 'query', type, uniqueItems: true, description } : { name, in: 'query', schema: { type, uniqueItems: true }, description };
}

function pathParam(name: string, style: RefStyle): JsonObject {
  const description = `${name} of the object`;
  return style === 'v2'
    ? { name, in: 'path', required: true, type: 'string', uniqueItems: true, description }
    : { name, in: 'path', required: true, schema: { type: 'string', uniqueItems: true }, description };
}

function okResponse(def: string, style: RefStyle): JsonObject {
  if (style === 'v2') return { '200': { description: 'OK', schema: { $ref: `#/definitions/${def}` } } };
  return { '200': { description: 'OK', content: { 'application/json': { schema: { $ref: `#/components/schemas/${def}` } } } } };
}

const writeParams = (style: RefStyle): JsonObject[] => [
  queryParam('dryRun', 'string', style, 'When present, indicates that modifications should not be persisted. Valid value: All.'),
  queryParam('fieldManager', 'string', style, 'fieldManager is a name associated with the actor or entity that is making these changes.'),
  queryParam('fieldValidation', 'string', style, 'How the server handles unknown or duplicate fields: Ignore, Warn or Strict.'),
];

function operation(k: KindInfo<ApiObject>, action: string, id: string, def: string, style: RefStyle, extra: JsonObject[] = []): JsonObject {
  const op: JsonObject = {
    description: `${action} ${k.kind}`,
    operationId: id,
    parameters: extra,
    responses: okResponse(def, style),
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': { group: k.group, kind: k.kind, version: k.version },
  };
  if (action === 'patch') {
    if (style === 'v2') op['consumes'] = [...PATCH_CONTENT_TYPES];
    else
      op['requestBody'] = {
        content: Object.fromEntries(
          PATCH_CONTENT_TYPES.map((t) => [t, { schema: { $ref: `#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch` } }]),
        ),
        required: true,
      };
  }
  return op;
}

/** The paths of one kind: its collection, its objects and their status subresource. */
function kindPaths(k: KindInfo<ApiObject>, style: RefStyle): Record<string, Json> {
  const base = `/${groupVersionPath(k)}`;
  const def = definitionName(k.typeName);
  const listDef = definitionName(`${k.typeName}List`);
  const stem = opStem(k);
  const scope = k.namespaced ? 'Namespaced' : '';
  const collection = k.namespaced ? `${base}/namespaces/{namespace}/${k.plural}` : `${base}/${k.plural}`;
  const scopeParams = k.namespaced ? [pathParam('namespace', style)] : [];
  const force = queryParam('force', 'boolean', style, 'Force is going to "force" Apply requests: the conflicting fields are taken over.');
  const out: Record<string, Json> = {
    [collection]: {
      get: operation(k, 'list', `list${stem}${scope}${k.kind}`, listDef, style),
      post: operation(k, 'post', `create${stem}${scope}${k.kind}`, def, style, writeParams(style)),
      parameters: scopeParams,
    },
    [`${collection}/{name}`]: {
      get: operation(k, 'get', `read${stem}${scope}${k.kind}`, def, style),
      put: operation(k, 'put', `replace${stem}${scope}${k.kind}`, def, style, writeParams(style)),
      patch: operation(k, 'patch', `patch${stem}${scope}${k.kind}`, def, style, [...writeParams(style), force]),
      delete: operation(k, 'delete', `delete${stem}${scope}${k.kind}`, def, style),
      parameters: [pathParam('name', style), ...scopeParams],
    },
  };
  if (k.hasStatus) {
    out[`${collection}/{name}/status`] = {
      get: operation(k, 'get', `read${stem}${scope}${k.kind}Status`, def, style),
      put: operation(k, 'put', `replace${stem}${scope}${k.kind}Status`, def, style, writeParams(style)),
      patch: operation(k, 'patch', `patch${stem}${scope}${k.kind}Status`, def, style, [...writeParams(style), force]),
      parameters: [pathParam('name', style), ...scopeParams],
    };
  }
  if (k.namespaced) out[`${base}/${k.plural}`] = { get: operation(k, 'list', `list${stem}${k.kind}ForAllNamespaces`, listDef, style) };
  return out;
}

function v2Document(): JsonObject {
  const paths: JsonObject = {};
  for (const k of allKinds()) Object.assign(paths, kindPaths(k, 'v2'));
  return { swagger: '2.0', info: INFO, paths, definitions: definitionsFor('v2') };
}

function v3Document(gv: GroupVersion): JsonObject {
  const paths: JsonObject = {};
  for (const k of allKinds().filter((x) => x.group === gv.group && x.version === gv.version)) Object.assign(paths, kindPaths(k, 'v3'));
  return { openapi: '3.0.0', info: INFO, paths, components: { schemas: definitionsFor('v3', gv) } };
}

/** Kubernetes' hash of a document: SHA-512 of its JSON, upper-case hex. */
function hashOf(doc: JsonObject): string {
  return createHash('sha512').update(JSON.stringify(doc)).digest('hex').toUpperCase();
}

interface Documents {
  readonly v2: JsonObject;
  readonly v3Index: JsonObject;
  readonly v3: ReadonlyMap<string, JsonObject>;
}

let built: Documents | undefined;

/** The documents never change while the server runs (they come from the compiled schema): built on first use. */
function documents(): Documents {
  if (built) return built;
  const v3 = new Map<string, JsonObject>();
  const index: JsonObject = {};
  for (const gv of groupVersions()) {
    const path = groupVersionPath(gv);
    const doc = v3Document(gv);
    v3.set(path, doc);
    index[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${hashOf(doc)}` };
  }
  built = { v2: v2Document(), v3Index: { paths: index }, v3 };
  return built;
}

/**
 * The document at a request path (its query, such as ?hash=..., ignored):
 * /openapi/v2, /openapi/v3, /openapi/v3/api/v1, /openapi/v3/apis/<group>/<version>;
 * undefined for any other path.
 */
export function openapiDocument(path: string): JsonObject | undefined {
  const p = (path.split('?')[0] ?? '').replace(/\/+$/, '');
  const docs = documents();
  if (p === '/openapi/v2') return docs.v2;
  if (p === '/openapi/v3') return docs.v3Index;
  if (p.startsWith('/openapi/v3/')) return docs.v3.get(p.slice('/openapi/v3/'.length));
  return undefined;
}
