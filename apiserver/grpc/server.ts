// The gRPC API: one tsk.v1.<Kind>Service per kind with the same handlers,
// generic over KINDS, plus tsk.v1.Discovery. Every failure leaves through
// toServiceError (status code + tsk-status-bin trailer). List and Watch
// responses are pre-encoded (see storage/wire.ts); the service definitions
// pass RawMessage bytes through unchanged. Every handler passes the gate
// (gate.ts) first: authentication, authorization, and admission hooks for
// the registry's writes.

import * as grpc from '@grpc/grpc-js';
import type { ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { ApiError, BadRequestError, InternalError, TooLargeError, toServiceError, toStatus } from '../../api/errors';
import type { Authorizer, RequestAttributes } from '../auth/authorizer';
import type { Authenticator } from '../auth/user';
import * as api from '../../api/gen/tsk/v1/api';
import type { DeleteRequest, GetRequest, ListRequest, VersionInfo, WatchRequest } from '../../api/gen/tsk/v1/meta';
import type { Binding, Namespace, Pod } from '../../api/gen/tsk/v1/core';
import { KIND_NAMES, KINDS, type ApiObject, type KindName, type MethodDef } from '../../api/kinds';
import type { ApiServerMetrics } from '../metrics';
import { bindPod, bindPods, resizePod } from '../registry/pods';
import type { NamespaceLifecycle } from '../registry/namespaces';
import { deleteObject } from '../registry/delete';
import type { Registry } from '../registry/store';
import { classify } from '../flowcontrol/config';
import type { FlowControl } from '../flowcontrol/dispatcher';
import type { EtcdStore } from '../storage/etcd-store';
import { buildFilter } from '../storage/filter';
import { parseFieldSelector } from '../../api/fields';
import type { WatchCache } from '../storage/watch-cache';
import { encodingOf } from '../storage/objects';
import { RawMessage, encodeList } from '../storage/wire';
import { NodeTunnelService } from '../../api/gen/tsk/v1/stream';
import type { TunnelRegistry } from '../tunnel/registry';
import { RequestGate, type AdmissionConfig, type RequestContext } from './gate';
import { PodSessions } from './pod-sessions';
import { grpcWatchOutput, serveWatch, type WatchOptions } from './watch';
import { errorDetail, errorMessage } from '../../util/errors';

/** A request body over the limit, caught before decoding. */
class OversizedRequest {
  constructor(readonly size: number) {}
}

export interface GrpcDeps {
  registries: ReadonlyMap<KindName, Registry>;
  caches: ReadonlyMap<KindName, WatchCache>;
  store: EtcdStore;
  namespaces: NamespaceLifecycle;
  metrics: ApiServerMetrics;
  watch: Omit<WatchOptions, 'onEventSent'>;
  version: () => Promise<VersionInfo>;
  /** The kubelets' reverse tunnels, for pod logs and exec. */
  tunnels: TunnelRegistry;
  /** Who calls (client certificate or bearer token). */
  authenticator: Authenticator;
  authorizer: Authorizer;
  admission: AdmissionConfig;
  /** API Priority and Fairness: every unary request runs on a seat of its priority level. */
  flowControl: FlowControl;
  log: (msg: string) => void;
}

/** What a request asks, for the authorizer; the user is added by the gate. */
type Attrs = Omit<RequestAttributes, 'user'>;

/** Kubernetes' Warning header for the caller: `299 - "text"`, one trailer entry per warning. */
function warningTrailer(warnings: readonly string[]): grpc.Metadata | undefined {
  if (warnings.length === 0) return undefined;
  const md = new grpc.Metadata();
  for (const w of warnings) md.add('warning', `299 - ${JSON.stringify(w)}`);
  return md;
}

/**
 * Kubernetes' MaxRequestBodyBytes: a request up to 3 MiB is decoded, so that
 * an object over a field's limit (a ConfigMap's 1 MiB of data, sent by apply
 * with its last-applied copy) gets the field's error; what is stored is
 * bounded separately (MAX_OBJECT_BYTES, 1.5 MiB, etcd's request limit).
 */
export const MAX_REQUEST_BYTES = 3 * 1024 * 1024;

/** Bindings in one BindBatch call at most: a batch is a burst of concurrent etcd writes. */
export const MAX_BIND_BATCH = 1000;

/** The gRPC server's receive limit: above MAX_REQUEST_BYTES so the handlers can refuse with a clear Status. */
export const GRPC_MAX_RECEIVE_BYTES = 4 * 1024 * 1024;

type AnyMethod = MethodDef<unknown, unknown>;

function passThrough(def: Record<string, AnyMethod>): ServiceDefinition {
  const out: Record<string, AnyMethod> = {};
  for (const [name, m] of Object.entries(def)) {
    out[name] = {
      ...m,
      requestDeserialize: (buf: Buffer) => (buf.length > MAX_REQUEST_BYTES ? new OversizedRequest(buf.length) : m.requestDeserialize(buf)),
      responseSerialize: (v: unknown) => (v instanceof RawMessage ? v.bytes : (encodingOf(v) ?? m.responseSerialize(v))),
    };
  }
  return out as unknown as ServiceDefinition;
}

function asApiError(err: unknown, log: (m: string) => void): ApiError {
  if (err instanceof ApiError) return err;
  log(`internal error: ${errorDetail(err)}`);
  return new InternalError(errorMessage(err));
}

/**
 * The name a list or watch is limited to by `metadata.name=NAME` in its
 * fieldSelector, as Kubernetes' RequestInfo sets it: the authorizer then sees
 * a request for that one object (a node may watch a Secret its pod uses).
 * "" for no such term or a selector that does not parse (refused later).
 */
export function selectedName(kind: KindName, fieldSelector: string | undefined): string {
  if (!fieldSelector) return '';
  try {
    return parseFieldSelector(fieldSelector, kind).requiresExactMatch('metadata.name') ?? '';
  } catch {
    return '';
  }
}

function checkSize(req: unknown): void {
  if (req instanceof OversizedRequest) {
    throw new TooLargeError(`request entity too large: the request is ${req.size} bytes, the limit is ${MAX_REQUEST_BYTES} bytes (3 MiB)`);
  }
}

/** The API group of a served resource ("pods" -> "", "leases" -> "coordination.k8s.io"), for the authorizer. */
function groupOfResource(plural: string): string {
  const kind = KIND_NAMES.find((k) => KINDS[k].plural === plural);
  return kind === undefined ? '' : KINDS[kind].group;
}

export class GrpcApi {
  private readonly gate: RequestGate;

  constructor(private readonly deps: GrpcDeps) {
    const namespaces = deps.registries.get('Namespace')!;
    this.gate = new RequestGate({
      authenticator: deps.authenticator,
      authorizer: deps.authorizer,
      admission: deps.admission,
      // Pod Security admission reads the namespace's labels from the watch cache (Kubernetes' namespace lister);
      // a quorum read per pod create was an etcd round trip on each one's path. Not cached yet: read from etcd.
      namespace: async (name) =>
        (namespaces.cached('', name) as Namespace | undefined) ??
        namespaces.get('', name).then(
          (ns) => ns as Namespace,
          () => undefined,
        ),
    });
  }

  /**
   * A unary handler: `attrs` describes the request for the authorizer
   * (decoded request in, verb and target out), or is 'per-item' for a batch
   * whose handler authorizes each item itself (the caller is authenticated
   * here); `verb` and `resource` label the metrics, where a refusal counts
   * with its code (401, 403).
   */
  private unary<Req, Res>(
    verb: string,
    resource: string,
    attrs: ((req: Req) => Attrs) | 'per-item',
    fn: (req: Req, ctx: RequestContext) => Promise<Res>,
    okCode = 200,
  ): grpc.handleUnaryCall<Req, Res> {
    const { metrics, log } = this.deps;
    const duration = metrics.requestDurationOf(verb, resource);
    return (call, callback) => {
      const start = performance.now();
      let ctx: RequestContext | undefined;
      Promise.resolve()
        .then(() => {
          checkSize(call.request);
          const target: Attrs = attrs === 'per-item' ? { verb, resource } : { apiGroup: groupOfResource(resource), ...attrs(call.request) };
          const admitted: RequestContext = attrs === 'per-item' ? { user: this.gate.authenticate(call), warnings: [] } : this.gate.admit(call, target);
          ctx = admitted;
          return this.deps.flowControl.execute(classify(admitted.user, target), () => fn(call.request, admitted));
        })
        .then(
          (res) => {
            duration.observe((performance.now() - start) / 1000);
            metrics.countRequest(verb, resource, okCode);
            callback(null, res, warningTrailer(ctx?.warnings ?? []));
          },
          (err: unknown) => {
            duration.observe((performance.now() - start) / 1000);
            const apiErr = asApiError(err, log);
            metrics.countRequest(verb, resource, apiErr.httpCode);
            callback(toServiceError(apiErr) as grpc.ServiceError);
          },
        );
    };
  }

  /**
   * BindBatch: each Binding authorized as its own Bind (create pods/binding
   * in its namespace) and checked as its own Bind; those decided on the
   * watch cache's copies are written together, a few etcd transactions for
   * the whole batch (bindPods); a refusal or conflict fails only its own
   * pod. Results keep the order.
   */
  private async bindBatch(reg: Registry, req: api.BindBatchRequest, ctx: RequestContext): Promise<api.BindBatchResponse> {
    const bindings = req.bindings ?? [];
    if (bindings.length > MAX_BIND_BATCH) {
      throw new BadRequestError(`bindings: at most ${MAX_BIND_BATCH} per BindBatch call, not ${bindings.length}`, [
        { field: 'bindings', message: 'Too many: must have at most ' + String(MAX_BIND_BATCH) + ' items' },
      ]);
    }
    const admit = (binding: Binding | undefined): void =>
      this.gate.authorize(ctx.user, {
        verb: 'create',
        apiGroup: '',
        resource: 'pods',
        subresource: 'binding',
        namespace: reg.namespaceOf(binding?.metadata?.namespace),
        name: binding?.metadata?.name ?? '',
      });
    const outcomes = await bindPods(reg, bindings, () => new Date(), admit);
    const results = outcomes.map((o): api.BindResult =>
      o instanceof Error ? { bound: false, error: toStatus(asApiError(o, this.deps.log)) } : { bound: true },
    );
    return { results };
  }

  private handlersFor(kind: KindName): UntypedServiceImplementation {
    const reg = this.deps.registries.get(kind)!;
    const resource = KINDS[kind].plural;
    const ns = (n: string | undefined): string => reg.namespaceOf(n);
    type WithObject = { object?: ApiObject; options?: { dryRun?: boolean } };
    const target = (r: WithObject): { namespace: string; name: string } => ({
      namespace: ns(r.object?.metadata?.namespace),
      name: r.object?.metadata?.name ?? '',
    });
    const handlers: UntypedServiceImplementation = {
      create: this.unary<WithObject, ApiObject>(
        'create',
        resource,
        (r) => ({ verb: 'create', resource, ...target(r) }),
        (r, ctx) => reg.create(r.object, r.options?.dryRun ?? false, this.gate.writeAdmission(ctx, kind, '')),
        201,
      ),
      get: this.unary<GetRequest, ApiObject>(
        'get',
        resource,
        (r) => ({ verb: 'get', resource, namespace: ns(r.namespace), name: r.name ?? '' }),
        (r) => reg.get(r.namespace, r.name),
      ),
      list: this.unary<ListRequest, RawMessage>(
        'list',
        resource,
        (r) => ({ verb: 'list', resource, namespace: KINDS[kind].namespaced ? (r.namespace ?? '') : '', name: selectedName(kind, r.fieldSelector) }),
        async (r) => {
          const res = await reg.list(r);
          return new RawMessage(
            encodeList(
              KINDS[kind].apiVersion,
              KINDS[kind].listKind,
              { resourceVersion: String(res.revision), continue: res.continueToken, remainingItemCount: res.remaining },
              res.items,
            ),
          );
        },
      ),
      update: this.unary<WithObject, ApiObject>(
        'update',
        resource,
        (r) => ({ verb: 'update', resource, ...target(r) }),
        (r, ctx) => reg.update(r.object, false, r.options?.dryRun ?? false, this.gate.writeAdmission(ctx, kind, '')),
      ),
      updateStatus: this.unary<WithObject, ApiObject>(
        'updatestatus',
        resource,
        (r) => ({ verb: 'update', resource, subresource: 'status', ...target(r) }),
        (r, ctx) => reg.update(r.object, true, r.options?.dryRun ?? false, this.gate.writeAdmission(ctx, kind, 'status')),
      ),
      delete: this.unary<DeleteRequest, ApiObject>(
        'delete',
        resource,
        (r) => ({ verb: 'delete', resource, namespace: ns(r.namespace), name: r.name ?? '' }),
        (r, ctx) => deleteObject(kind, reg, this.deps.namespaces, r, this.gate.writeAdmission(ctx, kind, '')),
      ),
      watch: (call: grpc.ServerWritableStream<WatchRequest, unknown>) => this.watch(kind, call),
    };
    if (kind === 'Pod') {
      handlers['bind'] = this.unary<api.BindRequest, ApiObject>(
        'bind',
        resource,
        (r) => ({ verb: 'create', resource, subresource: 'binding', namespace: ns(r.binding?.metadata?.namespace), name: r.binding?.metadata?.name ?? '' }),
        (r) => bindPod(reg, r.binding, () => new Date()),
        201,
      );
      handlers['bindBatch'] = this.unary<api.BindBatchRequest, api.BindBatchResponse>(
        'bindbatch',
        resource,
        'per-item',
        (r, ctx) => this.bindBatch(reg, r, ctx),
        201,
      );
      // Kubernetes' pods/resize: RBAC verb update (or patch) on the subresource, which no node role grants.
      handlers['updateResize'] = this.unary<WithObject, ApiObject>(
        'updateresize',
        resource,
        (r) => ({ verb: 'update', resource, subresource: 'resize', ...target(r) }),
        (r, ctx) => resizePod(reg, r.object as Pod | undefined, r.options?.dryRun ?? false, this.gate.writeAdmission(ctx, kind, 'resize')),
      );
      const sessions = new PodSessions({ pods: reg, tunnels: this.deps.tunnels, metrics: this.deps.metrics, gate: this.gate, log: this.deps.log });
      handlers['logs'] = sessions.logs.bind(sessions);
      handlers['exec'] = sessions.exec.bind(sessions);
      handlers['attach'] = sessions.attach.bind(sessions);
      handlers['portForward'] = sessions.portForward.bind(sessions);
    }
    return handlers;
  }

  private watch(kind: KindName, call: grpc.ServerWritableStream<WatchRequest, unknown>): void {
    const { metrics, log } = this.deps;
    const resource = KINDS[kind].plural;
    const labels = { resource };
    metrics.registeredWatchers.inc(labels);
    metrics.longrunningRequests.inc(labels);
    let open = true;
    const done = (): void => {
      if (!open) return;
      open = false;
      metrics.registeredWatchers.dec(labels);
      metrics.longrunningRequests.dec(labels);
    };
    call.on('cancelled', done);
    call.on('close', done);
    call.on('finish', done);
    Promise.resolve()
      .then(() => {
        checkSize(call.request);
        const r = call.request;
        this.gate.admit(call, {
          verb: 'watch',
          apiGroup: KINDS[kind].group,
          resource,
          namespace: KINDS[kind].namespaced ? (r.namespace ?? '') : '',
          name: selectedName(kind, r.fieldSelector),
        });
        const filter = buildFilter(kind, KINDS[kind].namespaced ? (r.namespace ?? '') : '', r.labelSelector ?? '', r.fieldSelector ?? '');
        const watchEvents = metrics.watchEvents.labels(labels);
        return serveWatch(grpcWatchOutput(kind, call), r, {
          kind,
          cache: this.deps.caches.get(kind),
          store: this.deps.store,
          filter,
          opts: { ...this.deps.watch, onEventSent: () => watchEvents.inc() },
        });
      })
      .then(
        () => metrics.countRequest('watch', resource, 200),
        (err: unknown) => {
          const apiErr = asApiError(err, log);
          metrics.countRequest('watch', resource, apiErr.httpCode);
          call.emit('error', toServiceError(apiErr));
          done();
        },
      );
  }

  /** Registers every kind's service and Discovery on `server`. */
  register(server: grpc.Server): void {
    for (const kind of KIND_NAMES) {
      const def = kind === 'Pod' ? api.PodServiceService : KINDS[kind].service;
      server.addService(passThrough(def as unknown as Record<string, AnyMethod>), this.handlersFor(kind));
    }
    const tunnels = this.deps.tunnels;
    server.addService(NodeTunnelService as unknown as ServiceDefinition, {
      connect: (call: Parameters<TunnelRegistry['serve']>[0]) => tunnels.serve(call, this.gate),
    });
    server.addService(api.DiscoveryService as unknown as ServiceDefinition, {
      version: this.unary(
        'get',
        'version',
        () => ({ verb: 'get', path: '/version' }),
        () => this.deps.version(),
      ),
    });
  }
}
