import test from 'ava';
import { Registry } from 'prom-client';
import { ApiError, ConflictError, InternalError, UnavailableError } from '../api/errors';
import type { Node, Pod } from '../api/gen/tsk/v1/core';
import type { ObjectReference } from '../api/gen/tsk/v1/meta';
import { FakeClock, NODE_NAME_INDEX, Store, nodeNameIndexFunc, type BindRequestOf, type EventRecorder } from '../client';
import { SchedulerCache } from './cache';
import { SchedulerMetrics } from './metrics';
import { SchedulingQueue } from './queue/scheduling-queue';
import { Scheduler, needsScheduling, type PodApi } from './scheduler';
import { makeNode, makePod } from './testing';

/** A pod store that reports changes to the cache, as the informer's handlers do. */
class PodStore extends Store<Pod> {
  listener: ((oldPod: Pod | undefined, pod: Pod | undefined) => void) | undefined;
  constructor() {
    super({ [NODE_NAME_INDEX]: nodeNameIndexFunc });
  }
  override upsert(obj: Pod): Pod | undefined {
    const old = super.upsert(obj);
    this.listener?.(old, obj);
    return old;
  }
  override delete(key: string): Pod | undefined {
    const old = super.delete(key);
    if (old) this.listener?.(old, undefined);
    return old;
  }
}

interface RecordedEvent {
  name: string;
  type: string;
  reason: string;
  message: string;
}

/** The API as the scheduler sees it: binds and status writes land in the pod store, as the informer would show them. */
class FakePodApi implements PodApi {
  binds: string[] = [];
  /** The size of each BindBatch call. */
  batches: number[] = [];
  statusWrites: Pod[] = [];
  bindError: Error | undefined;
  statusConflicts = 0;
  /** Binds wait until release() when true. */
  hold = false;
  private held: (() => void)[] = [];

  constructor(private readonly pods: PodStore) {}

  async bind(namespace: string, name: string, nodeName: string): Promise<Pod> {
    if (this.hold) await new Promise<void>((resolve) => this.held.push(resolve));
    if (this.bindError) throw this.bindError;
    const pod = this.pods.get(`${namespace}/${name}`);
    if (!pod) throw new Error('no such pod');
    if (pod.spec?.nodeName) throw new ConflictError(`pod ${name} is already assigned to node "${pod.spec.nodeName}"`);
    this.binds.push(`${name}->${nodeName}`);
    const bound = { ...pod, spec: { ...pod.spec, nodeName } };
    this.pods.upsert(bound);
    return bound;
  }

  /** As the server: each pod bound or refused on its own. */
  async bindBatch(requests: readonly BindRequestOf[]): Promise<(ApiError | undefined)[]> {
    this.batches.push(requests.length);
    return Promise.all(
      requests.map((r) =>
        this.bind(r.namespace, r.name, r.nodeName).then(
          () => undefined,
          (err: unknown) => (err instanceof ApiError ? err : new InternalError(String(err))),
        ),
      ),
    );
  }

  release(): void {
    this.hold = false;
    for (const r of this.held.splice(0)) r();
  }

  async get(name: string, namespace?: string): Promise<Pod> {
    const pod = this.pods.get(`${namespace ?? 'default'}/${name}`);
    if (!pod) throw new Error('no such pod');
    return pod;
  }

  async updateStatus(pod: Pod): Promise<Pod> {
    if (this.statusConflicts > 0) {
      this.statusConflicts--;
      throw new ConflictError('the object has been modified');
    }
    this.statusWrites.push(pod);
    const stored = { ...pod, metadata: { ...pod.metadata, resourceVersion: String(Number(pod.metadata?.resourceVersion ?? '0') + 1) } };
    this.pods.upsert(stored);
    return stored;
  }
}

class FakeRecorder implements EventRecorder {
  events: RecordedEvent[] = [];
  event(object: ObjectReference, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.events.push({ name: object.name ?? '', type, reason, message });
  }
}

interface Harness {
  nodes: Store<Node>;
  pods: PodStore;
  api: FakePodApi;
  recorder: FakeRecorder;
  queue: SchedulingQueue;
  cache: SchedulerCache;
  scheduler: Scheduler;
  registry: Registry;
  clock: FakeClock;
  logs: string[];
  /** Adds pods to the store and queue. */
  submit(...pods: Pod[]): void;
  /** Pops and schedules until the active queue is empty, then waits for binds. */
  run(): Promise<void>;
}

function harness(nodes: Node[], random: () => number = () => 0, maxBindsInFlight?: number): Harness {
  const clock = new FakeClock();
  const nodeStore = new Store<Node>();
  const podStore = new PodStore();
  for (const n of nodes) nodeStore.upsert(n);
  const api = new FakePodApi(podStore);
  const recorder = new FakeRecorder();
  const queue = new SchedulingQueue({ clock });
  const cache = new SchedulerCache(nodeStore, podStore);
  podStore.listener = (oldPod, pod) => cache.podChanged(oldPod, pod);
  const registry = new Registry();
  const metrics = new SchedulerMetrics(registry, () => queue.lengths());
  const logs: string[] = [];
  const scheduler = new Scheduler({
    queue,
    cache,
    pods: podStore,
    api,
    recorder,
    metrics,
    clock,
    random,
    log: (l) => logs.push(l),
    ...(maxBindsInFlight === undefined ? {} : { maxBindsInFlight }),
  });
  return {
    nodes: nodeStore,
    pods: podStore,
    api,
    recorder,
    queue,
    cache,
    scheduler,
    registry,
    clock,
    logs,
    submit(...pods: Pod[]) {
      for (const p of pods) {
        podStore.upsert(p);
        queue.add(p);
      }
    },
    async run() {
      while (queue.lengths().active > 0) scheduler.scheduleOne((await queue.pop())!);
      await scheduler.drain();
    },
  };
}

function nodeOf(h: Harness, name: string): string | undefined {
  return h.pods.get(`default/${name}`)?.spec?.nodeName || undefined;
}

function podScheduled(h: Harness, name: string) {
  return h.pods.get(`default/${name}`)?.status?.conditions?.find((c) => c.type === 'PodScheduled');
}

async function metric(h: Harness, name: string, labels: Record<string, string>): Promise<number> {
  const m = await h.registry.getSingleMetric(name)?.get();
  const v = m?.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v?.value ?? 0;
}

test('needsScheduling: unbound, not terminating, default scheduler', (t) => {
  t.true(needsScheduling(makePod('a')));
  t.true(needsScheduling(makePod('a', { schedulerName: 'default-scheduler' })));
  t.false(needsScheduling(makePod('a', { schedulerName: 'my-scheduler' })));
  t.false(needsScheduling(makePod('a', { nodeName: 'n1' })));
  const deleting = makePod('a');
  deleting.metadata!.deletionTimestamp = '2026-01-01T00:00:00Z';
  t.false(needsScheduling(deleting));
  const gated = makePod('a');
  gated.spec!.schedulingGates = [{ name: 'example.com/foo' }];
  t.false(needsScheduling(gated), 'a gated pod waits');
});

test('binds a pod, records Scheduled and counts the attempt', async (t) => {
  const h = harness([makeNode('node-1')]);
  h.submit(makePod('web-1'));
  await h.run();
  t.deepEqual(h.api.binds, ['web-1->node-1']);
  t.deepEqual(h.recorder.events, [{ name: 'web-1', type: 'Normal', reason: 'Scheduled', message: 'Successfully assigned default/web-1 to node-1' }]);
  t.is(await metric(h, 'scheduler_schedule_attempts_total', { result: 'scheduled' }), 1);
  t.is(h.queue.where('default/web-1'), undefined);
});

test('binds in flight are bounded: bindSlot() waits at the limit and frees a slot as each Bind ends', async (t) => {
  const h = harness([makeNode('n1'), makeNode('n2')], () => 0, 2);
  h.api.hold = true;
  h.submit(makePod('a'), makePod('b'), makePod('c'));
  t.is(h.scheduler.bindSlot(), undefined, 'no Bind in flight: the next cycle starts at once');
  h.scheduler.scheduleOne((await h.queue.pop())!);
  t.is(h.scheduler.bindSlot(), undefined, 'one of two');
  h.scheduler.scheduleOne((await h.queue.pop())!);
  const slot = h.scheduler.bindSlot();
  t.truthy(slot, 'two of two: the loop waits');
  let freed = false;
  void slot!.then(() => (freed = true));
  await Promise.resolve();
  t.false(freed);
  h.api.release();
  await h.scheduler.drain();
  t.true(freed, 'a finished Bind frees a slot');
  t.is(h.scheduler.bindSlot(), undefined);
  h.scheduler.scheduleOne((await h.queue.pop())!);
  await h.scheduler.drain();
  t.is(h.api.binds.length, 3);
});

test('the binds of a run of cycles leave together in one BindBatch call, sent by drain()', async (t) => {
  const h = harness([makeNode('n1'), makeNode('n2')]);
  h.submit(makePod('a'), makePod('b'), makePod('c'));
  for (let i = 0; i < 3; i++) h.scheduler.scheduleOne((await h.queue.pop())!);
  await Promise.resolve();
  t.deepEqual(h.api.binds, [], 'held in the batch until flushed');
  await h.scheduler.drain();
  t.deepEqual(h.api.batches, [3]);
  t.is(h.api.binds.length, 3);
  t.is(h.recorder.events.filter((e) => e.reason === 'Scheduled').length, 3);
});

test('assumed pods count at once: two 600m pods on two 1-CPU nodes go to different nodes before any bind returns', async (t) => {
  const h = harness([makeNode('n1', { cpu: '1' }), makeNode('n2', { cpu: '1' })]);
  h.api.hold = true;
  h.submit(makePod('a', { cpu: '600m' }), makePod('b', { cpu: '600m' }), makePod('c', { cpu: '600m' }));
  for (let i = 0; i < 3; i++) h.scheduler.scheduleOne((await h.queue.pop())!);
  t.is(h.cache.assumedCount, 2);
  h.api.release();
  await h.scheduler.drain();
  t.deepEqual([nodeOf(h, 'a'), nodeOf(h, 'b')].sort(), ['n1', 'n2']);
  t.is(nodeOf(h, 'c'), undefined);
  const cond = podScheduled(h, 'c');
  t.is(cond?.status, 'False');
  t.is(cond?.reason, 'Unschedulable');
  t.is(cond?.message, '0/2 nodes are available: 2 Insufficient cpu.');
  t.deepEqual(
    h.recorder.events.filter((e) => e.type === 'Warning'),
    [{ name: 'c', type: 'Warning', reason: 'FailedScheduling', message: '0/2 nodes are available: 2 Insufficient cpu.' }],
  );
  t.is(h.queue.where('default/c'), 'unschedulable');
  t.is(await metric(h, 'scheduler_schedule_attempts_total', { result: 'unschedulable' }), 1);
});

test('the PodScheduled condition is written only when it changes', async (t) => {
  const h = harness([makeNode('n1', { cpu: '1' })]);
  h.submit(makePod('big', { cpu: '2' }));
  await h.run();
  t.is(h.api.statusWrites.length, 1);
  const first = podScheduled(h, 'big');
  h.queue.moveAllToActiveOrBackoff();
  await h.clock.advance(1000);
  await h.run();
  t.is(h.api.statusWrites.length, 1, 'same message: no second write');
  t.is(h.recorder.events.filter((e) => e.reason === 'FailedScheduling').length, 2, 'the event repeats (the recorder aggregates)');
  const n2 = makeNode('n2', { cpu: '1', taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }] });
  h.cache.nodeChanged(h.nodes.upsert(n2), n2);
  h.queue.moveAllToActiveOrBackoff();
  await h.clock.advance(2000);
  await h.run();
  t.is(h.api.statusWrites.length, 2);
  const second = podScheduled(h, 'big');
  t.is(second?.message, '0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }.');
  t.is(second?.lastTransitionTime, first?.lastTransitionTime, 'still False: the transition time stays');
});

test('a status write conflict re-reads the pod and retries', async (t) => {
  const h = harness([makeNode('n1', { cpu: '1' })]);
  h.api.statusConflicts = 1;
  h.submit(makePod('big', { cpu: '2' }));
  await h.run();
  t.is(h.api.statusWrites.length, 1);
  t.is(podScheduled(h, 'big')?.reason, 'Unschedulable');
});

test('no nodes: Kubernetes message, pod parked', async (t) => {
  const h = harness([]);
  h.submit(makePod('p'));
  await h.run();
  t.is(podScheduled(h, 'p')?.message, 'no nodes available to schedule pods');
  t.is(h.queue.where('default/p'), 'unschedulable');
});

test('a pod already bound by someone else is not retried and its assumption is dropped', async (t) => {
  const h = harness([makeNode('n1')]);
  h.submit(makePod('p'));
  const info = (await h.queue.pop())!;
  // Another scheduler binds it between our informer's view and our Bind.
  h.api.hold = true;
  h.scheduler.scheduleOne(info);
  h.pods.upsert({ ...h.pods.get('default/p')!, spec: { ...h.pods.get('default/p')!.spec, nodeName: 'elsewhere' } });
  h.api.release();
  await h.scheduler.drain();
  t.deepEqual(h.api.binds, []);
  t.false(h.cache.isAssumed('default/p'));
  t.is(h.queue.where('default/p'), undefined);
  t.deepEqual(h.recorder.events, []);
  t.is(h.api.statusWrites.length, 0);
});

test('a failed bind forgets the assumption and retries after the back-off', async (t) => {
  const h = harness([makeNode('n1', { cpu: '1' })]);
  h.api.bindError = new UnavailableError('connection lost');
  h.submit(makePod('p', { cpu: '600m' }));
  await h.run();
  t.false(h.cache.isAssumed('default/p'));
  t.is(h.queue.where('default/p'), 'backoff');
  t.is(podScheduled(h, 'p')?.reason, 'SchedulerError');
  t.is(await metric(h, 'scheduler_schedule_attempts_total', { result: 'error' }), 1);
  h.api.bindError = undefined;
  await h.clock.advance(1000);
  await h.run();
  t.is(nodeOf(h, 'p'), 'n1');
});

test('a burst of pods of one controller spreads evenly over equal nodes', async (t) => {
  let seed = 7;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const h = harness([makeNode('n1'), makeNode('n2')], random);
  h.api.hold = true;
  for (let i = 0; i < 20; i++) h.submit(makePod(`web-${i}`, { owner: 'web' }));
  while (h.queue.lengths().active > 0) h.scheduler.scheduleOne((await h.queue.pop())!);
  h.api.release();
  await h.scheduler.drain();
  const counts = new Map<string, number>();
  for (const p of h.pods.list()) counts.set(p.spec?.nodeName ?? '', (counts.get(p.spec?.nodeName ?? '') ?? 0) + 1);
  t.deepEqual(Object.fromEntries(counts), { n1: 10, n2: 10 });
});

test('filters: taints, cordon and nodeSelector steer the pod', async (t) => {
  const h = harness([
    makeNode('tainted', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }),
    makeNode('cordoned', { unschedulable: true }),
    makeNode('plain', { labels: { disk: 'hdd' } }),
    makeNode('ssd', { labels: { disk: 'ssd' } }),
  ]);
  h.submit(
    makePod('wants-ssd', { nodeSelector: { disk: 'ssd' } }),
    makePod('gpu-job', { nodeSelector: { disk: 'none' }, tolerations: [] }),
    makePod('tolerant', { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }], nodeSelector: {} }),
  );
  await h.run();
  t.is(nodeOf(h, 'wants-ssd'), 'ssd');
  t.is(nodeOf(h, 'gpu-job'), undefined);
  t.is(
    podScheduled(h, 'gpu-job')?.message,
    "0/4 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) were unschedulable, 2 node(s) didn't match Pod's node affinity/selector.",
  );
  t.not(nodeOf(h, 'tolerant'), 'cordoned');
  t.truthy(nodeOf(h, 'tolerant'));
});

test('filters: a Gt toleration (KEP-5471) admits a node whose taint value is above the threshold, not one below', async (t) => {
  const SLA = 'servicelevel.organization.example/agreed-service-level';
  const h = harness([
    makeNode('sla-950', { taints: [{ key: SLA, value: '950', effect: 'NoSchedule' }] }),
    makeNode('sla-800', { taints: [{ key: SLA, value: '800', effect: 'NoSchedule' }] }),
  ]);
  h.submit(
    makePod('numeric', { tolerations: [{ key: SLA, operator: 'Gt', value: '900', effect: 'NoSchedule' }] }),
    makePod('too-strict', { tolerations: [{ key: SLA, operator: 'Gt', value: '960', effect: 'NoSchedule' }] }),
  );
  await h.run();
  t.is(nodeOf(h, 'numeric'), 'sla-950');
  t.is(nodeOf(h, 'too-strict'), undefined);
  t.is(
    podScheduled(h, 'too-strict')?.message,
    `0/2 nodes are available: 1 node(s) had untolerated taint {${SLA}: 800}, 1 node(s) had untolerated taint {${SLA}: 950}.`,
  );
});

test('a pod deleted or bound before its cycle is skipped', async (t) => {
  const h = harness([makeNode('n1')]);
  h.submit(makePod('gone'), makePod('bound'));
  h.pods.delete('default/gone');
  h.pods.upsert(makePod('bound', { nodeName: 'n1' }));
  await h.run();
  t.deepEqual(h.api.binds, []);
  t.deepEqual(h.queue.lengths(), { active: 0, backoff: 0, unschedulable: 0 });
});
