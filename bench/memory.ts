// The API server's memory per pod (issue 11: below 2 GB RSS at 150,000
// pods). A `tsk server` with its embedded etcd, a few Nodes whose Leases
// this process renews, RCs of 30 replicas up to P pods (created bound, as
// the controller and the scheduler would leave them), and this process as every node's
// kubelet: each bound pod gets the status a kubelet writes (Running, Ready,
// its conditions, podIP, hostIP, containerStatuses). Then the server's RSS
// (as it runs) and what it holds after a full GC (the heap snapshot node
// writes on a signal runs one; its metrics nodejs_heap_size_used_bytes and
// nodejs_external_memory_bytes), against the same figures before the pods,
// per pod, and the RSS projected to 150,000 pods; the server's peak RSS
// (VmHWM) and its CPU per pod through the fill, to weigh GC settings
// (--node-flag) by what they cost as well. Everything `tsk server`
// runs is in that one process (API server, scheduler, controllers and their
// shared informers), as in bench:scale.
//
// Flags: --pods P (20000) --nodes N (20) --settle-seconds T (20: quiet time
// before measuring) --heap-snapshot FILE (the server's V8 heap snapshot,
// the one of the full GC, for Chrome DevTools' Memory tab or
// bench/heap-summary.js; taken after the pods) --timeout-seconds T (3600)
// --node-flag F (repeatable: a V8/node flag for the server, e.g.
// --node-flag=--heap-growing-percent=100, to weigh GC settings).
// Output: a table, then as the LAST line one JSON object with every figure.

import { readFileSync, statSync } from 'node:fs';
import { copyFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ChildProcess } from 'node:child_process';
import type { Pod, PodStatus, ReplicationController } from '../api/gen/tsk/v1/core';
import { Clientset, resolveClient } from '../client';
import { errorMessage } from '../util/errors';
import { freePort } from '../util/free-port';
import { benchScope, rssMb, startChild, benchServerArgs } from './child';
import { cpuSeconds } from './proc-cpu';
import { runPool } from './pool';
import { parseSamples, sampleValue } from './prom-text';

const REPLICAS_PER_RC = 30;
const PODS_PER_NAMESPACE = 3000;
const PROJECTED_PODS = 150_000;
const LEASE_SECONDS = 40;

interface Sizes {
  pods: number;
  nodes: number;
  settleS: number;
  heapSnapshot: string | undefined;
  timeoutS: number;
  nodeFlags: string[];
}

function progress(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}

function parseSizes(argv: string[]): Sizes {
  const { values } = parseArgs({
    args: argv,
    options: {
      pods: { type: 'string', default: '20000' },
      nodes: { type: 'string', default: '20' },
      'settle-seconds': { type: 'string', default: '20' },
      'heap-snapshot': { type: 'string' },
      'timeout-seconds': { type: 'string', default: '3600' },
      'node-flag': { type: 'string', multiple: true, default: [] },
    },
  });
  const int = (flag: string, v: string): number => {
    if (!/^\d+$/.test(v)) throw new Error(`--${flag}: "${v}" must be a non-negative integer`);
    return Number(v);
  };
  const nodes = int('nodes', values.nodes);
  if (nodes === 0) throw new Error('--nodes: must be at least 1');
  return {
    pods: int('pods', values.pods),
    nodes,
    settleS: int('settle-seconds', values['settle-seconds']),
    heapSnapshot: values['heap-snapshot'],
    timeoutS: int('timeout-seconds', values['timeout-seconds']),
    nodeFlags: values['node-flag'].map((f) => {
      if (!f.startsWith('--')) throw new Error(`--node-flag: "${f}" must be a node or V8 flag starting with --`);
      return f;
    }),
  };
}

const nodeName = (i: number): string => `mem-node-${i}`;

/** Nodes with room for every pod, Ready, and their Leases renewed so none goes NotReady. */
async function registerNodes(cs: Clientset, s: Sizes, signal: AbortSignal): Promise<Map<string, string>> {
  const ips = new Map<string, string>();
  const podsPerNode = String(Math.ceil(s.pods / s.nodes) + 100);
  for (let i = 0; i < s.nodes; i++) {
    const name = nodeName(i);
    const ip = `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`;
    ips.set(name, ip);
    const node = await cs.nodes.create({ metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' } }, spec: {} });
    const capacity = { cpu: '1000', memory: '4Ti', pods: podsPerNode };
    const now = new Date().toISOString();
    // Without resourceVersion: the node IPAM controller may have written the Node meanwhile.
    await cs.nodes.updateStatus({
      metadata: { name, uid: node.metadata?.uid },
      status: {
        capacity,
        allocatable: capacity,
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'KubeletReady',
            message: 'kubelet is posting ready status',
            lastHeartbeatTime: now,
            lastTransitionTime: now,
          },
        ],
        addresses: [
          { type: 'InternalIP', address: ip },
          { type: 'Hostname', address: name },
        ],
      },
    });
  }
  const renewOne = async (name: string): Promise<void> => {
    const spec = { holderIdentity: name, leaseDurationSeconds: LEASE_SECONDS, renewTime: new Date().toISOString() };
    const current = await cs.leases.get(name, 'kube-node-lease').catch(() => undefined);
    if (current) await cs.leases.update({ ...current, spec: { ...current.spec, ...spec } });
    else await cs.leases.create({ metadata: { name, namespace: 'kube-node-lease' }, spec });
  };
  // Each node on its own: one failed renewal (a busy etcd) must not hold up the others; the next round retries it.
  const renew = async (): Promise<void> => {
    for (const name of ips.keys()) await renewOne(name).catch((err: unknown) => progress(`lease of ${name}: ${errorMessage(err)}`));
  };
  await renew();
  const timer = setInterval(() => void renew(), (LEASE_SECONDS * 1000) / 4);
  signal.addEventListener('abort', () => clearInterval(timer), { once: true });
  return ips;
}

/** What a kubelet reports for a running pause container: the figures a real pod's status has. */
function runningStatus(pod: Pod, hostIP: string, podIP: string, startedAt: string): PodStatus {
  const cond = (type: string) => ({ type, status: 'True', lastTransitionTime: startedAt });
  return {
    phase: 'Running',
    conditions: [cond('PodReadyToStartContainers'), cond('Initialized'), cond('Ready'), cond('ContainersReady'), cond('PodScheduled')],
    hostIP,
    podIP,
    podIPs: [{ ip: podIP }],
    startTime: startedAt,
    qosClass: 'Burstable',
    containerStatuses: (pod.spec?.containers ?? []).map((c, i) => ({
      name: c.name,
      state: { running: { startedAt } },
      ready: true,
      started: true,
      restartCount: 0,
      image: c.image,
      imageID: `${c.image}@sha256:ee6521f290b2168b6e0935a181d4cff9be1ac3f505666ef0e3c98fae8199917a`,
      containerID: `tsk://${(pod.metadata?.uid ?? '').replace(/-/g, '')}${i}`,
    })),
  };
}

/** Plays every node's kubelet: each pod bound to one of ours is reported Running. Resolves with the Running count on abort. */
class FakeKubelets {
  private readonly pending = new Map<string, Pod>();
  readonly running = new Set<string>();
  private wake: (() => void) | undefined;
  private podIndex = 0;

  constructor(
    private readonly cs: Clientset,
    private readonly ips: Map<string, string>,
  ) {}

  async watch(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        const list = await this.cs.pods.listAll({});
        for (const p of list.items ?? []) this.observe(p);
        const w = this.cs.pods.watch({ resourceVersion: list.metadata?.resourceVersion ?? '' });
        signal.addEventListener('abort', () => w.cancel(), { once: true });
        for await (const ev of w) if (ev.type === 'ADDED' || ev.type === 'MODIFIED') this.observe(ev.object);
      } catch (err) {
        if (!signal.aborted) progress(`pod watch: ${errorMessage(err)}; watching again`);
      }
    }
  }

  private observe(p: Pod): void {
    const key = `${p.metadata?.namespace}/${p.metadata?.name}`;
    if (p.status?.phase === 'Running') {
      this.running.add(key);
      this.pending.delete(key);
      return;
    }
    if (!p.spec?.nodeName || !this.ips.has(p.spec.nodeName) || this.running.has(key)) return;
    this.pending.set(key, p);
    this.wake?.();
  }

  /** `workers` status writers until aborted. */
  async report(workers: number, signal: AbortSignal): Promise<void> {
    await Promise.all(
      Array.from({ length: workers }, async () => {
        while (!signal.aborted) {
          const next = this.pending.entries().next();
          if (next.done) {
            await new Promise<void>((r) => {
              this.wake = r;
              setTimeout(r, 500);
            });
            continue;
          }
          const [key, pod] = next.value;
          this.pending.delete(key);
          await this.start(pod).catch((err: unknown) => {
            if (signal.aborted) return;
            progress(`status of ${key}: ${errorMessage(err)}; again`);
            // Written again unless a newer version of the pod arrived meanwhile (then that one is pending).
            if (!this.running.has(key) && !this.pending.has(key)) this.pending.set(key, pod);
          });
        }
      }),
    );
  }

  private async start(pod: Pod): Promise<void> {
    const i = this.podIndex++;
    const podIP = `10.${128 + ((i >> 16) & 0x7f)}.${(i >> 8) & 0xff}.${i & 0xff}`;
    const status = runningStatus(pod, this.ips.get(pod.spec?.nodeName ?? '') ?? '', podIP, new Date().toISOString());
    const { resourceVersion: _rv, ...metadata } = pod.metadata ?? {};
    await this.cs.pods.updateStatus({ ...pod, metadata, status });
  }
}

function rc(ns: string, i: number, replicas: number) {
  return {
    metadata: { name: `rc-${i}`, namespace: ns },
    spec: {
      replicas,
      selector: { app: `app-${i}` },
      template: {
        metadata: { labels: { app: `app-${i}` } },
        spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10', resources: { requests: { cpu: '10m', memory: '16Mi' } } }] },
      },
    },
  };
}

/**
 * RCs of 30 replicas and their pods, created as the replication controller
 * and the scheduler would leave them (owned by their RC, bound to a node in
 * turn): the two control loops alone cannot fill a shared 2-core machine
 * fast enough, and what the server holds per pod is the same. The
 * replication controller is disabled (--controllers *,-replicationcontroller)
 * so that it does not create pods of its own.
 */
async function createPods(cs: Clientset, pods: number, nodes: number): Promise<void> {
  const rcs = Math.ceil(pods / REPLICAS_PER_RC);
  const rcsPerNs = Math.floor(PODS_PER_NAMESPACE / REPLICAS_PER_RC);
  const namespaces = Math.ceil(rcs / rcsPerNs);
  await runPool(namespaces, 8, async (i) => void (await cs.namespaces.create({ metadata: { name: `mem-${i}` } })));
  await runPool(
    rcs,
    16,
    async (i) => {
      const replicas = Math.min(REPLICAS_PER_RC, pods - i * REPLICAS_PER_RC);
      const owner = await cs.replicationControllers.create(rc(`mem-${Math.floor(i / rcsPerNs)}`, i, replicas));
      for (let r = 0; r < replicas; r++) await cs.pods.create(podOf(owner, nodeName((i * REPLICAS_PER_RC + r) % nodes)));
    },
    'RCs',
  );
}

/** A pod of the RC's template, as its controller creates it, bound to `node`. */
function podOf(owner: ReplicationController, node: string): Pod {
  const template = owner.spec?.template;
  const name = owner.metadata?.name ?? '';
  return {
    metadata: {
      generateName: `${name}-`,
      namespace: owner.metadata?.namespace,
      labels: template?.metadata?.labels,
      ownerReferences: [{ apiVersion: 'v1', kind: 'ReplicationController', name, uid: owner.metadata?.uid, controller: true, blockOwnerDeletion: true }],
    },
    spec: { ...template?.spec, nodeName: node },
  };
}

interface MemoryFigures {
  /** RSS as the process runs (a heap snapshot grows it for good: read before). */
  rssMb: number;
  /** The highest RSS so far (VmHWM), read before the snapshot too. */
  peakRssMb: number;
  /** After a full GC: what the server holds. */
  heapUsedMb: number;
  externalMb: number;
}

/** RSS, then a full GC (a heap snapshot, kept at `snapshotTo` when given), then the heap from the server's metrics. */
async function measure(metricsUrl: string, child: ChildProcess, cwd: string, snapshotTo: string | undefined): Promise<MemoryFigures> {
  const rss = rssMb(child.pid);
  const peak = peakRssMb(child.pid);
  await heapSnapshot(child, cwd, snapshotTo);
  const m = parseSamples(await (await fetch(metricsUrl)).text());
  return {
    rssMb: rss,
    peakRssMb: peak,
    heapUsedMb: sampleValue(m, 'nodejs_heap_size_used_bytes') / 1024 / 1024,
    externalMb: sampleValue(m, 'nodejs_external_memory_bytes') / 1024 / 1024,
  };
}

function peakRssMb(pid: number | undefined): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/**
 * Has the server write a heap snapshot (node's --heapsnapshot-signal), which
 * runs a full garbage collection first: what is measured after it is what
 * the server holds, not garbage it has not collected yet. Moved to `dest`
 * when given, else removed. Resolves once the file is complete.
 */
async function heapSnapshot(child: ChildProcess, cwd: string, dest: string | undefined): Promise<void> {
  const before = new Set(await readdir(cwd));
  child.kill('SIGUSR2');
  // The file appears when the write starts; it is complete once its size stops growing.
  let lastSize = -1;
  for (let i = 0; i < 600; i++) {
    await new Promise((r) => setTimeout(r, 2000));
    const file = (await readdir(cwd)).find((f) => !before.has(f) && f.endsWith('.heapsnapshot'));
    if (file === undefined) continue;
    const size = statSync(join(cwd, file)).size;
    if (size > 0 && size === lastSize) {
      if (dest !== undefined) await copyFile(join(cwd, file), dest);
      await rm(join(cwd, file));
      return;
    }
    lastSize = size;
  }
  throw new Error('the server wrote no heap snapshot within 20 minutes');
}

const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');

async function main(): Promise<void> {
  const s = parseSizes(process.argv.slice(2));
  const { dir, children, abort, cleanup } = await benchScope('tsk-bench-memory-');
  try {
    const [grpcPort, httpPort] = [await freePort(), await freePort()];
    progress(`tsk server, ${s.nodes} Nodes, ${s.pods} pods`);
    const server = startChild(
      [...benchServerArgs(join(dir, 'server'), grpcPort, httpPort), '--cluster-cidr', '10.128.0.0/9', '--controllers', '*,-replicationcontroller'],
      undefined,
      { nodeFlags: ['--heapsnapshot-signal=SIGUSR2', ...s.nodeFlags], cwd: dir },
    );
    children.push(server.child);
    await server.until(/scheduler running/, 120_000);
    const config = join(dir, 'server', 'admin.conf');
    const target = await resolveClient({ kubeconfig: config, server: `127.0.0.1:${grpcPort}` });
    const cs = new Clientset(target.server, target.credentials);
    const metricsUrl = `http://127.0.0.1:${httpPort}/metrics`;

    const ips = await registerNodes(cs, s, abort.signal);
    await new Promise((r) => setTimeout(r, s.settleS * 1000));
    const before = await measure(metricsUrl, server.child, dir, undefined);
    const kubelets = new FakeKubelets(cs, ips);
    const watching = kubelets.watch(abort.signal);
    const reporting = kubelets.report(16, abort.signal);
    const fillStart = Date.now();
    const cpuStart = cpuSeconds(server.child.pid);
    await createPods(cs, s.pods, s.nodes);
    let last = 0;
    while (kubelets.running.size < s.pods) {
      if (Date.now() - fillStart > s.timeoutS * 1000) throw new Error(`only ${kubelets.running.size}/${s.pods} pods Running after ${s.timeoutS} s`);
      if (Date.now() - last > 10_000) {
        progress(`${kubelets.running.size}/${s.pods} pods Running`);
        last = Date.now();
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    const fillS = (Date.now() - fillStart) / 1000;
    // The server's CPU per pod through the fill (creates, status writes, watches, GC): what a GC setting costs.
    const cpuMsPerPod = ((cpuSeconds(server.child.pid) - cpuStart) * 1000) / Math.max(1, s.pods);
    progress(`${s.pods} pods Running in ${fmt(fillS)} s; ${s.settleS} s to settle`);
    await new Promise((r) => setTimeout(r, s.settleS * 1000));
    abort.abort();
    cs.close();
    await Promise.all([watching.catch(() => undefined), reporting.catch(() => undefined)]);
    progress(`full GC (a heap snapshot${s.heapSnapshot !== undefined ? ` to ${s.heapSnapshot}` : ''})`);
    const after = await measure(metricsUrl, server.child, dir, s.heapSnapshot);

    const perPod = (a: number, b: number): number => ((b - a) * 1024 * 1024) / Math.max(1, s.pods) / 1024;
    const rssPerPodKib = perPod(before.rssMb, after.rssMb);
    const heapPerPodKib = perPod(before.heapUsedMb, after.heapUsedMb);
    const heldPerPodKib = heapPerPodKib + perPod(before.externalMb, after.externalMb);
    const projectedMb = before.rssMb + (rssPerPodKib * PROJECTED_PODS) / 1024;
    console.log(`\nAPI server memory: ${s.pods} Running pods on ${s.nodes} Nodes (tsk server: API server, scheduler, controllers)\n`);
    console.log('| figure | before pods | after | per pod (KiB) |');
    console.log('| --- | --- | --- | --- |');
    console.log(`| RSS (MB) | ${fmt(before.rssMb)} | ${fmt(after.rssMb)} | ${fmt(rssPerPodKib, 2)} |`);
    console.log(`| V8 heap used after a full GC (MB) | ${fmt(before.heapUsedMb)} | ${fmt(after.heapUsedMb)} | ${fmt(heapPerPodKib, 2)} |`);
    console.log(
      `| external (Buffers) after a full GC (MB) | ${fmt(before.externalMb)} | ${fmt(after.externalMb)} | ${fmt(perPod(before.externalMb, after.externalMb), 2)} |`,
    );
    console.log(`| peak RSS (MB) | ${fmt(before.peakRssMb)} | ${fmt(after.peakRssMb)} | |`);
    console.log(`\nheld per pod after a full GC (heap + external): ${fmt(heldPerPodKib, 2)} KiB`);
    console.log(`fill ${fmt(fillS)} s, server CPU ${fmt(cpuMsPerPod, 2)} ms per pod; RSS projected to ${PROJECTED_PODS} pods: ${fmt(projectedMb, 0)} MB\n`);
    console.log(
      JSON.stringify({
        pods: s.pods,
        nodes: s.nodes,
        node_flags: s.nodeFlags.join(' '),
        fill_s: Number(fmt(fillS)),
        server_rss_before_mb: Number(fmt(before.rssMb)),
        server_rss_mb: Number(fmt(after.rssMb)),
        server_rss_peak_mb: Number(fmt(after.peakRssMb)),
        server_cpu_ms_per_pod: Number(fmt(cpuMsPerPod, 2)),
        heap_used_before_mb: Number(fmt(before.heapUsedMb)),
        heap_used_mb: Number(fmt(after.heapUsedMb)),
        external_mb: Number(fmt(after.externalMb)),
        rss_per_pod_kib: Number(fmt(rssPerPodKib, 2)),
        heap_per_pod_kib: Number(fmt(heapPerPodKib, 2)),
        held_per_pod_kib: Number(fmt(heldPerPodKib, 2)),
        projected_rss_150k_mb: Number(fmt(projectedMb, 0)),
      }),
    );
  } finally {
    await cleanup();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench: ${errorMessage(err)}`);
    process.exit(1);
  },
);
