// Scheduler benchmark: how fast a backlog of pending pods is bound, and the
// latency from a pod's create to its bind at a steady arrival rate; beside
// the anchor measured in the same run: the same number of Binds posted
// straight to the API server (64 in flight), the floor for "one Bind per pod"
// on this machine. The API server runs as a child process (`tsk apiserver`)
// on its own etcd; the scheduler runs in this process through
// startScheduler (informers, queue, plugins, Binds, Scheduled Events); the
// watch that sees the pods bound runs in a process of its own
// (bench/watch-worker.ts), so this process's CPU is the scheduler's.
//
// Output: a table, then as the LAST line one JSON object with every figure.

import { fork, spawn, type ChildProcess } from 'node:child_process';
import { Session } from 'node:inspector/promises';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pod } from '../api/gen/tsk/v1/core';
import { Clientset, SharedInformerFactory } from '../client';
import { startScheduler } from '../scheduler';
import { EtcdProcess } from '../util/etcd-process';
import { ADMIN_GROUP, ADMIN_USER } from '../util/pki';
import { percentile, runPool } from './pool';
import { cpuSeconds, selfCpuSeconds } from './proc-cpu';
import { errorDetail } from '../util/errors';
import type { WatchWorkerReply, WatchWorkerStart } from './watch-worker';

const NODES = Number(process.env['BENCH_NODES'] ?? 100);
const PODS = Number(process.env['BENCH_PODS'] ?? 2000);
const LATENCY_PODS = Number(process.env['BENCH_LATENCY_PODS'] ?? 200);
const RATE_PER_S = 50;
const CONCURRENCY = 64;
/** Where the API server writes its CPU profile (node --cpu-prof), and this process (the scheduler) its profile of the backlog phase, when set. */
const PROFILE_DIR = process.env['BENCH_PROFILE_DIR'];

function progress(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}

/** CLOCK_MONOTONIC in µs, the clock of a V8 CPU profile's timestamps: lets a profile be cut to one phase. */
function monotonicUs(): string {
  return String(process.hrtime.bigint() / 1000n);
}

/**
 * Profiles this process (the scheduler's) from now until the returned
 * function is called, which writes scheduler-PID.cpuprofile into dir: only
 * the backlog phase, without the set-up and the anchor.
 */
async function profileSelf(dir: string): Promise<() => Promise<void>> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    await writeFile(join(dir, `scheduler-${process.pid}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  };
}

function benchPod(name: string, schedulerName = ''): Pod {
  return {
    // The anchor's pods are apart from the scheduler's (the bind watcher selects app=bench).
    metadata: { name, namespace: 'default', labels: { app: schedulerName === '' ? 'bench' : 'bench-anchor' } },
    spec: {
      schedulerName,
      containers: [{ name: 'main', image: 'busybox:1.36', command: ['sleep', '3600'], resources: { requests: { cpu: '10m', memory: '16Mi' } } }],
    },
  };
}

/**
 * `tsk apiserver` in plaintext (the bench measures scheduling, not TLS) with
 * `token` as the admin's bearer token: the server refuses anonymous callers.
 */
async function startServer(etcdUrl: string, dir: string, token: string): Promise<{ child: ChildProcess; address: string }> {
  const tokenFile = join(dir, 'tokens.csv');
  await writeFile(tokenFile, `${token},${ADMIN_USER},${ADMIN_USER},"${ADMIN_GROUP}"\n`, { mode: 0o600 });
  const child = spawn(
    process.execPath,
    [
      ...(PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=apiserver-${process.pid}.cpuprofile`] : []),
      join(__dirname, '..', 'cmd', 'tsk.js'),
      'apiserver',
      '--etcd-servers',
      etcdUrl,
      '--data-dir',
      join(dir, 'server'),
      '--address',
      '127.0.0.1:0',
      '--http-address',
      '127.0.0.1:0',
      '--write-config=false',
      '--insecure-plaintext-for-benchmarks-only',
      '--token-auth-file',
      tokenFile,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /serving gRPC on (\S+), HTTP on ([^\s,]+)/.exec(out);
      if (m) resolve({ child, address: m[1]! });
    });
    child.once('exit', (code) => reject(new Error(`tsk apiserver exited (code ${code}) during start-up:\n${out}`)));
  });
}

async function createNodes(cs: Clientset): Promise<void> {
  await runPool(NODES, 16, async (i) => {
    const created = await cs.nodes.create({ metadata: { name: `node-${String(i).padStart(4, '0')}` }, spec: {} });
    const resources = { cpu: '64', memory: '256Gi', pods: '1000' };
    await cs.nodes.updateStatus({ ...created, status: { capacity: resources, allocatable: resources, conditions: [{ type: 'Ready', status: 'True' }] } });
  });
}

/** Anchor: PODS Binds posted directly, 64 in flight, to pods no scheduler looks at. */
async function anchorBinds(cs: Clientset, serverPid: number | undefined): Promise<{ perS: number; serverCpuMs: number }> {
  await runPool(PODS, CONCURRENCY, async (i) => void (await cs.pods.create(benchPod(`anchor-${i}`, 'bench-anchor'))));
  const cpu0 = cpuSeconds(serverPid);
  const start = performance.now();
  await runPool(PODS, CONCURRENCY, async (i) => void (await cs.pods.bind('default', `anchor-${i}`, `node-${String(i % NODES).padStart(4, '0')}`)));
  const secs = (performance.now() - start) / 1000;
  return { perS: PODS / secs, serverCpuMs: ((cpuSeconds(serverPid) - cpu0) * 1000) / PODS };
}

interface SchedulerFigures {
  backlogPerS: number;
  serverCpuMs: number;
  schedulerCpuMs: number;
  latencyMs: number[];
}

/**
 * The bench's own watch of binds, in a process of its own (bench/watch-worker.ts,
 * as bench/api.ts does): the scheduler's process then does only the
 * scheduler's work. A pod's ADDED event under `spec.nodeName!=` is the
 * moment a watcher sees it bound; times are Date.now().
 */
class BindWatcher {
  private constructor(private readonly child: ChildProcess) {}

  static async start(address: string, token: string): Promise<BindWatcher> {
    const child = fork(join(__dirname, 'watch-worker.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const watcher = new BindWatcher(child);
    const ready = watcher.reply((m) => ('ready' in m ? true : undefined));
    child.send({
      address,
      namespace: 'default',
      watchers: 1,
      labelSelector: 'app=bench',
      fieldSelector: 'spec.nodeName!=',
      credentials: { insecurePlaintext: true, token },
    } satisfies WatchWorkerStart);
    await ready;
    return watcher;
  }

  /** How many pods were seen bound so far. */
  count(): Promise<number> {
    const reply = this.reply((m) => ('count' in m ? m.count : undefined));
    this.child.send({ count: true });
    return reply;
  }

  /**
   * Waits until `n` pods were seen bound; false when the deadline passed
   * first. Polls every 100 ms: the rate is timed by the watcher's receipts,
   * not by this poll, and each poll is an IPC write that costs this process
   * (the scheduler's) CPU: every 20 ms it was 4% of the process's CPU per pod.
   */
  async waitFor(n: number, deadline: number): Promise<boolean> {
    for (;;) {
      if ((await this.count()) >= n) return true;
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** When each pod was first seen bound; the worker exits. */
  async stop(): Promise<Map<string, number>> {
    const reply = this.reply((m) => ('receipts' in m ? m.receipts : undefined));
    this.child.send({ stop: true });
    return new Map((await reply).map(([name, times]) => [name, times[0] ?? NaN]));
  }

  private reply<T>(pick: (m: WatchWorkerReply) => T | undefined): Promise<T> {
    return new Promise((resolve, reject) => {
      // 'disconnect', not 'exit': the worker exits right after its last (large) message.
      const onGone = (): void => reject(new Error(`bind watcher exited (code ${this.child.exitCode}) without answering`));
      const onMessage = (m: WatchWorkerReply): void => {
        const v = pick(m);
        if (v === undefined) return;
        this.child.off('message', onMessage);
        this.child.off('disconnect', onGone);
        resolve(v);
      };
      this.child.on('message', onMessage);
      this.child.once('disconnect', onGone);
    });
  }
}

async function measureScheduler(cs: Clientset, address: string, token: string, serverPid: number | undefined): Promise<SchedulerFigures> {
  await runPool(PODS, CONCURRENCY, async (i) => void (await cs.pods.create(benchPod(`backlog-${i}`))));
  progress(`${PODS} pending pods created; starting the scheduler`);
  const watcher = await BindWatcher.start(address, token);

  const informers = new SharedInformerFactory(cs);
  const scheduler = startScheduler({ clientset: cs, informers, log: (l) => progress(`scheduler: ${l}`) });
  await scheduler.started;
  const stopProfile = PROFILE_DIR ? await profileSelf(PROFILE_DIR) : undefined;
  const cpu0 = cpuSeconds(serverPid);
  const self0 = selfCpuSeconds();
  const start = Date.now();
  progress(`backlog phase starts at monotonic ${monotonicUs()} µs`);
  if (!(await watcher.waitFor(PODS, start + 600_000))) throw new Error('backlog not bound within 10 minutes');
  progress(`backlog phase ends at monotonic ${monotonicUs()} µs`);
  const cpu = { server: cpuSeconds(serverPid) - cpu0, self: selfCpuSeconds() - self0 };
  await stopProfile?.();
  progress(`backlog bound; measuring latency at ${RATE_PER_S} pods/s`);

  const sentAt = new Map<string, number>();
  const names = Array.from({ length: LATENCY_PODS }, (_, i) => `steady-${i}`);
  const creates: Promise<unknown>[] = [];
  const steadyStart = Date.now();
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const wait = steadyStart + (i * 1000) / RATE_PER_S - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    sentAt.set(name, Date.now());
    creates.push(cs.pods.create(benchPod(name)));
  }
  await Promise.all(creates);
  await watcher.waitFor(PODS + LATENCY_PODS, Date.now() + 60_000);
  const boundAt = await watcher.stop();
  await scheduler.stop();
  await informers.stop();
  const backlog = Array.from({ length: PODS }, (_, i) => boundAt.get(`backlog-${i}`) ?? NaN);
  const end = Math.max(...backlog);
  const latencyMs = names.map((n) => (boundAt.get(n) ?? NaN) - sentAt.get(n)!).sort((a, b) => a - b);
  return {
    backlogPerS: PODS / ((end - start) / 1000),
    serverCpuMs: (cpu.server * 1000) / PODS,
    schedulerCpuMs: (cpu.self * 1000) / PODS,
    latencyMs,
  };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tsk-bench-scheduler-'));
  let etcd: EtcdProcess | undefined;
  let server: ChildProcess | undefined;
  let cs: Clientset | undefined;
  try {
    etcd = await EtcdProcess.start({ dataDir: dir });
    const token = randomBytes(16).toString('hex');
    const s = await startServer(etcd.clientUrl, dir, token);
    server = s.child;
    cs = new Clientset(s.address, { insecurePlaintext: true, token });
    progress(`API server at ${s.address}; creating ${NODES} nodes`);
    await createNodes(cs);
    progress(`anchor: ${PODS} direct Binds`);
    const anchor = await anchorBinds(cs, server.pid);
    const tsk = await measureScheduler(cs, s.address, token, server.pid);
    const p = (q: number): number => percentile(tsk.latencyMs, q);
    const ratio = tsk.backlogPerS / anchor.perS;
    const rows: [string, string, string][] = [
      ['backlog bound (pods/s)', tsk.backlogPerS.toFixed(0), `${anchor.perS.toFixed(0)} direct Binds/s (x${ratio.toFixed(2)})`],
      ['API server CPU per pod (ms)', tsk.serverCpuMs.toFixed(2), `${anchor.serverCpuMs.toFixed(2)} per direct Bind`],
      ['scheduler process CPU per pod (ms)', tsk.schedulerCpuMs.toFixed(2), "the bench's watch of binds runs in a process of its own"],
      [`create->bound at ${RATE_PER_S}/s p50 (ms)`, p(50).toFixed(1), '-'],
      [`create->bound at ${RATE_PER_S}/s p99 (ms)`, p(99).toFixed(1), '-'],
    ];
    console.log(`tsk scheduler: ${NODES} nodes, ${PODS} pending pods, then ${LATENCY_PODS} pods at ${RATE_PER_S}/s`);
    console.log(`${'figure'.padEnd(34)} ${'tsk'.padStart(10)}  anchor`);
    for (const [k, v, a] of rows) console.log(`${k.padEnd(34)} ${v.padStart(10)}  ${a}`);
    console.log(
      JSON.stringify({
        nodes: NODES,
        pods: PODS,
        backlog_pods_per_s: Math.round(tsk.backlogPerS),
        anchor_direct_binds_per_s: Math.round(anchor.perS),
        ratio_backlog_to_anchor: Number(ratio.toFixed(3)),
        apiserver_cpu_ms_per_pod: Number(tsk.serverCpuMs.toFixed(3)),
        anchor_apiserver_cpu_ms_per_bind: Number(anchor.serverCpuMs.toFixed(3)),
        bench_process_cpu_ms_per_pod: Number(tsk.schedulerCpuMs.toFixed(3)),
        steady_rate_pods_per_s: RATE_PER_S,
        create_to_bound_p50_ms: Number(p(50).toFixed(1)),
        create_to_bound_p99_ms: Number(p(99).toFixed(1)),
      }),
    );
  } finally {
    cs?.close();
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server!.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    }
    await etcd?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`bench: ${errorDetail(err)}`);
  process.exitCode = 1;
});
