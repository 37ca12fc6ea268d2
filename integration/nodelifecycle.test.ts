// The node controllers against a real etcd and API server, with short
// durations from their options: a node whose heartbeats stop becomes
// Unknown, is tainted unreachable and loses the pods that do not tolerate it
// (DefaultTolerationSeconds gives every pod 300 s); nodes get distinct pod
// CIDRs that survive a controller restart; pods of a deleted node are
// removed by the pod GC.

import test from 'ava';
import { Clientset, SharedInformerFactory } from '../client';
import type { Node, Pod } from '../api/gen/tsk/v1/core';
import { startControllerManager } from '../controllers/manager';
import { nodeControllerEntries, parseNodeControllerFlags } from '../controllers/node-flags';
import { newNodeIpamController } from '../controllers/nodeipam/controller';
import { CONTROLLERS } from '../controllers/registry';
import { newNodeLifecycleController } from '../controllers/nodelifecycle/controller';
import { newPodGcController } from '../controllers/podgc/controller';
import { eventually, startControlPlane } from './support/client-harness';
import { runControllers } from './support/controllers';
import { testTls } from './support/pki';
import { rfc3339 } from '../util/time';

const UNREACHABLE = 'node.kubernetes.io/unreachable';
const now = (): string => rfc3339(Date.now());

/** Posts a Ready heartbeat for the node, as its kubelet does. */
async function heartbeat(cs: Clientset, name: string): Promise<void> {
  const node = await cs.nodes.get(name);
  const old = (node.status?.conditions ?? []).find((c) => c.type === 'Ready');
  const ready = {
    type: 'Ready',
    status: 'True',
    reason: 'KubeletReady',
    message: 'kubelet is posting ready status',
    lastHeartbeatTime: now(),
    lastTransitionTime: old?.status === 'True' ? old.lastTransitionTime : now(),
  };
  await cs.nodes.updateStatus({ ...node, status: { ...node.status, conditions: [ready] } });
}

/** Heartbeats every 500 ms until stopped (conflicts with the controller's writes are retried next beat). */
function keepBeating(cs: Clientset, name: string): { stop: () => Promise<void> } {
  let running = true;
  const loop = (async () => {
    while (running) {
      await heartbeat(cs, name).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

const podOn = (name: string, nodeName: string, extra: Partial<NonNullable<Pod['spec']>> = {}): Pod => ({
  metadata: { name, namespace: 'default' },
  spec: { nodeName, containers: [{ name: 'c', image: 'busybox:1.36' }], ...extra },
});

const taintsOf = (n: Node): string[] => (n.spec?.taints ?? []).map((x) => `${x.key}:${x.effect}`).sort();

async function podOrUndefined(cs: Clientset, name: string): Promise<Pod | undefined> {
  try {
    return await cs.pods.get(name, 'default');
  } catch {
    return undefined;
  }
}

test('a node whose heartbeat stops becomes Unknown, is tainted unreachable, and its non-tolerating pods are deleted', async (t) => {
  const plane = await startControlPlane(t);
  const { clientset: cs } = await runControllers(t, plane.address, (ctx) => [
    newNodeLifecycleController(ctx, { nodeMonitorGracePeriodMs: 4000, nodeMonitorPeriodMs: 500 }),
  ]);
  for (const name of ['n1', 'n2']) {
    await cs.nodes.create({ metadata: { name } });
    await heartbeat(cs, name);
  }
  const beats = { n1: keepBeating(cs, 'n1'), n2: keepBeating(cs, 'n2') };
  t.teardown(async () => Promise.all([beats.n1.stop(), beats.n2.stop()]));

  // DefaultTolerationSeconds: a pod without its own gets 300 s for both taints.
  const patient = await cs.pods.create(podOn('patient', 'n1'));
  t.deepEqual(
    patient.spec?.tolerations?.map((x) => `${x.key}:${x.effect}:${x.tolerationSeconds}`),
    ['node.kubernetes.io/not-ready:NoExecute:300', `${UNREACHABLE}:NoExecute:300`],
  );
  await cs.pods.create(podOn('quick', 'n1', { tolerations: [{ key: UNREACHABLE, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 1 }] }));
  await cs.pods.create(podOn('elsewhere', 'n2'));
  for (const name of ['patient', 'quick']) {
    const p = await cs.pods.get(name, 'default');
    await cs.pods.updateStatus({ ...p, status: { ...p.status, phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } });
  }
  // Two seconds of healthy heartbeats: nothing happens to n1.
  await new Promise((r) => setTimeout(r, 2000));
  t.deepEqual(taintsOf(await cs.nodes.get('n1')), []);

  await beats.n1.stop();
  await eventually(async () => taintsOf(await cs.nodes.get('n1')).length === 2, 15_000, 'n1 tainted unreachable');
  const n1 = await cs.nodes.get('n1');
  t.deepEqual(taintsOf(n1), [`${UNREACHABLE}:NoExecute`, `${UNREACHABLE}:NoSchedule`]);
  t.like(
    n1.status?.conditions?.find((c) => c.type === 'Ready'),
    { status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' },
  );

  // The pod tolerating 1 s is deleted (gracefully: no kubelet is left to finish it); the others stay.
  await eventually(async () => !!(await podOrUndefined(cs, 'quick'))?.metadata?.deletionTimestamp, 15_000, 'quick deleted');
  await eventually(
    async () => (await cs.pods.get('patient', 'default')).status?.conditions?.find((c) => c.type === 'Ready')?.status === 'False',
    15_000,
    'patient marked not ready',
  );
  t.falsy((await cs.pods.get('patient', 'default')).metadata?.deletionTimestamp);
  t.falsy((await cs.pods.get('elsewhere', 'default')).metadata?.deletionTimestamp);
  t.deepEqual(taintsOf(await cs.nodes.get('n2')), []);

  // The kubelet comes back: the taints go.
  beats.n1 = keepBeating(cs, 'n1');
  await eventually(async () => taintsOf(await cs.nodes.get('n1')).length === 0, 15_000, 'n1 untainted');
});

test('nodes get distinct pod CIDRs that survive a controller restart; a full range waits for a release', async (t) => {
  const plane = await startControlPlane(t);
  const options = { clusterCidr: '10.200.0.0/22', nodeCidrMaskSize: 24, fullRetryMs: 200 };
  const first = await runControllers(t, plane.address, (ctx) => [newNodeIpamController(ctx, options)]);
  const cs = first.clientset;
  for (const name of ['a', 'b', 'c']) await cs.nodes.create({ metadata: { name } });
  const cidrs = async (): Promise<Record<string, string>> =>
    Object.fromEntries((await cs.nodes.list()).items?.map((n) => [n.metadata?.name ?? '', n.spec?.podCIDR ?? '']) ?? []);
  await eventually(async () => Object.values(await cidrs()).every((c) => c !== ''), 15_000, 'every node has a podCIDR');
  const before = await cidrs();
  t.is(new Set(Object.values(before)).size, 3, 'distinct');
  for (const n of (await cs.nodes.list()).items ?? []) t.deepEqual(n.spec?.podCIDRs, [n.spec?.podCIDR]);

  // A new controller (fresh memory) rebuilds from the nodes: the fourth node gets the one subnet left.
  await first.stop();
  const second = await runControllers(t, plane.address, (ctx) => [newNodeIpamController(ctx, options)]);
  const cs2 = second.clientset;
  await cs2.nodes.create({ metadata: { name: 'd' } });
  await eventually(async () => (await cs2.nodes.get('d')).spec?.podCIDR !== '', 15_000, 'd has a podCIDR');
  const after = Object.fromEntries((await cs2.nodes.list()).items?.map((n) => [n.metadata?.name ?? '', n.spec?.podCIDR ?? '']) ?? []);
  t.deepEqual({ a: after['a'], b: after['b'], c: after['c'] }, before);
  t.is(new Set(Object.values(after)).size, 4);

  // Full: e waits (Event CIDRNotAvailable) until a node is deleted.
  await cs2.nodes.create({ metadata: { name: 'e' } });
  await eventually(
    async () => ((await cs2.events.list({ namespace: '' })).items ?? []).some((ev) => ev.reason === 'CIDRNotAvailable' && ev.involvedObject?.name === 'e'),
    15_000,
    'a CIDRNotAvailable event for e',
  );
  t.falsy((await cs2.nodes.get('e')).spec?.podCIDR);
  await cs2.nodes.delete('b');
  await eventually(async () => (await cs2.nodes.get('e')).spec?.podCIDR === before['b'], 15_000, "e gets b's subnet");
});

test('the pod GC removes the pods of a deleted node after the quarantine', async (t) => {
  const plane = await startControlPlane(t);
  const { clientset: cs } = await runControllers(t, plane.address, (ctx) => [newPodGcController(ctx, { quarantineMs: 500, gcCheckPeriodMs: 200 })]);
  await cs.nodes.create({ metadata: { name: 'n1' } });
  await cs.nodes.create({ metadata: { name: 'n2' } });
  await cs.pods.create(podOn('on-n1', 'n1'));
  await cs.pods.create(podOn('on-n2', 'n2'));
  await cs.pods.create(podOn('on-ghost', 'ghost'));
  // A terminating pod of n1: deleted gracefully, it waits for a kubelet that will not come.
  await cs.pods.create(podOn('terminating', 'n1'));
  await cs.pods.delete('terminating', { namespace: 'default' });
  t.truthy((await cs.pods.get('terminating', 'default')).metadata?.deletionTimestamp);

  await eventually(async () => (await podOrUndefined(cs, 'on-ghost')) === undefined, 15_000, 'the pod of a node that never existed removed');
  t.truthy(await podOrUndefined(cs, 'on-n1'));

  await cs.nodes.delete('n1');
  await eventually(
    async () => (await podOrUndefined(cs, 'on-n1')) === undefined && (await podOrUndefined(cs, 'terminating')) === undefined,
    15_000,
    'the pods of n1 removed',
  );
  t.truthy(await podOrUndefined(cs, 'on-n2'));
});

test('the controller manager runs the node controllers with options parsed from their flags', async (t) => {
  const plane = await startControlPlane(t);
  const cs = new Clientset(plane.address, (await testTls()).admin);
  const informers = new SharedInformerFactory(cs, { onError: () => undefined });
  const options = parseNodeControllerFlags({ 'cluster-cidr': '10.201.0.0/16', 'node-cidr-mask-size': '26' }, (m) => new Error(m));
  const manager = await startControllerManager({
    clientset: cs,
    informers,
    controllers: ['nodeipam', 'nodelifecycle', 'podgc', 'endpoints'],
    table: { ...CONTROLLERS, ...nodeControllerEntries(options) },
    log: () => undefined,
  });
  t.teardown(async () => {
    await manager.stop();
    cs.close();
  });
  await cs.nodes.create({ metadata: { name: 'm1' } });
  await eventually(async () => (await cs.nodes.get('m1')).spec?.podCIDR === '10.201.0.0/26', 15_000, 'm1 gets a /26 of 10.201.0.0/16');
  t.regex(await manager.registry.metrics(), /workqueue_adds_total\{name="cidrallocator_node"\} [1-9]/);
});
