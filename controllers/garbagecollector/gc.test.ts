import test from 'ava';
import { ConflictError, NotFoundError } from '../../api/errors';
import type { ObjectMeta, OwnerReference } from '../../api/gen/tsk/v1/meta';
import type { ApiObject, KindName } from '../../api/kinds';
import { NAMESPACE_INDEX, Store, WorkQueue, namespaceIndexFunc, objectKey, splitKey, type DeleteOptions } from '../../client';
import { GC_KINDS, GarbageCollector, OWNER_UID_INDEX, UID_INDEX, itemKey, type KindClient } from './controller';
import { decideDependent, decideOwner, type ClassifiedRef, type OwnerState } from './decide';

// ------------------------------------------------------------------ pure decisions

function ref(uid: string, block = true): OwnerReference {
  return { apiVersion: 'v1', kind: 'ReplicationController', name: uid, uid, controller: false, blockOwnerDeletion: block };
}
function classified(...states: OwnerState[]): ClassifiedRef[] {
  return states.map((state, i) => ({ ref: ref(`o${i}`), state }));
}

const dependentCases: [string, ClassifiedRef[], ObjectMeta, boolean, ReturnType<typeof decideDependent>][] = [
  ['no owners: nothing', [], {}, false, { action: 'none' }],
  ['one solid owner: nothing', classified('solid'), {}, false, { action: 'none' }],
  ['every owner gone: background delete', classified('dangling', 'dangling'), {}, false, { action: 'delete', policy: 'Background' }],
  ['a solid and a gone owner: drop the gone reference', classified('solid', 'dangling'), {}, false, { action: 'removeOwnerRefs', uids: ['o1'] }],
  ['a solid and a waiting owner: drop the waiting reference', classified('waiting', 'solid'), {}, false, { action: 'removeOwnerRefs', uids: ['o0'] }],
  ['only a waiting owner, no dependents: background delete', classified('waiting'), {}, false, { action: 'delete', policy: 'Background' }],
  ['only a waiting owner, with dependents: foreground delete', classified('waiting'), {}, true, { action: 'delete', policy: 'Foreground' }],
  ['owners gone, the object asks for orphaning', classified('dangling'), { finalizers: ['orphan'] }, true, { action: 'delete', policy: 'Orphan' }],
];
for (const [title, refs, meta, hasDeps, want] of dependentCases) {
  test(`decideDependent: ${title}`, (t) => t.deepEqual(decideDependent(meta, refs, hasDeps), want));
}

const deleting = { deletionTimestamp: '2026-01-01T00:00:00Z' };
const ownerCases: [string, ObjectMeta, OwnerReference[], ReturnType<typeof decideOwner>['action']][] = [
  ['not being deleted', { finalizers: ['orphan'] }, [ref('a')], 'none'],
  ['orphan finalizer', { ...deleting, finalizers: ['orphan'] }, [ref('a')], 'orphan'],
  ['foreground with a blocking dependent', { ...deleting, finalizers: ['foregroundDeletion'] }, [ref('a', false), ref('b', true)], 'deleteDependents'],
  ['foreground with only non-blocking dependents', { ...deleting, finalizers: ['foregroundDeletion'] }, [ref('a', false)], 'finishForeground'],
  ['foreground with no dependents', { ...deleting, finalizers: ['foregroundDeletion'] }, [], 'finishForeground'],
  ['deleting with only other finalizers', { ...deleting, finalizers: ['example.com/x'] }, [ref('a')], 'none'],
];
for (const [title, meta, refs, want] of ownerCases) {
  test(`decideOwner: ${title}`, (t) => t.is(decideOwner(meta, refs).action, want));
}

// ------------------------------------------------------------------ the collector over fake caches

/** The "server": objects by kind and key; the caches are updated by hand (as informers would). */
class World {
  readonly server = new Map<KindName, Map<string, ApiObject>>();
  readonly caches = new Map<KindName, Store<ApiObject>>();
  readonly calls: string[] = [];
  constructor() {
    for (const kind of GC_KINDS) {
      this.server.set(kind, new Map());
      const uid = (o: ApiObject): string[] => (o.metadata?.uid ? [o.metadata.uid] : []);
      const owners = (o: ApiObject): string[] => (o.metadata?.ownerReferences ?? []).map((r) => r.uid ?? '');
      this.caches.set(kind, new Store<ApiObject>({ [NAMESPACE_INDEX]: namespaceIndexFunc, [UID_INDEX]: uid, [OWNER_UID_INDEX]: owners }));
    }
  }
  /** Stored and cached. */
  put(kind: KindName, obj: ApiObject, cached = true): ApiObject {
    this.server.get(kind)!.set(objectKey(obj), obj);
    if (cached) this.caches.get(kind)!.upsert(obj);
    return obj;
  }
  client(kind: KindName): KindClient {
    const objs = this.server.get(kind)!;
    return {
      get: async (name: string, namespace?: string) => {
        const o = objs.get(namespace ? `${namespace}/${name}` : name);
        if (!o) throw new NotFoundError(kind, name);
        return structuredClone(o);
      },
      update: async (o: ApiObject) => {
        this.calls.push(
          `update ${kind} ${objectKey(o)} refs=${(o.metadata?.ownerReferences ?? []).map((r) => r.uid).join(',')} finalizers=${(o.metadata?.finalizers ?? []).join(',')}`,
        );
        objs.set(objectKey(o), o);
        this.caches.get(kind)!.upsert(o);
        return o;
      },
      delete: async (name: string, opts?: DeleteOptions) => {
        const key = opts?.namespace ? `${opts.namespace}/${name}` : name;
        const o = objs.get(key);
        if (!o) throw new NotFoundError(kind, name);
        if (opts?.preconditions?.uid && opts.preconditions.uid !== o.metadata?.uid) throw new ConflictError('Precondition failed: UID');
        this.calls.push(`delete ${kind} ${key} ${opts?.propagationPolicy ?? ''}`);
        objs.delete(key);
        return o;
      },
    };
  }
}

function obj(name: string, uid: string, meta: ObjectMeta = {}): ApiObject {
  return { metadata: { name, namespace: 'default', uid, ...meta } };
}
function ownedBy(...owners: ApiObject[]): ObjectMeta {
  return {
    ownerReferences: owners.map((o) => ({
      apiVersion: 'v1',
      kind: 'ReplicationController',
      name: o.metadata?.name ?? '',
      uid: o.metadata?.uid ?? '',
      controller: false,
      blockOwnerDeletion: true,
    })),
  };
}

function collector(w: World): { gc: GarbageCollector; queue: WorkQueue<string>; drain: () => Promise<void> } {
  const queue = new WorkQueue<string>();
  const gc = new GarbageCollector({ caches: w.caches, client: (k) => w.client(k), queue, log: () => undefined });
  const drain = async (): Promise<void> => {
    while (queue.len() > 0) {
      const item = await queue.get();
      if (item.shutdown) return;
      try {
        await gc.sync(item.key);
      } finally {
        queue.done(item.key);
      }
    }
  };
  return { gc, queue, drain };
}

test('a pod whose owner is gone (live read: not found) is deleted in the background, with a uid precondition', async (t) => {
  const w = new World();
  const rc = obj('web', 'rc-1');
  w.put('Pod', obj('web-a', 'pod-a', ownedBy(rc)));
  const { gc, drain } = collector(w);
  gc.run(0);
  await drain();
  t.deepEqual(w.calls, ['delete Pod default/web-a Background']);
});

test('an owner re-created under the same name with another uid does not count', async (t) => {
  const w = new World();
  const old = obj('web', 'rc-old');
  w.put('ReplicationController', obj('web', 'rc-new'), false); // on the server, not yet cached
  w.put('Pod', obj('web-a', 'pod-a', ownedBy(old)));
  const { gc, drain } = collector(w);
  gc.run(0);
  await drain();
  t.deepEqual(w.calls, ['delete Pod default/web-a Background']);
});

test('an owner the cache has not seen yet but the server has keeps its dependents', async (t) => {
  const w = new World();
  const rc = w.put('ReplicationController', obj('web', 'rc-1'), false);
  w.put('Pod', obj('web-a', 'pod-a', ownedBy(rc)));
  const { gc, drain } = collector(w);
  gc.run(0);
  await drain();
  t.deepEqual(w.calls, []);
});

test('a dependent with one live owner and one gone owner loses only the gone reference', async (t) => {
  const w = new World();
  const live = w.put('ReplicationController', obj('live', 'rc-live'));
  const gone = obj('gone', 'rc-gone');
  w.put('Pod', obj('p', 'pod-p', ownedBy(live, gone)));
  const { gc, drain } = collector(w);
  gc.run(0);
  await drain();
  t.deepEqual(w.calls, ['update Pod default/p refs=rc-live finalizers=']);
});

test('deleting an owner (informer delete event) collects its dependents', async (t) => {
  const w = new World();
  const rc = w.put('ReplicationController', obj('web', 'rc-1'));
  w.put('Pod', obj('a', 'pod-a', ownedBy(rc)));
  w.put('Pod', obj('b', 'pod-b', ownedBy(rc)));
  w.put('Pod', obj('unrelated', 'pod-u'));
  const { gc, drain } = collector(w);
  gc.run(0);
  await drain();
  t.deepEqual(w.calls, []);
  w.server.get('ReplicationController')!.delete('default/web');
  w.caches.get('ReplicationController')!.delete('default/web');
  gc.onDelete(rc);
  await drain();
  t.deepEqual(w.calls.sort(), ['delete Pod default/a Background', 'delete Pod default/b Background']);
});

test('orphan: the owner is removed from its dependents, then the orphan finalizer from the owner', async (t) => {
  const w = new World();
  const rc = w.put('ReplicationController', obj('web', 'rc-1', { deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: ['orphan'] }));
  w.put('Pod', obj('a', 'pod-a', ownedBy(rc)));
  const { gc, drain } = collector(w);
  gc.run(0);
  await drain();
  t.deepEqual(w.calls, ['update Pod default/a refs= finalizers=', 'update ReplicationController default/web refs= finalizers=']);
});

test('foreground: dependents are deleted first; the finalizer goes when the blocking ones are gone', async (t) => {
  const w = new World();
  const rc = w.put('ReplicationController', obj('web', 'rc-1', { deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: ['foregroundDeletion'] }));
  const pod = w.put('Pod', obj('a', 'pod-a', ownedBy(rc)));
  const { gc, drain } = collector(w);
  gc.run(0);
  await drain();
  t.deepEqual(w.calls, ['delete Pod default/a Background'], 'the owner keeps its finalizer while the pod is cached');
  // The informer sees the pod go: the owner is looked at again.
  w.caches.get('Pod')!.delete('default/a');
  gc.onDelete(pod);
  await drain();
  t.deepEqual(w.calls, ['delete Pod default/a Background', 'update ReplicationController default/web refs= finalizers=']);
});

test('handlers do nothing before run(); run() finds what happened while no collector ran', async (t) => {
  const w = new World();
  const { gc, queue } = collector(w);
  const p = w.put('Pod', obj('a', 'pod-a', ownedBy(obj('web', 'rc-1'))));
  gc.onChange('Pod', p);
  t.is(queue.len(), 0);
  gc.run(0);
  t.is(queue.len(), 1);
  const item = await queue.get();
  t.is(item.key, itemKey('Pod', p));
  t.is(splitKey(objectKey(p)).name, 'a');
});
