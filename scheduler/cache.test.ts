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
  return cache.snapshot().find((n) => n.name === node)?.requested.milliCpu;
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
  const first = cache.snapshot();
  const again = cache.snapshot();
  t.is(again[0], first[0]);
  t.is(again[1], first[1]);
  put(makePod('a', { nodeName: 'n1', cpu: '100m' }));
  const afterPod = cache.snapshot();
  t.not(afterPod[0], first[0], 'n1 recounted');
  t.is(afterPod[1], first[1], 'n2 untouched');
  nodes.upsert(makeNode('n2', { cpu: '8' }));
  const afterNode = cache.snapshot();
  t.is(afterNode[1]?.allocatable.milliCpu, 8000);
  nodes.delete('n1');
  t.deepEqual(
    cache.snapshot().map((n) => n.name),
    ['n2'],
  );
});

test('a pod moving off a node (deleted) is uncounted there', (t) => {
  const { cache, pods, put } = setup();
  put(makePod('a', { nodeName: 'n1', cpu: '1' }));
  t.is(cpuOn(cache, 'n1'), 1000);
  const old = pods.delete('default/a');
  cache.podChanged(old, undefined);
  t.is(cpuOn(cache, 'n1'), 0);
});
