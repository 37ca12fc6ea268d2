// The REST API's entry: every HTTPS request is authenticated and authorized
// by the gate the gRPC API uses (grpc/gate.ts, same authenticator and
// authorizer), then routed by path and method: discovery and OpenAPI
// documents, a kind's verbs (resources.ts), or a subresource
// (subresources.ts). Every failure leaves as a Kubernetes Status.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { KIND_NAMES, KINDS, type KindName } from '../../api/kinds';
import type { Namespace } from '../../api/gen/tsk/v1/core';
import { RequestGate } from '../grpc/gate';
import { PodSessions } from '../grpc/pod-sessions';
import { servePodLogs } from './logs';
import { PodStreams, refuseUpgrade } from './streams';
import type { CallCredentials, UserInfo } from '../auth/user';
import type { RequestAttributes } from '../auth/authorizer';
import { classify } from '../flowcontrol/config';
import type { RestDeps, RestRequest } from './context';
import { requestCredentials } from './credentials';
import { coreVersions, groupList, groupOf, resourceList, versionDocument } from './discovery';
import { sendError, sendJson } from './http';
import { kindOfResource, parseResourcePath, type ResourceRequest } from './request-info';
import { KindHandlers } from './resources';
import { asApiError, methodNotAllowed, notServed } from './status';
import { createBinding, getScale, patchScale, putScale, selfSubjectAccessReview } from './subresources';
import type { JsonObject } from '../../api/codec';
import { ApiError, BadRequestError, UnauthorizedError } from '../../api/errors';

/**
 * kubectl --as sends Impersonate-* headers. tsk does not implement
 * impersonation; serving the request as the caller instead would silently
 * act with the caller's rights, so it is refused.
 */
function refuseImpersonation(req: IncomingMessage): void {
  const header = Object.keys(req.headers).find((h) => h.startsWith('impersonate-'));
  if (header !== undefined) throw new ApiError('Forbidden', `impersonation (the ${header} header, kubectl --as) is not supported by tsk`);
}

export class RestApi {
  private readonly gate: RequestGate;
  private readonly kinds = new Map<KindName, KindHandlers>();
  private readonly sessions: PodSessions;
  private readonly streams: PodStreams;

  constructor(
    private readonly deps: RestDeps,
    /** host:port clients reach this server on (the /api document's serverAddressByClientCIDRs). */
    private readonly serverAddress: () => string,
  ) {
    const namespaces = deps.registries.get('Namespace')!;
    this.gate = new RequestGate({
      authenticator: deps.authenticator,
      authorizer: deps.authorizer,
      admission: deps.admission,
      namespace: (name) =>
        namespaces.get('', name).then(
          (ns) => ns as Namespace,
          () => undefined,
        ),
    });
    for (const k of KIND_NAMES) this.kinds.set(k, new KindHandlers(k, deps));
    this.sessions = new PodSessions({ pods: deps.registries.get('Pod')!, tunnels: deps.tunnels, metrics: deps.metrics, gate: this.gate, log: deps.log });
    this.streams = new PodStreams({ sessions: this.sessions, metrics: deps.metrics, log: deps.log });
  }

  /**
   * The node:https 'upgrade' listener: pods/exec, pods/attach and
   * pods/portforward (streams.ts). Any other path asked to upgrade is a
   * Status error: nothing else in the API streams both ways.
   */
  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => undefined);
    const refuse = (err: unknown): void => {
      const apiErr = this.hideAuthenticationDetail(asApiError(err, this.deps.log), req);
      const sub = parseResourcePath(new URL(req.url ?? '/', 'https://localhost').pathname)?.subresource ?? '';
      this.deps.metrics.countRequest((req.method ?? 'GET').toLowerCase(), sub ? `pods/${sub}` : 'nonresource', apiErr.httpCode);
      refuseUpgrade(socket, apiErr);
    };
    try {
      const url = new URL(req.url ?? '/', 'https://localhost');
      refuseImpersonation(req);
      const info = parseResourcePath(url.pathname.replace(/\/+$/, ''));
      const sub = info?.subresource;
      if (!info || info.name === '' || (sub !== 'exec' && sub !== 'attach' && sub !== 'portforward') || this.kindOf(info) !== 'Pod') {
        throw new BadRequestError('only pods/exec, pods/attach and pods/portforward are served with a connection upgrade');
      }
      if (req.method !== 'GET' && req.method !== 'POST') throw methodNotAllowed();
      this.streams.serve({ req, socket, head, query: url.searchParams, info, credentials: requestCredentials(req), gate: this.gate }, sub).catch(refuse);
    } catch (err) {
      refuse(err);
    }
  };

  /** The node:https request listener. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const start = performance.now();
    this.route(req, res).then(
      () => this.count(req, res, start),
      (err: unknown) => {
        sendError(res, this.hideAuthenticationDetail(asApiError(err, this.deps.log), req));
        this.count(req, res, start);
      },
    );
  };

  /** As kube-apiserver: a 401 says only "Unauthorized" to the client (which credential failed and why is logged). */
  private hideAuthenticationDetail(err: ApiError, req: IncomingMessage): ApiError {
    if (err.reason !== 'Unauthorized' || err.message === 'Unauthorized') return err;
    this.deps.log(`REST ${req.method ?? ''} ${req.url ?? ''} from ${req.socket.remoteAddress ?? '?'}: unauthorized: ${err.message}`);
    return new UnauthorizedError();
  }

  private count(req: IncomingMessage, res: ServerResponse, start: number): void {
    const verb = (req.method ?? 'GET').toLowerCase();
    const resource = parseResourcePath(new URL(req.url ?? '/', 'https://localhost').pathname)?.resource ?? 'nonresource';
    this.deps.metrics.requestDurationOf(verb, resource).observe((performance.now() - start) / 1000);
    this.deps.metrics.countRequest(verb, resource, res.statusCode);
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://localhost');
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
    refuseImpersonation(req);
    const credentials = requestCredentials(req);
    const info = parseResourcePath(path);
    if (info === undefined) return this.nonResource(req, res, path, credentials);
    const r: RestRequest = { req, res, query: url.searchParams, info, credentials, gate: this.gate };
    if (info.group === 'authorization.k8s.io' && info.version === 'v1' && info.resource === 'selfsubjectaccessreviews' && info.name === '') {
      if (req.method !== 'POST') throw methodNotAllowed();
      return selfSubjectAccessReview(r);
    }
    const kind = this.kindOf(info);
    const user = longRunning(r) ? undefined : this.authenticated(credentials);
    // Unauthenticated or long-running (watches, logs): dispatched as is; the handler refuses the former.
    if (user === undefined) return this.dispatch(kind, r);
    return this.deps.flowControl.execute(classify(user, flowAttributes(r)), () => this.dispatch(kind, r));
  }

  /** The caller, or undefined when the credential is missing or refused (the handler then answers 401). */
  private authenticated(credentials: CallCredentials): UserInfo | undefined {
    try {
      return this.gate.authenticate(credentials);
    } catch {
      return undefined;
    }
  }

  /** The kind a path serves; 404 for an unknown resource or a namespace on a cluster-scoped kind. */
  private kindOf(info: ResourceRequest): KindName {
    const kind = kindOfResource(info.group, info.version, info.resource);
    if (kind === undefined || (!KINDS[kind].namespaced && info.namespace !== '')) throw notServed();
    return kind;
  }

  private dispatch(kind: KindName, r: RestRequest): Promise<void> {
    const h = this.kinds.get(kind)!;
    const { name, subresource } = r.info;
    const method = r.req.method ?? 'GET';
    if (name === '') {
      if (method === 'GET') return h.list(r);
      if (method === 'POST') return h.create(r);
      if (method === 'DELETE') return h.deleteCollection(r);
      throw methodNotAllowed();
    }
    switch (subresource) {
      case '':
        if (method === 'GET') return h.get(r);
        if (method === 'PUT') return h.update(r);
        if (method === 'PATCH') return h.patch(r);
        if (method === 'DELETE') return h.delete(r);
        throw methodNotAllowed();
      case 'status':
        if (method === 'GET') return h.get(r);
        if (method === 'PUT') return h.update(r);
        if (method === 'PATCH') return h.patch(r);
        throw methodNotAllowed();
      case 'scale':
        if (kind !== 'ReplicationController') throw notServed();
        if (method === 'GET') return getScale(this.deps, r);
        if (method === 'PUT') return putScale(this.deps, r);
        if (method === 'PATCH') return patchScale(this.deps, r);
        throw methodNotAllowed();
      case 'log':
        if (kind !== 'Pod') throw notServed();
        if (method === 'GET') return Promise.resolve(servePodLogs(this.sessions, r, this.deps.now().getTime()));
        throw methodNotAllowed();
      case 'binding':
        if (kind !== 'Pod') throw notServed();
        if (method === 'POST') return createBinding(this.deps, r);
        throw methodNotAllowed();
      default:
        throw notServed();
    }
  }

  /** Paths that name no resource: discovery, /version and OpenAPI; authorized by path (system:discovery lets every user read them). */
  private async nonResource(req: IncomingMessage, res: ServerResponse, path: string, credentials: CallCredentials): Promise<void> {
    this.gate.admit(credentials, { verb: (req.method ?? 'GET') === 'GET' ? 'get' : (req.method ?? '').toLowerCase(), path });
    if (req.method !== 'GET') throw methodNotAllowed();
    const doc = this.document(path);
    if (doc === undefined) throw notServed();
    sendJson(res, 200, doc);
  }

  private document(path: string): JsonObject | undefined {
    if (path === '/version') return versionDocument(this.deps.version);
    if (path === '/api') return coreVersions(this.serverAddress());
    if (path === '/apis') return groupList();
    if (path === '/openapi' || path.startsWith('/openapi/')) return this.deps.extensions.openapi(path);
    const parts = path.split('/').filter((p) => p !== '');
    if (parts[0] === 'api' && parts.length === 2) return resourceList('', parts[1]!);
    if (parts[0] === 'apis' && parts.length === 2) return groupOf(parts[1]!);
    if (parts[0] === 'apis' && parts.length === 3) return resourceList(parts[1]!, parts[2]!);
    return undefined;
  }
}

/** Requests that hold their connection open: Kubernetes' long-running requests, which take no seat. */
function longRunning(r: RestRequest): boolean {
  const q = r.query;
  return q.get('watch') === 'true' || q.get('watch') === '1' || (r.info.subresource === 'log' && q.get('follow') === 'true');
}

/** What flow control classifies a REST request by: its verb as the authorizer names it, and its target. */
function flowAttributes(r: RestRequest): Omit<RequestAttributes, 'user'> {
  const method = r.req.method ?? 'GET';
  const { name, namespace, resource, subresource, group } = r.info;
  const verb =
    method === 'GET' ? (name === '' ? 'list' : 'get') : method === 'POST' ? 'create' : method === 'PUT' ? 'update' : method === 'PATCH' ? 'patch' : 'delete';
  return { verb, resource, subresource, namespace, name, apiGroup: group };
}
