import test from 'ava';
import { Registry } from 'prom-client';
import { ConflictError, NotFoundError } from '../../api/errors';
import type { Node, Pod } from '../../api/gen/tsk/v1/core';
import type { ObjectReference } from '../../api/gen/tsk/v1/meta';
import { FakeClock, NODE_NAME_INDEX, Store, nodeNameIndexFunc, objectKey, type EventRecorder } from '../../client';
import { NodeLifecycleController } from './controller';
import { MESSAGE_STATUS_UNKNOWN, REASON_STATUS_UNKNOWN } from './health';
import { TAINT_UNREACHABLE } from './taints';
import { rfc3339 } from '../../util/time';

const T0 = Date.parse('2024-05-01T10:00:00Z');
const iso = (ms: number): string => rfc3339(ms);

function setup() {
  const nodes = new Store<Node>();
  const pods = new Store<Pod>({ [NODE_NAME_INDEX]: nodeNameIndexFunc });
  const clock = new FakeClock(T0);
  const calls: string[] = [];
  const events: string[] = [];
  /** Conflicts the next node updates answer (a kubelet's status post won the race). */
  const conflicts: Node[] = [];
  const nodeClient = {
    get: (name: string) => {
      calls.push(`get node ${name}`);
      const n = nodes.get(name);
      return n ? Promise.resolve(n) : Promise.reject(new NotFoundError('Node', name));
    },
    update: (n: Node) => {
      const fresh = conflicts.shift();
      if (fresh) {
        nodes.upsert(fresh);
        return Promise.reject(new ConflictError('the object has been modified'));
      }
      calls.push(`update node ${n.metadata?.name}`);
      nodes.upsert(n);
      return Promise.resolve(n);
    },
    updateStatus: (n: Node) => {
      calls.push(`updateStatus node ${n.metadata?.name}`);
      nodes.upsert(n);
      return Promise.resolve(n);
    },
  };
  const podClient = {
    updateStatus: (p: Pod) => {
      calls.push(`updateStatus pod ${p.metadata?.name}`);
      pods.upsert(p);
      return Promise.resolve(p);
    },
    delete: (name: string, o: { namespace?: string } = {}) => {
      calls.push(`delete pod ${name}`);
      const old = pods.get(`${o.namespace}/${name}`);
      if (!old) return Promise.reject(new NotFoundError('Pod', name));
      // Graceful: the pod stays with a deletionTimestamp (no kubelet in these tests).
      const gone = { ...old, metadata: { ...old.metadata, deletionTimestamp: iso(clock.now()) } };
      pods.upsert(gone);
      return Promise.resolve(gone);
    },
  };
  const recorder: EventRecorder = { event: (ref: ObjectReference, type, reason) => events.push(`${ref.kind}/${ref.name} ${type} ${reason}`) };
  const registry = new Registry();
  const c = new NodeLifecycleController(
    { nodes, pods, nodeClient, podClient, recorder, clock, registry, log: () => undefined },
    { nodeMonitorGracePeriodMs: 40_000 },
  );
  return { nodes, pods, clock, calls, events, registry, conflicts, c };
}

const readyNode = (name: string, heartbeat: number): Node => ({
  metadata: { name, creationTimestamp: iso(T0) },
  spec: {},
  status: {
    conditions: [
      { type: 'Ready', status: 'True', lastHeartbeatTime: iso(heartbeat), reason: 'KubeletReady' },
      { type: 'MemoryPressure', status: 'False', lastHeartbeatTime: iso(heartbeat) },
      { type: 'DiskPressure', status: 'False', lastHeartbeatTime: iso(heartbeat) },
      { type: 'PIDPressure', status: 'False', lastHeartbeatTime: iso(heartbeat) },
    ],
  },
});

const podOn = (name: string, node: string, tolerationSeconds?: number): Pod => ({
  metadata: { name, namespace: 'default', uid: name },
  spec: {
    nodeName: node,
    containers: [{ name: 'c', image: 'x' }],
    tolerations: tolerationSeconds === undefined ? [] : [{ key: TAINT_UNREACHABLE, operator: 'Exists', effect: 'NoExecute', tolerationSeconds }],
  },
  status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
});

const cond = (n: Node | undefined, type: string) => n?.status?.conditions?.find((c) => c.type === type);

test('a node posting heartbeats stays untouched', async (t) => {
  const { nodes, clock, calls, c } = setup();
  nodes.upsert(readyNode('n1', T0));
  await c.sync('n1');
  for (let i = 1; i <= 10; i++) {
    await clock.advance(10_000);
    nodes.upsert(readyNode('n1', clock.now()));
    await c.sync('n1');
  }
  t.deepEqual(calls, []);
});

test('a silent node becomes Unknown after the grace period, is tainted unreachable, and its pods are handled', async (t) => {
  const { nodes, pods, clock, calls, events, registry, c } = setup();
  // A second, healthy node: not every node is down.
  nodes.upsert(readyNode('n2', T0));
  nodes.upsert(readyNode('n1', T0));
  pods.upsert(podOn('plain', 'n1'));
  pods.upsert(podOn('tolerant', 'n1', 30));
  pods.upsert(podOn('elsewhere', 'n2'));
  await c.sync('n2');
  await c.sync('n1');
  await clock.advance(40_000);
  nodes.upsert(readyNode('n2', clock.now()));
  await c.sync('n1');
  t.deepEqual(calls, [], 'nothing before the grace period has passed');

  await clock.advance(1000);
  nodes.upsert(readyNode('n2', clock.now()));
  await c.sync('n2');
  await c.sync('n1');
  const n1 = nodes.get('n1');
  for (const type of ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure']) {
    t.like(cond(n1, type), { status: 'Unknown', reason: REASON_STATUS_UNKNOWN, message: MESSAGE_STATUS_UNKNOWN, lastTransitionTime: iso(clock.now()) });
  }
  t.is(cond(n1, 'Ready')?.lastHeartbeatTime, iso(T0), 'the heartbeat is what the kubelet last posted');
  t.deepEqual(
    n1?.spec?.taints?.map((x) => `${x.key}:${x.effect}`),
    [`${TAINT_UNREACHABLE}:NoSchedule`, `${TAINT_UNREACHABLE}:NoExecute`],
  );
  t.deepEqual(calls, ['updateStatus node n1', 'update node n1', 'updateStatus pod plain', 'updateStatus pod tolerant', 'delete pod plain']);
  t.is(cond(pods.get('default/tolerant') as unknown as Node, 'Ready')?.status, 'False', 'pods of the node are marked not ready');
  t.true(events.includes('Node/n1 Normal NodeNotReady'));
  t.true(events.includes('Pod/plain Normal TaintManagerEviction'));
  t.true(events.includes('Pod/tolerant Warning NodeNotReady'));

  // The tolerant pod goes when its 30 s have passed since the taint was added.
  calls.length = 0;
  await clock.advance(29_000);
  await c.sync('n1');
  t.deepEqual(calls, []);
  await clock.advance(1000);
  await c.sync('n1');
  t.deepEqual(calls, ['delete pod tolerant']);
  t.regex(await registry.metrics(), /taint_eviction_controller_pod_deletions_total 2/);
  t.truthy(pods.get('default/elsewhere') && !pods.get('default/elsewhere')?.metadata?.deletionTimestamp);
});

test('a node that comes back loses the taints', async (t) => {
  const { nodes, clock, c } = setup();
  nodes.upsert(readyNode('n2', T0));
  nodes.upsert(readyNode('n1', T0));
  await c.sync('n1');
  await clock.advance(41_000);
  nodes.upsert(readyNode('n2', clock.now()));
  await c.sync('n2');
  await c.sync('n1');
  t.is(nodes.get('n1')?.spec?.taints?.length, 2);
  const back = readyNode('n1', clock.now());
  nodes.upsert({ ...back, spec: nodes.get('n1')?.spec });
  await c.sync('n1');
  t.deepEqual(nodes.get('n1')?.spec?.taints, []);
});

test('when every node is down nothing is evicted, but NoSchedule taints are set', async (t) => {
  const { nodes, pods, clock, calls, c } = setup();
  nodes.upsert(readyNode('n1', T0));
  pods.upsert(podOn('plain', 'n1'));
  await c.sync('n1');
  await clock.advance(41_000);
  await c.sync('n1');
  t.deepEqual(
    nodes.get('n1')?.spec?.taints?.map((x) => `${x.key}:${x.effect}`),
    [`${TAINT_UNREACHABLE}:NoSchedule`],
  );
  t.false(calls.includes('delete pod plain'));
});

test('a NotReady node reported by its kubelet gets the not-ready taints; unschedulable gets its taint', async (t) => {
  const { nodes, c } = setup();
  nodes.upsert(readyNode('n2', T0));
  const n1 = readyNode('n1', T0);
  n1.status!.conditions![0]!.status = 'False';
  n1.spec = { unschedulable: true };
  nodes.upsert(n1);
  await c.sync('n1');
  t.deepEqual(
    nodes.get('n1')?.spec?.taints?.map((x) => `${x.key}:${x.effect}`),
    ['node.kubernetes.io/not-ready:NoSchedule', 'node.kubernetes.io/unschedulable:NoSchedule', 'node.kubernetes.io/not-ready:NoExecute'],
  );
});

test('a taint write that lost a race to the kubelet is redone at once on a fresh read', async (t) => {
  const { nodes, calls, conflicts, c } = setup();
  nodes.upsert(readyNode('n2', T0));
  const n1 = readyNode('n1', T0);
  n1.status!.conditions![0]!.status = 'False';
  nodes.upsert(n1);
  // Meanwhile the kubelet posted its status (still NotReady) and labelled the node.
  conflicts.push({ ...n1, metadata: { ...n1.metadata, labels: { posted: 'yes' } } });
  await c.sync('n1');
  t.deepEqual(
    calls.filter((x) => x.includes('node n1')),
    ['get node n1', 'update node n1'],
  );
  const stored = nodes.get('n1');
  t.is(stored?.metadata?.labels?.['posted'], 'yes', 'written over the fresh copy');
  t.deepEqual(
    stored?.spec?.taints?.map((x) => `${x.key}:${x.effect}`),
    ['node.kubernetes.io/not-ready:NoSchedule', 'node.kubernetes.io/not-ready:NoExecute'],
  );
});

test('a node that never posted a Ready condition is given the startup grace period', async (t) => {
  const { nodes, clock, c } = setup();
  nodes.upsert(readyNode('n2', T0));
  nodes.upsert({ metadata: { name: 'n1', creationTimestamp: iso(T0) }, spec: {}, status: {} });
  await c.sync('n1');
  await clock.advance(59_000);
  await c.sync('n1');
  t.is(cond(nodes.get('n1'), 'Ready'), undefined);
  await clock.advance(2000);
  await c.sync('n1');
  t.like(cond(nodes.get('n1'), 'Ready'), { status: 'Unknown', reason: 'NodeStatusNeverUpdated', message: 'Kubelet never posted node status.' });
});

test('deadlines re-enqueue the node: run() alone turns a silent node Unknown', async (t) => {
  const { nodes, clock, c } = setup();
  nodes.upsert(readyNode('n1', T0));
  c.run(1);
  t.teardown(() => c.stop());
  await clock.advance(45_000);
  t.is(cond(nodes.get('n1'), 'Ready')?.status, 'Unknown');
  await c.stop();
  t.is(objectKey(nodes.get('n1')!), 'n1');
});

test('the only node going silent is not tainted NoExecute even before the cache shows the Unknown status', async (t) => {
  const { nodes, pods, clock, calls, c } = setup();
  nodes.upsert(readyNode('n1', T0));
  pods.upsert(podOn('plain', 'n1'));
  await c.sync('n1');
  await clock.advance(41_000);
  // Writes do not reach the cache (a lagging informer): sync on the stale node.
  const stale = nodes.get('n1')!;
  const realUpsert = nodes.upsert.bind(nodes);
  nodes.upsert = (n: Node) => (n.metadata?.name === 'n1' ? stale : realUpsert(n));
  await c.sync('n1');
  t.deepEqual(calls, ['updateStatus node n1', 'update node n1', 'updateStatus pod plain'], 'no delete');
});
