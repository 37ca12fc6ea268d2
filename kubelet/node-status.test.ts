// The Node the kubelet registers and the status it posts: capacity and
// allocatable, addresses, nodeInfo, conditions and their times; register
// creates or adopts; updates retry conflicts.

import test from 'ava';
import { AlreadyExistsError, ConflictError, NotFoundError } from '../api/errors';
import type { Node } from '../api/gen/tsk/v1/core';
import { FakeClock } from '../client';
import {
  allocatable,
  goArch,
  initialNode,
  memTotalKi,
  NodeStatusReporter,
  nodeStatus,
  nodeStatusChanged,
  osImage,
  type MachineInfo,
  type NodeConfig,
} from './node-status';

const machine: MachineInfo = {
  cpus: 4,
  memoryKi: 16_000_000,
  kernelVersion: '6.1.0-18-amd64',
  osImage: 'Debian GNU/Linux 12 (bookworm)',
  architecture: 'amd64',
  machineID: 'm1',
  bootID: 'b1',
};
const config: NodeConfig = {
  nodeName: 'worker-1',
  nodeIP: '192.0.2.7',
  maxPods: 110,
  systemReserved: { cpu: '500m', memory: '1Gi' },
  podCIDR: '',
  runtimeVersion: 'tsk://0.1.0',
  kubeletPort: 10248,
};
const READY = { ready: true, reason: 'KubeletReady', message: 'kubelet is posting ready status' };

test('machine facts', (t) => {
  t.is(memTotalKi('MemTotal:       24567420 kB\nMemFree: 1 kB\n'), 24_567_420);
  t.throws(() => memTotalKi('nothing'), { message: /MemTotal/ });
  t.is(osImage('NAME="Debian"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n'), 'Debian GNU/Linux 12 (bookworm)');
  t.is(goArch('x64'), 'amd64');
  t.is(goArch('arm64'), 'arm64');
});

test('the registered Node: name, labels, podCIDR from the flag', (t) => {
  t.deepEqual(initialNode(machine, { ...config, podCIDR: '10.244.1.0/24' }), {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'worker-1', labels: { 'kubernetes.io/hostname': 'worker-1', 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' } },
    spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'] },
  });
});

test('capacity, allocatable (minus system-reserved), addresses, nodeInfo', (t) => {
  const s = nodeStatus(machine, config, undefined, READY, Date.parse('2026-01-01T00:00:00Z'));
  t.deepEqual(s.capacity, { cpu: '4', memory: '16000000Ki', pods: '110' });
  t.deepEqual(s.allocatable, { cpu: '3500m', memory: '14601Mi', pods: '110' }, 'canonical form, as Kubernetes prints quantities');
  t.deepEqual(s.addresses, [
    { type: 'InternalIP', address: '192.0.2.7' },
    { type: 'Hostname', address: 'worker-1' },
  ]);
  t.like(s.nodeInfo, {
    kernelVersion: '6.1.0-18-amd64',
    osImage: 'Debian GNU/Linux 12 (bookworm)',
    operatingSystem: 'linux',
    architecture: 'amd64',
    containerRuntimeVersion: 'tsk://0.1.0',
    machineID: 'm1',
    bootID: 'b1',
  });
  t.deepEqual(s.daemonEndpoints, { kubeletEndpoint: { port: 10248 } });
  t.deepEqual(allocatable({ cpu: '1' }, { cpu: '2' }), { cpu: '0' }, 'never below zero');
});

test('conditions: heartbeat moves every time, transition only on change', (t) => {
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  const first = nodeStatus(
    machine,
    config,
    undefined,
    { ready: false, reason: 'KubeletNotReady', message: 'network not ready: the node has no podCIDR yet' },
    t0,
  );
  t.deepEqual(
    first.conditions?.map((c) => `${c.type}=${c.status} ${c.reason ?? ''}`),
    [
      'MemoryPressure=False KubeletHasSufficientMemory',
      'DiskPressure=False KubeletHasNoDiskPressure',
      'PIDPressure=False KubeletHasSufficientPID',
      'Ready=False KubeletNotReady',
    ],
  );
  const second = nodeStatus(machine, config, first, { ready: false, reason: 'KubeletNotReady', message: 'x' }, t0 + 10_000);
  const ready = nodeStatus(machine, config, second, READY, t0 + 20_000);
  const r = (s: typeof first): { lastHeartbeatTime?: string | undefined; lastTransitionTime?: string | undefined } =>
    s.conditions?.find((c) => c.type === 'Ready') ?? {};
  t.is(r(second).lastHeartbeatTime, '2026-01-01T00:00:10Z');
  t.is(r(second).lastTransitionTime, '2026-01-01T00:00:00Z');
  t.is(r(ready).lastTransitionTime, '2026-01-01T00:00:20Z');
  t.is(ready.conditions?.find((c) => c.type === 'MemoryPressure')?.lastTransitionTime, '2026-01-01T00:00:00Z');
});

class FakeNodes {
  nodes = new Map<string, Node>();
  conflicts = 0;
  statusWrites = 0;
  rv = 1;
  gets = 0;
  async create(n: Node): Promise<Node> {
    const name = n.metadata?.name ?? '';
    if (this.nodes.has(name)) throw new AlreadyExistsError('Node', name);
    const stored = { ...n, metadata: { ...n.metadata, resourceVersion: String(this.rv++) } };
    this.nodes.set(name, stored);
    return stored;
  }
  async get(name: string): Promise<Node> {
    this.gets++;
    const n = this.nodes.get(name);
    if (!n) throw new NotFoundError('Node', name);
    return n;
  }
  async update(n: Node): Promise<Node> {
    const stored = { ...n, metadata: { ...n.metadata, resourceVersion: String(this.rv++) } };
    this.nodes.set(n.metadata?.name ?? '', stored);
    return stored;
  }
  /** The resourceVersion each status post carried. */
  statusPreconditions: string[] = [];
  /** As the server: the status replaces the stored one (spec and metadata kept); a resourceVersion given must be the stored one. */
  async updateStatus(n: Node): Promise<Node> {
    if (this.conflicts > 0) {
      this.conflicts--;
      throw new ConflictError('the object has been modified');
    }
    const name = n.metadata?.name ?? '';
    const cur = this.nodes.get(name);
    const rv = n.metadata?.resourceVersion ?? '';
    this.statusPreconditions.push(rv);
    if (!cur) throw new NotFoundError('Node', name);
    if (rv !== '' && rv !== cur.metadata?.resourceVersion) throw new ConflictError('the object has been modified');
    this.statusWrites++;
    return this.update({ ...cur, status: n.status });
  }
}

function reporter(
  nodes: FakeNodes,
  clock: FakeClock,
  cfg: Partial<NodeConfig> = {},
  notReady: () => string | undefined = () => undefined,
): { r: NodeStatusReporter; cidrs: string[] } {
  const cidrs: string[] = [];
  const r = new NodeStatusReporter({
    nodes: nodes as never,
    machine,
    config: { ...config, ...cfg },
    clock,
    intervalMs: 10_000,
    random: () => 0,
    notReady,
    onNode: (n) => cidrs.push(n.spec?.podCIDR ?? ''),
    log: () => undefined,
  });
  return { r, cidrs };
}

test('register creates the Node, or adopts an existing one (labels merged, podCIDR set once)', async (t) => {
  const nodes = new FakeNodes();
  const clock = new FakeClock();
  const created = await reporter(nodes, clock).r.register();
  t.is(created.metadata?.labels?.['kubernetes.io/os'], 'linux');
  nodes.nodes.set('worker-1', { metadata: { name: 'worker-1', labels: { zone: 'a' } }, spec: {} });
  const adopted = await reporter(nodes, clock, { podCIDR: '10.244.2.0/24' }).r.register();
  t.deepEqual(adopted.metadata?.labels, { zone: 'a', 'kubernetes.io/hostname': 'worker-1', 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' });
  t.is(adopted.spec?.podCIDR, '10.244.2.0/24');
});

test('the heartbeat posts now and every interval, retries conflicts, and reports readiness', async (t) => {
  const nodes = new FakeNodes();
  const clock = new FakeClock();
  let why: string | undefined = 'network not ready: the node has no podCIDR yet';
  const { r } = reporter(nodes, clock, {}, () => why);
  await r.register();
  nodes.conflicts = 2;
  r.start();
  await clock.advance(0);
  t.is(nodes.statusWrites, 1, 'the first post survived two conflicts');
  t.is(nodes.nodes.get('worker-1')?.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'False');
  why = undefined;
  await clock.advance(10_000);
  t.is(nodes.statusWrites, 2);
  const ready = nodes.nodes.get('worker-1')?.status?.conditions?.find((c) => c.type === 'Ready');
  t.is(ready?.status, 'True');
  t.is(ready?.message, 'kubelet is posting ready status');
  await r.stop();
  await clock.advance(60_000);
  t.is(nodes.statusWrites, 2, 'no posts after stop');
});

test('a Node deleted behind the kubelet is registered again; Ready changes are reported once', async (t) => {
  const nodes = new FakeNodes();
  const clock = new FakeClock();
  const changes: string[] = [];
  let why: string | undefined;
  const r = new NodeStatusReporter({
    nodes: nodes as never,
    machine,
    config,
    clock,
    intervalMs: 10_000,
    random: () => 0,
    notReady: () => why,
    onNode: () => undefined,
    onReadyChange: (n, ready) => changes.push(`${n.metadata?.name ?? ''} ${ready}`),
    log: () => undefined,
  });
  await r.register();
  await r.update();
  await r.update();
  t.deepEqual(changes, ['worker-1 true']);
  nodes.nodes.clear();
  why = 'container runtime is down: boom';
  await r.update();
  t.is(nodes.nodes.get('worker-1')?.status?.conditions?.find((c) => c.type === 'Ready')?.message, 'container runtime is down: boom');
  t.deepEqual(changes, ['worker-1 true', 'worker-1 false']);
});

test('with a report frequency an unchanged status is posted only when due; a change is posted at once', async (t) => {
  const nodes = new FakeNodes();
  const clock = new FakeClock();
  let why: string | undefined;
  const r = new NodeStatusReporter({
    nodes: nodes as never,
    machine,
    config,
    clock,
    intervalMs: 10_000,
    random: () => 0,
    reportFrequencyMs: 60_000,
    notReady: () => why,
    onNode: () => undefined,
    log: () => undefined,
  });
  await r.register();
  r.start();
  await clock.advance(0);
  t.is(nodes.statusWrites, 1, 'the first status is always posted');
  await clock.advance(30_000);
  t.is(nodes.statusWrites, 1, 'computed three times, unchanged: not posted');
  why = 'container runtime is down: boom';
  await clock.advance(10_000);
  t.is(nodes.statusWrites, 2, 'Ready=False is posted at the next computation');
  await clock.advance(50_000);
  t.is(nodes.statusWrites, 2);
  await clock.advance(10_000);
  t.is(nodes.statusWrites, 3, 'unchanged, but a minute since the last post');
  await r.stop();
});

test("with the node informer's copy, posts read no Node; the last write wins over a lagging copy; a conflict reads again", async (t) => {
  const nodes = new FakeNodes();
  const clock = new FakeClock();
  let informer: Node | undefined;
  const cidrs: string[] = [];
  const r = new NodeStatusReporter({
    nodes: nodes as never,
    machine,
    config,
    clock,
    intervalMs: 10_000,
    random: () => 0,
    notReady: () => undefined,
    onNode: (n) => cidrs.push(n.spec?.podCIDR ?? ''),
    cached: () => informer,
    log: () => undefined,
  });
  const registered = await r.register();
  await r.update();
  t.is(nodes.gets, 1, 'no informer copy yet: the Node is read');
  // The informer lags: it still has the registered Node (an older resourceVersion than the write).
  informer = { ...registered, spec: { podCIDR: '10.244.1.0/24' } };
  await r.update();
  t.is(nodes.gets, 1, "the last write is newer than the informer's copy: no read");
  t.is(nodes.statusWrites, 2);
  // Node IPAM writes a podCIDR, and the informer catches up with it.
  await nodes.update({ ...nodes.nodes.get('worker-1')!, spec: { podCIDR: '10.244.1.0/24' } });
  informer = nodes.nodes.get('worker-1');
  await r.update();
  t.is(nodes.gets, 1);
  t.is(cidrs[cidrs.length - 1], '10.244.1.0/24');
  nodes.conflicts = 1;
  await r.update();
  t.is(nodes.gets, 2, 'a conflict is retried on a fresh read');
  t.is(nodes.statusWrites, 4);
});

test('nodeStatusChanged ignores heartbeat times only', (t) => {
  const a = nodeStatus(machine, config, undefined, { ready: true, reason: 'KubeletReady', message: 'ok' }, Date.parse('2026-01-01T00:00:00Z'));
  const b = nodeStatus(machine, config, a, { ready: true, reason: 'KubeletReady', message: 'ok' }, Date.parse('2026-01-01T00:00:10Z'));
  t.false(nodeStatusChanged(a, b));
  t.false(
    nodeStatusChanged({ ...a, phase: '', conditions: a.conditions?.map((c) => ({ ...c, lastHeartbeatTime: '' })) }, b),
    "the API's zero values are no change",
  );
  const c = nodeStatus(machine, config, a, { ready: false, reason: 'KubeletNotReady', message: 'down' }, Date.parse('2026-01-01T00:00:10Z'));
  t.true(nodeStatusChanged(a, c));
  t.true(nodeStatusChanged(undefined, a));
});

test('the status is posted without a resourceVersion: a spec write of a controller in between costs no conflict, and is kept', async (t) => {
  const nodes = new FakeNodes();
  const clock = new FakeClock();
  const { r } = reporter(nodes, clock);
  const registered = await r.register();
  // The kubelet's copy is the registered Node; meanwhile node IPAM gives it a podCIDR, and a network plugin a condition.
  const cur = nodes.nodes.get('worker-1')!;
  nodes.nodes.set('worker-1', {
    ...cur,
    metadata: { ...cur.metadata, resourceVersion: '99' },
    spec: { podCIDR: '10.244.3.0/24' },
    status: { conditions: [{ type: 'NetworkUnavailable', status: 'False', reason: 'RouteCreated' }] },
  });
  await r.update();
  t.deepEqual(nodes.statusPreconditions, ['']);
  t.is(nodes.gets, 1, 'one read: the node as stored (the informer copy is not wired in this test)');
  const stored = nodes.nodes.get('worker-1');
  t.is(stored?.spec?.podCIDR, '10.244.3.0/24', 'the spec written in between is kept');
  t.deepEqual(
    stored?.status?.conditions?.map((c) => c.type),
    ['MemoryPressure', 'DiskPressure', 'PIDPressure', 'Ready', 'NetworkUnavailable'],
    'a condition type the kubelet does not set is kept',
  );
  t.truthy(registered.metadata?.name);
});
