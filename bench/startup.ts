// npm run bench:startup — pod start-up latency end to end (Kubernetes'
// pod start-up SLO, measured as its density test does: create -> Running as
// a watcher sees it), on a `tsk lab` node with the image already present.
//
//   single: BENCH_SINGLE (50) pods one after another (each deleted and gone
//           before the next): p50 and p99 of create -> Running, split into
//           create -> bound (API + scheduler) and bound -> Running (kubelet).
//   batch:  BENCH_BATCH (30) pods created at once: the time until all are
//           Running, and pods/s.
//   floor:  `tsk runtime run -d` of the same container (busybox, sleep 3600)
//           as many times as the single pods, in the same run: the CLI
//           process from exec to exit (a sandbox with loopback only, no API,
//           scheduler or pod network). Beside it the runtime alone, in this
//           process (createSandbox + createContainer + startContainer, as the
//           kubelet calls them, without the pod network): the CLI's figure is
//           mostly Node starting and loading tsk.
//
// The lab (one server, one node) runs under a random name in a temporary
// directory, and is removed at the end, also when the bench fails or is
// interrupted (startup-lab.ts). Beside the batch's time, the CPU each lab
// process (server, its etcd, agent, its tsk-launcher) spent on it: on a
// shared machine that moves much less with the load than the time does.
// BENCH_CPU_PROF=DIR runs the server and the agent under node --cpu-prof
// (tsk lab up --cpu-prof), their profiles left in DIR when the lab goes down.
// Output: a table, then as the LAST line one JSON object with every figure.

import type { Pod } from '../api/gen/tsk/v1/core';
import type { Clientset } from '../client';
import { ImageStore, NativeRuntime } from '../kubelet/runtime';
import { errorMessage } from '../util/errors';
import * as os from 'node:os';
import { labStatus } from '../lab';
import { cpuSnapshot, cpuSpent } from './lab-cpu';
import { percentile } from './pool';
import { parseSamples, type Sample } from './prom-text';
import { downStartupLab, IMAGE, labClient, newStartupLab, tsk, upStartupLab, type StartupLab } from './startup-lab';

const SINGLE = Number(process.env['BENCH_SINGLE'] ?? 50);
/** A directory: the lab's server and agent run with node --cpu-prof and leave their profiles there when the lab goes down. */
const CPU_PROF_DIR = process.env['BENCH_CPU_PROF'] || undefined;
const BATCH = Number(process.env['BENCH_BATCH'] ?? 30);
const WARMUP = 3;
const NAMESPACE = 'startup';
const TIMEOUT_MS = 120_000;

const TARGETS = { single_p50_ms: 150, single_p99_ms: 500, batch_pods_per_s: 20 };

function progress(msg: string): void {
  process.stderr.write(`bench:startup: ${msg}\n`);
}

/** When the watch saw each pod bound and Running, and gone; waiters for either. */
class PodClock {
  readonly bound = new Map<string, number>();
  readonly running = new Map<string, number>();
  private readonly gone = new Set<string>();
  private readonly waiters: Array<() => void> = [];

  observe(type: string, p: Pod, now: number): void {
    const name = p.metadata?.name ?? '';
    if (type === 'DELETED') this.gone.add(name);
    else this.gone.delete(name);
    if (p.spec?.nodeName && !this.bound.has(name)) this.bound.set(name, now);
    if (p.status?.phase === 'Running' && !this.running.has(name)) this.running.set(name, now);
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves when pred holds after an event (or now); rejects after TIMEOUT_MS naming `what`. */
  async until(pred: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + TIMEOUT_MS;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`${what}: not seen within ${TIMEOUT_MS / 1000}s`);
      await new Promise<void>((r) => {
        const timer = setTimeout(r, 1000);
        this.waiters.push(() => {
          clearTimeout(timer);
          r();
        });
      });
    }
  }

  isGone(name: string): boolean {
    return this.gone.has(name);
  }

  forget(name: string): void {
    this.bound.delete(name);
    this.running.delete(name);
    this.gone.delete(name);
  }
}

/** Watches the bench's namespace until aborted, feeding the clock. */
async function watchPods(cs: Clientset, clock: PodClock, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      const list = await cs.pods.list({ namespace: NAMESPACE });
      const w = cs.pods.watch({ namespace: NAMESPACE, resourceVersion: list.metadata?.resourceVersion ?? '' });
      signal.addEventListener('abort', () => w.cancel(), { once: true });
      for await (const ev of w) if (ev.type !== 'BOOKMARK') clock.observe(ev.type, ev.object, performance.now());
    } catch (err) {
      if (!signal.aborted) progress(`pod watch: ${errorMessage(err)}; watching again`);
    }
  }
}

function pod(name: string): Pod {
  return {
    metadata: { name, namespace: NAMESPACE },
    spec: {
      terminationGracePeriodSeconds: 0,
      containers: [{ name: 'c', image: IMAGE, imagePullPolicy: 'Never', command: ['sleep', '3600'] }],
    },
  };
}

interface Single {
  total: number[];
  bound: number[];
  kubelet: number[];
}

/** Creates one pod, waits until it is Running, deletes it and waits until it is gone; returns the start and the name. */
async function onePod(cs: Clientset, clock: PodClock, name: string): Promise<number> {
  clock.forget(name);
  const t0 = performance.now();
  await cs.pods.create(pod(name));
  await clock.until(() => clock.running.has(name), `pod ${name} Running`);
  return t0;
}

async function deleteAndWait(cs: Clientset, clock: PodClock, names: readonly string[]): Promise<void> {
  await Promise.all(names.map((n) => cs.pods.delete(n, { namespace: NAMESPACE, gracePeriodSeconds: 0 })));
  await clock.until(() => names.every((n) => clock.isGone(n)), `deleted pods ${names[0] ?? ''}.. gone`);
}

async function singles(cs: Clientset, clock: PodClock): Promise<Single> {
  const out: Single = { total: [], bound: [], kubelet: [] };
  for (let i = -WARMUP; i < SINGLE; i++) {
    const name = i < 0 ? `warm-${-i}` : `single-${i}`;
    const t0 = await onePod(cs, clock, name);
    const running = clock.running.get(name) ?? NaN;
    const bound = clock.bound.get(name) ?? running;
    if (i >= 0) {
      out.total.push(running - t0);
      out.bound.push(bound - t0);
      out.kubelet.push(running - bound);
    }
    await deleteAndWait(cs, clock, [name]);
    if ((i + 1) % 10 === 0 && i >= 0) progress(`single ${i + 1}/${SINGLE}`);
  }
  return out;
}

/** The lab's server and agent, with their helpers: CPU ms of each so far. */
async function labCpu(lab: StartupLab): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const m of (await labStatus(lab.name, lab.dir))?.machines ?? []) for (const [k, v] of cpuSnapshot(m.role, m.pid)) out.set(k, v);
  return out;
}

interface Batch {
  ms: number;
  /** CPU ms each lab process (and helper) spent from the creates until all were Running. */
  cpu: Map<string, number>;
  /** The API server's calls in that time, "VERB resource" and "etcd OPERATION type": how many, and their mean latency. */
  calls: Map<string, { count: number; meanMs: number }>;
}

async function scrapeServer(lab: StartupLab): Promise<Sample[]> {
  const res = await fetch(`http://${lab.httpAddress}/metrics`);
  if (!res.ok) throw new Error(`the server's /metrics: HTTP ${res.status}`);
  return parseSamples(await res.text());
}

/** Count and mean latency of each verb and resource (API) and operation and type (etcd) between two scrapes. */
function callsBetween(before: readonly Sample[], after: readonly Sample[]): Batch['calls'] {
  const totals = (samples: readonly Sample[]): Map<string, { sum: number; count: number }> => {
    const out = new Map<string, { sum: number; count: number }>();
    for (const s of samples) {
      const m = /^(apiserver_request|etcd_request)_duration_seconds_(sum|count)$/.exec(s.name);
      if (!m) continue;
      const key =
        m[1] === 'etcd_request' ? `etcd ${s.labels['operation'] ?? ''} ${s.labels['type'] ?? ''}` : `${s.labels['verb'] ?? ''} ${s.labels['resource'] ?? ''}`;
      const t = out.get(key) ?? { sum: 0, count: 0 };
      if (m[2] === 'sum') t.sum += s.value;
      else t.count += s.value;
      out.set(key, t);
    }
    return out;
  };
  const b = totals(before);
  const out: Batch['calls'] = new Map();
  for (const [k, a] of totals(after)) {
    const count = a.count - (b.get(k)?.count ?? 0);
    if (count > 0) out.set(k, { count, meanMs: ((a.sum - (b.get(k)?.sum ?? 0)) * 1000) / count });
  }
  return out;
}

/** BATCH pods created at once; the ms until the last is Running. */
async function batch(cs: Clientset, clock: PodClock, lab: StartupLab): Promise<Batch> {
  const names = Array.from({ length: BATCH }, (_, i) => `batch-${i}`);
  const [cpu0, m0] = await Promise.all([labCpu(lab), scrapeServer(lab)]);
  const t0 = performance.now();
  await Promise.all(names.map((n) => cs.pods.create(pod(n))));
  await clock.until(() => names.every((n) => clock.running.has(n)), `${BATCH} batch pods Running`);
  const ms = Math.max(...names.map((n) => clock.running.get(n) ?? NaN)) - t0;
  const [cpu1, m1] = await Promise.all([labCpu(lab), scrapeServer(lab)]);
  await deleteAndWait(cs, clock, names);
  return { ms, cpu: cpuSpent(cpu0, cpu1), calls: callsBetween(m0, m1) };
}

/** `tsk runtime run -d` of the same container, timed from exec to exit; each removed (untimed) before the next. */
async function floor(lab: StartupLab): Promise<number[]> {
  const out: number[] = [];
  for (let i = -WARMUP; i < SINGLE; i++) {
    const name = `floor-${i + WARMUP}`;
    const t0 = performance.now();
    await tsk(['runtime', 'run', '-d', '--name', name, '--data-dir', lab.floorDir, IMAGE, 'sleep', '3600'], lab.env);
    if (i >= 0) out.push(performance.now() - t0);
    // Removal is not measured; one that fails (the shared machine's load) is retried at the end (downStartupLab).
    await tsk(['runtime', 'rm', '-f', name, '--data-dir', lab.floorDir], lab.env).catch((err: unknown) => progress(errorMessage(err)));
    if ((i + 1) % 10 === 0 && i >= 0) progress(`floor ${i + 1}/${SINGLE}`);
  }
  return out;
}

/** The runtime in this process on the floor's directory: sandbox, container, start; each sandbox removed (untimed) before the next. */
async function runtimeFloor(lab: StartupLab): Promise<number[]> {
  const rt = new NativeRuntime({ dataDir: lab.floorDir, images: new ImageStore(lab.floorDir) });
  const out: number[] = [];
  for (let i = -WARMUP; i < SINGLE; i++) {
    const t0 = performance.now();
    const sb = await rt.createSandbox({ name: `rt-${i + WARMUP}`, namespace: 'bench', uid: `bench-startup-${process.pid}-${i + WARMUP}` });
    const id = await rt.createContainer(sb, { name: 'c', image: IMAGE, command: ['sleep', '3600'] });
    await rt.startContainer(id);
    if (i >= 0) out.push(performance.now() - t0);
    await rt.removeSandbox(sb);
  }
  return out;
}

const r1 = (n: number): number => Math.round(n * 10) / 10;
const r2 = (n: number): number => Math.round(n * 100) / 100;
const p = (xs: readonly number[], q: number): number =>
  r1(
    percentile(
      [...xs].sort((a, b) => a - b),
      q,
    ),
  );

function report(s: Single, b: Batch, fl: number[], rt: number[]): void {
  const batchMs = b.ms;
  const out = {
    single_count: SINGLE,
    single_p50_ms: p(s.total, 50),
    single_p99_ms: p(s.total, 99),
    single_bound_p50_ms: p(s.bound, 50),
    single_kubelet_p50_ms: p(s.kubelet, 50),
    single_kubelet_p99_ms: p(s.kubelet, 99),
    batch_count: BATCH,
    batch30_ms: r1(batchMs),
    batch30_pods_per_s: r1((BATCH * 1000) / batchMs),
    batch30_cpu_ms: Object.fromEntries([...b.cpu].map(([k, v]) => [k, Math.round(v)])),
    batch30_calls: Object.fromEntries([...b.calls].map(([k, v]) => [k, { count: v.count, mean_ms: r1(v.meanMs) }])),
    floor_p50_ms: p(fl, 50),
    floor_p99_ms: p(fl, 99),
    floor_runtime_p50_ms: p(rt, 50),
    floor_runtime_p99_ms: p(rt, 99),
    single_to_floor_p50: r2(p(s.total, 50) / p(fl, 50)),
    single_to_floor_p99: r2(p(s.total, 99) / p(fl, 99)),
  };
  const met = (ok: boolean): string => (ok ? 'met' : 'MISSED');
  console.log(`\nPod start-up on one tsk lab node (image present; busybox sleep 3600): create -> Running as a watch sees it\n`);
  console.log('| figure | p50 ms | p99 ms | target |');
  console.log('| --- | --- | --- | --- |');
  console.log(
    `| single pod, create -> Running (${SINGLE}, one at a time) | ${out.single_p50_ms} | ${out.single_p99_ms} | p50 < 150, p99 < 500: ${met(out.single_p50_ms < TARGETS.single_p50_ms && out.single_p99_ms < TARGETS.single_p99_ms)} |`,
  );
  console.log(`| of which create -> bound (API, scheduler) | ${out.single_bound_p50_ms} | ${p(s.bound, 99)} | |`);
  console.log(`| of which bound -> Running (kubelet) | ${out.single_kubelet_p50_ms} | ${out.single_kubelet_p99_ms} | |`);
  console.log(`| floor: tsk runtime run -d (${SINGLE}) | ${out.floor_p50_ms} | ${out.floor_p99_ms} | |`);
  console.log(`| runtime alone, in process: sandbox + create + start (${SINGLE}) | ${out.floor_runtime_p50_ms} | ${out.floor_runtime_p99_ms} | |`);
  console.log(`| single / floor | ${out.single_to_floor_p50} | ${out.single_to_floor_p99} | |`);
  console.log(
    `\nbatch of ${BATCH} at once: all Running in ${out.batch30_ms} ms, ${out.batch30_pods_per_s} pods/s (target >= 20: ${met(out.batch30_pods_per_s >= TARGETS.batch_pods_per_s)})`,
  );
  console.log(
    `CPU during the batch (ms; per pod): ${[...b.cpu].map(([k, v]) => `${k} ${Math.round(v)} (${r1(v / BATCH)})`).join(', ')}, on ${os.cpus().length} cores`,
  );
  console.log(`\nThe API server's calls during the batch (etcd's from the server's side)\n`);
  console.log('| call | count | mean ms |');
  console.log('| --- | --- | --- |');
  for (const [k, v] of [...b.calls].sort((x, y) => y[1].count * y[1].meanMs - x[1].count * x[1].meanMs)) console.log(`| ${k} | ${v.count} | ${r1(v.meanMs)} |`);
  console.log(JSON.stringify(out));
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench:startup needs root (a tsk lab: namespaces, cgroups, mounts)');
  const lab = await newStartupLab();
  const abort = new AbortController();
  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> => {
    abort.abort();
    cleaning ??= downStartupLab(lab, progress);
    return cleaning;
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  process.once('SIGTERM', () => void cleanup().then(() => process.exit(143)));
  try {
    await upStartupLab(lab, progress, CPU_PROF_DIR);
    const cs = await labClient(lab);
    await cs.namespaces.create({ metadata: { name: NAMESPACE } });
    const clock = new PodClock();
    const watching = watchPods(cs, clock, abort.signal);
    progress(`single pods: ${WARMUP} warm-up + ${SINGLE}`);
    const s = await singles(cs, clock);
    progress(`batch of ${BATCH}`);
    const b = await batch(cs, clock, lab);
    progress(`floor: ${WARMUP} warm-up + ${SINGLE} tsk runtime run -d`);
    const fl = await floor(lab);
    progress(`floor: the runtime in process, ${WARMUP} warm-up + ${SINGLE}`);
    const rt = await runtimeFloor(lab);
    report(s, b, fl, rt);
    abort.abort();
    cs.close();
    await watching.catch(() => undefined);
  } finally {
    await cleanup();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench:startup: ${errorMessage(err)}`);
    process.exit(1);
  },
);
