import test from 'ava';
import type { Node, Pod } from '../api/gen/tsk/v1/core';
import { FakeClock, NODE_NAME_INDEX, Store, nodeNameIndexFunc } from '../client';
import { SchedulerCache } from './cache';
import { nodeEventHandlers, podEventHandlers, schedulingRelevantNodeChange } from './handlers';
import { SchedulingQueue } from './queue/scheduling-queue';
import { makeNode, makePod } from './testing';

function setup() {
  const clock = new FakeClock();
  const queue = new SchedulingQueue({ clock });
  const cache = new SchedulerCache(new Store<Node>(), new Store<Pod>({ [NODE_NAME_INDEX]: nodeNameIndexFunc }));
  let stopped = false;
  return {
    queue,
    cache,
    clock,
    pods: podEventHandlers(queue, cache, () => stopped),
    nodes: nodeEventHandlers(queue, cache, () => stopped),
    stop: () => (stopped = true),
  };
}

/** Parks a pod as unschedulable. */
async function park(s: ReturnType<typeof setup>, pod: Pod): Promise<void> {
  s.pods.onAdd?.(pod);
  const info = await s.queue.pop();
  s.queue.requeueUnschedulable(info!);
  await s.clock.advance(10_000); // past its back-off, so a move goes to active
}

test('pods: only unbound, non-terminating pods of the default scheduler are queued', (t) => {
  const s = setup();
  const deleting = makePod('deleting');
  deleting.metadata!.deletionTimestamp = '2026-01-01T00:00:00Z';
  for (const p of [makePod('mine'), makePod('bound', { nodeName: 'n1' }), makePod('other', { schedulerName: 'custom' }), deleting]) s.pods.onAdd?.(p);
  t.deepEqual(s.queue.lengths(), { active: 1, backoff: 0, unschedulable: 0 });
  t.is(s.queue.where('default/mine'), 'active');
  s.queue.close();
});

test('pods: seen bound, a pod leaves the queue and its assumption is confirmed', (t) => {
  const s = setup();
  const pod = makePod('p');
  s.pods.onAdd?.(pod);
  s.cache.assume('default/p', pod, 'n1');
  s.pods.onUpdate?.(pod, makePod('p', { nodeName: 'n1' }));
  t.is(s.queue.where('default/p'), undefined);
  t.false(s.cache.isAssumed('default/p'));
  s.queue.close();
});

test('pods: a bound pod that finishes or is deleted retries parked pods; an unbound one deleted does not', async (t) => {
  const s = setup();
  await park(s, makePod('waiting'));
  const running = makePod('r', { nodeName: 'n1', phase: 'Running' });
  s.pods.onUpdate?.(running, makePod('r', { nodeName: 'n1', phase: 'Running' }));
  t.is(s.queue.where('default/waiting'), 'unschedulable');
  s.pods.onUpdate?.(running, makePod('r', { nodeName: 'n1', phase: 'Succeeded' }));
  t.is(s.queue.where('default/waiting'), 'active');

  const again = (await s.queue.pop())!;
  s.queue.requeueUnschedulable(again);
  await s.clock.advance(10_000);
  s.pods.onDelete?.(makePod('unbound-other'));
  t.is(s.queue.where('default/waiting'), 'unschedulable');
  s.pods.onDelete?.(makePod('r', { nodeName: 'n1' }));
  t.is(s.queue.where('default/waiting'), 'active');
  s.queue.close();
});

test('pods: a pod that becomes terminating leaves the queue', (t) => {
  const s = setup();
  const pod = makePod('p');
  s.pods.onAdd?.(pod);
  const deleting = makePod('p');
  deleting.metadata!.deletionTimestamp = '2026-01-01T00:00:00Z';
  s.pods.onUpdate?.(pod, deleting);
  t.is(s.queue.where('default/p'), undefined);
  s.queue.close();
});

test('nodes: an added node or a relevant change retries parked pods; a heartbeat does not', async (t) => {
  const s = setup();
  await park(s, makePod('waiting'));
  const node = makeNode('n1');
  const heartbeat: Node = { ...node, status: { ...node.status, conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: '2026-01-01T00:01:00Z' }] } };
  s.nodes.onUpdate?.(node, heartbeat);
  t.is(s.queue.where('default/waiting'), 'unschedulable');
  s.nodes.onUpdate?.(node, makeNode('n1', { labels: { disk: 'ssd' } }));
  t.is(s.queue.where('default/waiting'), 'active');

  s.queue.requeueUnschedulable((await s.queue.pop())!);
  await s.clock.advance(10_000);
  s.nodes.onAdd?.(makeNode('n2'));
  t.is(s.queue.where('default/waiting'), 'active');
  s.queue.close();
});

test('schedulingRelevantNodeChange: cordon, taints, labels and allocatable count; resync (same object) does not', (t) => {
  const node = makeNode('n');
  t.false(schedulingRelevantNodeChange(node, node));
  t.true(schedulingRelevantNodeChange(node, makeNode('n', { unschedulable: true })));
  t.true(schedulingRelevantNodeChange(node, makeNode('n', { taints: [{ key: 'k', effect: 'NoSchedule' }] })));
  t.true(schedulingRelevantNodeChange(node, makeNode('n', { cpu: '8' })));
  t.false(schedulingRelevantNodeChange(node, makeNode('n')));
});

test('after stop, events are ignored', (t) => {
  const s = setup();
  s.stop();
  s.pods.onAdd?.(makePod('p'));
  t.deepEqual(s.queue.lengths(), { active: 0, backoff: 0, unschedulable: 0 });
  s.queue.close();
});

test('pods: a gated pod waits outside the queue until the update that lifts its last gate', (t) => {
  const s = setup();
  const gated = makePod('gated');
  gated.spec!.schedulingGates = [{ name: 'example.com/foo' }, { name: 'example.com/bar' }];
  s.pods.onAdd?.(gated);
  t.is(s.queue.where('default/gated'), undefined);
  const oneLeft: Pod = { ...gated, spec: { ...gated.spec, schedulingGates: [{ name: 'example.com/bar' }] } };
  s.pods.onUpdate?.(gated, oneLeft);
  t.is(s.queue.where('default/gated'), undefined, 'one gate is still held');
  s.pods.onUpdate?.(oneLeft, { ...oneLeft, spec: { ...oneLeft.spec, schedulingGates: [] } });
  t.is(s.queue.where('default/gated'), 'active');
  s.queue.close();
});

test('pods: a pod bound, or a bound pod relabelled, retries only parked pods with pod affinity or spread constraints', async (t) => {
  const s = setup();
  const term = { labelSelector: { matchLabels: { app: 'cache' } }, topologyKey: 'kubernetes.io/hostname' };
  await park(s, makePod('plain'));
  await park(s, makePod('near', { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term] } } }));
  const spreadConstraint = { maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: {} };
  await park(s, makePod('spread', { topologySpreadConstraints: [spreadConstraint] }));
  s.pods.onAdd?.(makePod('cache', { nodeName: 'n1', labels: { app: 'cache' } }));
  t.is(s.queue.where('default/plain'), 'unschedulable');
  t.is(s.queue.where('default/near'), 'active');
  t.is(s.queue.where('default/spread'), 'active');
  // A status-only update of a bound pod changes nothing; a label change may.
  await s.queue.pop();
  const popped = await s.queue.pop();
  s.queue.requeueUnschedulable(popped!);
  await s.clock.advance(10_000);
  const before = makePod('c2', { nodeName: 'n1', labels: { app: 'x' } });
  s.pods.onUpdate?.(before, { ...before, status: { phase: 'Running' } });
  t.is(s.queue.where(popped!.key), 'unschedulable');
  s.pods.onUpdate?.(before, makePod('c2', { nodeName: 'n1', labels: { app: 'cache' } }));
  t.is(s.queue.where(popped!.key), 'active');
  s.queue.close();
});
