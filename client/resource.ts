// A typed client for one kind: the verbs of its gRPC service, generic over
// the KINDS registry. One instance per kind per connection; it holds no state
// besides the connection, so it is safe to share.

import { status as GrpcStatus } from '@grpc/grpc-js';
import { fromStatus, InternalError, type ApiError } from '../api/errors';
import type { Binding, Pod } from '../api/gen/tsk/v1/core';
import type { CreateOptions, DeleteRequest, ListRequest, UpdateOptions, WatchRequest } from '../api/gen/tsk/v1/meta';
import { PodServiceService } from '../api/gen/tsk/v1/api';
import type { ApiObject, KindInfo, ListOf, MethodDef } from '../api/kinds';
import type { Connection } from './connection';
import { StreamWatch, type Watch } from './watch';
import { encodeWriteRequest, interningResponses, preEncoded } from './wire';

/** List options: Kubernetes' ListOptions (namespace "" lists every namespace). */
export type ListOptions = Partial<ListRequest>;
/** Watch options; resourceVersion "" or "0" means "from now on". */
export type WatchOptions = Partial<WatchRequest>;

export interface DeleteOptions {
  /** The object's namespace (namespaced kinds; default "default"). */
  readonly namespace?: string;
  /** Unset: the object's own grace period. 0: at once. */
  readonly gracePeriodSeconds?: number;
  readonly preconditions?: { uid?: string; resourceVersion?: string };
  /** Orphan, Background (default) or Foreground. */
  readonly propagationPolicy?: string;
}

/** The verbs of one kind. Every method rejects with an ApiError. */
export interface ResourceClient<T extends ApiObject> {
  readonly info: KindInfo<T>;
  /** Creates `object` (its metadata.namespace, or "default" for namespaced kinds). Not retried. */
  create(object: T, options?: Partial<CreateOptions>): Promise<T>;
  /** Reads one object; NotFoundError when absent. */
  get(name: string, namespace?: string): Promise<T>;
  /** One page (options.limit) or the whole list; metadata.resourceVersion is the list's revision. */
  list(options?: ListOptions): Promise<ListOf<T>>;
  /** Every item, following continue tokens (pages of options.limit, default DEFAULT_LIST_PAGE_SIZE); the revision is the first page's. */
  listAll(options?: ListOptions): Promise<ListOf<T>>;
  /** Replaces the object; ConflictError when metadata.resourceVersion is stale. Not retried. */
  update(object: T, options?: Partial<UpdateOptions>): Promise<T>;
  /** The status subresource: only status is taken. ConflictError when stale. */
  updateStatus(object: T, options?: Partial<UpdateOptions>): Promise<T>;
  /** Deletes (gracefully for a bound pod); resolves with the object as the server last stored it. */
  delete(name: string, options?: DeleteOptions): Promise<T>;
  /** Opens a watch; events arrive in revision order. ExpiredError when options.resourceVersion was compacted. */
  watch(options?: WatchOptions): Watch<T>;
}

/** Items per page of listAll when the caller sets no limit: client-go's pager default. */
export const DEFAULT_LIST_PAGE_SIZE = 500;

const DEFAULT_WRITE_OPTIONS: CreateOptions & UpdateOptions = Object.freeze({ dryRun: false, fieldManager: '' });

/** Create/Update options with defaults; the shared default object when none are given. */
function writeOptions(options: Partial<CreateOptions> | undefined): CreateOptions & UpdateOptions {
  return options ? { ...DEFAULT_WRITE_OPTIONS, ...options } : DEFAULT_WRITE_OPTIONS;
}

function namespaceOf(info: KindInfo<ApiObject>, namespace: string | undefined): string {
  if (!info.namespaced) return '';
  return namespace || 'default';
}

export class GrpcResourceClient<T extends ApiObject> implements ResourceClient<T> {
  private readonly rawCreate: MethodDef<Buffer, T>;
  private readonly rawUpdate: MethodDef<Buffer, T>;
  private readonly rawUpdateStatus: MethodDef<Buffer, T>;
  private readonly listMethod: KindInfo<T>['service']['list'];
  private readonly watchMethod: KindInfo<T>['service']['watch'];

  constructor(
    readonly info: KindInfo<T>,
    protected readonly conn: Connection,
  ) {
    this.rawCreate = preEncoded(info.service.create);
    this.rawUpdate = preEncoded(info.service.update);
    this.rawUpdateStatus = preEncoded(info.service.updateStatus);
    // What informers keep: decoded with one copy of the strings objects share.
    this.listMethod = interningResponses(info.service.list);
    this.watchMethod = interningResponses(info.service.watch);
  }

  create(object: T, options?: Partial<CreateOptions>): Promise<T> {
    const ns = object.metadata?.namespace;
    // The caller's object is never modified; it is copied only when its namespace must be filled in.
    const withNs = this.info.namespaced && !ns ? { ...object, metadata: { ...object.metadata, namespace: namespaceOf(this.info, ns) } } : object;
    // A replayed create of a fixed name answers AlreadyExists; one with generateName would make a second object.
    const replayable = !object.metadata?.generateName || !!object.metadata.name;
    return this.conn.unary(this.rawCreate, encodeWriteRequest(this.info.codec, withNs, writeOptions(options), false), undefined, replayable);
  }

  get(name: string, namespace?: string): Promise<T> {
    return this.conn.unary(this.info.service.get, { name, namespace: namespaceOf(this.info, namespace) }, undefined, true);
  }

  list(options: ListOptions = {}): Promise<ListOf<T>> {
    return this.conn.unary(
      this.listMethod,
      {
        namespace: this.info.namespaced ? (options.namespace ?? '') : '',
        labelSelector: options.labelSelector ?? '',
        fieldSelector: options.fieldSelector ?? '',
        limit: options.limit ?? 0,
        continue: options.continue ?? '',
      },
      undefined,
      true,
    );
  }

  async listAll(options: ListOptions = {}): Promise<ListOf<T>> {
    // Pages, as client-go's pager and kubectl's --chunk-size: one reply for
    // 150,000 pods is about 120 MB, over the channel's 64 MiB receive limit,
    // and an informer's relist would then fail for good.
    if (!options.limit) options = { ...options, limit: DEFAULT_LIST_PAGE_SIZE };
    const first = await this.list(options);
    const items = [...(first.items ?? [])];
    let token = first.metadata?.continue ?? '';
    while (token) {
      const page = await this.list({ ...options, continue: token });
      items.push(...(page.items ?? []));
      token = page.metadata?.continue ?? '';
    }
    return { ...first, items, metadata: { ...first.metadata, continue: '' } };
  }

  update(object: T, options?: Partial<UpdateOptions>): Promise<T> {
    return this.conn.unary(this.rawUpdate, encodeWriteRequest(this.info.codec, object, writeOptions(options), true), undefined, hasResourceVersion(object));
  }

  updateStatus(object: T, options?: Partial<UpdateOptions>): Promise<T> {
    return this.conn.unary(
      this.rawUpdateStatus,
      encodeWriteRequest(this.info.codec, object, writeOptions(options), true),
      undefined,
      hasResourceVersion(object),
    );
  }

  delete(name: string, options: DeleteOptions = {}): Promise<T> {
    const req: DeleteRequest = {
      name,
      namespace: namespaceOf(this.info, options.namespace),
      gracePeriodSeconds: options.gracePeriodSeconds,
      preconditions: options.preconditions,
      propagationPolicy: options.propagationPolicy ?? '',
    };
    // With a precondition a replayed delete answers NotFound or Conflict instead of deleting a successor of the same name.
    const replayable = !!options.preconditions?.uid || !!options.preconditions?.resourceVersion;
    return this.conn.unary(this.info.service.delete, req, undefined, replayable);
  }

  watch(options: WatchOptions = {}): Watch<T> {
    const stream = this.conn.serverStream(this.watchMethod, {
      namespace: this.info.namespaced ? (options.namespace ?? '') : '',
      labelSelector: options.labelSelector ?? '',
      fieldSelector: options.fieldSelector ?? '',
      resourceVersion: options.resourceVersion ?? '',
      allowBookmarks: options.allowBookmarks ?? true,
    });
    return new StreamWatch<T>(stream, (err) => this.conn.streamError(err));
  }
}

/** One pod's bind in a BindBatch. */
export interface BindRequestOf {
  readonly namespace: string;
  readonly name: string;
  readonly nodeName: string;
  /** The pod's UID as a precondition; empty for none. */
  readonly uid?: string;
}

function bindingOf(namespace: string, name: string, nodeName: string, uid?: string): Binding {
  return {
    apiVersion: 'v1',
    kind: 'Binding',
    metadata: { name, namespace: namespace || 'default', uid: uid ?? '' },
    target: { kind: 'Node', name: nodeName, apiVersion: 'v1' },
  };
}

/** Pods have more verbs: bind and bindBatch, what the scheduler posts. */
export class PodClient extends GrpcResourceClient<Pod> {
  /**
   * Sets the pod's spec.nodeName to `nodeName` once. ConflictError when the
   * pod is already bound; NotFoundError when it is gone. Not retried.
   */
  bind(namespace: string, name: string, nodeName: string, uid?: string): Promise<Pod> {
    return this.conn.unary(PodServiceService.bind, { binding: bindingOf(namespace, name, nodeName, uid) });
  }

  /**
   * Many binds in one call (BindBatch): each pod is bound or refused on its
   * own. Resolves with one entry per request, in order: undefined when
   * bound, else the ApiError a single bind would have rejected with
   * (ConflictError, NotFoundError, ForbiddenError, ...). Rejects only when
   * the call as a whole failed (then no pod, or any of them, may be bound).
   * Not retried.
   */
  async bindBatch(requests: readonly BindRequestOf[]): Promise<(ApiError | undefined)[]> {
    const bindings = requests.map((r) => bindingOf(r.namespace, r.name, r.nodeName, r.uid));
    const res = await this.conn.unary(PodServiceService.bindBatch, { bindings });
    const results = res.results ?? [];
    if (results.length !== requests.length) throw new InternalError(`BindBatch answered ${results.length} results for ${requests.length} bindings`);
    return results.map((r) => (r.bound ? undefined : fromStatus(r.error ?? {}, GrpcStatus.UNKNOWN, 'binding failed')));
  }

  /**
   * The resize subresource (kubectl patch --subresource resize): only the
   * containers' and the pod's resources of `pod` are taken. ConflictError
   * when its resourceVersion is stale; InvalidError for what a resize may
   * not change (the QoS class, removing a request or limit, other fields).
   */
  updateResize(pod: Pod, options?: Partial<UpdateOptions>): Promise<Pod> {
    return this.conn.unary(PodServiceService.updateResize, { object: pod, options: writeOptions(options) });
  }
}

/** An update with a resourceVersion is conditional: replayed after it took effect, it answers Conflict. */
function hasResourceVersion(object: ApiObject): boolean {
  return !!object.metadata?.resourceVersion;
}
