// The scheduler against a real etcd and API server: pods get bound with a
// Scheduled event; resources, node selectors, node affinity, scheduling
// gates, taints (also numeric Gt/Lt tolerations) and cordons are honoured, with Kubernetes' FailedScheduling messages; a burst spreads; a
// restart in the middle of a burst binds every pod exactly once; topology
// spread constraints and pod anti-affinity place pods as Kubernetes does.

import test, { type ExecutionContext } from 'ava';
import type { Event, Node, Pod, Taint, Toleration } from '../api/gen/tsk/v1/core';
import { Clientset, SharedInformerFactory } from '../client';
import { main, startScheduler, type RunningScheduler } from '../scheduler';
import { freePort } from '../util/free-port';
import { eventually, startControlPlane } from './support/client-harness';
import { testTls, writeTestKubeconfig } from './support/pki';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface Cluster {
  cs: Clientset;
  /** The API server's address. */
  address: string;
  start(random?: () => number): RunningScheduler;
  logs: string[];
}

async function cluster(t: ExecutionContext): Promise<Cluster> {
  const plane = await startControlPlane(t);
  const cs = new Clientset(plane.address, (await testTls()).admin);
  t.teardown(() => cs.close());
  const logs: string[] = [];
  return {
    cs,
    address: plane.address,
    logs,
    start(random) {
      const informers = new SharedInformerFactory(cs, { onError: () => undefined });
      const s = startScheduler({ clientset: cs, informers, log: (l) => logs.push(l), ...(random ? { random } : {}) });
      t.teardown(async () => {
        await s.stop();
        await informers.stop();
      });
      return s;
    },
  };
}

interface NodeSpec {
  cpu?: string;
  labels?: Record<string, string>;
  taints?: Taint[];
  unschedulable?: boolean;
}

async function createNode(cs: Clientset, name: string, o: NodeSpec = {}): Promise<Node> {
  const created = await cs.nodes.create({
    metadata: { name, labels: o.labels ?? {} },
    spec: { unschedulable: o.unschedulable ?? false, taints: o.taints ?? [] },
  });
  const resources = { cpu: o.cpu ?? '4', memory: '8Gi', pods: '110' };
  return cs.nodes.updateStatus({
    ...created,
    status: { capacity: resources, allocatable: resources, conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady' }] },
  });
}

function pod(name: string, o: { cpu?: string; nodeSelector?: Record<string, string>; tolerations?: Toleration[] } = {}): Pod {
  return {
    metadata: { name, namespace: 'default', labels: { app: 'web' } },
    spec: {
      containers: [{ name: 'main', image: 'busybox:1.36', command: ['sleep', '3600'], resources: { requests: o.cpu ? { cpu: o.cpu } : {} } }],
      nodeSelector: o.nodeSelector ?? {},
      tolerations: o.tolerations ?? [],
    },
  };
}

async function podsByName(cs: Clientset): Promise<Map<string, Pod>> {
  const list = await cs.pods.list({ namespace: 'default' });
  return new Map((list.items ?? []).map((p) => [p.metadata?.name ?? '', p]));
}

async function eventsFor(cs: Clientset, name: string, reason: string): Promise<Event[]> {
  const list = await cs.events.list({ namespace: 'default' });
  return (list.items ?? []).filter((e) => e.involvedObject?.name === name && e.reason === reason);
}

async function waitBound(cs: Clientset, names: string[], timeoutMs = 15_000): Promise<Map<string, Pod>> {
  let pods = new Map<string, Pod>();
  await eventually(
    async () => {
      pods = await podsByName(cs);
      return names.every((n) => pods.get(n)?.spec?.nodeName);
    },
    timeoutMs,
    `pods ${names.join(', ')} bound`,
  );
  return pods;
}

/** Waits until `count` Scheduled events exist; returns every event of the namespace. */
async function untilScheduledEvents(cs: Clientset, count: number): Promise<Event[]> {
  let events: Event[] = [];
  await eventually(
    async () => {
      events = (await cs.events.list({ namespace: 'default' })).items ?? [];
      return events.filter((e) => e.reason === 'Scheduled').length === count;
    },
    10_000,
    `${count} Scheduled events`,
  );
  return events;
}

function scheduledCondition(p: Pod | undefined) {
  return p?.status?.conditions?.find((c) => c.type === 'PodScheduled');
}

test('a pod is bound to a node with a Scheduled event; metrics count it', async (t) => {
  const c = await cluster(t);
  await createNode(c.cs, 'node-1');
  const s = c.start();
  await s.started;
  await c.cs.pods.create(pod('web-1'));
  const pods = await waitBound(c.cs, ['web-1']);
  t.is(pods.get('web-1')?.spec?.nodeName, 'node-1');
  t.is(scheduledCondition(pods.get('web-1'))?.status, 'True');
  await eventually(async () => (await eventsFor(c.cs, 'web-1', 'Scheduled')).length === 1, 10_000, 'Scheduled event');
  const [ev] = await eventsFor(c.cs, 'web-1', 'Scheduled');
  t.is(ev?.type, 'Normal');
  t.is(ev?.message, 'Successfully assigned default/web-1 to node-1');
  t.is(ev?.source?.component, 'default-scheduler');
  const text = await s.registry.metrics();
  t.regex(text, /scheduler_schedule_attempts_total\{result="scheduled",profile="default-scheduler"\} 1/);
  t.regex(text, /scheduler_pending_pods\{queue="active"\} 0/);
  t.regex(text, /scheduler_scheduling_attempt_duration_seconds_count\{result="scheduled",profile="default-scheduler"\} 1/);
});

test('BindBatch binds each pod on its own: a bound pod, a gone pod and a refused caller fail only their own Binding', async (t) => {
  const c = await cluster(t);
  await createNode(c.cs, 'node-1');
  for (const name of ['b-free', 'b-free2', 'b-taken', 'b-other']) await c.cs.pods.create(pod(name));
  await c.cs.pods.bind('default', 'b-taken', 'node-1');
  // The batch is decided on the watch cache's copies: a list (a consistent read from the cache) makes sure it holds them.
  t.is((await c.cs.pods.list()).items?.length, 4);
  const results = await c.cs.pods.bindBatch([
    { namespace: 'default', name: 'b-free', nodeName: 'node-1' },
    { namespace: 'default', name: 'b-taken', nodeName: 'node-1' },
    { namespace: 'default', name: 'b-gone', nodeName: 'node-1' },
    { namespace: 'default', name: 'b-free2', nodeName: 'node-1' },
  ]);
  t.deepEqual(
    results.map((e) => e?.constructor.name),
    [undefined, 'ConflictError', 'NotFoundError', undefined],
  );
  t.regex(results[1]?.message ?? '', /pod b-taken is already assigned to node "node-1"/);
  const byName = await podsByName(c.cs);
  t.is(byName.get('b-free')?.spec?.nodeName, 'node-1');
  t.is(byName.get('b-free2')?.spec?.nodeName, 'node-1');
  // Both were written by one etcd transaction: one revision for the two.
  t.is(byName.get('b-free')?.metadata?.resourceVersion, byName.get('b-free2')?.metadata?.resourceVersion);
  t.is(byName.get('b-free')?.status?.conditions?.find((x) => x.type === 'PodScheduled')?.status, 'True');

  // Each Binding is authorized as a Bind: a node may not bind pods.
  const plane = await c.cs.pods.get('b-other', 'default');
  const nodeCs = new Clientset(c.address, await (await testTls()).credentialsFor('system:node:node-1', ['system:nodes']));
  t.teardown(() => nodeCs.close());
  const refused = await nodeCs.pods.bindBatch([{ namespace: 'default', name: 'b-other', nodeName: 'node-1', uid: plane.metadata?.uid ?? '' }]);
  t.is(refused[0]?.constructor.name, 'ForbiddenError');
  t.regex(refused[0]?.message ?? '', /cannot create resource "pods\/binding"/);
  t.is((await c.cs.pods.get('b-other', 'default')).spec?.nodeName ?? '', '');
});

test('resources are accounted: 2 nodes of 1 CPU, 3 pods of 600m -> 2 bound, 1 Pending with Insufficient cpu', async (t) => {
  const c = await cluster(t);
  await createNode(c.cs, 'node-1', { cpu: '1' });
  await createNode(c.cs, 'node-2', { cpu: '1' });
  c.start();
  for (const n of ['a', 'b', 'c']) await c.cs.pods.create(pod(n, { cpu: '600m' }));
  const message = '0/2 nodes are available: 2 Insufficient cpu.';
  let pods = new Map<string, Pod>();
  await eventually(
    async () => {
      pods = await podsByName(c.cs);
      const bound = [...pods.values()].filter((p) => p.spec?.nodeName);
      const pending = [...pods.values()].filter((p) => !p.spec?.nodeName);
      return bound.length === 2 && pending.length === 1 && scheduledCondition(pending[0])?.message === message;
    },
    15_000,
    'two bound and one unschedulable',
  );
  const bound = [...pods.values()].filter((p) => p.spec?.nodeName);
  t.deepEqual(bound.map((p) => p.spec?.nodeName).sort(), ['node-1', 'node-2'], 'one pod on each node');
  const pending = [...pods.values()].find((p) => !p.spec?.nodeName)!;
  t.is(pending.status?.phase, 'Pending');
  const cond = scheduledCondition(pending);
  t.is(cond?.status, 'False');
  t.is(cond?.reason, 'Unschedulable');
  const name = pending.metadata?.name ?? '';
  await eventually(async () => (await eventsFor(c.cs, name, 'FailedScheduling')).length > 0, 10_000, 'FailedScheduling event');
  const [ev] = await eventsFor(c.cs, name, 'FailedScheduling');
  t.is(ev?.type, 'Warning');
  t.is(ev?.message, message);

  // Deleting a bound pod frees its CPU: the pending pod is bound next.
  await c.cs.pods.delete(bound[0]!.metadata!.name!, { gracePeriodSeconds: 0 });
  const after = await waitBound(c.cs, [name]);
  t.is(after.get(name)?.spec?.nodeName, bound[0]!.spec!.nodeName);
});

test('a pod whose nodeSelector matches no node waits, and is bound soon after a matching node appears', async (t) => {
  const c = await cluster(t);
  await createNode(c.cs, 'node-1', { labels: { disk: 'hdd' } });
  c.start();
  await c.cs.pods.create(pod('wants-ssd', { nodeSelector: { disk: 'ssd' } }));
  await eventually(
    async () =>
      scheduledCondition((await podsByName(c.cs)).get('wants-ssd'))?.message ===
      "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.",
    15_000,
    'unschedulable condition',
  );
  await createNode(c.cs, 'node-ssd', { labels: { disk: 'ssd' } });
  const pods = await waitBound(c.cs, ['wants-ssd'], 5_000);
  t.is(pods.get('wants-ssd')?.spec?.nodeName, 'node-ssd');
});

test('node affinity as the documentation writes it: required terms pick the zone, preferred weights pick the node among them', async (t) => {
  const c = await cluster(t);
  await createNode(c.cs, 'east-plain', { labels: { 'topology.kubernetes.io/zone': 'antarctica-east1' } });
  await createNode(c.cs, 'east-preferred', { labels: { 'topology.kubernetes.io/zone': 'antarctica-east1', 'label-2': 'key-2' } });
  await createNode(c.cs, 'north-preferred', { labels: { 'topology.kubernetes.io/zone': 'arctic-north1', 'label-2': 'key-2' } });
  c.start();
  const p = pod('with-node-affinity');
  p.spec!.affinity = {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['antarctica-east1', 'antarctica-west1'] }] }],
      },
      preferredDuringSchedulingIgnoredDuringExecution: [
        { weight: 50, preference: { matchExpressions: [{ key: 'label-2', operator: 'In', values: ['key-2'] }] } },
      ],
    },
  };
  await c.cs.pods.create(p);
  const pods = await waitBound(c.cs, ['with-node-affinity']);
  t.is(pods.get('with-node-affinity')?.spec?.nodeName, 'east-preferred');

  const nowhere = pod('nowhere');
  nowhere.spec!.affinity = {
    nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'disktype', operator: 'Exists' }] }] } },
  };
  await c.cs.pods.create(nowhere);
  await eventually(
    async () =>
      scheduledCondition((await podsByName(c.cs)).get('nowhere'))?.message === "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.",
    15_000,
    'unschedulable condition',
  );
});

test('a pod with scheduling gates stays unbound until its last gate is removed, then is bound', async (t) => {
  const c = await cluster(t);
  await createNode(c.cs, 'node-1');
  c.start();
  const p = pod('test-pod');
  p.spec!.schedulingGates = [{ name: 'example.com/foo' }, { name: 'example.com/bar' }];
  await c.cs.pods.create(p);
  const other = await c.cs.pods.create(pod('ungated'));
  await waitBound(c.cs, [other.metadata?.name ?? '']);
  let live = await c.cs.pods.get('test-pod', 'default');
  t.falsy(live.spec?.nodeName, 'the gated pod waits while another is bound');
  t.like(scheduledCondition(live), { status: 'False', reason: 'SchedulingGated', message: 'Scheduling is blocked due to non-empty scheduling gates' });
  live = await c.cs.pods.update({ ...live, spec: { ...live.spec, schedulingGates: [{ name: 'example.com/bar' }] } });
  await new Promise((r) => setTimeout(r, 1000));
  t.falsy((await c.cs.pods.get('test-pod', 'default')).spec?.nodeName, 'one gate left');
  await c.cs.pods.update({ ...live, spec: { ...live.spec, schedulingGates: [] } });
  const pods = await waitBound(c.cs, ['test-pod']);
  t.is(pods.get('test-pod')?.spec?.nodeName, 'node-1');
});

test('tainted and cordoned nodes are avoided unless tolerated', async (t) => {
  const c = await cluster(t);
  const notReady: Taint = { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' };
  await createNode(c.cs, 'tainted', { taints: [notReady], labels: { role: 'tainted' } });
  await createNode(c.cs, 'cordoned', { unschedulable: true, labels: { role: 'cordoned' } });
  await createNode(c.cs, 'plain', { labels: { role: 'plain' } });
  c.start();
  const plain = ['p1', 'p2', 'p3', 'p4', 'p5'];
  for (const n of plain) await c.cs.pods.create(pod(n));
  await c.cs.pods.create(
    pod('tolerates-not-ready', {
      nodeSelector: { role: 'tainted' },
      tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoSchedule' }],
    }),
  );
  await c.cs.pods.create(
    pod('tolerates-cordon', {
      nodeSelector: { role: 'cordoned' },
      tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }],
    }),
  );
  await c.cs.pods.create(pod('wants-tainted', { nodeSelector: { role: 'tainted' } }));
  const pods = await waitBound(c.cs, [...plain, 'tolerates-not-ready', 'tolerates-cordon']);
  for (const n of plain) t.is(pods.get(n)?.spec?.nodeName, 'plain', n);
  t.is(pods.get('tolerates-not-ready')?.spec?.nodeName, 'tainted');
  t.is(pods.get('tolerates-cordon')?.spec?.nodeName, 'cordoned');
  await eventually(
    async () =>
      scheduledCondition((await podsByName(c.cs)).get('wants-tainted'))?.message ===
      "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 1 node(s) were unschedulable.",
    15_000,
    'wants-tainted unschedulable',
  );
  t.falsy((await podsByName(c.cs)).get('wants-tainted')?.spec?.nodeName);
});

test('a Gt toleration (KEP-5471) schedules onto the node tainted above the threshold, never the one below', async (t) => {
  const c = await cluster(t);
  const SLA = 'servicelevel.organization.example/agreed-service-level';
  await createNode(c.cs, 'sla-950', { taints: [{ key: SLA, value: '950', effect: 'NoSchedule' }] });
  await createNode(c.cs, 'sla-800', { taints: [{ key: SLA, value: '800', effect: 'NoSchedule' }] });
  c.start();
  // The pod of the documentation's pod-with-numeric-toleration.yaml, three times: the 800 node never fits.
  const names = ['numeric-1', 'numeric-2', 'numeric-3'];
  for (const n of names) await c.cs.pods.create(pod(n, { tolerations: [{ key: SLA, operator: 'Gt', value: '900', effect: 'NoSchedule' }] }));
  await c.cs.pods.create(pod('lt-900', { tolerations: [{ key: SLA, operator: 'Lt', value: '900', effect: 'NoSchedule' }] }));
  const pods = await waitBound(c.cs, [...names, 'lt-900']);
  for (const n of names) t.is(pods.get(n)?.spec?.nodeName, 'sla-950', n);
  t.is(pods.get('lt-900')?.spec?.nodeName, 'sla-800');
  const err = await c.cs.pods.create(pod('bad', { tolerations: [{ key: SLA, operator: 'Gt', value: '0900' }] })).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.regex(String(err), /spec\.tolerations\[0\]\.value.*must be a valid decimal integer in canonical form/);
});

test('a burst of 20 pods spreads about evenly over 2 equal nodes', async (t) => {
  const c = await cluster(t);
  await createNode(c.cs, 'node-1');
  await createNode(c.cs, 'node-2');
  const s = c.start();
  await s.started;
  const names = Array.from({ length: 20 }, (_, i) => `burst-${i}`);
  await Promise.all(names.map((n) => c.cs.pods.create(pod(n))));
  const pods = await waitBound(c.cs, names);
  const per = new Map<string, number>();
  for (const p of pods.values()) per.set(p.spec?.nodeName ?? '', (per.get(p.spec?.nodeName ?? '') ?? 0) + 1);
  t.log(Object.fromEntries(per));
  for (const node of ['node-1', 'node-2']) {
    const n = per.get(node) ?? 0;
    t.true(n >= 9 && n <= 11, `${node} got ${n} of 20`);
  }
});

test('a scheduler restart in the middle of a burst binds every pod exactly once', async (t) => {
  const c = await cluster(t);
  for (const n of ['node-1', 'node-2', 'node-3']) await createNode(c.cs, n, { cpu: '1' });
  // Every change of every pod's nodeName, as watched from the start.
  const changes: string[] = [];
  const watch = c.cs.pods.watch({ namespace: 'default' });
  t.teardown(() => watch.cancel());
  const seen = new Map<string, string>();
  void (async () => {
    try {
      for await (const ev of watch) {
        const name = ev.object.metadata?.name ?? '';
        const node = ev.object.spec?.nodeName ?? '';
        const before = seen.get(name) ?? '';
        if (node !== before) changes.push(`${name}: "${before}" -> "${node}"`);
        seen.set(name, node);
      }
    } catch {
      // cancelled at teardown
    }
  })();
  const first = c.start();
  await first.started;
  const names = Array.from({ length: 24 }, (_, i) => `r-${i}`);
  await Promise.all(names.map((n) => c.cs.pods.create(pod(n, { cpu: '100m' }))));
  let boundAtRestart = 0;
  await eventually(
    async () => {
      boundAtRestart = [...(await podsByName(c.cs)).values()].filter((p) => p.spec?.nodeName).length;
      return boundAtRestart >= 4;
    },
    15_000,
    'some pods bound',
  );
  t.log(`${boundAtRestart} of ${names.length} pods bound when the scheduler restarted`);
  // The old instance stops while the new one starts: both may try the same pods.
  const stopping = first.stop();
  const second = c.start();
  await stopping;
  await second.started;
  const pods = await waitBound(c.cs, names);
  t.log(`binds refused as already done: ${c.logs.filter((l) => l.startsWith('not binding')).length}`);
  await eventually(async () => seen.size === names.length && names.every((n) => seen.get(n)), 10_000, 'watch caught up');
  t.is(changes.length, names.length, changes.join('\n'));
  for (const ch of changes) t.regex(ch, /: "" -> "node-\d"$/);
  const per = new Map<string, number>();
  for (const p of pods.values()) per.set(p.spec?.nodeName ?? '', (per.get(p.spec?.nodeName ?? '') ?? 0) + 1);
  for (const [node, n] of per) t.true(n <= 10, `${node} holds ${n} pods of 100m on 1 CPU`);
  const events = await untilScheduledEvents(c.cs, names.length);
  for (const n of names) {
    const evs = events.filter((e) => e.reason === 'Scheduled' && e.involvedObject?.name === n);
    t.is(evs.length, 1, n);
    t.is(evs[0]?.count, 1, n);
  }
});

test('tsk scheduler (main) schedules, serves /readyz and /metrics, and stops on SIGTERM', async (t) => {
  const c = await cluster(t);
  await createNode(c.cs, 'node-1');
  const http = `127.0.0.1:${await freePort()}`;
  const log = console.log;
  console.log = () => undefined;
  t.teardown(() => {
    console.log = log;
  });
  const dir = await mkdtemp(join(tmpdir(), 'tsk-sched-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const kubeconfig = await writeTestKubeconfig(join(dir, 'config'), c.cs.address);
  const exited = main(['--server', c.cs.address, '--kubeconfig', kubeconfig, '--http-address', http]);
  await c.cs.pods.create(pod('via-main'));
  await waitBound(c.cs, ['via-main']);
  await eventually(async () => (await fetch(`http://${http}/readyz`).catch(() => undefined))?.status === 200, 10_000, '/readyz 200');
  const metrics = await (await fetch(`http://${http}/metrics`)).text();
  t.regex(metrics, /scheduler_schedule_attempts_total\{result="scheduled",profile="default-scheduler"\} 1/);
  process.emit('SIGTERM');
  t.is(await exited, 0);
  await t.throwsAsync(fetch(`http://${http}/healthz`));
});

test('two instances racing for the same pods (as in a rolling restart) bind each pod once, without errors to the user', async (t) => {
  const c = await cluster(t);
  for (const n of ['node-1', 'node-2']) await createNode(c.cs, n);
  const a = c.start();
  const b = c.start();
  await Promise.all([a.started, b.started]);
  const names = Array.from({ length: 30 }, (_, i) => `race-${i}`);
  await Promise.all(names.map((n) => c.cs.pods.create(pod(n))));
  const pods = await waitBound(c.cs, names);
  t.is(pods.size, names.length);
  const refused = c.logs.filter((l) => l.startsWith('not binding'));
  t.log(`binds refused as already done: ${refused.length}`);
  for (const l of refused) t.regex(l, /already assigned|being deleted|not found/i);
  const events = await untilScheduledEvents(c.cs, names.length);
  t.deepEqual(
    events.filter((e) => e.reason === 'FailedScheduling'),
    [],
  );
  for (const p of pods.values()) {
    const evs = events.filter((e) => e.reason === 'Scheduled' && e.involvedObject?.name === p.metadata?.name);
    t.is(evs.length, 1);
    t.is(evs[0]?.message, `Successfully assigned default/${p.metadata?.name ?? ''} to ${p.spec?.nodeName ?? ''}`);
  }
});

test('a pod that finishes frees its node: a pending pod is bound there next', async (t) => {
  const c = await cluster(t);
  await createNode(c.cs, 'node-1', { cpu: '1' });
  c.start();
  await c.cs.pods.create(pod('job', { cpu: '800m' }));
  await waitBound(c.cs, ['job']);
  await c.cs.pods.create(pod('next', { cpu: '800m' }));
  await eventually(
    async () => scheduledCondition((await podsByName(c.cs)).get('next'))?.message === '0/1 nodes are available: 1 Insufficient cpu.',
    15_000,
    'next unschedulable',
  );
  const job = (await podsByName(c.cs)).get('job')!;
  await c.cs.pods.updateStatus({ ...job, status: { ...job.status, phase: 'Succeeded' } });
  const pods = await waitBound(c.cs, ['next'], 5_000);
  t.is(pods.get('next')?.spec?.nodeName, 'node-1');
});

const ZONE = 'topology.kubernetes.io/zone';
const HOSTNAME = 'kubernetes.io/hostname';

/** A pod labelled app=db that spreads over zones (maxSkew 1) and, with antiAffinity, refuses a node that has another app=db pod. */
function spreadPod(name: string, antiAffinity: boolean): Pod {
  const base = pod(name);
  const selector = { matchLabels: { app: 'db' } };
  return {
    ...base,
    metadata: { ...base.metadata, labels: { app: 'db' } },
    spec: {
      ...base.spec,
      topologySpreadConstraints: [{ maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: 'DoNotSchedule', labelSelector: selector }],
      ...(antiAffinity
        ? { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: selector, topologyKey: HOSTNAME }] } } }
        : {}),
    },
  };
}

test('topologySpreadConstraints spread pods evenly over zones of unequal size', async (t) => {
  const c = await cluster(t);
  await createNode(c.cs, 'a-1', { labels: { [ZONE]: 'zone-a', [HOSTNAME]: 'a-1' } });
  await createNode(c.cs, 'a-2', { labels: { [ZONE]: 'zone-a', [HOSTNAME]: 'a-2' } });
  await createNode(c.cs, 'b-1', { labels: { [ZONE]: 'zone-b', [HOSTNAME]: 'b-1' } });
  c.start();
  const names = ['db-1', 'db-2', 'db-3', 'db-4', 'db-5', 'db-6'];
  for (const n of names) await c.cs.pods.create(spreadPod(n, false));
  const pods = await waitBound(c.cs, names);
  const zoneOf = (node: string): string => (node.startsWith('a-') ? 'zone-a' : 'zone-b');
  const perZone = new Map<string, number>();
  for (const n of names) {
    const z = zoneOf(pods.get(n)?.spec?.nodeName ?? '');
    perZone.set(z, (perZone.get(z) ?? 0) + 1);
  }
  // Without the constraint, 3 equal nodes would take 2 pods each (4 in zone-a); the constraint holds it at 3 and 3.
  t.deepEqual(Object.fromEntries(perZone), { 'zone-a': 3, 'zone-b': 3 });
});

test("pod anti-affinity keeps two pods apart; the third stays Pending with Kubernetes' message until one goes", async (t) => {
  const c = await cluster(t);
  await createNode(c.cs, 'node-1', { labels: { [ZONE]: 'zone-a', [HOSTNAME]: 'node-1' } });
  await createNode(c.cs, 'node-2', { labels: { [ZONE]: 'zone-b', [HOSTNAME]: 'node-2' } });
  // Lacks the zone label: no pod with a zone spread constraint may go there.
  await createNode(c.cs, 'node-3', { labels: { [HOSTNAME]: 'node-3' } });
  c.start();
  await c.cs.pods.create(spreadPod('db-1', true));
  await c.cs.pods.create(spreadPod('db-2', true));
  const bound = await waitBound(c.cs, ['db-1', 'db-2']);
  t.deepEqual([bound.get('db-1')?.spec?.nodeName, bound.get('db-2')?.spec?.nodeName].sort(), ['node-1', 'node-2']);
  await c.cs.pods.create(spreadPod('db-3', true));
  const message =
    "0/3 nodes are available: 1 node(s) didn't match pod topology spread constraints (missing required label), 2 node(s) didn't match pod anti-affinity rules.";
  await eventually(async () => scheduledCondition((await podsByName(c.cs)).get('db-3'))?.message === message, 15_000, 'db-3 unschedulable');
  await eventually(async () => (await eventsFor(c.cs, 'db-3', 'FailedScheduling')).some((e) => e.message === message), 10_000, 'FailedScheduling event');
  t.falsy((await podsByName(c.cs)).get('db-3')?.spec?.nodeName);
  // Deleting db-2 frees its node: db-3 goes exactly there.
  const freed = bound.get('db-2')?.spec?.nodeName;
  await c.cs.pods.delete('db-2', { gracePeriodSeconds: 0 });
  const after = await waitBound(c.cs, ['db-3']);
  t.is(after.get('db-3')?.spec?.nodeName, freed);
});
