// What every REST handler is given: the shared stores and checks (the same
// registries, watch caches and gate as the gRPC API), and one request's
// parsed parts and answer.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Authorizer } from '../auth/authorizer';
import type { FlowControl } from '../flowcontrol/dispatcher';
import type { Authenticator, CallCredentials } from '../auth/user';
import type { KindName } from '../../api/kinds';
import type { ApiServerMetrics } from '../metrics';
import type { AdmissionConfig, RequestGate } from '../grpc/gate';
import type { WatchOptions } from '../grpc/watch';
import type { NamespaceLifecycle } from '../registry/namespaces';
import type { Registry } from '../registry/store';
import type { EtcdStore } from '../storage/etcd-store';
import type { WatchCache } from '../storage/watch-cache';
import type { TunnelRegistry } from '../tunnel/registry';
import type { VersionFacts } from './discovery';
import type { RestExtensions } from './extensions';
import type { ResourceRequest } from './request-info';

export interface RestDeps {
  registries: ReadonlyMap<KindName, Registry>;
  caches: ReadonlyMap<KindName, WatchCache>;
  store: EtcdStore;
  namespaces: NamespaceLifecycle;
  metrics: ApiServerMetrics;
  watch: Omit<WatchOptions, 'onEventSent'>;
  version: VersionFacts;
  /** The kubelets' reverse tunnels, for pod logs. */
  tunnels: TunnelRegistry;
  authenticator: Authenticator;
  authorizer: Authorizer;
  admission: AdmissionConfig;
  /** API Priority and Fairness, shared with the gRPC API: a request of either takes the same seats. */
  flowControl: FlowControl;
  /** PATCH and OpenAPI. */
  extensions: RestExtensions;
  now: () => Date;
  log: (msg: string) => void;
}

/** One resource request, parsed. */
export interface RestRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly query: URLSearchParams;
  readonly info: ResourceRequest;
  readonly credentials: CallCredentials;
  readonly gate: RequestGate;
}
