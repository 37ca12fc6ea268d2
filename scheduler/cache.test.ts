import test from 'ava';
import type { Node, Pod } from '../api/gen/tsk/v1/core';
import { NODE_NAME_INDEX, Store, nodeNameIndexFunc } from '../client';
import { SchedulerCache } from './cache';
import { makeNode, makePod } from './testing';

function setup() {
  const nodes = new Store<Node>();
  const pods = new Store<Pod>({ [NODE_NAME_INDEX]: nodeNameIndexFunc });
  const cache = new SchedulerCache(nodes, pods);
  /** Writes a pod to the informer store and tells the cache, as the handlers do. */
  const put = (pod: Pod): void => cache.podChanged(pods.upsert(pod), pod);
  nodes.upsert(makeNode('n1', { cpu: '2' }));
  nodes.upsert(makeNode('n2', { cpu: '2' }));
  return { nodes, pods, cache, put };
}

function cpuOn(cache: SchedulerCache, node: string): number | undefined {
  return cache.snapshot().nodes.find((n) => n.name === node)?.requested.milliCpu;
}

test('bound non-terminal pods count on their node; finished ones do not', (t) => {
  const { cache, put } = setup();
  put(makePod('a', { nodeName: 'n1', cpu: '500m', phase: 'Running' }));
  put(makePod('done', { nodeName: 'n1', cpu: '1', phase: 'Succeeded' }));
  put(makePod('failed', { nodeName: 'n1', cpu: '1', phase: 'Failed' }));
  put(makePod('pending', { cpu: '1' }));
  t.is(cpuOn(cache, 'n1'), 500);
  t.is(cpuOn(cache, 'n2'), 0);
});

test('an assumed pod counts at once, and once only when the informer shows it bound', (t) => {
  const { cache, pods, put } = setup();
  const pod = makePod('a', { cpu: '300m' });
  put(pod);
  cache.assume('default/a', pods.get('default/a')!, 'n2');
  t.true(cache.isAssumed('default/a'));
  t.is(cpuOn(cache, 'n2'), 300);
  // The informer sees the bind before the assumption is confirmed: not counted twice.
  put(makePod('a', { cpu: '300m', nodeName: 'n2' }));
  t.is(cpuOn(cache, 'n2'), 300);
  cache.confirm('default/a');
  t.false(cache.isAssumed('default/a'));
  t.is(cpuOn(cache, 'n2'), 300);
});

test('forget() releases the node at once', (t) => {
  const { cache, pods, put } = setup();
  put(makePod('a', { cpu: '1' }));
  cache.assume('default/a', pods.get('default/a')!, 'n1');
  t.is(cpuOn(cache, 'n1'), 1000);
  cache.forget('default/a');
  t.is(cpuOn(cache, 'n1'), 0);
  t.is(cache.assumedCount, 0);
});

test('NodeInfos are reused until their node or its pods change', (t) => {
  const { cache, nodes, put } = setup();
  const [n1, n2] = cache.snapshot().nodes;
  const again = cache.snapshot().nodes;
  t.is(again[0], n1);
  t.is(again[1], n2);
  put(makePod('a', { nodeName: 'n1', cpu: '100m' }));
  const afterPod = cache.snapshot().nodes;
  t.not(afterPod[0], n1, 'n1 recounted');
  t.is(afterPod[1], n2, 'n2 untouched');
  const bigger = makeNode('n2', { cpu: '8' });
  cache.nodeChanged(nodes.upsert(bigger), bigger);
  const afterNode = cache.snapshot().nodes;
  t.is(afterNode[1]?.allocatable.milliCpu, 8000);
  cache.nodeChanged(nodes.delete('n1'), undefined);
  t.deepEqual(
    cache.snapshot().nodes.map((n) => n.name),
    ['n2'],
  );
});

test('the snapshot keeps its node order; new nodes go last; only changed nodes are rebuilt', (t) => {
  const { cache, nodes } = setup();
  t.deepEqual(
    cache.snapshot().nodes.map((n) => n.name),
    ['n1', 'n2'],
  );
  const n0 = makeNode('n0');
  cache.nodeChanged(nodes.upsert(n0), n0);
  const snap = cache.snapshot().nodes;
  t.deepEqual(
    snap.map((n) => n.name),
    ['n1', 'n2', 'n0'],
  );
  const [i1, i2] = snap;
  cache.nodeChanged(nodes.delete('n1'), undefined);
  const n3 = makeNode('n3');
  cache.nodeChanged(nodes.upsert(n3), n3);
  const after = cache.snapshot().nodes;
  t.deepEqual(
    after.map((n) => n.name),
    ['n2', 'n0', 'n3'],
  );
  t.is(after[0], i2, 'n2 unchanged: the same NodeInfo');
  t.not(after[0], i1);
  // A node changed in the lister without an event is not re-read: the informer handlers must report it.
  nodes.upsert(makeNode('n2', { cpu: '16' }));
  t.is(cache.snapshot().nodes[0], i2);
});

test('a node deleted in the same snapshot as a later node changes: the later node is updated in its own slot', (t) => {
  const { cache, nodes, put } = setup();
  const n3 = makeNode('n3');
  cache.nodeChanged(nodes.upsert(n3), n3);
  t.deepEqual(
    cache.snapshot().nodes.map((n) => n.name),
    ['n1', 'n2', 'n3'],
  );
  cache.nodeChanged(nodes.delete('n1'), undefined);
  put(makePod('a', { nodeName: 'n3', cpu: '700m' }));
  put(makePod('b', { nodeName: 'n2', cpu: '300m' }));
  const snap = cache.snapshot().nodes;
  t.deepEqual(
    snap.map((n) => [n.name, n.requested.milliCpu]),
    [
      ['n2', 300],
      ['n3', 700],
    ],
  );
  const n4 = makeNode('n4');
  cache.nodeChanged(nodes.upsert(n4), n4);
  put(makePod('c', { nodeName: 'n3', cpu: '100m' }));
  t.deepEqual(
    cache.snapshot().nodes.map((n) => [n.name, n.requested.milliCpu]),
    [
      ['n2', 300],
      ['n3', 800],
      ['n4', 0],
    ],
  );
});

test('an assumption updates its node at the next snapshot', (t) => {
  const { cache, pods, put } = setup();
  const [n1] = cache.snapshot().nodes;
  put(makePod('a', { cpu: '250m' }));
  t.is(cache.snapshot().nodes[0], n1, 'a pending pod changes no node');
  cache.assume('default/a', pods.get('default/a')!, 'n1');
  const assumed = cache.snapshot().nodes[0];
  t.is(assumed?.requested.milliCpu, 250);
  t.is(assumed?.pods.length, 1);
});

test('the nodes with pod (anti-)affinity are listed apart and kept up to date', (t) => {
  const { cache, put, pods } = setup();
  const anti = {
    podAntiAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'x' } }, topologyKey: 'kubernetes.io/hostname' }],
    },
  };
  t.deepEqual(cache.snapshot().withAffinity, []);
  put(makePod('a', { nodeName: 'n2', affinity: anti }));
  put(makePod('b', { nodeName: 'n1', cpu: '1' }));
  let snap = cache.snapshot();
  t.deepEqual(
    snap.withAffinity.map((n) => n.name),
    ['n2'],
  );
  t.is(snap.withRequiredAntiAffinity[0], snap.nodes[1], 'the current NodeInfo of n2');
  const old = pods.delete('default/a');
  cache.podChanged(old, undefined);
  snap = cache.snapshot();
  t.deepEqual(snap.withAffinity, []);
  t.deepEqual(snap.withRequiredAntiAffinity, []);
});

test('a pod moving off a node (deleted) is uncounted there', (t) => {
  const { cache, pods, put } = setup();
  put(makePod('a', { nodeName: 'n1', cpu: '1' }));
  t.is(cpuOn(cache, 'n1'), 1000);
  const old = pods.delete('default/a');
  cache.podChanged(old, undefined);
  t.is(cpuOn(cache, 'n1'), 0);
});
