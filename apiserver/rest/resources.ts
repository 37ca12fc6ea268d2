// The verbs of one kind over REST: get, list, watch, create, update, patch,
// delete, deletecollection and the status subresource. Each is a thin layer
// over the registry (apiserver/registry/store.ts), the watch (grpc/watch.ts)
// and the gate, exactly those the gRPC handlers use; this file only turns
// HTTP into their calls and their results into Kubernetes JSON.

import { setTimeout as sleep } from 'node:timers/promises';
import type { JsonObject } from '../../api/codec';
import { ApiError, BadRequestError, ConflictError, ExpiredError, NotFoundError } from '../../api/errors';
import { KINDS, type ApiObject, type KindName } from '../../api/kinds';
import type { DeleteRequest, WatchRequest } from '../../api/gen/tsk/v1/meta';
import type { Json } from '../../api/patch/shape';
import { selectedName, MAX_REQUEST_BYTES } from '../grpc/server';
import type { RequestContext } from '../grpc/gate';
import { serveWatch } from '../grpc/watch';
import { deleteObject } from '../registry/delete';
import type { Registry, WriteAdmission } from '../registry/store';
import { buildFilter } from '../storage/filter';
import { codecOf } from '../storage/objects';
import type { WatchCache } from '../storage/watch-cache';
import type { RestDeps, RestRequest } from './context';
import { readBody, readObject, readObjectBody, sendError, sendJson, sendJsonList } from './http';
import { managerOf, requestedManagedFields, updateRecorder } from './field-manager';
import { decodeObject, objectJson, parseFieldValidation } from './objects';
import { APPLY_PATCH } from './patch';
import { parseDeleteOptions, parseDryRun, parseListQuery } from './query';
import { asApiError, methodNotAllowed, successStatus } from './status';
import { parseIncludeObject, toTable, wantsTable } from './table';
import { JsonWatchOutput } from './watch-stream';

/** How long a watch or list from a resourceVersion ahead of the cache waits for it (Kubernetes' 3 s) before a 504. */
const FUTURE_RV_WAIT_MS = 3000;
/** The Retry-After of that 504 (the cacher's resourceVersionTooHighRetrySeconds). */
const FUTURE_RV_RETRY_S = 1;
/** Kubernetes' default watch length when the client gives no timeoutSeconds: 30 to 60 minutes, spread. */
const DEFAULT_WATCH_MIN_S = 1800;

export class KindHandlers {
  private readonly reg: Registry;

  constructor(
    private readonly kind: KindName,
    private readonly deps: RestDeps,
  ) {
    this.reg = deps.registries.get(kind)!;
  }

  private get info() {
    return KINDS[this.kind];
  }

  private ns(r: RestRequest): string {
    return this.info.namespaced ? r.info.namespace : '';
  }

  /** Authenticates and authorizes the request as `verb` on the path's target. */
  private admit(r: RestRequest, verb: string, name = r.info.name): RequestContext {
    return r.gate.admit(r.credentials, {
      verb,
      apiGroup: this.info.group,
      resource: this.info.plural,
      subresource: r.info.subresource,
      namespace: this.ns(r),
      name,
    });
  }

  private json(obj: ApiObject): JsonObject {
    return objectJson(this.kind, obj);
  }

  /** An object, or a one-row Table when kubectl asks for one. */
  private answer(r: RestRequest, code: number, obj: ApiObject, warnings: readonly string[]): void {
    if (wantsTable(r.req.headers.accept)) {
      const table = toTable(this.kind, [obj], {
        includeObject: parseIncludeObject(r.query.get('includeObject')),
        now: this.deps.now().getTime(),
        withColumns: true,
        toJson: (o) => this.json(o),
      });
      sendJson(r.res, code, table, warnings);
      return;
    }
    sendJson(r.res, code, this.json(obj), warnings);
  }

  private async body(r: RestRequest): Promise<JsonObject> {
    return await readObject(r.req, this.info.kind);
  }

  /** The request's object, named and namespaced as the path says (Kubernetes' checks of both), and the managedFields it sent. */
  private async objectFromBody(r: RestRequest, typeName = this.info.typeName): Promise<{ obj: ApiObject; warnings: string[]; requested: Json | undefined }> {
    const body = await this.body(r);
    const { value, warnings } = decodeObject<ApiObject>(
      typeName,
      body,
      { apiVersion: this.info.apiVersion, kind: this.info.kind },
      parseFieldValidation(r.query.get('fieldValidation')),
    );
    this.placeObject(r, value);
    return { obj: value, warnings, requested: requestedManagedFields(body) };
  }

  /** The registry's hooks for a write: the gate's admission and the field manager's Update entry. */
  private writeHooks(r: RestRequest, ctx: RequestContext, manager: string, requested: Json | undefined): WriteAdmission {
    const subresource = r.info.subresource === 'status' ? 'status' : '';
    return {
      ...r.gate.writeAdmission(ctx, this.kind, subresource),
      managedFields: updateRecorder(this.kind, { manager, subresource, requested, now: this.deps.now }),
    };
  }

  private placeObject(r: RestRequest, obj: ApiObject): void {
    const meta = (obj.metadata ??= {});
    if (this.info.namespaced) {
      if (meta.namespace && meta.namespace !== r.info.namespace) {
        throw new BadRequestError('the namespace of the provided object does not match the namespace sent on the request');
      }
      meta.namespace = r.info.namespace;
    }
    if (r.info.name !== '') {
      if (meta.name && meta.name !== r.info.name)
        throw new BadRequestError(`the name of the object (${meta.name}) does not match the name on the URL (${r.info.name})`);
      meta.name = r.info.name;
    }
  }

  // ---------------------------------------------------------------- reads

  async get(r: RestRequest): Promise<void> {
    this.admit(r, 'get');
    this.answer(r, 200, await this.reg.get(this.ns(r), r.info.name), []);
  }

  async list(r: RestRequest): Promise<void> {
    const q = parseListQuery(r.query, this.ns(r));
    if (q.watch) return this.watch(r, q.watchRequest, q.timeoutSeconds);
    this.admit(r, 'list', selectedName(this.kind, q.list.fieldSelector));
    // A list is served at the newest state, which is "not older than" any revision the cache has reached.
    if (q.watchRequest.resourceVersion !== '0') await this.awaitRevision(this.deps.caches.get(this.kind), q.watchRequest.resourceVersion ?? '');
    const res = await this.reg.list(q.list);
    const codec = codecOf(this.kind);
    const meta: JsonObject = { resourceVersion: String(res.revision) };
    if (res.continueToken) meta['continue'] = res.continueToken;
    if (res.remaining !== undefined) meta['remainingItemCount'] = res.remaining;
    if (wantsTable(r.req.headers.accept)) {
      const objs = res.items.map((b) => codec.decode(b));
      const opts = { includeObject: parseIncludeObject(r.query.get('includeObject')), now: this.deps.now().getTime(), withColumns: true, listMeta: meta };
      sendJson(r.res, 200, toTable(this.kind, objs, { ...opts, toJson: (o) => this.json(o) }));
      return;
    }
    // Each item decoded and encoded as it is written: a list is never held whole in both forms.
    const head = { kind: this.info.listKind, apiVersion: this.info.apiVersion, metadata: meta };
    await sendJsonList(r.res, head, res.items.length, (i) => this.json(codec.decode(res.items[i]!)));
  }

  private async watch(r: RestRequest, watchRequest: WatchRequest, timeoutSeconds: number | undefined): Promise<void> {
    this.admit(r, 'watch', selectedName(this.kind, watchRequest.fieldSelector));
    const cache = this.deps.caches.get(this.kind);
    await cache?.ready();
    await this.awaitRevision(cache, watchRequest.resourceVersion ?? '');
    const table = wantsTable(r.req.headers.accept);
    const includeObject = parseIncludeObject(r.query.get('includeObject'));
    let first = true;
    const encode = (obj: ApiObject): JsonObject => {
      if (!table) return this.json(obj);
      const t = toTable(this.kind, [obj], { includeObject, now: this.deps.now().getTime(), withColumns: first, toJson: (o) => this.json(o) });
      first = false;
      return t;
    };
    const out = new JsonWatchOutput(r.res, {
      encode,
      bookmark: (revision) => ({ kind: this.info.kind, apiVersion: this.info.apiVersion, metadata: { resourceVersion: String(revision) } }),
    });
    const seconds = timeoutSeconds ?? DEFAULT_WATCH_MIN_S * (1 + Math.random());
    const timer = setTimeout(() => out.end(), seconds * 1000);
    timer.unref();
    r.res.on('close', () => clearTimeout(timer));
    const { metrics } = this.deps;
    const labels = { resource: this.info.plural };
    metrics.registeredWatchers.inc(labels);
    metrics.longrunningRequests.inc(labels);
    r.res.on('close', () => {
      metrics.registeredWatchers.dec(labels);
      metrics.longrunningRequests.dec(labels);
    });
    const filter = buildFilter(this.kind, this.ns(r), watchRequest.labelSelector ?? '', watchRequest.fieldSelector ?? '');
    const watchEvents = metrics.watchEvents.labels(labels);
    try {
      await serveWatch(
        out,
        { ...watchRequest, resourceVersion: restResumeRevision(watchRequest.resourceVersion ?? '', (rv) => cache?.eventsAt(rv)) },
        {
          kind: this.kind,
          cache,
          store: this.deps.store,
          filter,
          opts: { ...this.deps.watch, onEventSent: () => watchEvents.inc() },
        },
      );
    } catch (err) {
      const apiErr = asApiError(err, this.deps.log);
      // Kubernetes' watch cache answers an expired resourceVersion with an ERROR event (a 410 Status) on a 200 stream.
      if (apiErr instanceof ExpiredError || r.res.headersSent) out.fail(apiErr);
      else sendError(r.res, apiErr);
    }
  }

  /**
   * A watch or list from a resourceVersion the cache has not reached waits a
   * little, then is Kubernetes' "Too large resource version" 504 (storage's
   * NewTooLargeResourceVersionError: a Timeout Status with the
   * ResourceVersionTooLarge cause and a retry after a second). A kind
   * without a cache is read from etcd: only a revision etcd has not reached
   * is a future one.
   */
  private async awaitRevision(cache: WatchCache | undefined, rv: string): Promise<void> {
    if (!/^\d+$/.test(rv)) return;
    const want = Number(rv);
    const deadline = Date.now() + FUTURE_RV_WAIT_MS;
    if (!cache) return this.awaitEtcdRevision(want, deadline);
    await cache.ready();
    while (cache.revision < want) {
      // A revision etcd has reached is no future one, even when no write of this kind got the cache there
      // (a list read from etcd returns etcd's revision): the list is consistent and the watch sends what follows it.
      if (want <= ((await cache.etcdRevision().catch(() => undefined)) ?? 0)) return;
      // Writes to other kinds move etcd's revision too, with no event here: the cache learns of them by a progress notification.
      await cache.waitFresh(Math.max(0, deadline - Date.now()));
      if (cache.revision >= want) return;
      if (Date.now() >= deadline) {
        throw new ApiError(
          'Timeout',
          `Timeout: Too large resource version: ${want}, current: ${cache.revision}`,
          [{ field: '', message: 'Too large resource version', reason: 'ResourceVersionTooLarge' }],
          { retryAfterSeconds: FUTURE_RV_RETRY_S },
        );
      }
      await sleep(100);
    }
  }

  /** Waits until etcd is at `want` (a kind without a watch cache); the same 504 as awaitRevision after the deadline. */
  private async awaitEtcdRevision(want: number, deadline: number): Promise<void> {
    for (;;) {
      const current = await this.deps.store.currentRevision();
      if (want <= current) return;
      if (Date.now() >= deadline) {
        throw new ApiError(
          'Timeout',
          `Timeout: Too large resource version: ${want}, current: ${current}`,
          [{ field: '', message: 'Too large resource version', reason: 'ResourceVersionTooLarge' }],
          { retryAfterSeconds: FUTURE_RV_RETRY_S },
        );
      }
      await sleep(100);
    }
  }

  // ---------------------------------------------------------------- writes

  async create(r: RestRequest): Promise<void> {
    const { obj, warnings, requested } = await this.objectFromBody(r);
    const ctx = this.admit(r, 'create', obj.metadata?.name ?? '');
    const manager = managerOf(r.query.get('fieldManager'), r.req.headers['user-agent'], 'CreateOptions');
    const created = await this.reg.create(obj, parseDryRun(r.query), this.writeHooks(r, ctx, manager, requested));
    this.answer(r, 201, created, [...warnings, ...ctx.warnings]);
  }

  async update(r: RestRequest): Promise<void> {
    const status = r.info.subresource === 'status';
    const { obj, warnings, requested } = await this.objectFromBody(r);
    const ctx = this.admit(r, 'update');
    const manager = managerOf(r.query.get('fieldManager'), r.req.headers['user-agent'], 'UpdateOptions');
    const updated = await this.reg.update(obj, status, parseDryRun(r.query), this.writeHooks(r, ctx, manager, requested));
    this.answer(r, 200, updated, [...warnings, ...ctx.warnings]);
  }

  /**
   * PATCH: the live object in Kubernetes JSON, patched by the extension for
   * the Content-Type, then written as an update at the live resourceVersion
   * (retried on a conflict unless the patch names a resourceVersion itself,
   * as Kubernetes). Server-side apply of an absent object creates it.
   */
  async patch(r: RestRequest): Promise<void> {
    const status = r.info.subresource === 'status';
    const ctx = this.admit(r, 'patch');
    const body = (await readBody(r.req, MAX_REQUEST_BYTES)).toString('utf8');
    const contentType = (r.req.headers['content-type'] ?? '').split(';')[0]!.trim();
    // The type first: a patch of an unknown type is a 415 whether or not the object exists.
    this.deps.extensions.checkPatchType(contentType);
    const fieldManager = r.query.get('fieldManager') ?? undefined;
    const opts = { force: r.query.get('force') === 'true', ...(fieldManager !== undefined ? { fieldManager } : {}) };
    const apply = contentType === APPLY_PATCH;
    // An apply records its own entry (serverSideApply); the other patches are updates by this manager.
    const manager = apply ? '' : managerOf(r.query.get('fieldManager'), r.req.headers['user-agent'], 'PatchOptions');
    const validation = parseFieldValidation(r.query.get('fieldValidation'));
    const dryRun = parseDryRun(r.query);
    const want = { apiVersion: this.info.apiVersion, kind: this.info.kind };
    for (let attempt = 0; ; attempt++) {
      let live: ApiObject | undefined;
      try {
        live = await this.reg.get(this.ns(r), r.info.name);
      } catch (err) {
        if (!(err instanceof NotFoundError && apply && !status)) throw err;
      }
      const liveJson = live
        ? this.json(live)
        : { apiVersion: want.apiVersion, kind: want.kind, metadata: { name: r.info.name, ...(this.info.namespaced ? { namespace: r.info.namespace } : {}) } };
      const patched = this.deps.extensions.patch(this.info.typeName, liveJson, body, contentType, opts);
      const { value, warnings } = decodeObject<ApiObject>(this.info.typeName, patched, want, validation);
      this.placeObject(r, value);
      const admission = apply
        ? r.gate.writeAdmission(ctx, this.kind, status ? 'status' : '')
        : this.writeHooks(r, ctx, manager, requestedManagedFields(patched));
      const pinned =
        (patched['metadata'] as JsonObject | undefined)?.['resourceVersion'] !== (liveJson['metadata'] as JsonObject | undefined)?.['resourceVersion'];
      try {
        const result = live ? await this.reg.update(value, status, dryRun, admission) : await this.reg.create(value, dryRun, admission);
        this.answer(r, live ? 200 : 201, result, [...warnings, ...ctx.warnings]);
        return;
      } catch (err) {
        if (!(err instanceof ConflictError) || pinned || attempt >= 4) throw err;
      }
    }
  }

  async delete(r: RestRequest): Promise<void> {
    const opts = parseDeleteOptions(r.query, await readObjectBody(r.req, 'DeleteOptions', true), this.ns(r), r.info.name);
    const ctx = this.admit(r, 'delete');
    if (opts.dryRun) {
      // Nothing is deleted: the object as it is, once it is known to exist.
      this.answer(r, 200, await this.reg.get(this.ns(r), r.info.name), ctx.warnings);
      return;
    }
    const obj = await deleteObject(this.kind, this.reg, this.deps.namespaces, opts, r.gate.writeAdmission(ctx, this.kind, ''));
    // Kubernetes: an object still there (grace period, finalizers) comes back; one gone at once is a Success Status.
    if (obj.metadata?.deletionTimestamp) this.answer(r, 200, obj, ctx.warnings);
    else sendJson(r.res, 200, successStatus(this.info.plural, r.info.name, obj.metadata?.uid ?? ''), ctx.warnings);
  }

  /** deletecollection: every object the selectors match, deleted one by one; the answer lists them. */
  async deleteCollection(r: RestRequest): Promise<void> {
    if (this.kind === 'Namespace') throw methodNotAllowed();
    const body = await readObjectBody(r.req, 'DeleteOptions', true);
    const q = parseListQuery(r.query, this.ns(r));
    const ctx = this.admit(r, 'deletecollection', '');
    const base = parseDeleteOptions(r.query, body, this.ns(r), '');
    const codec = codecOf(this.kind);
    const listed = (await this.reg.list({ ...q.list, limit: 0, continue: '' })).items.map((b) => codec.decode(b));
    const deleted: JsonObject[] = [];
    for (const o of listed) {
      const req: DeleteRequest = { ...base, namespace: o.metadata?.namespace ?? '', name: o.metadata?.name ?? '' };
      try {
        const out = base.dryRun ? o : await deleteObject(this.kind, this.reg, this.deps.namespaces, req, r.gate.writeAdmission(ctx, this.kind, ''));
        deleted.push(this.json(out));
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
    }
    sendJson(r.res, 200, { kind: this.info.listKind, apiVersion: this.info.apiVersion, metadata: {}, items: deleted }, ctx.warnings);
  }
}

/**
 * The revision a REST watch starts after. Kubernetes' clients (client-go's
 * reflector, kubectl) resume from the last resourceVersion they saw, which
 * is safe when each revision is one object's. A BindBatch transaction gives
 * several pods one revision: a stream cut between two of them would lose the
 * rest, so a watch from such a revision replays the whole of it. The client
 * sees again what it had (as in a resync) and loses nothing. A revision
 * older than the watch cache's ring (served from etcd's history) cannot be
 * told apart, so it is replayed too: one duplicate event at worst. tsk's own
 * informers resume from the revision before instead (client/informer.ts).
 */
export function restResumeRevision(rv: string, eventsAt: (revision: number) => number | undefined): string {
  if (!/^[1-9]\d*$/.test(rv)) return rv;
  const revision = Number(rv);
  // Revision 1 has nothing before it, and "0" would mean "from any revision".
  if (revision === 1) return rv;
  return (eventsAt(revision) ?? 2) > 1 ? String(revision - 1) : rv;
}
