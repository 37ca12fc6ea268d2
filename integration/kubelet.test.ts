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
// running pod (same container, same restart count).
//
// Everything (processes, namespace, containers, sandboxes, cgroups, mounts,
// temp dirs) is removed in after.always, also when a test fails.

import anyTest, { type TestFn } from 'ava';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { NotFoundError } from '../api/errors';
import type { Node, Pod } from '../api/gen/tsk/v1/core';
import { startApiServer, type RunningApiServer } from '../apiserver/server';
import { Clientset } from '../client';
import { ImageStore } from '../kubelet/runtime/image/store';
import { NativeRuntime } from '../kubelet/runtime/native-runtime';
import { eventually } from './support/client-harness';
import { startTestEtcd } from './support/etcd';
import { startRegistry } from './support/registry';
import { cleanupRuntime } from './support/runtime-env';
import { busyboxImage, pushImage } from './support/test-images';

const TSK = path.resolve(__dirname, '..', 'cmd', 'tsk.js');

interface Env {
  ns: string;
  dir: string;
  dataDir: string;
  sock: string;
  nodeName: string;
  image: string;
  hostDir: string;
  clientset: Clientset;
  /** Shared by reference: ava gives each test a shallow copy of the context. */
  proc: { kubelet: ChildProcess | undefined };
  kubeletLog: string[];
  cleanups: Array<() => Promise<void> | void>;
}

const test = anyTest as TestFn<Env>;

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error?.message || `exit ${r.status}`}`);
}

/** Pipes every connection of `server` to a connection `connect()` opens. */
function pipeTo(connect: () => net.Socket): net.Server {
  return net.createServer((c) => {
    const up = connect();
    c.pipe(up).pipe(c);
    c.on('error', () => up.destroy());
    up.on('error', () => c.destroy());
  });
}

/** A TCP listener on 127.0.0.1:port inside the namespace that forwards to a unix socket. */
function startForwarderInNamespace(ns: string, port: number, sock: string): Promise<ChildProcess> {
  const code = `const net=require('net');const [port,sock]=process.argv.slice(1);
    net.createServer((c)=>{const u=net.connect(sock);c.pipe(u).pipe(c);c.on('error',()=>u.destroy());u.on('error',()=>c.destroy());})
      .listen(Number(port),'127.0.0.1',()=>console.log('ready'));`;
  // nsenter execs node itself (ip netns exec forks and waits, so killing it would orphan the forwarder).
  const child = spawn('nsenter', [`--net=/var/run/netns/${ns}`, process.execPath, '-e', code, String(port), sock], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout?.once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`registry forwarder exited with ${code}: ${err}`)));
  });
}

/**
 * Starts `tsk kubelet` in the test namespace. nsenter --net rather than `ip
 * netns exec`: the latter also remounts /sys for the namespace, which hides
 * /sys/fs/cgroup from the runtime; nsenter switches the network namespace only.
 */
function startKubelet(env: Env): ChildProcess {
  const args = [
    `--net=/var/run/netns/${env.ns}`, process.execPath, TSK, 'kubelet',
    '--server', `unix:${env.sock}`,
    '--hostname-override', env.nodeName,
    '--network', 'loopback',
    '--node-ip', '127.0.0.1',
    '--data-dir', env.dataDir,
    '--max-pods', '20',
    '--system-reserved', 'cpu=100m,memory=100Mi',
    '--node-status-update-frequency', '1s',
  ];
  const child = spawn('nsenter', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (d: Buffer): void => {
    env.kubeletLog.push(...d.toString().split('\n').filter((l) => l !== ''));
    if (env.kubeletLog.length > 400) env.kubeletLog.splice(0, env.kubeletLog.length - 400);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  env.proc.kubelet = child;
  return child;
}

async function killKubelet(env: Env): Promise<void> {
  const k = env.proc.kubelet;
  env.proc.kubelet = undefined;
  if (!k || k.exitCode !== null || k.signalCode !== null) return;
  const exited = new Promise<void>((r) => k.once('exit', () => r()));
  k.kill('SIGKILL');
  await exited;
}

test.before(async (t) => {
  const cleanups: Env['cleanups'] = [];
  const shim = { teardown: (fn: () => Promise<void> | void) => void cleanups.push(fn) } as unknown as Parameters<typeof startTestEtcd>[0];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-kt-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const env: Env = {
    ns: `tsk-kt-${randomBytes(4).toString('hex')}`,
    dir,
    dataDir: path.join(dir, 'data'),
    sock: path.join(dir, 'api.sock'),
    nodeName: `kt-node-${randomBytes(3).toString('hex')}`,
    image: '',
    hostDir: path.join(dir, 'host'),
    clientset: undefined as unknown as Clientset,
    proc: { kubelet: undefined },
    kubeletLog: [],
    cleanups,
  };
  t.context = env;
  fs.mkdirSync(env.hostDir, { mode: 0o777 });
  fs.chmodSync(env.hostDir, 0o777);

  const etcd = await startTestEtcd(shim);
  const api: RunningApiServer = await startApiServer({ etcdServers: [etcd.etcd.clientUrl], address: `127.0.0.1:0,unix:${env.sock}`, httpAddress: '127.0.0.1:0', log: () => undefined });
  cleanups.push(() => api.stop());
  env.clientset = new Clientset(api.grpcAddress);
  cleanups.push(() => env.clientset.close());

  const registry = await startRegistry();
  cleanups.push(() => registry.stop());
  await pushImage(registry.host, 'tsk/busybox', 'v1', busyboxImage());
  const registryPort = Number(registry.host.split(':')[1]);
  env.image = `127.0.0.1:${registryPort}/tsk/busybox:v1`;
  const registrySock = path.join(dir, 'registry.sock');
  const hostSide = pipeTo(() => net.connect(registryPort, '127.0.0.1'));
  await new Promise<void>((r) => hostSide.listen(registrySock, r));
  cleanups.push(() => new Promise<void>((r) => hostSide.close(() => r())));

  run('ip', ['netns', 'add', env.ns]);
  cleanups.push(() => void spawnSync('ip', ['netns', 'delete', env.ns]));
  run('ip', ['-n', env.ns, 'link', 'set', 'lo', 'up']);
  const forwarder = await startForwarderInNamespace(env.ns, registryPort, registrySock);
  cleanups.push(async () => {
    if (forwarder.exitCode !== null || forwarder.signalCode !== null) return;
    const gone = new Promise<void>((r) => forwarder.once('exit', () => r()));
    forwarder.kill('SIGKILL');
    await gone;
  });

  // Last registered, first run: the kubelet dies before anything it uses, and its pods go with the runtime state.
  cleanups.push(async () => {
    await killKubelet(env);
    if (fs.existsSync(env.dataDir)) await cleanupRuntime(new NativeRuntime({ dataDir: env.dataDir, images: new ImageStore(env.dataDir) }), env.dataDir);
  });
  startKubelet(env);
});

test.after.always(async (t) => {
  const env = t.context;
  if (!env?.cleanups) return;
  const errors: string[] = [];
  for (const fn of [...env.cleanups].reverse()) {
    try {
      await fn();
    } catch (err) {
      errors.push((err as Error).message);
    }
  }
  if (errors.length > 0) throw new Error(`cleanup: ${errors.join('; ')}`);
});

test.afterEach.always((t) => {
  if (!t.passed) t.log(`kubelet log (last lines):\n${t.context.kubeletLog.slice(-60).join('\n')}`);
});

function bound(env: Env, name: string, spec: Partial<NonNullable<Pod['spec']>>, command: string[]): Pod {
  return {
    metadata: { name, namespace: 'default' },
    spec: { nodeName: env.nodeName, terminationGracePeriodSeconds: 10, ...spec, containers: [{ name: 'main', image: env.image, command }] },
  };
}

async function podStatus(env: Env, name: string): Promise<Pod> {
  return env.clientset.pods.get(name, 'default');
}

/** Fails at once when the kubelet process died (its log is shown by afterEach). */
function assertKubeletAlive(env: Env): void {
  const k = env.proc.kubelet;
  if (k && (k.exitCode !== null || k.signalCode !== null)) throw new Error(`the kubelet exited (${k.signalCode ?? `code ${k.exitCode}`})`);
}

async function waitPod(env: Env, name: string, pred: (p: Pod) => boolean, what: string, timeoutMs = 60_000): Promise<Pod> {
  let last: Pod | undefined;
  await eventually(async () => {
    assertKubeletAlive(env);
    last = await podStatus(env, name);
    return pred(last);
  }, timeoutMs, what).catch((err: Error) => {
    throw new Error(`${err.message}; last status: ${JSON.stringify(last?.status)}`);
  });
  return last as Pod;
}

/** A page of the kubelet's HTTP server, fetched from inside its namespace (busybox wget); "" when it cannot be read. */
function kubeletHttp(env: Env, page: string): Promise<string> {
  return new Promise((resolve) => {
    execFile('nsenter', [`--net=/var/run/netns/${env.ns}`, '/bin/busybox', 'wget', '-qO-', `http://127.0.0.1:10248${page}`], { timeout: 10_000 }, (err, stdout) => resolve(err ? '' : stdout));
  });
}

function kubeletMetrics(env: Env): Promise<string> {
  return kubeletHttp(env, '/metrics');
}

function metric(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : NaN;
}

const heartbeat = (n: Node): string => n.status?.conditions?.find((c) => c.type === 'Ready')?.lastHeartbeatTime ?? '';

test.serial('the kubelet registers its Node and heartbeats', async (t) => {
  const env = t.context;
  let node: Node | undefined;
  await eventually(async () => {
    assertKubeletAlive(env);
    node = await env.clientset.nodes.get(env.nodeName).catch(() => undefined);
    return node?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  }, 60_000, 'the Node to be Ready');
  const n = node as Node;
  t.is(n.metadata?.labels?.['kubernetes.io/hostname'], os.hostname().toLowerCase());
  t.is(n.metadata?.labels?.['kubernetes.io/os'], 'linux');
  t.is(n.metadata?.labels?.['kubernetes.io/arch'], os.arch() === 'x64' ? 'amd64' : os.arch());
  t.is(n.status?.capacity?.['cpu'], String(os.cpus().length));
  t.regex(n.status?.capacity?.['memory'] ?? '', /^\d+Ki$/);
  t.is(n.status?.capacity?.['pods'], '20');
  t.is(n.status?.allocatable?.['cpu'], `${os.cpus().length * 1000 - 100}m`);
  t.deepEqual(n.status?.addresses, [{ type: 'InternalIP', address: '127.0.0.1' }, { type: 'Hostname', address: os.hostname().toLowerCase() }]);
  t.is(n.status?.nodeInfo?.containerRuntimeVersion, 'tsk://0.1.0');
  t.is(n.status?.nodeInfo?.operatingSystem, 'linux');
  t.is(n.status?.nodeInfo?.kernelVersion, os.release());
  const ready = n.status?.conditions?.find((c) => c.type === 'Ready');
  t.is(ready?.reason, 'KubeletReady');
  t.is(ready?.message, 'kubelet is posting ready status');
  t.deepEqual(n.status?.conditions?.map((c) => `${c.type}=${c.status}`), ['MemoryPressure=False', 'DiskPressure=False', 'PIDPressure=False', 'Ready=True']);
  const first = heartbeat(n);
  await eventually(async () => heartbeat(await env.clientset.nodes.get(env.nodeName)) !== first, 15_000, 'a newer heartbeat');
  const later = await env.clientset.nodes.get(env.nodeName);
  t.is(later.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime, ready?.lastTransitionTime, 'lastTransitionTime stays while Ready holds');
});

test.serial('a bound pod runs: Running, Ready, containerStatuses, events', async (t) => {
  const env = t.context;
  await env.clientset.pods.create(bound(env, 'sleeper', {}, ['sh', '-c', 'echo started; exec sleep 3600']));
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
  t.truthy(p.status?.startTime);
  t.deepEqual(p.status?.conditions?.map((c) => `${c.type}=${c.status}`), ['Initialized=True', 'Ready=True', 'ContainersReady=True', 'PodScheduled=True']);
  let reasons: string[] = [];
  await eventually(async () => {
    const evs = await env.clientset.events.list({ namespace: 'default', fieldSelector: 'involvedObject.name=sleeper' });
    reasons = (evs.items ?? []).filter((e) => e.source?.component === 'kubelet' && e.source.host === env.nodeName).map((e) => `${e.reason ?? ''}: ${e.message ?? ''}`);
    return reasons.some((r) => r.startsWith('Started'));
  }, 15_000, 'the kubelet events');
  t.true(reasons.includes(`Pulling: Pulling image "${env.image}"`), reasons.join('\n'));
  t.true(reasons.some((r) => r.startsWith(`Pulled: Successfully pulled image "${env.image}" in `)), reasons.join('\n'));
  t.true(reasons.includes('Created: Created container main'));
  t.true(reasons.includes('Started: Started container main'));
});

test.serial('the kubelet serves /healthz and /metrics (running pods and containers, pod start duration)', async (t) => {
  const env = t.context;
  let m = '';
  // The gauges follow the runtime relist (every second).
  await eventually(async () => {
    m = await kubeletMetrics(env);
    return metric(m, 'kubelet_running_pods') >= 1 && metric(m, 'kubelet_running_containers{container_state="running"}') >= 1;
  }, 15_000, 'running pods and containers in /metrics');
  t.true(metric(m, 'kubelet_pod_start_duration_seconds_count') >= 1);
  t.true(metric(m, 'kubelet_pod_worker_duration_seconds_count{operation="sync"}') >= 1);
  t.is(await kubeletHttp(env, '/healthz'), 'ok\n');
  t.is(await kubeletHttp(env, '/readyz'), 'ok\n');
});

test.serial('a failing liveness probe restarts the container (Unhealthy, Killing)', async (t) => {
  const env = t.context;
  const pod = bound(env, 'unhealthy', {}, ['sh', '-c', 'touch /tmp/healthy; sleep 1; rm /tmp/healthy; exec sleep 3600']);
  // sleep as PID 1 ignores SIGTERM: the probe's own grace period keeps the kill short.
  pod.spec!.containers![0]!.livenessProbe = { exec: { command: ['cat', '/tmp/healthy'] }, periodSeconds: 1, failureThreshold: 2, terminationGracePeriodSeconds: 1 };
  await env.clientset.pods.create(pod);
  const p = await waitPod(env, 'unhealthy', (x) => (x.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1, 'a restart after the liveness probe failed');
  t.is(p.status?.containerStatuses?.[0]?.lastState?.terminated?.exitCode, 137, 'killed by the kubelet');
  const evs = (await env.clientset.events.list({ namespace: 'default', fieldSelector: 'involvedObject.name=unhealthy' })).items ?? [];
  t.true(evs.some((e) => e.reason === 'Unhealthy' && e.type === 'Warning' && /^Liveness probe failed: cat: can't open '\/tmp\/healthy': No such file or directory$/.test(e.message ?? '')), evs.map((e) => `${e.reason ?? ''} ${e.message ?? ''}`).join('\n'));
  t.true(evs.some((e) => e.reason === 'Killing' && e.message === 'Container main failed liveness probe, will be restarted'));
  await env.clientset.pods.delete('unhealthy', { namespace: 'default' });
});

test.serial('a container that exits 1 under restartPolicy Always restarts and goes into CrashLoopBackOff', async (t) => {
  const env = t.context;
  await env.clientset.pods.create(bound(env, 'crasher', { restartPolicy: 'Always' }, ['sh', '-c', 'echo failing; exit 1']));
  const p = await waitPod(env, 'crasher', (x) => (x.status?.containerStatuses?.[0]?.restartCount ?? 0) > 0 && x.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff', 'crasher in CrashLoopBackOff');
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
  await env.clientset.pods.create(bound(env, 'oneshot', { restartPolicy: 'Never' }, ['sh', '-c', 'echo done']));
  const p = await waitPod(env, 'oneshot', (x) => x.status?.phase === 'Succeeded', 'oneshot Succeeded');
  const term = p.status?.containerStatuses?.[0]?.state?.terminated;
  t.is(term?.exitCode, 0);
  t.is(term?.reason, 'Completed');
  t.truthy(term?.finishedAt);
  t.is(p.status?.containerStatuses?.[0]?.restartCount, 0);
});

test.serial('deleting a pod stops it gracefully (SIGTERM reaches the container) and removes it from the API', async (t) => {
  const env = t.context;
  const marker = path.join(env.hostDir, 'term');
  const pod: Pod = {
    metadata: { name: 'graceful', namespace: 'default' },
    spec: {
      nodeName: env.nodeName,
      terminationGracePeriodSeconds: 20,
      volumes: [{ name: 'out', hostPath: { path: env.hostDir, type: 'Directory' } }, { name: 'scratch', emptyDir: {} }],
      containers: [{
        name: 'main',
        image: env.image,
        command: ['sh', '-c', "trap 'echo TERM > /out/term; exit 0' TERM; echo up > /scratch/up; while true; do sleep 0.2; done"],
        volumeMounts: [{ name: 'out', mountPath: '/out' }, { name: 'scratch', mountPath: '/scratch' }],
      }],
    },
  };
  const created = await env.clientset.pods.create(pod);
  const uid = created.metadata?.uid ?? '';
  await waitPod(env, 'graceful', (x) => x.status?.phase === 'Running', 'graceful Running');
  const emptyDir = path.join(env.dataDir, 'pods', uid, 'volumes', 'kubernetes.io~empty-dir', 'scratch');
  await eventually(() => fs.existsSync(path.join(emptyDir, 'up')), 15_000, 'the container to write into its emptyDir');
  const started = Date.now();
  await env.clientset.pods.delete('graceful', { namespace: 'default' });
  await eventually(async () => {
    try {
      await env.clientset.pods.get('graceful', 'default');
      return false;
    } catch (err) {
      if (err instanceof NotFoundError) return true;
      throw err;
    }
  }, 30_000, 'the pod to be removed from the API');
  t.true(Date.now() - started < 15_000, 'the container exited on SIGTERM, well within its 20 s grace period');
  t.is(fs.readFileSync(marker, 'utf8').trim(), 'TERM', 'the container saw SIGTERM');
  await eventually(() => !fs.existsSync(path.join(env.dataDir, 'pods', uid)), 15_000, 'the pod directory (emptyDir) to be removed');
  const runtime = new NativeRuntime({ dataDir: env.dataDir, images: new ImageStore(env.dataDir) });
  await eventually(async () => !(await runtime.listSandboxes()).some((s) => s.uid === uid), 15_000, 'the sandbox to be removed');
  const evs = await env.clientset.events.list({ namespace: 'default', fieldSelector: 'involvedObject.name=graceful' });
  t.true((evs.items ?? []).some((e) => e.reason === 'Killing' && e.message === 'Stopping container main'));
});

test.serial('a killed kubelet restarted keeps the running pod: same container, same restart count', async (t) => {
  const env = t.context;
  const before = await waitPod(env, 'sleeper', (x) => x.status?.phase === 'Running', 'sleeper Running');
  const id = before.status?.containerStatuses?.[0]?.containerID;
  await killKubelet(env);
  const killedAt = Date.now();
  startKubelet(env);
  await eventually(async () => Date.parse(heartbeat(await env.clientset.nodes.get(env.nodeName))) > killedAt + 1000, 60_000, 'a heartbeat from the new kubelet');
  // The new kubelet has adopted the pod once its metrics show it running and synced (twice: start-up, then a relist or resync).
  await eventually(async () => {
    const m = await kubeletMetrics(env);
    return metric(m, 'kubelet_running_pods') >= 1 && metric(m, 'kubelet_pod_worker_duration_seconds_count{operation="sync"}') >= 2;
  }, 30_000, 'the new kubelet to sync its pods');
  const after = await podStatus(env, 'sleeper');
  t.is(after.status?.phase, 'Running');
  t.is(after.status?.containerStatuses?.[0]?.containerID, id, 'the same container');
  t.is(after.status?.containerStatuses?.[0]?.restartCount, 0);
  const runtime = new NativeRuntime({ dataDir: env.dataDir, images: new ImageStore(env.dataDir) });
  const sandboxes = (await runtime.listSandboxes()).filter((s) => s.uid === before.metadata?.uid);
  t.is(sandboxes.length, 1, 'no second sandbox');
  const containers = await runtime.listContainers({ sandboxId: sandboxes[0]?.id ?? '' });
  t.deepEqual(containers.map((c) => `tsk://${c.id} ${c.state}`), [`${id ?? ''} running`], 'no duplicate container');
});
