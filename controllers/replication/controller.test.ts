import test from 'ava';
import { ApiError, ConflictError, ConnectionLostError, NotFoundError, UnavailableError } from '../../api/errors';
import type { Pod, ReplicationController } from '../../api/gen/tsk/v1/core';
import type { OwnerReference } from '../../api/gen/tsk/v1/meta';
import { FakeClock, NAMESPACE_INDEX, Store, WorkQueue, namespaceIndexFunc, objectKey, type EventRecorder } from '../../client';
import { CONTROLLER_UID_INDEX, controllerUidIndexFunc } from '../ownerrefs';
import { ReplicationManager } from './controller';
import { EXPECTATIONS_TIMEOUT_MS } from './expectations';
import type { PodControl } from './pod-control';

const RC_UID = 'rc-uid-1';

function rc(replicas: number, extra: Partial<ReplicationController['spec']> = {}): ReplicationController {
  return {
    apiVersion: 'v1',
    kind: 'ReplicationController',
    metadata: { name: 'web', namespace: 'default', uid: RC_UID, resourceVersion: '10', generation: 2 },
    spec: {
      replicas,
      selector: { app: 'web' },
      template: { metadata: { labels: { app: 'web', tier: 'fe' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
      minReadySeconds: 0,
      ...extra,
    },
    status: {},
  };
}

function owner(uid = RC_UID): OwnerReference {
  return { apiVersion: 'v1', kind: 'ReplicationController', name: 'web', uid, controller: true, blockOwnerDeletion: true };
}

let seq = 0;
function pod(
  name: string,
  opts: {
    owned?: boolean | string;
    labels?: Record<string, string>;
    node?: string;
    phase?: string;
    ready?: boolean;
    restarts?: number;
    created?: string;
    deleting?: boolean;
  } = {},
): Pod {
  const ownedBy = opts.owned === undefined || opts.owned === true ? RC_UID : opts.owned === false ? undefined : opts.owned;
  return {
    metadata: {
      name,
      namespace: 'default',
      uid: `pod-${name}`,
      resourceVersion: String(++seq),
      labels: opts.labels ?? { app: 'web', tier: 'fe' },
      creationTimestamp: opts.created ?? '2026-01-01T00:00:00Z',
      ownerReferences: ownedBy ? [owner(ownedBy)] : [],
      ...(opts.deleting ? { deletionTimestamp: '2026-01-01T00:10:00Z' } : {}),
    },
    spec: { nodeName: opts.node ?? '', containers: [] },
    status: {
      phase: opts.phase ?? 'Running',
      conditions: opts.ready ? [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' }] : [],
      containerStatuses: [{ name: 'c', restartCount: opts.restarts ?? 0 }],
    },
  };
}

/** A pod control over the test's own stores: creates name pods web-0, web-1, ... */
class FakeControl implements PodControl {
  created: Pod[] = [];
  deleted: string[] = [];
  ownerUpdates: string[] = [];
  statuses: ReplicationController[] = [];
  /** Fails the create calls with these 1-based numbers. */
  failCreates = new Set<number>();
  freshRc: ReplicationController | undefined;
  private n = 0;
  constructor(
    private readonly pods: Store<Pod>,
    private readonly rcs: Store<ReplicationController>,
  ) {}
  async createPod(p: Pod): Promise<Pod> {
    const i = ++this.n;
    await Promise.resolve();
    if (this.failCreates.has(i)) throw new Error(`pods "x" is forbidden: quota exceeded (${i})`);
    const made = { ...p, metadata: { ...p.metadata, name: `${p.metadata?.generateName}${i}`, uid: `new-${i}` } };
    this.created.push(made);
    return made;
  }
  async deletePod(namespace: string, name: string): Promise<void> {
    await Promise.resolve();
    if (!this.pods.get(`${namespace}/${name}`)) throw new NotFoundError('Pod', name);
    this.deleted.push(name);
  }
  async updateOwnerReferences(namespace: string, name: string, uid: string, change: (pod: Pod) => OwnerReference[] | undefined): Promise<boolean> {
    const cur = this.pods.get(`${namespace}/${name}`);
    if (!cur || cur.metadata?.uid !== uid) return false;
    const refs = change(cur);
    if (!refs) return false;
    this.ownerUpdates.push(`${name}:${refs.map((r) => r.uid).join(',')}`);
    return true;
  }
  async getController(namespace: string, name: string): Promise<ReplicationController> {
    const got = this.freshRc ?? this.rcs.get(`${namespace}/${name}`);
    if (!got) throw new NotFoundError('ReplicationController', name);
    return got;
  }
  async updateControllerStatus(r: ReplicationController): Promise<ReplicationController> {
    const cur = this.rcs.get(objectKey(r));
    if (cur?.metadata?.resourceVersion !== r.metadata?.resourceVersion) throw new ConflictError('stale');
    this.statuses.push(r);
    return r;
  }
}

class Events implements EventRecorder {
  readonly seen: string[] = [];
  event(_ref: unknown, type: string, reason: string, message: string): void {
    this.seen.push(`${type} ${reason} ${message}`);
  }
}

function setup(theRc: ReplicationController, pods: Pod[] = [], podsRevision?: () => string) {
  const clock = new FakeClock(Date.parse('2026-01-01T01:00:00Z'));
  const rcs = new Store<ReplicationController>({ [NAMESPACE_INDEX]: namespaceIndexFunc });
  const podStore = new Store<Pod>({ [NAMESPACE_INDEX]: namespaceIndexFunc, [CONTROLLER_UID_INDEX]: controllerUidIndexFunc });
  rcs.upsert(theRc);
  for (const p of pods) podStore.upsert(p);
  const control = new FakeControl(podStore, rcs);
  const events = new Events();
  const queue = new WorkQueue<string>({ clock });
  const m = new ReplicationManager({
    rcs,
    pods: podStore,
    podControl: control,
    recorder: events,
    clock,
    queue,
    log: () => undefined,
    ...(podsRevision ? { podsRevision } : {}),
  });
  return { clock, rcs, pods: podStore, control, events, queue, m, key: 'default/web' };
}

test('scale up creates pods from the template with a controller reference, in slow-start batches', async (t) => {
  const s = setup(rc(10));
  let inFlight = 0;
  const batches: number[] = [];
  const create = s.control.createPod.bind(s.control);
  s.control.createPod = async (p) => {
    if (inFlight === 0) batches.push(0);
    inFlight++;
    batches[batches.length - 1]!++;
    try {
      return await create(p);
    } finally {
      inFlight--;
    }
  };
  await s.m.sync(s.key);
  t.deepEqual(batches, [1, 2, 4, 3]);
  t.is(s.control.created.length, 10);
  const p = s.control.created[0]!;
  t.is(p.metadata?.generateName, 'web-');
  t.deepEqual(p.metadata?.labels, { app: 'web', tier: 'fe' });
  t.deepEqual(p.metadata?.ownerReferences, [owner()]);
  t.deepEqual(
    p.spec?.containers?.map((c) => c.image),
    ['busybox'],
  );
  t.is(s.events.seen.filter((e) => e === 'Normal SuccessfulCreate Created pod: web-1').length, 1);
  t.deepEqual(s.m.expectations.pending(s.key), { adds: 10, deletes: 0 });
});

test('a failed create stops the batches, lowers expectations for what was not created, and sets ReplicaFailure', async (t) => {
  const s = setup(rc(10));
  s.control.failCreates = new Set([4]); // first call of the third batch (1 + 2 + 4)
  const err = await t.throwsAsync(() => s.m.sync(s.key));
  t.regex(err?.message ?? '', /quota exceeded \(4\)/);
  t.is(s.control.created.length, 6); // 1 + 2 + the 3 others of the batch of 4
  t.deepEqual(s.m.expectations.pending(s.key), { adds: 6, deletes: 0 });
  t.true(s.events.seen.some((e) => e.startsWith('Warning FailedCreate Error creating: pods "x" is forbidden')));
  const status = s.control.statuses.at(-1)?.status;
  t.is(status?.conditions?.[0]?.type, 'ReplicaFailure');
  t.is(status?.conditions?.[0]?.reason, 'FailedCreate');
  t.is(status?.observedGeneration, 2);
});

/**
 * The API server stores every create, but the calls numbered in `timeouts`
 * answer DEADLINE_EXCEEDED (a loaded server); the informer delivers what
 * was created only when the test says so (it lags).
 */
function laggingSetup(
  replicas: number,
  timeouts: number[],
  failure: () => Error = () => new ApiError('Timeout', 'the API server at 127.0.0.1:6443 did not answer in time (Deadline exceeded)'),
) {
  const server: Pod[] = [];
  let delivered = 0;
  /** The informer's revision: that of the last pod it delivered, or as the test sets it. */
  let informerRevision = '0';
  const s = setup(rc(replicas), [], () => informerRevision);
  let n = 0;
  s.control.createPod = async (p) => {
    const i = ++n;
    await Promise.resolve();
    const made: Pod = { ...p, metadata: { ...p.metadata, name: `web-${i}`, uid: `new-${i}`, resourceVersion: String(++seq) } };
    server.push(made);
    if (timeouts.includes(i)) throw failure();
    return made;
  };
  /** The informer catches up by `count` pods (all when undefined). */
  const deliver = (count = server.length - delivered): void => {
    for (const p of server.slice(delivered, delivered + count)) {
      s.pods.upsert(p);
      informerRevision = p.metadata?.resourceVersion ?? informerRevision;
      s.m.onPodAdd(p);
    }
    delivered = Math.min(server.length, delivered + count);
  };
  /** A bookmark: the informer reaches `rv` without an event for these pods (one was lost). */
  const bookmark = (rv: number): void => void (informerRevision = String(rv));
  return { ...s, server, deliver, bookmark };
}

test('a create that timed out but succeeded is still expected: a lagging informer causes no second pod', async (t) => {
  const s = laggingSetup(3, [2]);
  // Batches 1 and 2: the second call times out (the pod exists all the same), the third is still made.
  await t.throwsAsync(() => s.m.sync(s.key), { message: /did not answer in time/ });
  t.is(s.server.length, 3);
  t.deepEqual(s.m.expectations.pending(s.key), { adds: 3, deletes: 0 }, 'the timed-out create may have happened');
  // The informer has seen two of the three pods when the retry runs.
  s.deliver(2);
  await s.m.sync(s.key);
  t.is(s.server.length, 3, 'no pod is created while the timed-out one may still appear');
  s.deliver();
  await s.m.sync(s.key);
  t.is(s.server.length, 3);
  t.true(s.m.expectations.satisfied(s.key));
  t.is(s.control.statuses.at(-1)?.status?.replicas, 3);
});

test('a create whose connection broke but that succeeded is still expected: no second pod', async (t) => {
  const s = laggingSetup(3, [2], () => new ConnectionLostError('the connection to the API server at 127.0.0.1:6443 broke while the call was out'));
  await t.throwsAsync(() => s.m.sync(s.key), { message: /broke while the call was out/ });
  t.is(s.server.length, 3);
  t.deepEqual(s.m.expectations.pending(s.key), { adds: 3, deletes: 0 }, 'the create may have happened');
  s.deliver(2);
  await s.m.sync(s.key);
  t.is(s.server.length, 3, 'no pod is created while the lost one may still appear');
  s.deliver();
  await s.m.sync(s.key);
  t.is(s.server.length, 3);
  t.true(s.m.expectations.satisfied(s.key));
});

test('a create refused before it was sent is not expected: the next sync makes it', async (t) => {
  const s = laggingSetup(3, [2], () => new UnavailableError('cannot reach the API server at 127.0.0.1:6443: connection refused'));
  await t.throwsAsync(() => s.m.sync(s.key), { message: /connection refused/ });
  t.deepEqual(s.m.expectations.pending(s.key), { adds: 2, deletes: 0 });
});

test('a lagging informer and a server that times out: the RC never holds more pods than wanted', async (t) => {
  // 30 replicas, a timeout in every batch but the first, and an informer that
  // delivers 2 pods between two syncs: the bench's fill in miniature.
  const s = laggingSetup(30, [2, 5, 9, 16, 20, 31, 40]);
  for (let round = 0; round < 100 && s.pods.size < 30; round++) {
    await s.m.sync(s.key).catch(() => undefined);
    t.true(s.server.length <= 30, `round ${round}: ${s.server.length} pods for 30 wanted`);
    s.deliver(2);
  }
  s.deliver();
  await s.m.sync(s.key);
  t.is(s.server.length, 30);
  t.is(s.pods.size, 30);
});

test('expectations expire only once the informer has passed the last pod created: minutes of lag make no second round', async (t) => {
  const s = laggingSetup(3, []);
  await s.m.sync(s.key);
  t.is(s.server.length, 3);
  s.deliver(1);
  // The informer is still minutes behind when the expectations' 5 minutes are up.
  await s.clock.advance(EXPECTATIONS_TIMEOUT_MS + 1);
  await s.m.sync(s.key);
  t.is(s.server.length, 3, 'its events are late, not lost: nothing created');
  s.deliver();
  await s.m.sync(s.key);
  t.is(s.server.length, 3);
  t.true(s.m.expectations.satisfied(s.key));
});

test('a pod the informer never shows though it is past its revision is replaced once the expectations expire, as before', async (t) => {
  const s = laggingSetup(3, []);
  await s.m.sync(s.key);
  s.deliver(2);
  const last = Number(s.server.at(-1)?.metadata?.resourceVersion);
  s.bookmark(last + 1);
  await s.clock.advance(EXPECTATIONS_TIMEOUT_MS + 1);
  await s.m.sync(s.key);
  t.is(s.server.length, 4, 'the missing pod is replaced after the timeout');
});

test('at most 500 pods are created per sync (burst replicas)', async (t) => {
  const s = setup(rc(700));
  await s.m.sync(s.key);
  t.is(s.control.created.length, 500);
});

test('expectations: no second round of creates until the informer saw the pods, or 5 minutes passed', async (t) => {
  const s = setup(rc(3));
  await s.m.sync(s.key);
  t.is(s.control.created.length, 3);
  await s.m.sync(s.key);
  t.is(s.control.created.length, 3, 'creates expected but not seen yet: nothing more');
  // The informer sees two of them: still one outstanding.
  for (const p of s.control.created.slice(0, 2)) {
    s.pods.upsert(p);
    s.m.onPodAdd(p);
  }
  await s.m.sync(s.key);
  t.is(s.control.created.length, 3);
  // The third event is lost; after the timeout the RC is managed again, woken by the queue.
  t.is(s.queue.len(), 1, 'the pod events queued the RC');
  await s.queue.get().then((i) => s.queue.done(i.key!));
  await s.clock.advance(EXPECTATIONS_TIMEOUT_MS + 1);
  t.is(s.queue.len(), 1, 'the sync that found expectations pending queued the RC for when they expire');
  await s.m.sync(s.key);
  t.is(s.control.created.length, 4);
});

test('deleting and finished pods do not count and are replaced', async (t) => {
  const s = setup(rc(3), [pod('a'), pod('b', { deleting: true }), pod('c', { phase: 'Succeeded' }), pod('d', { phase: 'Failed' })]);
  await s.m.sync(s.key);
  t.is(s.control.created.length, 2);
  t.is(s.control.statuses.at(-1)?.status?.replicas, 1);
});

test('scale down deletes the cheapest pods, expects their deletion, and records events', async (t) => {
  const pods = [
    pod('running-ready-old', { node: 'n1', ready: true, created: '2026-01-01T00:00:00Z' }),
    pod('unassigned', { phase: 'Pending' }),
    pod('running-notready', { node: 'n2' }),
    pod('pending-assigned', { node: 'n3', phase: 'Pending' }),
    pod('running-ready-restarts', { node: 'n4', ready: true, restarts: 3 }),
  ];
  const s = setup(rc(1), pods);
  await s.m.sync(s.key);
  t.deepEqual(s.control.deleted.sort(), ['pending-assigned', 'running-notready', 'running-ready-restarts', 'unassigned']);
  t.deepEqual(s.m.expectations.pending(s.key), { adds: 0, deletes: 4 });
  t.true(s.events.seen.includes('Normal SuccessfulDelete Deleted pod: unassigned'));
  // The informer reports them being deleted: expectations met.
  for (const name of s.control.deleted) s.m.onPodDelete(s.pods.get(`default/${name}`)!);
  t.true(s.m.expectations.satisfied(s.key));
});

test('a pod already gone when deleted is not an error and its expectation is dropped', async (t) => {
  const s = setup(rc(0), [pod('a')]);
  s.control.deletePod = async (_ns, name) => {
    throw new NotFoundError('Pod', name);
  };
  await s.m.sync(s.key);
  t.true(s.m.expectations.satisfied(s.key));
});

const claimCases: { title: string; pods: Pod[]; replicas: number; updates: string[]; creates: number; fresh?: 'other-uid' | 'deleting' }[] = [
  {
    title: 'an orphan matching the selector is adopted and counted',
    pods: [pod('orphan', { owned: false })],
    replicas: 1,
    updates: ['orphan:rc-uid-1'],
    creates: 0,
  },
  {
    title: 'an orphan not matching is left alone',
    pods: [pod('other', { owned: false, labels: { app: 'db' } })],
    replicas: 1,
    updates: [],
    creates: 1,
  },
  {
    title: 'an owned pod that no longer matches is released and replaced',
    pods: [pod('relabelled', { labels: { app: 'debug' } })],
    replicas: 1,
    updates: ['relabelled:'],
    creates: 1,
  },
  { title: "another controller's pod is never touched", pods: [pod('theirs', { owned: 'other-rc' })], replicas: 1, updates: [], creates: 1 },
  { title: 'a deleting orphan is not adopted', pods: [pod('dying', { owned: false, deleting: true })], replicas: 1, updates: [], creates: 1 },
];

for (const c of claimCases) {
  test(`claim: ${c.title}`, async (t) => {
    const s = setup(rc(c.replicas), c.pods);
    await s.m.sync(s.key);
    t.deepEqual(s.control.ownerUpdates, c.updates);
    t.is(s.control.created.length, c.creates);
  });
}

test('claim: no adoption when a fresh read shows the RC was replaced (other uid)', async (t) => {
  const s = setup(rc(1), [pod('orphan', { owned: false })]);
  s.control.freshRc = { ...rc(1), metadata: { ...rc(1).metadata, uid: 'new-uid' } };
  const err = await t.throwsAsync(() => s.m.sync(s.key));
  t.regex(err?.message ?? '', /original ReplicationController default\/web is gone/);
  t.deepEqual(s.control.ownerUpdates, []);
  t.is(s.control.created.length, 0);
});

test('an RC being deleted neither creates, adopts nor releases', async (t) => {
  const deleting = rc(3);
  deleting.metadata!.deletionTimestamp = '2026-01-01T00:59:00Z';
  const s = setup(deleting, [pod('orphan', { owned: false }), pod('relabelled', { labels: { app: 'x' } })]);
  await s.m.sync(s.key);
  t.is(s.control.created.length, 0);
  t.deepEqual(s.control.ownerUpdates, []);
});

test('status counts replicas, fully labelled, ready and available (minReadySeconds) pods and the generation', async (t) => {
  const pods = [pod('a', { ready: true }), pod('b', { ready: true, labels: { app: 'web' } }), pod('c')];
  const s = setup(rc(3, { minReadySeconds: 30 }), pods);
  // Ready since 00:00; now is 01:00, so ready long enough, except one ready a moment ago.
  pods[1]!.status!.conditions![0]!.lastTransitionTime = '2026-01-01T00:59:50Z';
  await s.m.sync(s.key);
  const status = s.control.statuses.at(-1)?.status;
  t.like(status, { replicas: 3, fullyLabeledReplicas: 2, readyReplicas: 2, availableReplicas: 1, observedGeneration: 2 });
  t.deepEqual(status?.conditions, []);
  s.rcs.upsert({ ...rc(3, { minReadySeconds: 30 }), status: status! });
  const before = s.control.statuses.length;
  await s.m.sync(s.key);
  t.is(s.control.statuses.length, before, 'unchanged status is not written again');
});

test('handlers: an orphan pod wakes the matching RC; a pod with a controller reference wakes only its RC', (t) => {
  const s = setup(rc(1));
  const other = { ...rc(1), metadata: { ...rc(1).metadata, name: 'db', uid: 'db-uid' }, spec: { ...rc(1).spec, selector: { app: 'db' } } };
  s.rcs.upsert(other);
  s.m.onPodAdd(pod('orphan', { owned: false }));
  t.is(s.queue.len(), 1);
  s.m.onPodAdd(pod('stranger', { owned: 'unknown-uid' }));
  t.is(s.queue.len(), 1, 'a controller reference to an RC not in the cache (or another uid) wakes nothing');
});
