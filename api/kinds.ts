// The registry of API kinds: names, scope and the generated codecs and gRPC
// service definition of each. The API server, the client library and tsctl
// are all generic over this table, so adding a kind is one entry here plus
// its messages in proto/.

import * as core from './gen/tsk/v1/core';
import * as api from './gen/tsk/v1/api';
import type { CreateOptions, DeleteRequest, GetRequest, ListRequest, ObjectMeta, UpdateOptions, WatchRequest } from './gen/tsk/v1/meta';

/** The apiVersion of the core group ("" in Kubernetes' group/version terms). */
export const API_VERSION = 'v1';

/**
 * Kubernetes' apiVersion of a group and version: the core group ("") is
 * bare `v1`, every other group `group/version` (coordination.k8s.io/v1).
 */
export function apiVersionOf(group: string, version: string): string {
  return group === '' ? version : `${group}/${version}`;
}

/** What every top-level object has: Kubernetes' TypeMeta and ObjectMeta. */
export interface ApiObject {
  apiVersion?: string | undefined;
  kind?: string | undefined;
  metadata?: ObjectMeta | undefined;
}

/** The binary (protobuf) codec ts-proto generates for a message. */
export interface BinaryCodec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
}

/** A gRPC method definition as ts-proto generates it. */
export interface MethodDef<Req, Res> {
  readonly path: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  requestSerialize(value: Req): Buffer;
  requestDeserialize(value: Buffer): Req;
  responseSerialize(value: Res): Buffer;
  responseDeserialize(value: Buffer): Res;
}

export interface ListOf<T> {
  apiVersion?: string | undefined;
  kind?: string | undefined;
  metadata?: { resourceVersion?: string | undefined; continue?: string | undefined; remainingItemCount?: number | undefined } | undefined;
  items?: T[] | undefined;
}

export interface WatchEventOf<T> {
  type?: string | undefined;
  object?: T | undefined;
}

/** The verbs every kind's service has, typed by the kind's object. */
export interface KindService<T> {
  readonly create: MethodDef<{ object?: T | undefined; options?: CreateOptions | undefined }, T>;
  readonly get: MethodDef<GetRequest, T>;
  readonly list: MethodDef<ListRequest, ListOf<T>>;
  readonly update: MethodDef<{ object?: T | undefined; options?: UpdateOptions | undefined }, T>;
  readonly updateStatus: MethodDef<{ object?: T | undefined; options?: UpdateOptions | undefined }, T>;
  readonly delete: MethodDef<DeleteRequest, T>;
  readonly watch: MethodDef<WatchRequest, WatchEventOf<T>>;
}

export interface KindInfo<T extends ApiObject> {
  /** "Pod" */
  readonly kind: string;
  /** The API group: "" for core, "coordination.k8s.io" for Lease. */
  readonly group: string;
  /** The group's version: "v1". */
  readonly version: string;
  /** apiVersion as objects carry it: "v1", "coordination.k8s.io/v1". */
  readonly apiVersion: string;
  /** "PodList" */
  readonly listKind: string;
  /** "pods": the etcd key segment and the CLI's plural. */
  readonly plural: string;
  /** "pod" */
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly namespaced: boolean;
  /** Fully qualified proto message name, the key into api/gen/schema.ts. */
  readonly typeName: string;
  readonly codec: BinaryCodec<T>;
  /** The gRPC service definition (tsk.v1.<Kind>Service). */
  readonly service: KindService<T>;
  /** Whether the kind has a status subresource (UpdateStatus ignores spec). */
  readonly hasStatus: boolean;
}

export interface KindObjects {
  Pod: core.Pod;
  ReplicationController: core.ReplicationController;
  Service: core.Service;
  Endpoints: core.Endpoints;
  Node: core.Node;
  Namespace: core.Namespace;
  Event: core.Event;
  ConfigMap: core.ConfigMap;
  Secret: core.Secret;
  Lease: core.Lease;
}

export type KindName = keyof KindObjects;

function info<T extends ApiObject>(
  kind: string,
  plural: string,
  shortNames: string[],
  namespaced: boolean,
  codec: BinaryCodec<T>,
  service: unknown,
  hasStatus = true,
  groupVersion: { group: string; version: string } = { group: '', version: 'v1' },
): KindInfo<T> {
  return {
    kind,
    group: groupVersion.group,
    version: groupVersion.version,
    apiVersion: apiVersionOf(groupVersion.group, groupVersion.version),
    listKind: `${kind}List`,
    plural,
    singular: kind.toLowerCase(),
    shortNames,
    namespaced,
    typeName: `tsk.v1.${kind}`,
    codec,
    service: service as KindInfo<T>['service'],
    hasStatus,
  };
}

export const KINDS: { readonly [K in KindName]: KindInfo<KindObjects[K]> } = {
  Pod: info('Pod', 'pods', ['po'], true, core.Pod, api.PodServiceService),
  ReplicationController: info(
    'ReplicationController',
    'replicationcontrollers',
    ['rc'],
    true,
    core.ReplicationController,
    api.ReplicationControllerServiceService,
  ),
  Service: info('Service', 'services', ['svc'], true, core.Service, api.ServiceServiceService),
  Endpoints: info('Endpoints', 'endpoints', ['ep'], true, core.Endpoints, api.EndpointsServiceService, false),
  Node: info('Node', 'nodes', ['no'], false, core.Node, api.NodeServiceService),
  Namespace: info('Namespace', 'namespaces', ['ns'], false, core.Namespace, api.NamespaceServiceService),
  Event: info('Event', 'events', ['ev'], true, core.Event, api.EventServiceService, false),
  ConfigMap: info('ConfigMap', 'configmaps', ['cm'], true, core.ConfigMap, api.ConfigMapServiceService, false),
  Secret: info('Secret', 'secrets', [], true, core.Secret, api.SecretServiceService, false),
  Lease: info('Lease', 'leases', [], true, core.Lease, api.LeaseServiceService, false, { group: 'coordination.k8s.io', version: 'v1' }),
};

export const KIND_NAMES = Object.keys(KINDS) as KindName[];

/**
 * Resolves what a user types (pod, pods, po, Pod, replicationcontroller, rc)
 * to a kind, or undefined.
 */
export function resolveKind(name: string): KindName | undefined {
  const lower = name.toLowerCase();
  for (const k of KIND_NAMES) {
    const i = KINDS[k];
    if (i.kind.toLowerCase() === lower || i.plural === lower || i.singular === lower || i.shortNames.includes(lower)) {
      return k;
    }
    // kubectl's fully qualified form of a kind outside the core group: leases.coordination.k8s.io.
    if (i.group !== '' && (lower === `${i.plural}.${i.group}` || lower === `${i.singular}.${i.group}`)) return k;
  }
  return undefined;
}

export function isKindName(name: string): name is KindName {
  return Object.prototype.hasOwnProperty.call(KINDS, name);
}
