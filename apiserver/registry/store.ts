// The generic registry (Kubernetes' genericregistry.Store): create, get,
// list, update, updateStatus and delete for any kind, on etcd with
// compare-and-swap transactions, with the kind's strategy plugged in.
// An update starts from the watch cache's copy of the object when it has one
// (Kubernetes' GuaranteedUpdate with the cacher's cachedExistingObject): the
// transaction compares the mod revision, so a stale copy is never written
// over; whatever was decided on a copy (a conflict, an error, a no-op) is
// decided again on the object read from etcd. Every other read for a write
// goes to etcd, so a write always acts on the latest state.

import { randomUUID } from 'node:crypto';
import { AlreadyExistsError, ApiError, BadRequestError, ConflictError, ExpiredError, InvalidError, NotFoundError, TooLargeError } from '../../api/errors';
import { KINDS, type ApiObject, type KindName } from '../../api/kinds';
import type { DeleteRequest, ListRequest } from '../../api/gen/tsk/v1/meta';
import { applyDefaults } from '../defaults';
import { validate, validateUpdate } from '../validation';
import type { Compare, EtcdStore, KeyValue, Op, TxnResult } from '../storage/etcd-store';
import { buildFilter, type ObjectFilter } from '../storage/filter';
import { listPrefix, objectKey, prefixEnd } from '../storage/keys';
import { cloneObject, decodeStored, encodeForStorage, metaOf, rememberEncoding, withResourceVersion } from '../storage/objects';
import { CachedObject, FRESH_TIMEOUT_MS, type WatchCache } from '../storage/watch-cache';
import { decodeContinue, encodeContinue } from '../storage/continue-token';
import type { LeaseManager } from '../storage/lease-manager';
import { finalizersForDelete, parsePropagationPolicy, sameFinalizers } from './propagation';
import type { PlanCommitter, PlannedOutcome, Planner, Strategy, TxnParts } from './strategy';
import { rfc3339 } from '../../util/time';

/**
 * Admission checks of one request (see apiserver/admission): given the new
 * object after defaulting and validation, and the stored one for updates and
 * deletes. They throw to refuse. Update and delete checks run inside the
 * compare-and-swap loop, on the object actually replaced, so they are
 * synchronous.
 */
export interface WriteAdmission {
  create?(obj: ApiObject): Promise<void>;
  update?(obj: ApiObject, old: ApiObject): void;
  delete?(old: ApiObject): void;
  /** The field manager's step of the write, before validation (apiserver/rest/field-manager.ts). */
  managedFields?: ManagedFieldsRecorder;
}

/**
 * Sets obj's metadata.managedFields for a write (Kubernetes' field manager),
 * given the stored object it replaces (undefined for a create); obj is
 * defaulted and has its server-set fields. Synchronous: it runs inside the
 * compare-and-swap loop, again on each retry.
 */
export type ManagedFieldsRecorder = (obj: ApiObject, old: ApiObject | undefined) => void;

export interface ListResult {
  items: Buffer[];
  revision: number;
  continueToken: string;
  remaining?: number | undefined;
}

/** A list page whose values the cache lacks reads them one key at a time up to this many, else in one range. */
const MAX_SINGLE_READS = 16;

/** Objects per etcd range when a list reads values (a kind without a watch cache). */
const VALUES_PAGE = 2000;

/** Kubernetes' limit on a request body, and so on a stored object. */
export const MAX_OBJECT_BYTES = 1.5 * 1024 * 1024;

const CONFLICT_MESSAGE = 'the object has been modified; please apply your changes to the latest version and try again';
const MAX_RETRIES = 16;

export interface RegistryContext {
  readonly store: EtcdStore;
  readonly caches: ReadonlyMap<KindName, WatchCache>;
  readonly now: () => Date;
  readonly random: () => number;
  /** Whether a namespace is being deleted (from the namespace cache). */
  namespaceTerminating(ns: string): boolean;
  /** Leases for kinds whose objects expire (strategy.ttlSeconds). */
  readonly leases: LeaseManager;
}

const NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

/** Kubernetes' generateName suffix: 5 characters without vowels (no words). */
export function randomSuffix(random: () => number): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += NAME_CHARS[Math.floor(random() * NAME_CHARS.length)];
  return s;
}

function specBytes(kind: KindName, obj: ApiObject): string {
  const spec = (obj as { spec?: unknown }).spec;
  if (spec === undefined) return '';
  const probe = { ...obj, metadata: undefined, status: undefined } as ApiObject;
  return encodeForStorage(kind, probe).toString('base64');
}

function preconditionFailed(what: string, want: string, have: string): ConflictError {
  return new ConflictError(`Precondition failed: ${what} in precondition: ${want}, ${what} in object meta: ${have}`);
}

/** One update of Registry.guaranteedUpdateBatch: the object and its mutate, as for guaranteedUpdate. */
export interface BatchUpdate {
  readonly ns: string;
  readonly name: string;
  readonly mutate: (cur: ApiObject) => ApiObject | undefined;
}

/** An update of a batch ready to be written: its put, the compare that guards it, its place in the batch. */
interface PreparedWrite {
  readonly key: string;
  readonly modRevision: number;
  readonly value: Buffer;
  readonly next: ApiObject;
  readonly index: number;
}

/**
 * Writes per etcd transaction in guaranteedUpdateBatch: below etcd's
 * --max-txn-ops (128 by default), which counts compares and puts each.
 */
export const BATCH_TXN_OPS = 100;
/** Value bytes per batch transaction at most: etcd refuses requests over 1.5 MiB (--max-request-bytes). */
const BATCH_TXN_BYTES = 1024 * 1024;

/** Splits prepared writes into transactions of at most BATCH_TXN_OPS writes and BATCH_TXN_BYTES. */
function chunkWrites(writes: readonly PreparedWrite[]): PreparedWrite[][] {
  const chunks: PreparedWrite[][] = [];
  let cur: PreparedWrite[] = [];
  let bytes = 0;
  for (const w of writes) {
    if (cur.length > 0 && (cur.length >= BATCH_TXN_OPS || bytes + w.value.length > BATCH_TXN_BYTES)) {
      chunks.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(w);
    bytes += w.value.length;
  }
  if (cur.length > 0) chunks.push(cur);
  return chunks;
}

export class Registry {
  readonly info;

  constructor(
    readonly kind: KindName,
    private readonly ctx: RegistryContext,
    readonly strategy: Strategy,
  ) {
    this.info = KINDS[kind];
  }

  private get cache(): WatchCache | undefined {
    return this.ctx.caches.get(this.kind);
  }

  /**
   * Shares a stored object with the response serializer and the watch cache:
   * its client encoding is derived from the stored bytes once, not encoded
   * again for the response and decoded again from the watch event.
   */
  private published(key: string, revision: number, obj: ApiObject, stored: Buffer): void {
    const bytes = withResourceVersion(stored, revision);
    rememberEncoding(obj, bytes);
    this.cache?.expect(key, revision, obj, bytes);
  }

  /** The put of an object: under a lease when the kind's objects expire, so every write restarts the TTL. */
  private async putOp(key: string, value: Buffer): Promise<Op> {
    const ttl = this.strategy.ttlSeconds?.();
    return ttl === undefined ? { put: key, value } : { put: key, value, lease: await this.ctx.leases.leaseFor(ttl) };
  }

  /** A transaction on this kind's keys; a success is recorded for consistent cached lists. `readOnFailure`: see EtcdStore.txn. */
  private async txn(operation: string, compares: Compare[], ops: Op[], readOnFailure?: string): Promise<TxnResult> {
    const res = await this.ctx.store.txn(this.info.plural, operation, compares, ops, readOnFailure);
    if (res.succeeded) this.cache?.noteWrite(res.revision);
    return res;
  }

  /** The namespace a request means: "" for cluster-scoped kinds, "default" when unset. */
  namespaceOf(ns: string | undefined): string {
    if (!this.info.namespaced) return '';
    return ns && ns !== '' ? ns : 'default';
  }

  key(ns: string, name: string): string {
    return objectKey(this.kind, ns, name);
  }

  private requireName(name: string | undefined): string {
    if (!name) throw new BadRequestError(`${this.kind}: a name is required`, [{ field: 'metadata.name', message: 'Required value: name is required' }]);
    return name;
  }

  private encode(obj: ApiObject): Buffer {
    const bytes = encodeForStorage(this.kind, obj);
    if (bytes.length > MAX_OBJECT_BYTES) {
      throw new TooLargeError(
        `${this.kind} "${obj.metadata?.name ?? ''}" is too large: ${bytes.length} bytes, the limit is ${MAX_OBJECT_BYTES} bytes (1.5 MiB)`,
      );
    }
    return bytes;
  }

  async read(ns: string, name: string): Promise<{ obj: ApiObject; kv: KeyValue }> {
    const { kv } = await this.ctx.store.get(this.key(ns, name), this.info.plural);
    if (!kv) throw new NotFoundError(this.kind, name);
    return { obj: decodeStored(this.kind, kv.value, kv.modRevision), kv };
  }

  /**
   * The watch cache's copy of an object to start an update from, with its
   * stored bytes and mod revision; undefined when the cache has none (or
   * holds it in an older encoding, whose bytes are not the stored ones).
   */
  private cachedForUpdate(ns: string, name: string): { obj: ApiObject; kv: KeyValue } | undefined {
    const key = this.key(ns, name);
    const hit = this.cache?.get(key);
    const stored = hit?.storedBytes();
    if (!hit || !stored) return undefined;
    return { obj: hit.obj, kv: { key, value: stored, modRevision: hit.revision, createRevision: 0 } };
  }

  /**
   * The watch cache's copy of an object (shared: never to be changed), or
   * undefined when the cache has not seen it: what Kubernetes' admission
   * plugins read from their listers instead of a quorum read per request.
   */
  cached(nsIn: string | undefined, name: string): ApiObject | undefined {
    return this.cache?.get(this.key(this.namespaceOf(nsIn), name))?.obj;
  }

  async get(nsIn: string | undefined, name: string | undefined): Promise<ApiObject> {
    return (await this.read(this.namespaceOf(nsIn), this.requireName(name))).obj;
  }

  // ------------------------------------------------------------------ create

  /**
   * Creates an object. With `dryRun` (Kubernetes' dryRun=All) every step runs
   * (defaulting, validation, the namespace and name checks, the service
   * allocation checks) and the object that would be stored is returned, but
   * nothing is written and nothing is allocated.
   */
  async create(input: ApiObject | undefined, dryRun = false, admission: WriteAdmission = {}): Promise<ApiObject> {
    if (!input) throw new BadRequestError(`${this.kind}: the request has no object`);
    const meta = metaOf(input);
    const ns = this.namespaceOf(meta.namespace);
    if (!meta.name && !meta.generateName) this.requireName(undefined);
    const now = this.ctx.now();
    Object.assign(meta, {
      namespace: this.info.namespaced ? ns : '',
      uid: randomUUID(),
      creationTimestamp: rfc3339(now),
      generation: 1,
      resourceVersion: '',
      deletionTimestamp: undefined,
      deletionGracePeriodSeconds: undefined,
    });
    input.apiVersion = KINDS[this.kind].apiVersion;
    input.kind = this.kind;
    this.strategy.prepareForCreate(input);
    applyDefaults(this.kind, input as never);
    admission.managedFields?.(input, undefined);
    const generated = !meta.name;
    for (let attempt = 0; ; attempt++) {
      if (generated) meta.name = `${meta.generateName ?? ''}${randomSuffix(this.ctx.random)}`;
      const causes = validate(this.kind, input as never);
      if (causes.length > 0) throw new InvalidError(this.kind, meta.name ?? '', causes);
      await admission.create?.(input);
      try {
        if (dryRun) return await this.createDryRun(ns, input);
        return await this.createOnce(ns, input);
      } catch (err) {
        if (err instanceof AlreadyExistsError && generated && attempt < 8) continue;
        throw err;
      }
    }
  }

  /** Namespace lifecycle admission: no new content in a namespace being deleted. */
  private admitNamespace(ns: string, name: string): void {
    if (this.info.namespaced && this.ctx.namespaceTerminating(ns)) {
      throw new ApiError(
        'Forbidden',
        `${this.kind.toLowerCase()}s "${name}" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`,
        [],
        { kind: this.kind, name },
      );
    }
  }

  /** Whether a namespace exists: the watch cache first, etcd when the cache has not seen it (yet). */
  private async namespaceExists(ns: string): Promise<boolean> {
    const key = objectKey('Namespace', '', ns);
    if (this.ctx.caches.get('Namespace')?.get(key)) return true;
    return (await this.ctx.store.get(key, 'namespaces')).kv !== undefined;
  }

  /** What createOnce would store, without writing: the same checks, answered by reads. */
  private async createDryRun(ns: string, obj: ApiObject): Promise<ApiObject> {
    const name = obj.metadata!.name!;
    this.admitNamespace(ns, name);
    if (this.info.namespaced && !(await this.namespaceExists(ns))) throw new NotFoundError('Namespace', ns);
    if ((await this.ctx.store.get(this.key(ns, name), this.info.plural)).kv) throw new AlreadyExistsError(this.kind, name);
    // The plan fills allocated values in (a free ClusterIP, NodePorts) and
    // checks requested ones; it is dropped, so nothing is taken.
    await this.strategy.planned?.dryRun((planner) => planner.create(obj));
    this.encode(obj); // the size limit
    return obj;
  }

  /**
   * Commits a write of a kind whose writes carry a plan (Strategy.planned),
   * possibly in one etcd transaction with other writes of this server.
   */
  private async commitPlanned(
    planned: PlanCommitter,
    operation: 'create' | 'update' | 'delete',
    build: (planner: Planner) => TxnParts | undefined,
  ): Promise<PlannedOutcome> {
    const out = await planned.commit(this.info.plural, operation, build);
    if (out.status === 'written') this.cache?.noteWrite(out.revision);
    return out;
  }

  private async createOnce(ns: string, obj: ApiObject): Promise<ApiObject> {
    const name = obj.metadata!.name!;
    const key = this.key(ns, name);
    this.admitNamespace(ns, name);
    const nsKey = this.info.namespaced ? objectKey('Namespace', '', ns) : undefined;
    if (this.strategy.planned) return this.createPlanned(this.strategy.planned, obj, key, nsKey);
    const compares: Compare[] = [{ key, modRevision: 0 }];
    if (nsKey) compares.push({ key: nsKey, exists: true });
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const value = this.encode(obj);
      const res = await this.txn('create', compares, [await this.putOp(key, value)]);
      if (res.succeeded) {
        obj.metadata!.resourceVersion = String(res.revision);
        this.published(key, res.revision, obj, value);
        return obj;
      }
      // Find which condition failed: the object or the namespace.
      if ((await this.ctx.store.get(key, this.info.plural)).kv) throw new AlreadyExistsError(this.kind, name);
      if (nsKey && !(await this.ctx.store.get(nsKey, 'namespaces')).kv) throw new NotFoundError('Namespace', ns);
    }
    throw new ConflictError(`${this.kind} "${name}": too many concurrent writers; try again`);
  }

  /**
   * A create whose plan allocates: planned on a copy of `obj` each time the
   * committer plans it (a plan that lost a race to another server's
   * allocation is planned again from the request). The transaction
   * compares `key` absent and `nsKey` (when namespaced) present.
   */
  private async createPlanned(planned: PlanCommitter, obj: ApiObject, key: string, nsKey: string | undefined): Promise<ApiObject> {
    const compares: Compare[] = [{ key, modRevision: 0 }];
    if (nsKey) compares.push({ key: nsKey, exists: true });
    const last: { candidate?: ApiObject; value?: Buffer } = {};
    const out = await this.commitPlanned(planned, 'create', (planner) => {
      const candidate = cloneObject(this.kind, obj);
      planner.create(candidate);
      const value = this.encode(candidate);
      Object.assign(last, { candidate, value });
      return { compares, ops: [{ put: key, value }] };
    });
    const name = obj.metadata!.name!;
    if (out.status === 'written' && last.candidate && last.value) {
      last.candidate.metadata!.resourceVersion = String(out.revision);
      this.published(key, out.revision, last.candidate, last.value);
      return last.candidate;
    }
    if (out.status === 'failed' && out.read.get(key)) throw new AlreadyExistsError(this.kind, name);
    if (out.status === 'failed' && nsKey && !out.read.get(nsKey)) throw new NotFoundError('Namespace', obj.metadata!.namespace ?? '');
    throw new ConflictError(`${this.kind} "${name}": too many concurrent writers; try again`);
  }

  // ------------------------------------------------------------------ list

  /**
   * A consistent list; items are the client encodings. Served from the watch
   * cache once it has seen every write this server acknowledged (a sorted
   * snapshot, kept for the next pages), else from etcd at one revision.
   */
  async list(req: ListRequest): Promise<ListResult> {
    const ns = this.info.namespaced ? (req.namespace ?? '') : '';
    const filter = buildFilter(this.kind, ns, req.labelSelector ?? '', req.fieldSelector ?? '');
    const selectors = (req.labelSelector ?? '').trim() !== '' || (req.fieldSelector ?? '').trim() !== '';
    const limit = Math.max(0, Number(req.limit ?? 0));
    const prefix = listPrefix(this.kind, ns);
    const tok = req.continue ? decodeContinue(req.continue, prefix) : undefined;
    const one = tok ? undefined : this.singleKey(ns, filter);
    if (one !== undefined) return this.listOne(one, filter);
    const cache = this.cache;
    if (cache) {
      const snap = tok ? cache.snapshotAt(tok.revision) : (await cache.waitFresh(FRESH_TIMEOUT_MS)) ? cache.snapshot() : undefined;
      if (snap) return this.listSnapshot(snap, prefix, tok?.key, selectors ? filter : undefined, limit);
    }
    return this.listFromEtcd(prefix, tok, selectors ? filter : undefined, limit);
  }

  /**
   * The one key a list can match when its field selector names the object
   * (metadata.name=X, and its namespace for a namespaced kind), else
   * undefined. Kubernetes' registry lists such a selector as a get of that
   * key (MatchesSingle): a kubelet's informer on its own Node is then one
   * lookup, not a scan of every node (5,000 kubelets starting made that
   * quadratic).
   */
  private singleKey(ns: string, filter: ObjectFilter): string | undefined {
    const name = filter.requiredValue('metadata.name');
    if (name === undefined || name === '') return undefined;
    if (!this.info.namespaced) return this.key('', name);
    const namespace = ns || filter.requiredValue('metadata.namespace');
    return namespace ? this.key(namespace, name) : undefined;
  }

  /** A list of the one object at `key` (or none), consistent as any list: the fresh cache's copy, else etcd's. */
  private async listOne(key: string, filter: ObjectFilter): Promise<ListResult> {
    const cache = this.cache;
    let entry: CachedObject | undefined;
    let revision: number;
    if (cache && (await cache.waitFresh(FRESH_TIMEOUT_MS))) {
      // Read at once after the wait, so the object and the revision go together.
      revision = cache.revision;
      entry = cache.get(key);
    } else {
      const { kv, revision: at } = await this.ctx.store.get(key, this.info.plural);
      revision = at;
      entry = kv ? CachedObject.fromStored(this.kind, key, kv.value, kv.modRevision) : undefined;
    }
    const items = entry && filter.matchesEntry(entry) ? [entry.bytes] : [];
    return { items, revision, continueToken: '' };
  }

  private listSnapshot(
    snap: { revision: number; items: CachedObject[] },
    prefix: string,
    after: string | undefined,
    filter: ObjectFilter | undefined,
    limit: number,
  ): ListResult {
    const all = snap.items;
    // First index with key > after (or >= prefix).
    const from = after === undefined ? prefix : after + '\0';
    let lo = 0;
    let hi = all.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (all[mid]!.key < from) lo = mid + 1;
      else hi = mid;
    }
    const items: Buffer[] = [];
    for (let i = lo; i < all.length; i++) {
      const o = all[i]!;
      if (!o.key.startsWith(prefix)) break;
      if (filter && !filter.matchesEntry(o)) continue;
      items.push(o.bytes);
      if (limit > 0 && items.length >= limit) {
        const next = all[i + 1];
        if (!next || !next.key.startsWith(prefix)) break;
        let remaining: number | undefined;
        if (!filter) {
          let end = i + 1;
          while (end < all.length && all[end]!.key.startsWith(prefix)) end++;
          remaining = end - (i + 1);
        }
        return { items, revision: snap.revision, continueToken: encodeContinue(o.key, snap.revision), remaining };
      }
    }
    return { items, revision: snap.revision, continueToken: '' };
  }

  /**
   * A list read from etcd at one revision: keys from etcd and values from
   * the cache when it has that version; a kind without a cache reads the
   * values with the keys.
   */
  private async listFromEtcd(
    prefix: string,
    tok: { key: string; revision: number } | undefined,
    filter: ObjectFilter | undefined,
    limit: number,
  ): Promise<ListResult> {
    const end = prefixEnd(prefix);
    let start: string | Buffer = tok ? Buffer.concat([Buffer.from(tok.key), Buffer.from([0])]) : prefix;
    let revision = tok?.revision ?? 0;
    const items: Buffer[] = [];
    let lastKey = '';
    for (;;) {
      const want = limit > 0 ? limit - items.length : 0;
      const withValues = this.cache === undefined;
      // Values come in pages, so that no etcd response holds a whole kind.
      const batch = limit > 0 ? (filter ? Math.max(want, 500) : want) : withValues ? VALUES_PAGE : 0;
      const res = await this.rangeForList(start, end, revision, batch, !withValues);
      // etcd's header carries the current revision even for a read at an older one.
      if (revision === 0) revision = res.revision;
      const objs = withValues
        ? res.kvs.map((kv) => CachedObject.fromStored(this.kind, kv.key, kv.value, kv.modRevision))
        : await this.resolve(res.kvs, revision);
      for (let i = 0; i < objs.length; i++) {
        const o = objs[i]!;
        lastKey = o.key;
        if (!filter || filter.matchesEntry(o)) items.push(o.bytes);
        if (limit > 0 && items.length >= limit) {
          const more = i < objs.length - 1 || res.more;
          if (!more) return { items, revision, continueToken: '' };
          const remaining = filter ? undefined : res.count - (i + 1);
          return { items, revision, continueToken: encodeContinue(lastKey, revision), remaining };
        }
      }
      if (!res.more || res.kvs.length === 0) return { items, revision, continueToken: '' };
      start = Buffer.concat([Buffer.from(lastKey), Buffer.from([0])]);
    }
  }

  private async rangeForList(start: string | Buffer, end: Buffer, revision: number, limit: number, keysOnly: boolean) {
    try {
      return await this.ctx.store.range(start, this.info.plural, { end, revision, limit, keysOnly });
    } catch (err) {
      if (err instanceof ExpiredError) {
        throw new ExpiredError(
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
        );
      }
      throw err;
    }
  }

  /** The values of `kvs` (keys in order, one page of a list) read from etcd at `revision` in one range. */
  private async readValues(kvs: KeyValue[], revision: number): Promise<CachedObject[]> {
    const out: CachedObject[] = [];
    const end = Buffer.concat([Buffer.from(kvs[kvs.length - 1]!.key), Buffer.from([0])]);
    let start: string | Buffer = kvs[0]!.key;
    for (;;) {
      // In pages, so that no etcd response holds a whole kind.
      const res = await this.rangeForList(start, end, revision, VALUES_PAGE, false);
      for (const kv of res.kvs) out.push(CachedObject.fromStored(this.kind, kv.key, kv.value, kv.modRevision));
      if (!res.more || res.kvs.length === 0) return out;
      start = Buffer.concat([Buffer.from(res.kvs[res.kvs.length - 1]!.key), Buffer.from([0])]);
    }
  }

  /**
   * The objects for keys listed at `revision`: from the watch cache when it
   * holds that exact version (almost always), else read from etcd at that revision.
   */
  private async resolve(kvs: KeyValue[], revision: number): Promise<CachedObject[]> {
    const out = new Array<CachedObject>(kvs.length);
    const missing: number[] = [];
    const cache = this.cache;
    for (let i = 0; i < kvs.length; i++) {
      const kv = kvs[i]!;
      const hit = cache?.get(kv.key);
      if (hit && hit.revision === kv.modRevision) out[i] = hit;
      else missing.push(i);
    }
    // A cache far behind etcd (a list after its freshness wait gave up)
    // misses most versions: one range with values over the page beats a
    // read per key, which made such lists thousands of etcd calls.
    if (missing.length > MAX_SINGLE_READS) return this.readValues(kvs, revision);
    await Promise.all(
      missing.map(async (i) => {
        const kv = kvs[i]!;
        const res = await this.ctx.store.range(kv.key, this.info.plural, { revision });
        const got = res.kvs[0];
        if (!got) throw new ConflictError(`${this.kind} key ${kv.key} vanished during a consistent list; retry`);
        out[i] = CachedObject.fromStored(this.kind, got.key, got.value, got.modRevision);
      }),
    );
    return out;
  }

  // ------------------------------------------------------------------ update

  /**
   * Read-modify-write with compare-and-swap. `mutate` returns the new object
   * (or undefined for no change); with `expectedRevision` a stale read is a
   * Conflict, without it the loop retries on races. With `dryRun` the new
   * object is planned and checked but not written (it keeps the stored
   * resourceVersion). `copy` is what mutate gets: 'deep', a copy of its own;
   * 'shallow', a copy of the object and its metadata whose other values are
   * shared with the watch cache, for a mutate that replaces them and never
   * edits them in place (Bind: one encode and decode less per call).
   */
  async guaranteedUpdate(
    ns: string,
    name: string,
    expectedRevision: number | undefined,
    mutate: (cur: ApiObject) => ApiObject | undefined,
    dryRun = false,
    copy: 'deep' | 'shallow' = 'deep',
  ): Promise<ApiObject> {
    // The cached copy is tried once, first; dry runs read etcd.
    let cached = dryRun ? undefined : this.cachedForUpdate(ns, name);
    // What a transaction that lost a race read in its failure branch: etcd's current object, as a read would return.
    let lost: KeyValue | null | undefined;
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const fromCache = cached;
      cached = undefined;
      const current = lost;
      lost = undefined;
      if (current === null) throw new NotFoundError(this.kind, name);
      const { obj: cur, kv } =
        fromCache ?? (current ? { obj: decodeStored(this.kind, current.value, current.modRevision), kv: current } : await this.read(ns, name));
      // Decided on a copy that may be stale: decide again on etcd's current object.
      const again = (): boolean => fromCache !== undefined;
      if (expectedRevision !== undefined && expectedRevision !== kv.modRevision) {
        if (again()) continue;
        throw new ConflictError(`Operation cannot be fulfilled on ${this.info.plural} "${name}": ${CONFLICT_MESSAGE}`, { kind: this.kind, name });
      }
      let next: ApiObject | undefined;
      try {
        next = mutate(copy === 'deep' ? cloneObject(this.kind, cur) : { ...cur, metadata: { ...cur.metadata } });
      } catch (err) {
        if (again()) continue;
        throw err;
      }
      if (!next) {
        if (again()) continue;
        return cur;
      }
      const m = next.metadata!;
      // An object whose deletion was only waiting for finalizers goes now.
      const finalize = !this.strategy.ownsDeletion && !!m.deletionTimestamp && (m.finalizers ?? []).length === 0 && (m.deletionGracePeriodSeconds ?? 0) === 0;
      const planned = this.strategy.planned;
      if (planned && !dryRun) {
        let out: PlannedOutcome & { obj?: ApiObject };
        try {
          out = await this.updatePlanned(planned, kv, cur, next, finalize);
        } catch (err) {
          if (again()) continue;
          throw err;
        }
        if (out.status === 'written') return out.obj!;
        if (out.status === 'noop') {
          if (again()) continue;
          return cur;
        }
        lost = out.read.get(kv.key) ?? null;
        if (expectedRevision !== undefined && lost && lost.modRevision !== expectedRevision) {
          throw new ConflictError(`Operation cannot be fulfilled on ${this.info.plural} "${name}": ${CONFLICT_MESSAGE}`, { kind: this.kind, name });
        }
        continue;
      }
      // Plan first: a plan may fill fields in (allocated node ports).
      if (planned) await planned.dryRun((planner) => (finalize ? planner.delete(cur) : planner.update(next, cur)));
      const value = this.encode(next);
      if (!finalize && value.equals(kv.value)) {
        if (again()) continue;
        return cur; // no-op: no write, same resourceVersion
      }
      if (dryRun) {
        m.resourceVersion = String(kv.modRevision);
        return next;
      }
      const op: Op = finalize ? { delete: kv.key } : await this.putOp(kv.key, value);
      const res = await this.txn(finalize ? 'delete' : 'update', [{ key: kv.key, modRevision: kv.modRevision }], [op], kv.key);
      if (res.succeeded) {
        m.resourceVersion = String(res.revision);
        if (!finalize) this.published(kv.key, res.revision, next, value);
        return next;
      }
      // The object changed: the next attempt starts from what the transaction read.
      lost = res.current;
      if (expectedRevision !== undefined && lost && lost.modRevision !== expectedRevision) {
        throw new ConflictError(`Operation cannot be fulfilled on ${this.info.plural} "${name}": ${CONFLICT_MESSAGE}`, { kind: this.kind, name });
      }
    }
    throw new ConflictError(`Operation cannot be fulfilled on ${this.info.plural} "${name}": too many concurrent writers; try again`);
  }

  /**
   * An update (or the delete of a finalized object) of a planned kind:
   * planned on a copy of `next` each time the committer plans it, since a
   * plan fills allocated values in. `obj` of a 'written' outcome is the
   * object stored (or deleted); 'noop' when the planned object is the
   * stored one.
   */
  private async updatePlanned(
    planned: PlanCommitter,
    kv: KeyValue,
    cur: ApiObject,
    next: ApiObject,
    finalize: boolean,
  ): Promise<PlannedOutcome & { obj?: ApiObject }> {
    const guard: Compare[] = [{ key: kv.key, modRevision: kv.modRevision }];
    if (finalize) {
      const out = await this.commitPlanned(planned, 'delete', (planner) => {
        planner.delete(cur);
        return { compares: guard, ops: [{ delete: kv.key }] };
      });
      if (out.status === 'written') next.metadata!.resourceVersion = String(out.revision);
      return { ...out, obj: next };
    }
    const last: { obj?: ApiObject; value?: Buffer } = {};
    const out = await this.commitPlanned(planned, 'update', (planner) => {
      const obj = cloneObject(this.kind, next);
      planner.update(obj, cur);
      const value = this.encode(obj);
      if (value.equals(kv.value)) return undefined; // no write, same resourceVersion
      Object.assign(last, { obj, value });
      return { compares: guard, ops: [{ put: kv.key, value }] };
    });
    if (out.status !== 'written' || !last.obj || !last.value) return out;
    last.obj.metadata!.resourceVersion = String(out.revision);
    this.published(kv.key, out.revision, last.obj, last.value);
    return { ...out, obj: last.obj };
  }

  /**
   * Many guaranteedUpdates (without expected revision) at once, each with
   * its own outcome (the object written, or the error its own
   * guaranteedUpdate would have thrown), in the order given. The updates
   * that can be decided on the watch cache's copy are written together, up
   * to BATCH_TXN_OPS per etcd transaction whose compares are every key's
   * mod revision: one etcd call, one revision and one watch response for
   * many objects instead of one each. etcd's compares are all or nothing,
   * so when one copy was stale the whole transaction fails and each of its
   * updates runs again as its own guaranteedUpdate: one object's conflict
   * never fails another. Updates the cache cannot decide (no copy, a plan,
   * a TTL, a finalizing delete, a no-op or error on the copy) go singly too.
   * All the objects written by one transaction share its resourceVersion.
   */
  async guaranteedUpdateBatch(updates: readonly BatchUpdate[], copy: 'deep' | 'shallow' = 'deep'): Promise<(ApiObject | Error)[]> {
    const results: (ApiObject | Error | undefined)[] = new Array(updates.length);
    const single = async (i: number): Promise<void> => {
      const u = updates[i]!;
      try {
        results[i] = await this.guaranteedUpdate(u.ns, u.name, undefined, u.mutate, false, copy);
      } catch (err) {
        results[i] = err instanceof Error ? err : new Error(String(err));
      }
    };
    const prepared: PreparedWrite[] = [];
    const singles: number[] = [];
    updates.forEach((u, i) => {
      const p = this.prepareFromCache(u, copy);
      if (p) prepared.push({ ...p, index: i });
      else singles.push(i);
    });
    const writeChunk = async (chunk: readonly PreparedWrite[]): Promise<void> => {
      if (chunk.length === 1) return single(chunk[0]!.index);
      // A refused transaction (an etcd with a lower --max-txn-ops, say) or a failed compare: each update alone.
      const res = await this.txn(
        'update',
        chunk.map((p) => ({ key: p.key, modRevision: p.modRevision })),
        chunk.map((p) => ({ put: p.key, value: p.value })),
      ).catch(() => undefined);
      if (!res?.succeeded) {
        await Promise.all(chunk.map((p) => single(p.index)));
        return;
      }
      for (const p of chunk) {
        p.next.metadata!.resourceVersion = String(res.revision);
        this.published(p.key, res.revision, p.next, p.value);
        results[p.index] = p.next;
      }
    };
    await Promise.all([...chunkWrites(prepared).map(writeChunk), ...singles.map(single)]);
    return results.map((r) => r ?? new Error('invariant: an update of the batch got no outcome'));
  }

  /**
   * One update of a batch decided on the watch cache's copy: the key, the
   * copy's mod revision and the new bytes; undefined when only a read of
   * etcd can decide it (see guaranteedUpdateBatch).
   */
  private prepareFromCache(u: BatchUpdate, copy: 'deep' | 'shallow'): Omit<PreparedWrite, 'index'> | undefined {
    if (this.strategy.planned || this.strategy.ttlSeconds?.() !== undefined) return undefined;
    const cached = this.cachedForUpdate(u.ns, u.name);
    if (!cached) return undefined;
    const { obj: cur, kv } = cached;
    let next: ApiObject | undefined;
    try {
      next = u.mutate(copy === 'deep' ? cloneObject(this.kind, cur) : { ...cur, metadata: { ...cur.metadata } });
    } catch {
      return undefined; // decided on a copy that may be stale: decided again on etcd's object
    }
    if (!next) return undefined;
    const m = next.metadata!;
    if (!!m.deletionTimestamp && (m.finalizers ?? []).length === 0 && (m.deletionGracePeriodSeconds ?? 0) === 0) return undefined;
    let value: Buffer;
    try {
      value = this.encode(next);
    } catch {
      return undefined;
    }
    if (value.equals(kv.value)) return undefined;
    return { key: kv.key, modRevision: kv.modRevision, value, next };
  }

  /** Update or UpdateStatus; `dryRun` as for create. */
  async update(input: ApiObject | undefined, statusOnly: boolean, dryRun = false, admission: WriteAdmission = {}): Promise<ApiObject> {
    if (!input) throw new BadRequestError(`${this.kind}: the request has no object`);
    const meta = metaOf(input);
    const ns = this.namespaceOf(meta.namespace);
    const name = this.requireName(meta.name);
    const rv = meta.resourceVersion ? this.parseRevision(meta.resourceVersion) : undefined;
    return this.guaranteedUpdate(
      ns,
      name,
      rv,
      (cur) => {
        const curMeta = cur.metadata!;
        if (meta.uid && meta.uid !== curMeta.uid) throw preconditionFailed('UID', meta.uid, curMeta.uid ?? '');
        let next: ApiObject;
        if (statusOnly) {
          // The field manager compares with the stored object: it gets a copy of its own to change.
          next = admission.managedFields ? { ...cur, metadata: { ...cur.metadata } } : cur;
          (next as { status?: unknown }).status = (input as { status?: unknown }).status;
        } else {
          next = cloneObject(this.kind, input);
          if (this.info.hasStatus) (next as { status?: unknown }).status = (cur as { status?: unknown }).status;
          const m = metaOf(next);
          Object.assign(m, {
            namespace: curMeta.namespace,
            name: curMeta.name,
            uid: curMeta.uid,
            creationTimestamp: curMeta.creationTimestamp,
            deletionTimestamp: curMeta.deletionTimestamp,
            deletionGracePeriodSeconds: curMeta.deletionGracePeriodSeconds,
            generation: curMeta.generation,
            generateName: m.generateName || curMeta.generateName,
          });
          // A writer that does not send managed fields does not drop them (Kubernetes keeps the live ones).
          if ((m.managedFields ?? []).length === 0) m.managedFields = curMeta.managedFields;
          this.strategy.prepareForUpdate(next, cur);
          applyDefaults(this.kind, next as never);
          if (specBytes(this.kind, next) !== specBytes(this.kind, cur)) m.generation = (curMeta.generation ?? 0) + 1;
        }
        next.apiVersion = KINDS[this.kind].apiVersion;
        next.kind = this.kind;
        admission.managedFields?.(next, cur);
        const causes = validateUpdate(this.kind, next as never, cur as never);
        if (causes.length > 0) throw new InvalidError(this.kind, name, causes);
        admission.update?.(next, cur);
        return next;
      },
      dryRun,
    );
  }

  private parseRevision(rv: string): number {
    if (!/^\d+$/.test(rv)) {
      throw new BadRequestError(`invalid resourceVersion "${rv}"`, [{ field: 'metadata.resourceVersion', message: 'must be a decimal number' }]);
    }
    return Number(rv);
  }

  // ------------------------------------------------------------------ delete

  /**
   * Deletes, or marks deleting: an object with a grace period (a bound pod)
   * or with finalizers (among them the garbage collector's, added for an
   * Orphan or Foreground propagationPolicy) gets a deletionTimestamp and stays
   * until they are done; anything else goes at once.
   */
  async delete(req: DeleteRequest, admission: WriteAdmission = {}): Promise<ApiObject> {
    const ns = this.namespaceOf(req.namespace);
    const name = this.requireName(req.name);
    const policy = parsePropagationPolicy(this.kind, name, req.propagationPolicy);
    const pre = req.preconditions;
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const { obj, kv } = await this.read(ns, name);
      const m = obj.metadata!;
      if (pre?.uid && pre.uid !== m.uid) throw preconditionFailed('UID', pre.uid, m.uid ?? '');
      if (pre?.resourceVersion && pre.resourceVersion !== m.resourceVersion) {
        throw preconditionFailed('ResourceVersion', pre.resourceVersion, m.resourceVersion ?? '');
      }
      admission.delete?.(obj);
      const grace = this.strategy.gracePeriod ? this.strategy.gracePeriod(obj, req.gracePeriodSeconds) : 0;
      const finalizers = finalizersForDelete(m.finalizers ?? [], policy);
      let res;
      if (grace > 0 || finalizers.length > 0) {
        const updated = this.markDeleting(obj, grace, finalizers);
        if (!updated) return obj;
        res = await this.txn('update', [{ key: kv.key, modRevision: kv.modRevision }], [await this.putOp(kv.key, this.encode(updated))]);
        if (res.succeeded) {
          updated.metadata!.resourceVersion = String(res.revision);
          return updated;
        }
        continue;
      }
      const guard: Compare[] = [{ key: kv.key, modRevision: kv.modRevision }];
      const planned = this.strategy.planned;
      if (planned) {
        const out = await this.commitPlanned(planned, 'delete', (planner) => {
          planner.delete(obj);
          return { compares: guard, ops: [{ delete: kv.key }] };
        });
        if (out.status === 'written') {
          m.resourceVersion = String(out.revision);
          return obj;
        }
        continue;
      }
      res = await this.txn('delete', guard, [{ delete: kv.key }]);
      if (res.succeeded) {
        m.resourceVersion = String(res.revision);
        return obj;
      }
    }
    throw new ConflictError(`Operation cannot be fulfilled on ${this.info.plural} "${name}": too many concurrent writers; try again`);
  }

  /**
   * Sets deletionTimestamp (now + grace), deletionGracePeriodSeconds and the
   * finalizers; a second delete can only shorten the grace period (and may
   * change the garbage collector's finalizers). Undefined: no change.
   */
  private markDeleting(obj: ApiObject, grace: number, finalizers: string[]): ApiObject | undefined {
    const m = obj.metadata!;
    const now = this.ctx.now();
    const deadline = rfc3339(new Date(now.getTime() + grace * 1000));
    const finalizersChanged = !sameFinalizers(m.finalizers ?? [], finalizers);
    if (m.deletionTimestamp) {
      const curGrace = m.deletionGracePeriodSeconds ?? 0;
      const shorter = grace < curGrace;
      if (!shorter && !finalizersChanged) return undefined;
      const next = cloneObject(this.kind, obj);
      if (shorter) {
        next.metadata!.deletionGracePeriodSeconds = grace;
        next.metadata!.deletionTimestamp = deadline < m.deletionTimestamp ? deadline : m.deletionTimestamp;
      }
      if (finalizersChanged) next.metadata!.finalizers = finalizers;
      return next;
    }
    const next = cloneObject(this.kind, obj);
    next.metadata!.deletionTimestamp = deadline;
    next.metadata!.deletionGracePeriodSeconds = grace;
    if (finalizersChanged) next.metadata!.finalizers = finalizers;
    return next;
  }

  // ------------------------------------------------------------------ helpers for lifecycles

  /** Keys (not values) under a range, at the latest revision. */
  async keysUnder(start: string, end: Buffer): Promise<string[]> {
    const res = await this.ctx.store.range(start, this.info.plural, { end, keysOnly: true });
    return res.kvs.map((kv) => kv.key);
  }

  /** Deletes a key if it is still at `modRevision`; false when it changed. */
  async removeKey(key: string, modRevision: number): Promise<boolean> {
    const res = await this.txn('delete', [{ key, modRevision }], [{ delete: key }]);
    return res.succeeded;
  }
}
