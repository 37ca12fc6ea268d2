// The typed clients of every kind over one connection, as client-go's
// Clientset. Components build one at start-up and share it.

import { DiscoveryService } from '../api/gen/tsk/v1/api';
import type * as core from '../api/gen/tsk/v1/core';
import type { VersionInfo } from '../api/gen/tsk/v1/meta';
import { KINDS, resolveKind, type KindName, type KindObjects } from '../api/kinds';
import { Connection, type ConnectionOptions } from './connection';
import type { ServerList } from './server-list';
import { GrpcResourceClient, PodClient, type ResourceClient } from './resource';

export class UnknownKindError extends Error {
  constructor(readonly requested: string) {
    super(`the server doesn't have a resource type "${requested}"`);
    this.name = 'UnknownKindError';
  }
}

export class Clientset {
  readonly connection: Connection;
  readonly pods: PodClient;
  readonly replicationControllers: ResourceClient<core.ReplicationController>;
  readonly services: ResourceClient<core.Service>;
  readonly endpoints: ResourceClient<core.Endpoints>;
  readonly nodes: ResourceClient<core.Node>;
  readonly namespaces: ResourceClient<core.Namespace>;
  readonly events: ResourceClient<core.Event>;
  readonly configMaps: ResourceClient<core.ConfigMap>;
  readonly secrets: ResourceClient<core.Secret>;
  readonly leases: ResourceClient<core.Lease>;
  private readonly byKind: { readonly [K in KindName]: ResourceClient<KindObjects[K]> };

  /**
   * Opens a channel to the API server at `address` (HOST:PORT), or to the
   * cluster's servers with failover (a list, or a ServerList that learns
   * more). Call close() when done.
   */
  constructor(address: string | readonly string[] | ServerList, options: ConnectionOptions = {}) {
    this.connection = new Connection(address, options);
    const c = this.connection;
    this.pods = new PodClient(KINDS.Pod, c);
    this.replicationControllers = new GrpcResourceClient(KINDS.ReplicationController, c);
    this.services = new GrpcResourceClient(KINDS.Service, c);
    this.endpoints = new GrpcResourceClient(KINDS.Endpoints, c);
    this.nodes = new GrpcResourceClient(KINDS.Node, c);
    this.namespaces = new GrpcResourceClient(KINDS.Namespace, c);
    this.events = new GrpcResourceClient(KINDS.Event, c);
    this.configMaps = new GrpcResourceClient(KINDS.ConfigMap, c);
    this.secrets = new GrpcResourceClient(KINDS.Secret, c);
    this.leases = new GrpcResourceClient(KINDS.Lease, c);
    this.byKind = {
      Pod: this.pods,
      ReplicationController: this.replicationControllers,
      Service: this.services,
      Endpoints: this.endpoints,
      Node: this.nodes,
      Namespace: this.namespaces,
      Event: this.events,
      ConfigMap: this.configMaps,
      Secret: this.secrets,
      Lease: this.leases,
    };
  }

  get address(): string {
    return this.connection.address;
  }

  /** The client of a kind by its registry name. */
  kind<K extends KindName>(kind: K): ResourceClient<KindObjects[K]> {
    return this.byKind[kind];
  }

  /**
   * The client of a kind by what a user types (pods, po, Pod, rc, ...).
   * Throws UnknownKindError for anything else.
   */
  resource(name: string): ResourceClient<KindObjects[KindName]> {
    const kind = resolveKind(name);
    if (!kind) throw new UnknownKindError(name);
    return this.byKind[kind] as ResourceClient<KindObjects[KindName]>;
  }

  /** The server's version (tsk.v1.Discovery/Version). */
  version(deadlineMs?: number): Promise<VersionInfo> {
    return this.connection.unary(DiscoveryService.version, {}, deadlineMs, true);
  }

  /** Closes the channel. Idempotent. */
  close(): void {
    this.connection.close();
  }
}
