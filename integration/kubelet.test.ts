// The kubelet end to end: a real etcd and API server in this process, and
// `tsk kubelet` as a CHILD PROCESS inside a network namespace of its own
// (only lo, no link to the host). It reaches the API server through a unix
// socket, and the test registry through a unix-socket forwarder (a TCP
// listener on the namespace's loopback), so nothing of the kubelet or its
// pods ever touches the host's network. Pods use the loopback-only network.
//
// Checked: the Node is registered and heartbeats; a bound pod runs and
// reports containerStatuses; a crashing container restarts into
// CrashLoopBackOff; restartPolicy Never + exit 0 is Succeeded; deletion
// sends SIGTERM and removes the pod; a killed and restarted kubelet keeps the
// running pod (same container, same restart count); lifecycle hooks in
// Kubernetes' order; subPath and subPathExpr mounts, and a subPath that a
// container's symlink points out of its volume refused.
//
// Everything (processes, namespace, containers, sandboxes, cgroups, mounts,
// temp dirs) is removed in after.always, also when a test fails.

import anyTest, { type TestFn } from 'ava';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NotFoundError } from '../api/errors';
import type { Lease, Node, Pod } from '../api/gen/tsk/v1/core';
import { startApiServer, type RunningApiServer } from '../apiserver/server';
import { Clientset } from '../client';
import { ImageStore } from '../kubelet/runtime/image/store';
import { CgroupManager, detectCgroupLayout, milliToShares, sharesToWeight } from '../kubelet/runtime/cgroups/cgroups';
import { NativeRuntime } from '../kubelet/runtime/native-runtime';
import { eventually } from './support/client-harness';
import { startTestEtcd } from './support/etcd';
import { killProcess, run, startBusyboxRegistry, startForwarderInNamespace, type BusyboxRegistry } from './support/netns';
import { CleanupStack } from './support/cleanups';
import { cleanupRuntime } from './support/runtime-env';
import { testTls, writeTestKubeconfig } from './support/pki';

const TSK = path.resolve(__dirname, '..', 'cmd', 'tsk.js');

/** One kubelet: its network namespace, data dir and process. */
interface KubeletNode {
  ns: string;
  dataDir: string;
  nodeName: string;
  /** Flags besides --server, --hostname-override and --data-dir. */
  args: string[];
  /** Shared by reference: ava gives each test a shallow copy of the context. */
  proc: { kubelet: ChildProcess | undefined };
  log: string[];
}

interface Env {
  dir: string;
  sock: string;
  /** The admin context, passed to each kubelet with --kubeconfig. */
  kubeconfig: string;
  image: string;
  hostDir: string;
  clientset: Clientset;
  /** The main node: loopback-only pod network. */
  node: KubeletNode;
  /** A second node with the bridge network and no pod CIDR until the test assigns one (as the IPAM controller would). */
  bridged: KubeletNode;
  cleanups: CleanupStack;
}

const test = anyTest as TestFn<Env>;

/**
 * Starts `tsk kubelet` in the node's namespace. nsenter --net rather than
 * `ip netns exec`: the latter also remounts /sys for the namespace, which
 * hides /sys/fs/cgroup from the runtime; nsenter switches the network
 * namespace only.
 */
function startKubelet(env: Env, node: KubeletNode): ChildProcess {
  const args = [
    `--net=/var/run/netns/${node.ns}`,
    process.execPath,
    TSK,
    'kubelet',
    '--server',
    `unix:${env.sock}`,
    '--kubeconfig',
    env.kubeconfig,
    '--hostname-override',
    node.nodeName,
    '--data-dir',
    node.dataDir,
    ...node.args,
  ];
  const child = spawn('nsenter', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (d: Buffer): void => {
    node.log.push(
      ...d
        .toString()
        .split('\n')
        .filter((l) => l !== ''),
    );
    if (node.log.length > 400) node.log.splice(0, node.log.length - 400);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  node.proc.kubelet = child;
  return child;
}

async function killKubelet(node: KubeletNode): Promise<void> {
  const k = node.proc.kubelet;
  node.proc.kubelet = undefined;
  if (k) await killProcess(k);
}

/**
 * A namespace with lo up and a forwarder to the registry; its cleanup (kill
 * the kubelet, remove every container, sandbox, cgroup and mount it left,
 * delete the namespace) is registered first so it runs last but before the
 * shared services stop.
 */
async function addNode(env: Env, registry: BusyboxRegistry, prefix: string, args: string[]): Promise<KubeletNode> {
  const node: KubeletNode = {
    ns: `tsk-kt-${randomBytes(4).toString('hex')}`,
    dataDir: path.join(env.dir, `data-${prefix}`),
    nodeName: `kt-${prefix}-${randomBytes(3).toString('hex')}`,
    args,
    proc: { kubelet: undefined },
    log: [],
  };
  run('ip', ['netns', 'add', node.ns]);
  env.cleanups.push(() => void spawnSync('ip', ['netns', 'delete', node.ns]));
  run('ip', ['-n', node.ns, 'link', 'set', 'lo', 'up']);
  const forwarder = await startForwarderInNamespace(node.ns, registry.port, registry.socket);
  env.cleanups.push(() => killProcess(forwarder));
  env.cleanups.push(async () => {
    await killKubelet(node);
    if (fs.existsSync(node.dataDir)) await cleanupRuntime(new NativeRuntime({ dataDir: node.dataDir, images: new ImageStore(node.dataDir) }), node.dataDir);
  });
  return node;
}

test.before(async (t) => {
  const cleanups = new CleanupStack();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-kt-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const env = {
    dir,
    sock: path.join(dir, 'api.sock'),
    image: '',
    hostDir: path.join(dir, 'host'),
    cleanups,
  } as Env;
  t.context = env;
  fs.mkdirSync(env.hostDir, { mode: 0o777 });
  fs.chmodSync(env.hostDir, 0o777);

  const etcd = await startTestEtcd(cleanups);
  const api: RunningApiServer = await startApiServer({
    tls: (await testTls()).serving,
    etcdServers: [etcd.etcd.clientUrl],
    address: `127.0.0.1:0,unix:${env.sock}`,
    httpAddress: '127.0.0.1:0',
    log: () => undefined,
  });
  cleanups.push(() => api.stop());
  env.clientset = new Clientset(api.grpcAddress, (await testTls()).admin);
  env.kubeconfig = await writeTestKubeconfig(path.join(dir, 'config'), `unix:${env.sock}`);
  cleanups.push(() => env.clientset.close());

  const registry = await startBusyboxRegistry(cleanups, dir);
  env.image = registry.image;

  // The heartbeat Lease renewed every second (a quarter of 4 s).
  const common = ['--node-status-update-frequency', '1s', '--node-lease-duration-seconds', '4'];
  env.node = await addNode(env, registry, 'node', [
    '--network',
    'loopback',
    '--node-ip',
    '127.0.0.1',
    '--max-pods',
    '20',
    '--system-reserved',
    'cpu=100m,memory=100Mi',
    ...common,
  ]);
  env.bridged = await addNode(env, registry, 'bridged', ['--network', 'bridge', '--http-address', '127.0.0.1:10248', ...common]);
  startKubelet(env, env.node);
});

test.after.always((t) => t.context?.cleanups?.run());

test.afterEach.always((t) => {
  if (t.passed) return;
  for (const node of [t.context.node, t.context.bridged]) {
    if (node && node.log.length > 0) t.log(`kubelet ${node.nodeName} log (last lines):\n${node.log.slice(-60).join('\n')}`);
  }
});

function bound(node: KubeletNode, image: string, name: string, spec: Partial<NonNullable<Pod['spec']>>, command: string[]): Pod {
  return {
    metadata: { name, namespace: 'default' },
    spec: { nodeName: node.nodeName, terminationGracePeriodSeconds: 10, ...spec, containers: [{ name: 'main', image, command }] },
  };
}

async function podStatus(env: Env, name: string): Promise<Pod> {
  return env.clientset.pods.get(name, 'default');
}

/** Fails at once when the kubelet process died (its log is shown by afterEach). */
function assertKubeletAlive(node: KubeletNode): void {
  const k = node.proc.kubelet;
  if (k && (k.exitCode !== null || k.signalCode !== null)) throw new Error(`the kubelet exited (${k.signalCode ?? `code ${k.exitCode}`})`);
}

async function waitPod(env: Env, name: string, pred: (p: Pod) => boolean, what: string, node = env.node, timeoutMs = 60_000): Promise<Pod> {
  let last: Pod | undefined;
  await eventually(
    async () => {
      assertKubeletAlive(node);
      last = await podStatus(env, name);
      return pred(last);
    },
    timeoutMs,
    what,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last status: ${JSON.stringify(last?.status)}`);
  });
  return last as Pod;
}

/** A page of the kubelet's HTTP server, fetched from inside its namespace (busybox wget); "" when it cannot be read. */
function kubeletHttp(node: KubeletNode, page: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(
      'nsenter',
      [`--net=/var/run/netns/${node.ns}`, '/bin/busybox', 'wget', '-qO-', `http://127.0.0.1:10248${page}`],
      { timeout: 10_000 },
      (err, stdout) => resolve(err ? '' : stdout),
    );
  });
}

function kubeletMetrics(node: KubeletNode): Promise<string> {
  return kubeletHttp(node, '/metrics');
}

function metric(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : NaN;
}

const heartbeat = (n: Node): string => n.status?.conditions?.find((c) => c.type === 'Ready')?.lastHeartbeatTime ?? '';
const readyCondition = (n: Node | undefined): NonNullable<NonNullable<Node['status']>['conditions']>[number] | undefined =>
  n?.status?.conditions?.find((c) => c.type === 'Ready');

test.serial('the kubelet registers its Node and heartbeats', async (t) => {
  const env = t.context;
  let node: Node | undefined;
  await eventually(
    async () => {
      assertKubeletAlive(env.node);
      node = await env.clientset.nodes.get(env.node.nodeName).catch(() => undefined);
      return node?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    },
    60_000,
    'the Node to be Ready',
  );
  const n = node as Node;
  t.is(n.metadata?.labels?.['kubernetes.io/hostname'], env.node.nodeName, 'the hostname label follows --hostname-override, as in Kubernetes');
  t.is(n.metadata?.labels?.['kubernetes.io/os'], 'linux');
  t.is(n.metadata?.labels?.['kubernetes.io/arch'], os.arch() === 'x64' ? 'amd64' : os.arch());
  t.is(n.status?.capacity?.['cpu'], String(os.cpus().length));
  t.regex(n.status?.capacity?.['memory'] ?? '', /^\d+Ki$/);
  t.is(n.status?.capacity?.['pods'], '20');
  t.is(n.status?.allocatable?.['cpu'], `${os.cpus().length * 1000 - 100}m`);
  t.deepEqual(n.status?.addresses, [
    { type: 'InternalIP', address: '127.0.0.1' },
    { type: 'Hostname', address: env.node.nodeName },
  ]);
  t.is(n.status?.nodeInfo?.containerRuntimeVersion, 'tsk://0.1.0');
  t.is(n.status?.nodeInfo?.operatingSystem, 'linux');
  t.is(n.status?.nodeInfo?.kernelVersion, os.release());
  const ready = n.status?.conditions?.find((c) => c.type === 'Ready');
  t.is(ready?.reason, 'KubeletReady');
  t.is(ready?.message, 'kubelet is posting ready status');
  t.deepEqual(
    n.status?.conditions?.map((c) => `${c.type}=${c.status}`),
    ['MemoryPressure=False', 'DiskPressure=False', 'PIDPressure=False', 'Ready=True'],
  );
  await eventually(
    async () => {
      const evs = (await env.clientset.events.list({ namespace: 'default', fieldSelector: `involvedObject.name=${env.node.nodeName}` })).items ?? [];
      return (
        evs.some((e) => e.reason === 'Starting' && e.message === 'Starting kubelet.') &&
        evs.some((e) => e.reason === 'NodeReady' && e.message === `Node ${env.node.nodeName} status is now: NodeReady`)
      );
    },
    15_000,
    'the Starting and NodeReady events',
  );
  // Liveness is the Lease kube-node-lease/NODE, renewed every quarter of its duration and owned by the Node.
  const lease = async (): Promise<Lease> => env.clientset.leases.get(env.node.nodeName, 'kube-node-lease');
  let first: Lease | undefined;
  await eventually(async () => (first = await lease().catch(() => undefined)) !== undefined, 15_000, 'the node Lease');
  t.is(first?.spec?.holderIdentity, env.node.nodeName);
  t.is(first?.spec?.leaseDurationSeconds, 4);
  t.is(first?.metadata?.ownerReferences?.length, 1);
  t.like(first?.metadata?.ownerReferences?.[0], { apiVersion: 'v1', kind: 'Node', name: env.node.nodeName, uid: n.metadata?.uid ?? '' });
  t.regex(first?.spec?.renewTime ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, 'renewTime is a MicroTime');
  const renewed = first?.spec?.renewTime ?? '';
  await eventually(async () => ((await lease()).spec?.renewTime ?? '') > renewed, 15_000, 'a renewal of the Lease');
  // An unchanged status is not posted again before --node-status-report-frequency (5m): the heartbeat stays.
  const posted = heartbeat(await env.clientset.nodes.get(env.node.nodeName));
  await new Promise((r) => setTimeout(r, 2_500));
  const later = await env.clientset.nodes.get(env.node.nodeName);
  t.is(heartbeat(later), posted, 'no status post while nothing changed (the status is computed every second)');
  t.is(later.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime, ready?.lastTransitionTime, 'lastTransitionTime stays while Ready holds');
});

test.serial('a bound pod runs: Running, Ready, containerStatuses, events', async (t) => {
  const env = t.context;
  await env.clientset.pods.create(bound(env.node, env.image, 'sleeper', {}, ['sh', '-c', 'echo started; exec sleep 3600']));
  const p = await waitPod(env, 'sleeper', (x) => x.status?.phase === 'Running' && x.status.containerStatuses?.[0]?.ready === true, 'sleeper Running and ready');
  const cs = p.status?.containerStatuses?.[0];
  t.is(cs?.name, 'main');
  t.is(cs?.image, env.image);
  t.regex(cs?.imageID ?? '', /^sha256:[a-f0-9]{64}$/);
  t.regex(cs?.containerID ?? '', /^tsk:\/\/[a-f0-9]{64}$/);
  t.is(cs?.restartCount, 0);
  t.true(cs?.started);
  t.truthy(cs?.state?.running?.startedAt);
  t.is(p.status?.hostIP, '127.0.0.1');
  t.is(p.status?.qosClass, 'BestEffort');
  t.truthy(p.status?.startTime);
  t.deepEqual(
    p.status?.conditions?.map((c) => `${c.type}=${c.status}`),
    ['Initialized=True', 'Ready=True', 'ContainersReady=True', 'PodScheduled=True'],
  );
  let reasons: string[] = [];
  await eventually(
    async () => {
      const evs = await env.clientset.events.list({ namespace: 'default', fieldSelector: 'involvedObject.name=sleeper' });
      reasons = (evs.items ?? [])
        .filter((e) => e.source?.component === 'kubelet' && e.source.host === env.node.nodeName)
        .map((e) => `${e.reason ?? ''}: ${e.message ?? ''}`);
      return reasons.some((r) => r.startsWith('Started'));
    },
    15_000,
    'the kubelet events',
  );
  t.true(reasons.includes(`Pulling: Pulling image "${env.image}"`), reasons.join('\n'));
  t.true(
    reasons.some((r) => r.startsWith(`Pulled: Successfully pulled image "${env.image}" in `)),
    reasons.join('\n'),
  );
  t.true(reasons.includes('Created: Created container main'));
  t.true(reasons.includes('Started: Started container main'));
});

test.serial('the kubelet serves /healthz and /metrics (running pods and containers, pod start duration)', async (t) => {
  const env = t.context;
  let m = '';
  // The gauges follow the runtime relist (every second).
  await eventually(
    async () => {
      m = await kubeletMetrics(env.node);
      return metric(m, 'kubelet_running_pods') >= 1 && metric(m, 'kubelet_running_containers{container_state="running"}') >= 1;
    },
    15_000,
    'running pods and containers in /metrics',
  );
  t.true(metric(m, 'kubelet_pod_start_duration_seconds_count') >= 1);
  t.true(metric(m, 'kubelet_pod_worker_duration_seconds_count{operation="sync"}') >= 1);
  t.is(await kubeletHttp(env.node, '/healthz'), 'ok\n');
  t.is(await kubeletHttp(env.node, '/readyz'), 'ok\n');
});

test.serial('a failing liveness probe restarts the container (Unhealthy, Killing)', async (t) => {
  const env = t.context;
  const pod = bound(env.node, env.image, 'unhealthy', { terminationGracePeriodSeconds: 1 }, [
    'sh',
    '-c',
    'touch /tmp/healthy; sleep 1; rm /tmp/healthy; exec sleep 3600',
  ]);
  // sleep as PID 1 ignores SIGTERM: the probe's own grace period keeps the kill short.
  pod.spec!.containers![0]!.livenessProbe = {
    exec: { command: ['cat', '/tmp/healthy'] },
    periodSeconds: 1,
    failureThreshold: 2,
    terminationGracePeriodSeconds: 1,
  };
  await env.clientset.pods.create(pod);
  const p = await waitPod(env, 'unhealthy', (x) => (x.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1, 'a restart after the liveness probe failed');
  t.is(p.status?.containerStatuses?.[0]?.lastState?.terminated?.exitCode, 137, 'killed by the kubelet');
  const evs = (await env.clientset.events.list({ namespace: 'default', fieldSelector: 'involvedObject.name=unhealthy' })).items ?? [];
  t.true(
    evs.some(
      (e) =>
        e.reason === 'Unhealthy' &&
        e.type === 'Warning' &&
        /^Liveness probe failed: cat: can't open '\/tmp\/healthy': No such file or directory$/.test(e.message ?? ''),
    ),
    evs.map((e) => `${e.reason ?? ''} ${e.message ?? ''}`).join('\n'),
  );
  t.true(evs.some((e) => e.reason === 'Killing' && e.message === 'Container main failed liveness probe, will be restarted'));
  await env.clientset.pods.delete('unhealthy', { namespace: 'default' });
});

test.serial('a container that exits 1 under restartPolicy Always restarts and goes into CrashLoopBackOff', async (t) => {
  const env = t.context;
  await env.clientset.pods.create(bound(env.node, env.image, 'crasher', { restartPolicy: 'Always' }, ['sh', '-c', 'echo failing; exit 1']));
  const p = await waitPod(
    env,
    'crasher',
    (x) => (x.status?.containerStatuses?.[0]?.restartCount ?? 0) > 0 && x.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff',
    'crasher in CrashLoopBackOff',
  );
  const cs = p.status?.containerStatuses?.[0];
  t.regex(cs?.state?.waiting?.message ?? '', /^back-off \d+s restarting failed container=main pod=crasher_default\(.+\)$/);
  t.is(cs?.lastState?.terminated?.exitCode, 1);
  t.is(cs?.lastState?.terminated?.reason, 'Error');
  t.is(p.status?.phase, 'Running');
  t.is(p.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'False');
  await env.clientset.pods.delete('crasher', { namespace: 'default' });
});

test.serial('restartPolicy Never with exit 0 is Succeeded', async (t) => {
  const env = t.context;
  await env.clientset.pods.create(bound(env.node, env.image, 'oneshot', { restartPolicy: 'Never' }, ['sh', '-c', 'echo done']));
  const p = await waitPod(env, 'oneshot', (x) => x.status?.phase === 'Succeeded', 'oneshot Succeeded');
  const term = p.status?.containerStatuses?.[0]?.state?.terminated;
  t.is(term?.exitCode, 0);
  t.is(term?.reason, 'Completed');
  t.truthy(term?.finishedAt);
  t.is(p.status?.containerStatuses?.[0]?.restartCount, 0);
});

test.serial('emptyDir mode 01777 and a Memory emptyDir on a tmpfs of its sizeLimit', async (t) => {
  const env = t.context;
  const check =
    'ls -ld /shared | grep -q "^drwxrwxrwt" || { ls -ld /shared; exit 2; }; ' +
    'grep " /ram tmpfs " /proc/mounts | grep -q "size=8192k" || { cat /proc/mounts; exit 3; }; ' +
    'echo hi > /ram/f && echo hi > /shared/f';
  const pod = bound(env.node, env.image, 'emptydirs', { restartPolicy: 'Never' }, ['sh', '-c', check]);
  pod.spec!.volumes = [
    { name: 'shared', emptyDir: { mode: 0o1777 } },
    { name: 'ram', emptyDir: { medium: 'Memory', sizeLimit: '8Mi' } },
  ];
  pod.spec!.containers![0]!.volumeMounts = [
    { name: 'shared', mountPath: '/shared' },
    { name: 'ram', mountPath: '/ram' },
  ];
  await env.clientset.pods.create(pod);
  const p = await waitPod(env, 'emptydirs', (x) => x.status?.phase === 'Succeeded' || x.status?.phase === 'Failed', 'emptydirs to finish');
  t.is(p.status?.phase, 'Succeeded', JSON.stringify(p.status?.containerStatuses?.[0]?.state));
  const uid = p.metadata?.uid ?? '';
  await env.clientset.pods.delete('emptydirs', { namespace: 'default' });
  await eventually(async () => !fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(uid), 30_000, 'the tmpfs unmounted with the pod');
});

test.serial('deleting a pod stops it gracefully (SIGTERM reaches the container) and removes it from the API', async (t) => {
  const env = t.context;
  const marker = path.join(env.hostDir, 'term');
  const pod: Pod = {
    metadata: { name: 'graceful', namespace: 'default' },
    spec: {
      nodeName: env.node.nodeName,
      terminationGracePeriodSeconds: 20,
      volumes: [
        { name: 'out', hostPath: { path: env.hostDir, type: 'Directory' } },
        { name: 'scratch', emptyDir: {} },
      ],
      containers: [
        {
          name: 'main',
          image: env.image,
          command: ['sh', '-c', "trap 'echo TERM > /out/term; exit 0' TERM; echo up > /scratch/up; while true; do sleep 0.2; done"],
          volumeMounts: [
            { name: 'out', mountPath: '/out' },
            { name: 'scratch', mountPath: '/scratch' },
          ],
        },
      ],
    },
  };
  const created = await env.clientset.pods.create(pod);
  const uid = created.metadata?.uid ?? '';
  await waitPod(env, 'graceful', (x) => x.status?.phase === 'Running', 'graceful Running');
  const emptyDir = path.join(env.node.dataDir, 'pods', uid, 'volumes', 'kubernetes.io~empty-dir', 'scratch');
  await eventually(() => fs.existsSync(path.join(emptyDir, 'up')), 15_000, 'the container to write into its emptyDir');
  const started = Date.now();
  await env.clientset.pods.delete('graceful', { namespace: 'default' });
  await eventually(
    async () => {
      try {
        await env.clientset.pods.get('graceful', 'default');
        return false;
      } catch (err) {
        if (err instanceof NotFoundError) return true;
        throw err;
      }
    },
    30_000,
    'the pod to be removed from the API',
  );
  t.true(Date.now() - started < 15_000, 'the container exited on SIGTERM, well within its 20 s grace period');
  t.is(fs.readFileSync(marker, 'utf8').trim(), 'TERM', 'the container saw SIGTERM');
  await eventually(() => !fs.existsSync(path.join(env.node.dataDir, 'pods', uid)), 15_000, 'the pod directory (emptyDir) to be removed');
  const runtime = new NativeRuntime({ dataDir: env.node.dataDir, images: new ImageStore(env.node.dataDir) });
  await eventually(async () => !(await runtime.listSandboxes()).some((s) => s.uid === uid), 15_000, 'the sandbox to be removed');
  const evs = await env.clientset.events.list({ namespace: 'default', fieldSelector: 'involvedObject.name=graceful' });
  t.true((evs.items ?? []).some((e) => e.reason === 'Killing' && e.message === 'Stopping container main'));
});

test.serial('init containers run to completion, in order, before the app container (sharing an emptyDir)', async (t) => {
  const env = t.context;
  const mounts = [
    { name: 'work', mountPath: '/work' },
    { name: 'out', mountPath: '/out' },
  ];
  const pod: Pod = {
    metadata: { name: 'initialized', namespace: 'default' },
    spec: {
      nodeName: env.node.nodeName,
      terminationGracePeriodSeconds: 1,
      volumes: [
        { name: 'work', emptyDir: {} },
        { name: 'out', hostPath: { path: env.hostDir } },
      ],
      initContainers: [
        { name: 'first', image: env.image, command: ['sh', '-c', 'echo one > /work/msg'], volumeMounts: mounts },
        { name: 'second', image: env.image, command: ['sh', '-c', 'echo two >> /work/msg'], volumeMounts: mounts },
      ],
      containers: [{ name: 'main', image: env.image, command: ['sh', '-c', 'cat /work/msg > /out/init-msg; exec sleep 3600'], volumeMounts: mounts }],
    },
  };
  await env.clientset.pods.create(pod);
  const p = await waitPod(env, 'initialized', (x) => x.status?.phase === 'Running', 'initialized Running');
  t.deepEqual(
    p.status?.initContainerStatuses?.map((s) => `${s.name ?? ''} ${s.state?.terminated?.reason ?? '?'} ${s.ready ? 'ready' : ''}`),
    ['first Completed ready', 'second Completed ready'],
  );
  t.is(p.status?.conditions?.find((c) => c.type === 'Initialized')?.status, 'True');
  await eventually(() => fs.existsSync(path.join(env.hostDir, 'init-msg')), 15_000, 'the app container to copy what the init containers wrote');
  t.is(fs.readFileSync(path.join(env.hostDir, 'init-msg'), 'utf8'), 'one\ntwo\n');
  await env.clientset.pods.delete('initialized', { namespace: 'default' });
});

test.serial(
  'securityContext: runAsUser/runAsGroup, supplementalGroups and fsGroup (emptyDir), read-only root, seccomp, BestEffort OOM score; runAsNonRoot with a root image is CreateContainerConfigError',
  async (t) => {
    const env = t.context;
    const out = path.join(env.hostDir, 'security');
    fs.mkdirSync(out, { mode: 0o777 });
    fs.chmodSync(out, 0o777);
    const script = [
      'id',
      "grep -E '^(Seccomp|NoNewPrivs):' /proc/1/status",
      'echo oom=$(cat /proc/1/oom_score_adj)',
      'touch /rootfile; echo root=$?',
      'touch /cache/f && echo cachegid=$(stat -c %g /cache/f)',
    ].join('; ');
    await env.clientset.pods.create({
      metadata: { name: 'secure', namespace: 'default' },
      spec: {
        nodeName: env.node.nodeName,
        restartPolicy: 'Never',
        securityContext: { runAsUser: 1000, runAsGroup: 3000, supplementalGroups: [4000], fsGroup: 2000, runAsNonRoot: true },
        volumes: [
          { name: 'cache', emptyDir: {} },
          { name: 'out', hostPath: { path: out } },
        ],
        containers: [
          {
            name: 'main',
            image: env.image,
            command: ['sh', '-c', `(${script}) > /out/result 2>&1`],
            securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
            volumeMounts: [
              { name: 'cache', mountPath: '/cache' },
              { name: 'out', mountPath: '/out' },
            ],
          },
        ],
      },
    });
    await env.clientset.pods.create({
      metadata: { name: 'nonroot', namespace: 'default' },
      spec: {
        nodeName: env.node.nodeName,
        securityContext: { runAsNonRoot: true },
        containers: [{ name: 'main', image: env.image, command: ['sleep', '3600'] }],
      },
    });
    await waitPod(env, 'secure', (x) => x.status?.phase === 'Succeeded', 'secure Succeeded');
    const result = fs.readFileSync(path.join(out, 'result'), 'utf8');
    t.regex(result, /^uid=1000 gid=3000 groups=.*\b2000\b/m, result);
    t.regex(result, /groups=.*\b4000\b/m);
    t.regex(result, /^Seccomp:\s+2$/m);
    t.regex(result, /^NoNewPrivs:\s+1$/m);
    t.regex(result, /^oom=1000$/m, 'BestEffort');
    t.regex(result, /Read-only file system/);
    t.regex(result, /^cachegid=2000$/m, 'the fsGroup emptyDir is setgid to fsGroup');
    const p = await waitPod(
      env,
      'nonroot',
      (x) => x.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerConfigError',
      'nonroot CreateContainerConfigError',
    );
    t.regex(
      p.status?.containerStatuses?.[0]?.state?.waiting?.message ?? '',
      /^container has runAsNonRoot and image will run as root \(pod: "nonroot_default\(.+\)", container: main\)$/,
    );
    await env.clientset.pods.delete('secure', { namespace: 'default' });
    await env.clientset.pods.delete('nonroot', { namespace: 'default' });
  },
);

test.serial('activeDeadlineSeconds: the kubelet fails a pod that runs too long (DeadlineExceeded)', async (t) => {
  const env = t.context;
  await env.clientset.pods.create(bound(env.node, env.image, 'deadline', { activeDeadlineSeconds: 2, terminationGracePeriodSeconds: 1 }, ['sleep', '3600']));
  const p = await waitPod(env, 'deadline', (x) => x.status?.phase === 'Failed', 'deadline Failed');
  t.is(p.status?.reason, 'DeadlineExceeded');
  t.is(p.status?.message, 'Pod was active on the node longer than the specified deadline');
  t.truthy(p.status?.containerStatuses?.[0]?.state?.terminated, 'its container was stopped');
  await env.clientset.pods.delete('deadline', { namespace: 'default' });
});

/** A one-shot pod whose shell check decides its exit code: 0 (Succeeded) when the check holds. */
async function checkInPod(env: Env, name: string, spec: Partial<NonNullable<Pod['spec']>>, script: string): Promise<Pod> {
  await env.clientset.pods.create(bound(env.node, env.image, name, { restartPolicy: 'Never', ...spec }, ['sh', '-c', script]));
  const p = await waitPod(env, name, (x) => x.status?.phase === 'Succeeded' || x.status?.phase === 'Failed', `${name} to finish`);
  await env.clientset.pods.delete(name, { namespace: 'default' });
  return p;
}

test.serial("hostPID: the containers see the node's processes (the kubelet's own), not a PID namespace of their own", async (t) => {
  const env = t.context;
  const kubeletPid = env.node.proc.kubelet?.pid ?? 0;
  t.true(kubeletPid > 0);
  // In a PID namespace of its own PID 1 is this very shell (its command line holds the marker); on the node's it is the node's init.
  const script = `grep -q own-pid-ns-marker /proc/1/cmdline && exit 1; grep -q kubelet /proc/${kubeletPid}/cmdline`;
  const host = await checkInPod(env, 'hostpid', { hostPID: true }, `${script} # own-pid-ns-marker`);
  t.is(host.status?.phase, 'Succeeded', JSON.stringify(host.status?.containerStatuses?.[0]?.state));
  const own = await checkInPod(env, 'ownpid', {}, `${script} # own-pid-ns-marker`);
  t.is(own.status?.phase, 'Failed', 'without hostPID the pod has its own PID namespace');
});

/** A cgroup file of the pod's cgroup as the kubelet made it (default --cgroup-root tsk), trimmed; "" when missing. */
function podCgroupFile(uid: string, controller: 'cpu' | 'memory' | 'pids', file: string): string {
  const cgroups = new CgroupManager(detectCgroupLayout());
  const dir =
    cgroups.layout.version === 2
      ? path.join(cgroups.layout.v2Root, cgroups.podPath(uid))
      : path.join(cgroups.layout.v1[controller] ?? '', cgroups.podPath(uid));
  try {
    return fs.readFileSync(path.join(dir, file), 'utf8').trim();
  } catch {
    return '';
  }
}

test.serial('pod-level resources: the pod cgroup gets the memory limit, cpu quota and shares of spec.resources; QoS from them', async (t) => {
  const env = t.context;
  const pod = bound(env.node, env.image, 'podres', {}, ['sleep', '3600']);
  // As Kubernetes' pod-level-resources example: the container has no limits of its own and shares the pod's.
  pod.spec!.resources = { requests: { cpu: '250m' }, limits: { cpu: '500m', memory: '64Mi' } };
  const created = await env.clientset.pods.create(pod);
  t.deepEqual(created.spec?.resources?.requests, { cpu: '250m', memory: '64Mi' }, 'the memory request defaulted from the pod-level limit');
  const p = await waitPod(env, 'podres', (x) => x.status?.phase === 'Running', 'podres Running');
  t.is(p.status?.qosClass, 'Burstable');
  const uid = p.metadata?.uid ?? '';
  const v2 = detectCgroupLayout().version === 2;
  if (v2) {
    t.is(podCgroupFile(uid, 'memory', 'memory.max'), String(64 * 1024 * 1024));
    t.is(podCgroupFile(uid, 'cpu', 'cpu.max'), '50000 100000');
    t.is(podCgroupFile(uid, 'cpu', 'cpu.weight'), String(sharesToWeight(milliToShares(250))));
  } else {
    t.is(podCgroupFile(uid, 'memory', 'memory.limit_in_bytes'), String(64 * 1024 * 1024));
    t.is(podCgroupFile(uid, 'cpu', 'cpu.cfs_quota_us'), '50000');
    t.is(podCgroupFile(uid, 'cpu', 'cpu.shares'), '256');
  }
  await env.clientset.pods.delete('podres', { namespace: 'default' });
  await eventually(
    async () => (await env.clientset.pods.list({ namespace: 'default', fieldSelector: 'metadata.name=podres' })).items?.length === 0,
    30_000,
    'podres gone',
  );

  const tooBig = bound(env.node, env.image, 'podres-bad', {}, ['true']);
  tooBig.spec!.containers![0]!.resources = { limits: { memory: '128Mi' } };
  tooBig.spec!.resources = { requests: { memory: '64Mi' }, limits: { memory: '64Mi' } };
  await t.throwsAsync(env.clientset.pods.create(tooBig), {
    message:
      /spec\.resources\.requests\[memory\]: Invalid value: "64Mi": must be greater than or equal to aggregate container requests of 128Mi.*spec\.resources\.containers\[0\]\[memory\]\.limits: Invalid value: "128Mi": must be less than or equal to pod limits of 64Mi/,
  });
});

/** A shell that starts `n` background sleeps in a subshell; exits non-zero when a fork fails (busybox sh: "can't fork"). */
function forkScript(n: number): string {
  return `( i=0; while [ $i -lt ${n} ]; do sleep 60 & i=$((i+1)); done; exit 0 ); exit $?`;
}

test.serial('pod-level PID limit (KEP-6063): spec.resources.limits.pids is the pod cgroup pids.max; a fork beyond it fails', async (t) => {
  const env = t.context;
  // As Kubernetes' pod-level-pid-limit.yaml, with a small limit.
  const pod = bound(env.node, env.image, 'pidlimit', {}, ['sleep', '3600']);
  pod.spec!.resources = { limits: { pids: '20' } };
  const created = await env.clientset.pods.create(pod);
  t.is(created.spec?.resources?.requests?.['pids'], undefined, 'pids is not defaulted into requests');
  const p = await waitPod(env, 'pidlimit', (x) => x.status?.phase === 'Running', 'pidlimit Running');
  t.is(podCgroupFile(p.metadata?.uid ?? '', 'pids', 'pids.max'), '20');
  await env.clientset.pods.delete('pidlimit', { namespace: 'default' });

  // 30 processes do not fit in 20 PIDs; the same 30 fit in 100 (the control: the limit, not the shell, stops them).
  const limited = await checkInPod(env, 'pidlimit-fork', { resources: { limits: { pids: '20' } } }, forkScript(30));
  t.is(limited.status?.phase, 'Failed', JSON.stringify(limited.status?.containerStatuses?.[0]?.state));
  const roomy = await checkInPod(env, 'pidlimit-roomy', { resources: { limits: { pids: '100' } } }, forkScript(30));
  t.is(roomy.status?.phase, 'Succeeded', JSON.stringify(roomy.status?.containerStatuses?.[0]?.state));

  const bad = bound(env.node, env.image, 'pidlimit-bad', {}, ['true']);
  bad.spec!.resources = { requests: { pids: '10' }, limits: { pids: '0' } };
  await t.throwsAsync(env.clientset.pods.create(bad), {
    message:
      /spec\.resources\.limits\[pids\]: Invalid value: "0": must be a positive integer.*spec\.resources\.requests\[pids\]: Forbidden: pids may only be set as a limit, not a request/,
  });
});

test.serial('shareProcessNamespace: one container finds the other with ps and stops it with SIGTERM; PID 1 is the pod sandbox', async (t) => {
  const env = t.context;
  const pod = bound(env.node, env.image, 'sharepid', { restartPolicy: 'Never', shareProcessNamespace: true }, []);
  pod.spec!.containers = [
    // Not PID 1 any more, so it gets SIGTERM's default unless it traps it: it traps it to end cleanly.
    { name: 'server', image: env.image, command: ['sh', '-c', 'trap "echo got-term; exit 0" TERM; while :; do sleep 0.1; done # server-marker'] },
    {
      name: 'shell',
      image: env.image,
      command: [
        'sh',
        '-c',
        'for i in $(seq 200); do p=$(ps -o pid,args | grep "[s]erver-marker" | awk \'{print $1}\'); [ -n "$p" ] && break; sleep 0.1; done; ' +
          '[ "$(cat /proc/1/comm)" = pause ] && kill $p && echo signalled $p',
      ],
    },
  ];
  await env.clientset.pods.create(pod);
  const p = await waitPod(env, 'sharepid', (x) => x.status?.phase === 'Succeeded' || x.status?.phase === 'Failed', 'sharepid to finish');
  await env.clientset.pods.delete('sharepid', { namespace: 'default' });
  const states = (p.status?.containerStatuses ?? []).map((c) => `${c.name}=${c.state?.terminated?.exitCode ?? 'none'}`).sort();
  t.is(p.status?.phase, 'Succeeded', JSON.stringify(p.status?.containerStatuses));
  t.deepEqual(states, ['server=0', 'shell=0']);
});

test.serial("hostIPC: the pod shares the node's IPC namespace; without it, one of its own", async (t) => {
  const env = t.context;
  const hostIpc = fs.readlinkSync('/proc/self/ns/ipc');
  // POSIX shared memory lives in /dev/shm: the node's is the pod's too.
  const shm = `/dev/shm/tsk-kt-${randomBytes(4).toString('hex')}`;
  fs.writeFileSync(shm, 'shared');
  t.teardown(() => fs.rmSync(shm, { force: true }));
  const script = `[ "$(readlink /proc/self/ns/ipc)" = "${hostIpc}" ] && [ "$(cat ${shm})" = shared ]`;
  const host = await checkInPod(env, 'hostipc', { hostIPC: true }, script);
  t.is(host.status?.phase, 'Succeeded', `the container's IPC namespace is the node's ${hostIpc}, and its /dev/shm`);
  const own = await checkInPod(env, 'ownipc', {}, script);
  t.is(own.status?.phase, 'Failed', 'without hostIPC the pod has its own IPC namespace');
});

test.serial("sysctls: safe ones are set inside the pod's namespaces only; an unsafe one fails the pod with SysctlForbidden", async (t) => {
  const env = t.context;
  const hostPortStart = fs.readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim();
  const hostShm = fs.readFileSync('/proc/sys/kernel/shm_rmid_forced', 'utf8').trim();
  const sysctls = [
    { name: 'net.ipv4.ip_unprivileged_port_start', value: '0' },
    { name: 'kernel.shm_rmid_forced', value: hostShm === '1' ? '0' : '1' },
  ];
  const script = `[ "$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)" = 0 ] && [ "$(cat /proc/sys/kernel/shm_rmid_forced)" = ${sysctls[1]?.value ?? ''} ]`;
  const safe = await checkInPod(env, 'sysctl-safe', { securityContext: { sysctls } }, script);
  t.is(safe.status?.phase, 'Succeeded', JSON.stringify(safe.status?.containerStatuses?.[0]?.state));
  t.is(fs.readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim(), hostPortStart, "the node's value is untouched");
  t.is(fs.readFileSync('/proc/sys/kernel/shm_rmid_forced', 'utf8').trim(), hostShm, "the node's value is untouched");

  await env.clientset.pods.create(
    bound(env.node, env.image, 'sysctl-unsafe', { securityContext: { sysctls: [{ name: 'kernel.msgmax', value: '65536' }] } }, ['sleep', '3600']),
  );
  const p = await waitPod(env, 'sysctl-unsafe', (x) => x.status?.phase === 'Failed', 'sysctl-unsafe Failed');
  t.is(p.status?.reason, 'SysctlForbidden');
  t.is(p.status?.message, 'Pod was rejected: forbidden sysctl: "kernel.msgmax" not allowlisted');
  t.falsy(p.status?.containerStatuses?.[0]?.state?.running, 'nothing of it ran');
  await env.clientset.pods.delete('sysctl-unsafe', { namespace: 'default' });
});

test.serial(
  'a killed kubelet restarted keeps the running pod (same container, same restart count), removes a pod deleted meanwhile and starts one created meanwhile',
  async (t) => {
    const env = t.context;
    const before = await waitPod(env, 'sleeper', (x) => x.status?.phase === 'Running', 'sleeper Running');
    const id = before.status?.containerStatuses?.[0]?.containerID;
    const doomed = await env.clientset.pods.create(bound(env.node, env.image, 'doomed', {}, ['sleep', '3600']));
    await waitPod(env, 'doomed', (x) => x.status?.phase === 'Running', 'doomed Running');
    await killKubelet(env.node);
    const killedAt = Date.now();
    // While no kubelet runs: one pod goes from the API at once (grace 0), another is created.
    await env.clientset.pods.delete('doomed', { namespace: 'default', gracePeriodSeconds: 0 });
    await env.clientset.pods.create(bound(env.node, env.image, 'late', {}, ['sleep', '3600']));
    startKubelet(env, env.node);
    // The new kubelet's heartbeat is its Lease (renewed every second here; an unchanged status is not posted again).
    await eventually(
      async () => Date.parse((await env.clientset.leases.get(env.node.nodeName, 'kube-node-lease')).spec?.renewTime ?? '') > killedAt + 1000,
      60_000,
      'a heartbeat from the new kubelet',
    );
    await waitPod(env, 'late', (x) => x.status?.phase === 'Running', 'the pod created while the kubelet was down to run');
    const runtime = new NativeRuntime({ dataDir: env.node.dataDir, images: new ImageStore(env.node.dataDir) });
    await eventually(
      async () => !(await runtime.listSandboxes()).some((s) => s.uid === doomed.metadata?.uid),
      30_000,
      'the sandbox of the pod deleted meanwhile to be removed',
    );
    t.false(
      (await runtime.listContainers()).some((c) => c.labels['io.kubernetes.pod.uid'] === doomed.metadata?.uid),
      'its containers are gone too',
    );
    // The new kubelet has adopted the pod once its metrics show it synced (twice: start-up, then a relist or resync).
    await eventually(
      async () => metric(await kubeletMetrics(env.node), 'kubelet_pod_worker_duration_seconds_count{operation="sync"}') >= 4,
      30_000,
      'the new kubelet to sync its pods',
    );
    const after = await podStatus(env, 'sleeper');
    t.is(after.status?.phase, 'Running');
    t.is(after.status?.containerStatuses?.[0]?.containerID, id, 'the same container');
    t.is(after.status?.containerStatuses?.[0]?.restartCount, 0);
    const sandboxes = (await runtime.listSandboxes()).filter((s) => s.uid === before.metadata?.uid);
    t.is(sandboxes.length, 1, 'no second sandbox');
    const containers = await runtime.listContainers({ sandboxId: sandboxes[0]?.id ?? '' });
    t.deepEqual(
      containers.map((c) => `tsk://${c.id} ${c.state}`),
      [`${id ?? ''} running`],
      'no duplicate container',
    );
  },
);

/** Resolves once the pod is gone from the API. */
async function waitGone(env: Env, name: string): Promise<void> {
  await eventually(
    async () => {
      try {
        await env.clientset.pods.get(name, 'default');
        return false;
      } catch (err) {
        if (err instanceof NotFoundError) return true;
        throw err;
      }
    },
    30_000,
    `${name} to be removed from the API`,
  );
}

async function eventsOf(env: Env, name: string): Promise<string[]> {
  const evs = await env.clientset.events.list({ namespace: 'default', fieldSelector: `involvedObject.name=${name}` });
  return (evs.items ?? []).map((e) => `${e.reason ?? ''}: ${e.message ?? ''}`);
}

test.serial(
  'lifecycle: postStart writes a file the main container sees, before Running; preStop runs before SIGTERM; subPath and subPathExpr mounts',
  async (t) => {
    const env = t.context;
    const out = path.join(env.hostDir, 'hooks');
    const expr = path.join(env.hostDir, 'expr', 'hooked');
    const waitTerm = "trap 'if [ -f /h/prestop ]; then echo after-prestop; else echo before-prestop; fi > /h/term; exit 0' TERM";
    const pod: Pod = {
      metadata: { name: 'hooked', namespace: 'default' },
      spec: {
        nodeName: env.node.nodeName,
        terminationGracePeriodSeconds: 20,
        volumes: [{ name: 'host', hostPath: { path: env.hostDir, type: 'Directory' } }],
        containers: [
          {
            name: 'main',
            image: env.image,
            env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
            // Kubernetes does not promise the hook runs before the entrypoint: the container waits for its file.
            command: [
              'sh',
              '-c',
              `${waitTerm}; until [ -f /h/started ]; do sleep 0.1; done; cat /h/started > /h/seen; echo in-expr > /p/file; while true; do sleep 0.2; done`,
            ],
            lifecycle: {
              postStart: { exec: { command: ['sh', '-c', 'sleep 1; echo from-postStart > /h/tmp; mv /h/tmp /h/started'] } },
              preStop: { exec: { command: ['sh', '-c', 'echo bye > /h/prestop'] } },
            },
            volumeMounts: [
              // Neither directory exists: the kubelet creates them, as Kubernetes does.
              { name: 'host', mountPath: '/h', subPath: 'hooks' },
              { name: 'host', mountPath: '/p', subPathExpr: 'expr/$(POD_NAME)' },
            ],
          },
        ],
      },
    };
    await env.clientset.pods.create(pod);
    await waitPod(env, 'hooked', (x) => x.status?.phase === 'Running', 'hooked Running');
    t.is(fs.readFileSync(path.join(out, 'started'), 'utf8').trim(), 'from-postStart', 'Running is reported only after postStart returned');
    const seen = (): string => (fs.existsSync(path.join(out, 'seen')) ? fs.readFileSync(path.join(out, 'seen'), 'utf8').trim() : '');
    await eventually(() => seen() !== '', 15_000, 'the main container to see the postStart file');
    await eventually(() => seen() === 'from-postStart', 2_000, 'the whole postStart file');
    // The content, not the file's existence: the shell creates the file before it writes to it.
    const exprFile = (): string => (fs.existsSync(path.join(expr, 'file')) ? fs.readFileSync(path.join(expr, 'file'), 'utf8').trim() : '');
    await eventually(() => exprFile() === 'in-expr', 15_000, 'the write through the subPathExpr mount');
    const started = Date.now();
    await env.clientset.pods.delete('hooked', { namespace: 'default' });
    await waitGone(env, 'hooked');
    t.true(Date.now() - started < 15_000, 'within the grace period');
    t.is(fs.readFileSync(path.join(out, 'prestop'), 'utf8').trim(), 'bye');
    t.is(fs.readFileSync(path.join(out, 'term'), 'utf8').trim(), 'after-prestop', 'SIGTERM came after the preStop hook');
  },
);

test.serial('lifecycle: a sleep preStop delays SIGTERM by its seconds, within the grace period', async (t) => {
  const env = t.context;
  const pod: Pod = {
    metadata: { name: 'sleepy', namespace: 'default' },
    spec: {
      nodeName: env.node.nodeName,
      terminationGracePeriodSeconds: 10,
      volumes: [{ name: 'host', hostPath: { path: env.hostDir, type: 'Directory' } }],
      containers: [
        {
          name: 'main',
          image: env.image,
          command: ['sh', '-c', "trap 'date +%s > /h/term-at; exit 0' TERM; while true; do sleep 0.2; done"],
          lifecycle: { preStop: { sleep: { seconds: 3 } } },
          volumeMounts: [{ name: 'host', mountPath: '/h', subPath: 'sleepy' }],
        },
      ],
    },
  };
  await env.clientset.pods.create(pod);
  await waitPod(env, 'sleepy', (x) => x.status?.phase === 'Running', 'sleepy Running');
  const deletedAt = Math.floor(Date.now() / 1000);
  await env.clientset.pods.delete('sleepy', { namespace: 'default' });
  await waitGone(env, 'sleepy');
  const termAt = Number(fs.readFileSync(path.join(env.hostDir, 'sleepy', 'term-at'), 'utf8'));
  t.true(termAt - deletedAt >= 2, `SIGTERM ${termAt - deletedAt}s after the delete: after the 3 s sleep hook`);
  t.true(termAt - deletedAt <= 10, 'within the grace period');
});

test.serial('lifecycle: a failing postStart kills the container (FailedPostStartHook) and it restarts', async (t) => {
  const env = t.context;
  // sleep as PID 1 ignores SIGTERM: a short grace period keeps the kill quick.
  const pod = bound(env.node, env.image, 'badhook', { terminationGracePeriodSeconds: 2 }, ['sh', '-c', 'exec sleep 3600']);
  pod.spec!.containers![0]!.lifecycle = { postStart: { exec: { command: ['sh', '-c', 'echo no way; exit 3'] } } };
  await env.clientset.pods.create(pod);
  await waitPod(env, 'badhook', (x) => (x.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1, 'badhook restarted');
  const evs = await eventsOf(env, 'badhook');
  t.true(
    evs.some((e) => e.startsWith('FailedPostStartHook: Exec lifecycle hook ([sh -c echo no way; exit 3]) for Container "main"') && e.includes('exited with 3')),
    evs.join('\n'),
  );
  t.true(evs.includes('Killing: FailedPostStartHook'), evs.join('\n'));
  await env.clientset.pods.delete('badhook', { namespace: 'default', gracePeriodSeconds: 0 });
  await waitGone(env, 'badhook');
});

test.serial('subPath: a symlink a container planted to leave the volume is refused at mount time; one inside it works', async (t) => {
  const env = t.context;
  const pod: Pod = {
    metadata: { name: 'escape', namespace: 'default' },
    spec: {
      nodeName: env.node.nodeName,
      terminationGracePeriodSeconds: 1,
      volumes: [{ name: 'v', emptyDir: {} }],
      initContainers: [
        {
          name: 'plant',
          image: env.image,
          command: ['sh', '-c', 'ln -s / /v/abs && ln -s ../../../../../.. /v/rel && mkdir /v/ok && echo inside > /v/ok/f && ln -s ok /v/inside'],
          volumeMounts: [{ name: 'v', mountPath: '/v' }],
        },
      ],
      containers: [
        { name: 'abs', image: env.image, command: ['sleep', '3600'], volumeMounts: [{ name: 'v', mountPath: '/x', subPath: 'abs' }] },
        { name: 'rel', image: env.image, command: ['sleep', '3600'], volumeMounts: [{ name: 'v', mountPath: '/x', subPath: 'rel/etc' }] },
        {
          name: 'good',
          image: env.image,
          command: ['sh', '-c', 'cat /x/f; exec sleep 3600'],
          volumeMounts: [{ name: 'v', mountPath: '/x', subPath: 'inside' }],
        },
      ],
    },
  };
  await env.clientset.pods.create(pod);
  const p = await waitPod(
    env,
    'escape',
    (x) => {
      const st = new Map((x.status?.containerStatuses ?? []).map((c) => [c.name, c.state]));
      return (
        st.get('good')?.running !== undefined &&
        st.get('abs')?.waiting?.reason === 'CreateContainerError' &&
        st.get('rel')?.waiting?.reason === 'CreateContainerError'
      );
    },
    'abs and rel refused, good running',
  );
  for (const name of ['abs', 'rel']) {
    const msg = p.status?.containerStatuses?.find((c) => c.name === name)?.state?.waiting?.message ?? '';
    t.regex(msg, /subPath resolves outside the volume/, `${name}: ${msg}`);
  }
  await env.clientset.pods.delete('escape', { namespace: 'default', gracePeriodSeconds: 0 });
  await waitGone(env, 'escape');
});

test.serial('SIGTERM stops tsk kubelet cleanly (exit 0) and leaves its containers running', async (t) => {
  const env = t.context;
  const k = env.node.proc.kubelet;
  if (!k) throw new Error('no kubelet running');
  const exited = new Promise<number | null>((r) => k.once('exit', (code) => r(code)));
  k.kill('SIGTERM');
  const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running after 15 s'), 15_000))]);
  t.is(code, 0);
  t.true(env.node.log.some((l) => /SIGTERM: stopping \(containers keep running\)/.test(l)));
  const runtime = new NativeRuntime({ dataDir: env.node.dataDir, images: new ImageStore(env.node.dataDir) });
  const sleeper = await podStatus(env, 'sleeper');
  const id = (sleeper.status?.containerStatuses?.[0]?.containerID ?? '').replace('tsk://', '');
  t.is((await runtime.containerStatus(id)).state, 'running');
  startKubelet(env, env.node);
  await waitPod(env, 'sleeper', (x) => x.status?.phase === 'Running', 'sleeper still Running');
});

test.serial(
  'bridge network: NotReady until the node has a podCIDR, then pods get an IP from it and httpGet/tcpSocket probes and an httpGet preStop hook reach them',
  async (t) => {
    const env = t.context;
    const node = env.bridged;
    startKubelet(env, node);
    let n: Node | undefined;
    await eventually(
      async () => {
        assertKubeletAlive(node);
        n = await env.clientset.nodes.get(node.nodeName).catch(() => undefined);
        return readyCondition(n)?.status === 'False';
      },
      60_000,
      'the bridged Node to report NotReady',
    );
    t.is(readyCondition(n)?.reason, 'KubeletNotReady');
    t.is(readyCondition(n)?.message, 'network not ready: the node has no podCIDR yet');

    // httpd as PID 1 ignores SIGTERM: a short grace period keeps the deletion quick.
    const web = bound(node, env.image, 'web', { terminationGracePeriodSeconds: 2 }, [
      'sh',
      '-c',
      'echo "$MY_IP" > /out/web-ip; mkdir -p /www/cgi-bin && echo hello > /www/index.html && ' +
        // The preStop hook's target: a CGI that leaves a mark the test reads.
        `printf '#!/bin/sh\\necho "Content-Type: text/plain"\\necho\\necho bye\\necho "$REQUEST_METHOD $HTTP_X_HOOK" > /out/http-prestop\\n' > /www/cgi-bin/bye && chmod +x /www/cgi-bin/bye && ` +
        'exec httpd -f -p 8080 -h /www',
    ]);
    const c = web.spec!.containers![0]!;
    c.ports = [{ name: 'http', containerPort: 8080 }];
    c.readinessProbe = { httpGet: { path: '/index.html', port: { type: 1, strVal: 'http' } }, periodSeconds: 1 };
    c.livenessProbe = { tcpSocket: { port: { type: 0, intVal: 8080 } }, initialDelaySeconds: 2, periodSeconds: 1 };
    c.env = [{ name: 'MY_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }];
    // An httpGet preStop hook: to the pod IP (no host given) and the named port, from the kubelet.
    c.lifecycle = { preStop: { httpGet: { path: '/cgi-bin/bye', port: { type: 1, strVal: 'http' }, httpHeaders: [{ name: 'X-Hook', value: 'preStop' }] } } };
    c.volumeMounts = [{ name: 'out', mountPath: '/out' }];
    web.spec!.volumes = [{ name: 'out', hostPath: { path: env.hostDir } }];
    await env.clientset.pods.create(web);
    await waitPod(env, 'web', (x) => x.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ContainerCreating', 'web waiting for the network', node);

    // What the node IPAM controller does: assign the node its pod CIDR.
    const cur = await env.clientset.nodes.get(node.nodeName);
    await env.clientset.nodes.update({ ...cur, spec: { ...cur.spec, podCIDR: '10.244.7.0/24', podCIDRs: ['10.244.7.0/24'] } });
    await eventually(async () => readyCondition(await env.clientset.nodes.get(node.nodeName))?.status === 'True', 30_000, 'the bridged Node to become Ready');

    const p = await waitPod(env, 'web', (x) => x.status?.containerStatuses?.[0]?.ready === true, 'web ready (httpGet readiness probe passing)', node).catch(
      async (err: Error) => {
        const evs = (await env.clientset.events.list({ namespace: 'default', fieldSelector: 'involvedObject.name=web' })).items ?? [];
        throw new Error(`${err.message}\nevents:\n${evs.map((e) => `${e.reason ?? ''}: ${e.message ?? ''}`).join('\n')}`);
      },
    );
    const ip = p.status?.podIP ?? '';
    t.regex(ip, /^10\.244\.7\.\d+$/);
    t.deepEqual(p.status?.podIPs, [{ ip }]);
    t.is(fs.readFileSync(path.join(env.hostDir, 'web-ip'), 'utf8').trim(), ip, 'status.podIP reached the container through a fieldRef');
    t.is(p.status?.containerStatuses?.[0]?.restartCount, 0, 'the tcpSocket liveness probe passes');

    await env.clientset.pods.delete('web', { namespace: 'default' });
    await eventually(
      async () => {
        try {
          await env.clientset.pods.get('web', 'default');
          return false;
        } catch (err) {
          if (err instanceof NotFoundError) return true;
          throw err;
        }
      },
      30_000,
      'web to be removed',
    );
    t.is(fs.readFileSync(path.join(env.hostDir, 'http-prestop'), 'utf8').trim(), 'GET preStop', 'the httpGet preStop hook reached the pod');
    const links = spawnSync('ip', ['-n', node.ns, '-o', 'link', 'show'], { encoding: 'utf8' }).stdout;
    t.false(/\bveth/.test(links), `the pod's veth is gone:\n${links}`);
  },
);
