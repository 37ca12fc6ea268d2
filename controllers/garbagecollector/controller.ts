// The garbage collector (Kubernetes' pkg/controller/garbagecollector):
// deletes objects whose every owner is gone, and carries out the Orphan and
// Foreground deletions the API server marked with finalizers.
//
// Instead of Kubernetes' separate graph, the shared informers' caches are the
// graph: every kind's informer gets two indexes, by the object's own uid and
// by its owners' uids. Handlers only enqueue item keys ("Kind:namespace/name");
// sync(item) decides from the cached object and, for owners missing from the
// cache, a live read (an owner is declared gone only by the API server, never
// by a cache that may lag). Objects are deleted with a uid precondition, so a
// new object under the same name is never hit.

import { ConflictError, NotFoundError } from '../../api/errors';
import type { OwnerReference } from '../../api/gen/tsk/v1/meta';
import { KINDS, isKindName, type ApiObject, type KindName } from '../../api/kinds';
import { objectKey, runWorker, splitKey, type Clientset, type Lister, type ResourceClient, type WorkQueue } from '../../client';
import { errorMessage } from '../../util/errors';
import type { Controller, ControllerContext, ControllerFactory } from '../controller';
import { newControllerQueue } from '../queue';
import {
  FOREGROUND_FINALIZER,
  ORPHAN_FINALIZER,
  decideDependent,
  decideOwner,
  deletingDependents,
  hasFinalizer,
  ownerState,
  type ClassifiedRef,
  type PropagationPolicy,
} from './decide';

/**
 * The kinds collected (Leases: a node's heartbeat Lease goes with its Node).
 * Events are left out: they expire by TTL and are too many to cache.
 */
export const GC_KINDS: readonly KindName[] = ['Pod', 'ReplicationController', 'Service', 'Endpoints', 'Node', 'Namespace', 'Lease'];

export const UID_INDEX = 'gc-uid';
export const OWNER_UID_INDEX = 'gc-owner-uid';

const uidIndex = (o: ApiObject): string[] => (o.metadata?.uid ? [o.metadata.uid] : []);
const ownerUidIndex = (o: ApiObject): string[] => (o.metadata?.ownerReferences ?? []).map((r) => r.uid ?? '').filter((u) => u !== '');

/** How many uids of owners found gone are remembered (uids are never reused, so the answer never changes). */
const ABSENT_OWNER_CACHE = 1000;
const UPDATE_ATTEMPTS = 5;

/** Reads and writes of any kind: the clientset in production, a fake in tests. */
export type KindClient = Pick<ResourceClient<ApiObject>, 'get' | 'update' | 'delete'>;

export interface GarbageCollectorDeps {
  /** The caches of the collected kinds, each with UID_INDEX and OWNER_UID_INDEX. */
  readonly caches: ReadonlyMap<KindName, Lister<ApiObject>>;
  readonly client: (kind: KindName) => KindClient;
  readonly queue: WorkQueue<string>;
  readonly log: (line: string) => void;
}

export function itemKey(kind: KindName, obj: ApiObject): string {
  return `${kind}:${objectKey(obj)}`;
}

function parseItem(item: string): { kind: KindName; key: string } | undefined {
  const i = item.indexOf(':');
  const kind = item.slice(0, i);
  return i > 0 && isKindName(kind) ? { kind, key: item.slice(i + 1) } : undefined;
}

export class GarbageCollector implements Controller {
  readonly name = 'garbagecollector';
  private running = false;
  private workers: Promise<void>[] | undefined;
  private readonly absentOwners = new Set<string>();
  private readonly unknownKindsLogged = new Set<string>();

  constructor(private readonly deps: GarbageCollectorDeps) {}

  // ---------------------------------------------------------------- handlers

  /** An object was added or changed: enqueue what may now need work. */
  onChange(kind: KindName, obj: ApiObject, old?: ApiObject): void {
    if (!this.running) return; // run() scans every cache once synced
    if (this.needsWork(obj)) this.deps.queue.add(itemKey(kind, obj));
    // An owner entering foreground deletion: its dependents go first.
    if (deletingDependents(obj.metadata) && !deletingDependents(old?.metadata)) this.enqueueDependents(obj.metadata?.uid ?? '');
  }

  /** An object is gone: its dependents may be garbage; an owner waiting for it may finish. */
  onDelete(obj: ApiObject): void {
    if (!this.running) return;
    this.enqueueDependents(obj.metadata?.uid ?? '');
    for (const ref of obj.metadata?.ownerReferences ?? []) {
      const owner = this.cachedOwner(ref, obj.metadata?.namespace ?? '');
      if (owner && owner.obj.metadata?.deletionTimestamp) this.deps.queue.add(itemKey(owner.kind, owner.obj));
    }
  }

  /** Whether an object is worth a sync: GC finalizers to act on, or an owner not solidly in the cache. */
  private needsWork(obj: ApiObject): boolean {
    const m = obj.metadata;
    if (m?.deletionTimestamp) return hasFinalizer(m, ORPHAN_FINALIZER) || hasFinalizer(m, FOREGROUND_FINALIZER);
    for (const ref of m?.ownerReferences ?? []) {
      const owner = this.cachedOwner(ref, m?.namespace ?? '');
      if (!owner || ownerState(owner.obj) !== 'solid') return true;
    }
    return false;
  }

  private enqueueDependents(uid: string): void {
    if (!uid) return;
    for (const [kind, cache] of this.deps.caches) for (const dep of cache.byIndex(OWNER_UID_INDEX, uid)) this.deps.queue.add(itemKey(kind, dep));
  }

  private dependentsOf(uid: string): { kind: KindName; obj: ApiObject }[] {
    const out: { kind: KindName; obj: ApiObject }[] = [];
    for (const [kind, cache] of this.deps.caches) for (const obj of cache.byIndex(OWNER_UID_INDEX, uid)) out.push({ kind, obj });
    return out;
  }

  /** The owner a reference names, from the cache: same kind and uid, and a namespace the dependent may refer to. */
  private cachedOwner(ref: OwnerReference, dependentNs: string): { kind: KindName; obj: ApiObject } | undefined {
    const kind = ref.kind ?? '';
    if (!isKindName(kind)) return undefined;
    const obj = this.deps.caches.get(kind)?.byIndex(UID_INDEX, ref.uid ?? '')[0];
    if (!obj || !this.namespaceOk(kind, dependentNs)) return undefined;
    if (KINDS[kind].namespaced && obj.metadata?.namespace !== dependentNs) return undefined;
    return { kind, obj };
  }

  /** A namespaced owner must be in the dependent's namespace; a cluster-scoped dependent cannot have one. */
  private namespaceOk(kind: KindName, dependentNs: string): boolean {
    return !KINDS[kind].namespaced || dependentNs !== '';
  }

  // ---------------------------------------------------------------- sync

  async sync(item: string): Promise<void> {
    const parsed = parseItem(item);
    if (!parsed) return;
    const obj = this.deps.caches.get(parsed.kind)?.get(parsed.key);
    if (!obj) return;
    if (obj.metadata?.deletionTimestamp) return this.syncDeleting(parsed.kind, obj);
    const refs = obj.metadata?.ownerReferences ?? [];
    if (refs.length === 0) return;
    const classified = await Promise.all(refs.map((ref) => this.classify(ref, obj)));
    const hasDependents = this.dependentsOf(obj.metadata?.uid ?? '').length > 0;
    const decision = decideDependent(obj.metadata, classified, hasDependents);
    if (decision.action === 'removeOwnerRefs') await this.removeOwnerRefs(parsed.kind, obj, decision.uids);
    else if (decision.action === 'delete') await this.deleteObject(parsed.kind, obj, decision.policy);
  }

  /** An owner being deleted: orphan its dependents, or delete them first (foreground). */
  private async syncDeleting(kind: KindName, owner: ApiObject): Promise<void> {
    const uid = owner.metadata?.uid ?? '';
    const dependents = this.dependentsOf(uid);
    const refsToOwner = dependents.flatMap((d) => (d.obj.metadata?.ownerReferences ?? []).filter((r) => r.uid === uid));
    const decision = decideOwner(owner.metadata, refsToOwner);
    switch (decision.action) {
      case 'orphan':
        await Promise.all(dependents.map((d) => this.removeOwnerRefs(d.kind, d.obj, [uid])));
        await this.removeFinalizer(kind, owner, ORPHAN_FINALIZER);
        return;
      case 'deleteDependents':
      case 'finishForeground':
        for (const d of dependents) if (!d.obj.metadata?.deletionTimestamp) this.deps.queue.add(itemKey(d.kind, d.obj));
        if (decision.action === 'finishForeground') await this.removeFinalizer(kind, owner, FOREGROUND_FINALIZER);
        return;
      case 'none':
        return;
    }
  }

  /** Solid, dangling or waiting: from the cache when the owner is there, else from a live read. */
  private async classify(ref: OwnerReference, dependent: ApiObject): Promise<ClassifiedRef> {
    const ns = dependent.metadata?.namespace ?? '';
    const kind = ref.kind ?? '';
    if (!isKindName(kind) || !this.deps.caches.has(kind)) {
      // An owner of a kind tsk does not serve cannot be proven gone: keep the dependent.
      if (!this.unknownKindsLogged.has(kind)) {
        this.unknownKindsLogged.add(kind);
        this.deps.log(`garbagecollector: owner kind "${ref.apiVersion ?? ''}/${kind}" is not served; its dependents are kept`);
      }
      return { ref, state: 'solid' };
    }
    if (!this.namespaceOk(kind, ns)) return { ref, state: 'dangling' };
    const cached = this.cachedOwner(ref, ns);
    if (cached) return { ref, state: ownerState(cached.obj) };
    const uid = ref.uid ?? '';
    if (this.absentOwners.has(uid)) return { ref, state: 'dangling' };
    let live: ApiObject | undefined;
    try {
      live = await this.deps.client(kind).get(ref.name ?? '', KINDS[kind].namespaced ? ns : '');
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
    if (live && live.metadata?.uid === uid) return { ref, state: ownerState(live) };
    this.rememberAbsent(uid);
    return { ref, state: 'dangling' };
  }

  private rememberAbsent(uid: string): void {
    if (this.absentOwners.size >= ABSENT_OWNER_CACHE) {
      const oldest = this.absentOwners.values().next().value;
      if (oldest !== undefined) this.absentOwners.delete(oldest);
    }
    this.absentOwners.add(uid);
  }

  private async deleteObject(kind: KindName, obj: ApiObject, policy: PropagationPolicy): Promise<void> {
    const { namespace, name } = splitKey(objectKey(obj));
    try {
      await this.deps.client(kind).delete(name, { namespace, preconditions: { uid: obj.metadata?.uid ?? '' }, propagationPolicy: policy });
      this.deps.log(`garbagecollector: deleted ${kind} ${objectKey(obj)} (${policy}): its owners are gone`);
    } catch (err) {
      // Gone already, or another object under that name now: nothing of ours to delete.
      if (err instanceof NotFoundError || err instanceof ConflictError) return;
      throw err;
    }
  }

  /** Read-modify-write of one object (retried on conflicts); `change` returns undefined for no change. */
  private async modify(kind: KindName, obj: ApiObject, change: (cur: ApiObject) => ApiObject | undefined): Promise<void> {
    const { namespace, name } = splitKey(objectKey(obj));
    const client = this.deps.client(kind);
    for (let attempt = 0; ; attempt++) {
      let cur: ApiObject;
      try {
        cur = await client.get(name, namespace);
      } catch (err) {
        if (err instanceof NotFoundError) return;
        throw err;
      }
      if (cur.metadata?.uid !== obj.metadata?.uid) return;
      const next = change(cur);
      if (!next) return;
      try {
        await client.update(next);
        return;
      } catch (err) {
        if (err instanceof NotFoundError) return;
        if (!(err instanceof ConflictError) || attempt + 1 >= UPDATE_ATTEMPTS) throw err;
      }
    }
  }

  private removeOwnerRefs(kind: KindName, obj: ApiObject, uids: readonly string[]): Promise<void> {
    const drop = new Set(uids);
    return this.modify(kind, obj, (cur) => {
      const refs = cur.metadata?.ownerReferences ?? [];
      if (!refs.some((r) => drop.has(r.uid ?? ''))) return undefined;
      return { ...cur, metadata: { ...cur.metadata, ownerReferences: refs.filter((r) => !drop.has(r.uid ?? '')) } };
    });
  }

  private removeFinalizer(kind: KindName, obj: ApiObject, finalizer: string): Promise<void> {
    return this.modify(kind, obj, (cur) => {
      if (!hasFinalizer(cur.metadata, finalizer)) return undefined;
      return { ...cur, metadata: { ...cur.metadata, finalizers: (cur.metadata?.finalizers ?? []).filter((f) => f !== finalizer) } };
    });
  }

  // ---------------------------------------------------------------- lifecycle

  run(workers: number): void {
    if (this.workers) throw new Error('invariant: garbagecollector run twice');
    this.running = true;
    // Whatever changed while no collector ran (owners deleted, deletions marked) is found here.
    for (const [kind, cache] of this.deps.caches) for (const obj of cache.list()) this.onChange(kind, obj);
    this.workers = Array.from({ length: workers }, () =>
      runWorker(
        this.deps.queue,
        (item) => this.sync(item),
        (item, err) => this.deps.log(`garbagecollector: ${item}: ${errorMessage(err)}`),
      ),
    );
  }

  async stop(): Promise<void> {
    this.running = false;
    this.deps.queue.shutDown();
    await Promise.all(this.workers ?? []);
  }
}

/** The shared informer of one kind, with the uid indexes, feeding the collector; returns its cache. */
function watchKind<K extends KindName>(ctx: ControllerContext, kind: K, gc: GarbageCollector): Lister<ApiObject> {
  const informer = ctx.informers.informerFor(kind, { [UID_INDEX]: uidIndex, [OWNER_UID_INDEX]: ownerUidIndex });
  informer.addEventHandler({
    onAdd: (obj) => gc.onChange(kind, obj),
    onUpdate: (old, cur) => gc.onChange(kind, cur, old),
    onDelete: (obj) => gc.onDelete(obj),
  });
  return informer.store;
}

/** The manager's factory: an informer per collected kind, with the uid indexes. */
export const newGarbageCollector: ControllerFactory = (ctx) => {
  const caches = new Map<KindName, Lister<ApiObject>>();
  const clientset: Clientset = ctx.clientset;
  const gc = new GarbageCollector({
    caches,
    client: (kind) => clientset.kind(kind) as ResourceClient<ApiObject>,
    queue: newControllerQueue(ctx, 'garbagecollector'),
    log: ctx.log,
  });
  for (const kind of GC_KINDS) caches.set(kind, watchKind(ctx, kind, gc));
  return gc;
};
