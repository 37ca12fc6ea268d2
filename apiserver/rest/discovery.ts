// The discovery documents kubectl reads before anything else: /version,
// /api, /apis and one APIResourceList per group version, built from the
// kinds table (api/kinds.ts). Pure: the server passes in its version and
// address. kubectl 1.30+ first asks for the aggregated form
// (apidiscovery.k8s.io/v2) and falls back to these when the answer is plain
// application/json, so only the plain form is served.

import type { JsonObject } from '../../api/codec';
import { KIND_NAMES, KINDS, type KindName } from '../../api/kinds';

/** Verbs of a whole resource, as Kubernetes lists them (sorted). */
const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
/** Namespaces have no deletecollection in Kubernetes. */
const NAMESPACE_VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];
/** Kinds kubectl's `get all` shows (Kubernetes' categories: ["all"]). */
const ALL_CATEGORY: ReadonlySet<KindName> = new Set(['Pod', 'Service', 'ReplicationController']);

/** A served subresource: its parent kind, name, and the Kind/group of its body when not the parent's. */
interface Subresource {
  readonly parent: KindName;
  readonly name: string;
  readonly kind: string;
  readonly verbs: readonly string[];
  readonly group?: string;
  readonly version?: string;
}

/** The subresources the REST API serves. */
export const SUBRESOURCES: readonly Subresource[] = [
  ...KIND_NAMES.filter((k) => KINDS[k].hasStatus).map((k) => ({ parent: k, name: 'status', kind: KINDS[k].kind, verbs: ['get', 'patch', 'update'] })),
  { parent: 'Pod', name: 'binding', kind: 'Binding', verbs: ['create'] },
  { parent: 'Pod', name: 'log', kind: 'Pod', verbs: ['get'] },
  // The streams (streams.ts), with Kubernetes' option kinds and verbs: GET for WebSocket, POST for SPDY.
  { parent: 'Pod', name: 'exec', kind: 'PodExecOptions', verbs: ['create', 'get'] },
  { parent: 'Pod', name: 'attach', kind: 'PodAttachOptions', verbs: ['create', 'get'] },
  { parent: 'Pod', name: 'portforward', kind: 'PodPortForwardOptions', verbs: ['create', 'get'] },
  { parent: 'ReplicationController', name: 'scale', kind: 'Scale', verbs: ['get', 'patch', 'update'], group: 'autoscaling', version: 'v1' },
];

/** Groups served beside the kinds' own: SelfSubjectAccessReview for `kubectl auth can-i`. */
const AUTHORIZATION_GROUP = 'authorization.k8s.io';

export interface VersionFacts {
  /** tsk's version ("0.1.0"). */
  readonly tsk: string;
  readonly platform: string;
}

/**
 * /version. tsk serves Kubernetes' core/v1 API of 1.32 (the Debian kubectl it
 * is tested with), so it reports that API level as major/minor, with its own
 * version as build metadata (as k3s reports v1.32.0+k3s1); kubectl compares
 * major/minor for its version-skew warning.
 */
export function versionDocument(v: VersionFacts): JsonObject {
  return {
    major: '1',
    minor: '32',
    gitVersion: `v1.32.0+tsk${v.tsk}`,
    gitCommit: '',
    gitTreeState: 'clean',
    buildDate: '',
    goVersion: process.version,
    compiler: 'tsc',
    platform: v.platform,
  };
}

/** /api: the core group's versions. */
export function coreVersions(serverAddress: string): JsonObject {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

/** The named groups and their versions (everything but core). */
function namedGroups(): Map<string, string> {
  const groups = new Map<string, string>();
  for (const k of KIND_NAMES) if (KINDS[k].group !== '') groups.set(KINDS[k].group, KINDS[k].version);
  groups.set(AUTHORIZATION_GROUP, 'v1');
  return groups;
}

/** /apis: an APIGroupList. */
export function groupList(): JsonObject {
  const groups = [...namedGroups()].map(([name, version]) => groupDocument(name, version));
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

/** /apis/GROUP: one APIGroup; undefined for a group not served. */
export function groupOf(name: string): JsonObject | undefined {
  const version = namedGroups().get(name);
  return version === undefined ? undefined : { kind: 'APIGroup', apiVersion: 'v1', ...groupDocument(name, version) };
}

function groupDocument(name: string, version: string): JsonObject {
  const gv = { groupVersion: `${name}/${version}`, version };
  return { name, versions: [gv], preferredVersion: gv };
}

function kindResource(kind: KindName): JsonObject {
  const info = KINDS[kind];
  const out: JsonObject = {
    name: info.plural,
    singularName: info.singular,
    namespaced: info.namespaced,
    kind: info.kind,
    verbs: kind === 'Namespace' ? NAMESPACE_VERBS : ALL_VERBS,
  };
  if (info.shortNames.length > 0) out['shortNames'] = [...info.shortNames];
  if (ALL_CATEGORY.has(kind)) out['categories'] = ['all'];
  return out;
}

function subresource(s: Subresource): JsonObject {
  const out: JsonObject = {
    name: `${KINDS[s.parent].plural}/${s.name}`,
    singularName: '',
    namespaced: KINDS[s.parent].namespaced,
    kind: s.kind,
    verbs: [...s.verbs],
  };
  if (s.group !== undefined) out['group'] = s.group;
  if (s.version !== undefined) out['version'] = s.version;
  return out;
}

/** /api/v1 or /apis/GROUP/VERSION: an APIResourceList, sorted by name; undefined for a group version not served. */
export function resourceList(group: string, version: string): JsonObject | undefined {
  const resources: JsonObject[] = [];
  for (const k of KIND_NAMES) if (KINDS[k].group === group && KINDS[k].version === version) resources.push(kindResource(k));
  for (const s of SUBRESOURCES) if (KINDS[s.parent].group === group && KINDS[s.parent].version === version) resources.push(subresource(s));
  if (group === AUTHORIZATION_GROUP && version === 'v1') {
    resources.push({
      name: 'selfsubjectaccessreviews',
      singularName: 'selfsubjectaccessreview',
      namespaced: false,
      kind: 'SelfSubjectAccessReview',
      verbs: ['create'],
    });
  }
  if (resources.length === 0) return undefined;
  resources.sort((a, b) => String(a['name']).localeCompare(String(b['name'])));
  const groupVersion = group === '' ? version : `${group}/${version}`;
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion, resources };
}
