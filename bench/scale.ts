// Scale benchmark (Kubernetes' density and load tests on kubemark): a
// `tsk server` with its embedded etcd, N hollow nodes (`tsk hollow-nodes`,
// real kubelets over an in-memory runtime) in another process, then RCs of
// 30 replicas and S Services up to P pods. It measures, as Kubernetes' SLOs
// do, from the API server's own apiserver_request_duration_seconds (p50/p99
// by verb, during the fill and during a steady state with every heartbeat),
// how fast pods are scheduled and Running (create -> Running as a watch sees
// it), the server's RSS and CPU, etcd's database size and the time of a full
// list of all pods.
//
// Flags: --nodes N (5000) --pods P (150000) --services S (10000)
// --hollow-processes K (one per 500 nodes: the hollow nodes run in K
// processes of `tsk hollow-nodes`, each its own range of the node names)
// --steady-seconds T (60) --timeout-seconds T (7200) --quick (200 nodes,
// 2,000 pods, 200 Services, 10 s of steady state) --cpu-prof DIR (the
// server and the hollow nodes write V8 tick logs there: DIR/server.v8.log,
// DIR/hollow-nodes-<i>.v8.log, for `node --prof-process`) --hollow-proxies
// true|false (true: a proxy beside each hollow node; false measures the
// control plane alone where the hollow process cannot run every proxy)
// --log-dir DIR (the server's and the hollow nodes' output also go to
// DIR/server.log and DIR/hollow-nodes-<i>.log, kept after the run)
// --components-thread true|false (the server's --components-thread: true, its
// controllers and scheduler on a thread of their own; false, on the API
// server's event loop as before 8 December, to compare).
// Output: a table, then as the LAST line one JSON object with every figure.

import type { ChildProcess } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AlreadyExistsError, ApiError, UnavailableError } from '../api/errors';
import type { Pod } from '../api/gen/tsk/v1/core';
import type { ApiObject } from '../api/kinds';
import { Clientset, resolveClient, type ResourceClient } from '../client';
import { freePort } from '../util/free-port';
import { errorMessage } from '../util/errors';
import { benchScope, rssMb, startChild, benchServerArgs } from './child';
import { defaultHollowProcesses, HollowFleet, startRssPerNodeKib, writeNodeTokens } from './hollow-fleet';
import { ReadyUnknownCounter } from './node-readiness';
import { runPool } from './pool';
import { cpuSeconds } from './proc-cpu';
import { bucketDelta, counterDeltaBy, histogramQuantile, histogramsBy, parseSamples, sampleValue, type Buckets } from './prom-text';

const REPLICAS_PER_RC = 30;
/** At most this many pods per namespace, as the load test spreads them. */
const PODS_PER_NAMESPACE = 3000;

interface Sizes {
  nodes: number;
  hollowProcesses: number;
  pods: number;
  services: number;
  steadyS: number;
  timeoutS: number;
  cpuProfDir: string | undefined;
  proxies: boolean;
  logDir: string | undefined;
  /** tsk server's --components-thread: its controllers and scheduler on a thread of their own. */
  componentsThread: boolean;
  /** The hollow processes' niceness (--hollow-nice): the load runs below the control plane, as on kubemark's separate machines. */
  hollowNice: number;
}

function progress(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}

function parseSizes(argv: string[]): Sizes {
  const { values } = parseArgs({
    args: argv,
    options: {
      nodes: { type: 'string' },
      'hollow-processes': { type: 'string' },
      pods: { type: 'string' },
      services: { type: 'string' },
      'steady-seconds': { type: 'string' },
      'timeout-seconds': { type: 'string', default: '7200' },
      quick: { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      'hollow-proxies': { type: 'string', default: 'true' },
      'log-dir': { type: 'string' },
      'components-thread': { type: 'string', default: 'true' },
      'hollow-nice': { type: 'string', default: '10' },
    },
  });
  const q = values.quick;
  const int = (flag: string, v: string | undefined, dflt: number): number => {
    if (v === undefined) return dflt;
    if (!/^\d+$/.test(v)) throw new Error(`--${flag}: "${v}" must be a non-negative integer`);
    return Number(v);
  };
  const bool = (flag: string, v: string): boolean => {
    if (v !== 'true' && v !== 'false') throw new Error(`--${flag}: "${v}" must be true or false`);
    return v === 'true';
  };
  const nodes = int('nodes', values.nodes, q ? 200 : 5000);
  const hollowProcesses = int('hollow-processes', values['hollow-processes'], defaultHollowProcesses(nodes));
  if (hollowProcesses < 1 || hollowProcesses > Math.max(1, nodes))
    throw new Error(`--hollow-processes: "${hollowProcesses}" must be between 1 and the number of nodes (${nodes})`);
  return {
    nodes,
    hollowProcesses,
    pods: int('pods', values.pods, q ? 2000 : 150_000),
    services: int('services', values.services, q ? 200 : 10_000),
    steadyS: int('steady-seconds', values['steady-seconds'], q ? 10 : 60),
    timeoutS: int('timeout-seconds', values['timeout-seconds'], 7200),
    cpuProfDir: values['cpu-prof'],
    proxies: bool('hollow-proxies', values['hollow-proxies']),
    logDir: values['log-dir'],
    componentsThread: bool('components-thread', values['components-thread']),
    hollowNice: niceness(values['hollow-nice']),
  };
}

/** --hollow-nice: 0 (the control plane's priority) to 19 (nice(1)'s lowest). */
function niceness(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) > 19) throw new Error(`--hollow-nice: "${v}" must be a whole number from 0 to 19`);
  return Number(v);
}

/** The size of the embedded etcd's database file (member/snap/db), MB. */
function dbFileMb(etcdDir: string): number | undefined {
  try {
    return statSync(join(etcdDir, 'member', 'snap', 'db')).size / 1024 / 1024;
  } catch {
    return undefined;
  }
}

async function scrape(metricsUrl: string): Promise<ReturnType<typeof parseSamples>> {
  const res = await fetch(metricsUrl);
  return parseSamples(await res.text());
}

/**
 * The embedded etcd's own /metrics (its client port, with the API server's
 * etcd client certificate): what etcd itself spends on the disk, to tell
 * its waits from the API server's. Empty when it cannot be read.
 */
async function scrapeEtcd(serverDir: string): Promise<ReturnType<typeof parseSamples>> {
  try {
    const url = new URL('/metrics', (await readFile(join(serverDir, 'etcd-client-url'), 'utf8')).trim());
    const [ca, cert, key] = await Promise.all(['ca.crt', 'etcd-client.crt', 'etcd-client.key'].map((f) => readFile(join(serverDir, 'tls', f))));
    const text = await new Promise<string>((resolve, reject) => {
      const req = httpsGet(url, { ca, cert, key, servername: 'localhost', timeout: 10_000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve(body));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', reject);
    });
    return parseSamples(text);
  } catch (err) {
    progress(`etcd metrics: ${errorMessage(err)}`);
    return [];
  }
}

/**
 * p50 and p99 (ms) of a histogram between two scrapes, by the values of
 * `labels` (default: the API server's requests by verb).
 */
function latencies(
  before: ReturnType<typeof parseSamples>,
  after: ReturnType<typeof parseSamples>,
  metric = 'apiserver_request_duration_seconds',
  labels: readonly string[] = ['verb'],
): Map<string, { p50: number; p99: number; count: number }> {
  const a = histogramsBy(before, metric, labels);
  const b = histogramsBy(after, metric, labels);
  const out = new Map<string, { p50: number; p99: number; count: number }>();
  for (const [verb, buckets] of b) {
    const d: Buckets = bucketDelta(a.get(verb), buckets);
    const count = d[d.length - 1]?.count ?? 0;
    if (count > 0) out.set(verb, { p50: histogramQuantile(0.5, d) * 1000, p99: histogramQuantile(0.99, d) * 1000, count });
  }
  return out;
}

/** Pod timings as one watch over every namespace sees them: first seen, bound, Running. */
class PodTimes {
  readonly seen = new Map<string, number>();
  readonly scheduled = new Map<string, number>();
  readonly running = new Map<string, number>();

  observe(p: Pod, now: number): void {
    const uid = p.metadata?.uid ?? '';
    if (!p.metadata?.namespace?.startsWith('scale-')) return;
    if (!this.seen.has(uid)) this.seen.set(uid, now);
    if (p.spec?.nodeName && !this.scheduled.has(uid)) this.scheduled.set(uid, now);
    if (p.status?.phase === 'Running' && !this.running.has(uid)) this.running.set(uid, now);
  }

  /** Pods per second from the first pod seen to the last one reaching `what`. */
  rate(what: Map<string, number>): number {
    if (what.size === 0) return 0;
    // Loops, not Math.min(...values): 150,000 arguments overflow the stack.
    let first = Infinity;
    for (const t of this.seen.values()) first = Math.min(first, t);
    let last = 0;
    for (const t of what.values()) last = Math.max(last, t);
    return what.size / Math.max(0.001, (last - first) / 1000);
  }
}

/** Every object of a kind as one list and then a watch show it, until the signal; listed again after a failed watch. */
async function watchAll<T extends ApiObject>(what: string, res: ResourceClient<T>, observe: (o: T) => void, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      const list = await res.list({});
      for (const o of list.items ?? []) observe(o);
      const w = res.watch({ resourceVersion: list.metadata?.resourceVersion ?? '' });
      signal.addEventListener('abort', () => w.cancel(), { once: true });
      for await (const ev of w) if (ev.type !== 'BOOKMARK') observe(ev.object);
    } catch (err) {
      if (!signal.aborted) progress(`${what} watch: ${errorMessage(err)}; watching again`);
    }
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

const nsOf = (i: number, perNs: number): string => `scale-${Math.floor(i / perNs)}`;

const CREATE_ATTEMPTS = 5;

const ENDPOINT_UPDATES_BATCH_PERIOD = '500ms';

/**
 * A create of a fixed name, tried again when the server could not answer
 * (etcd timing out on a loaded machine; Kubernetes' load test clients retry
 * too); AlreadyExists on a second attempt means the first one went through.
 */
async function createWithRetry(what: string, create: () => Promise<unknown>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await create();
      return;
    } catch (err) {
      if (attempt > 1 && err instanceof AlreadyExistsError) return;
      const transient = err instanceof UnavailableError || (err instanceof ApiError && err.reason === 'Timeout');
      if (!transient || attempt >= CREATE_ATTEMPTS) throw err;
      progress(`${what}: ${errorMessage(err)}; trying again`);
      await new Promise((r) => setTimeout(r, 1000 * attempt));
    }
  }
}

async function fill(cs: Clientset, s: Sizes): Promise<void> {
  const rcs = Math.ceil(s.pods / REPLICAS_PER_RC);
  const rcsPerNs = Math.max(1, Math.floor(PODS_PER_NAMESPACE / REPLICAS_PER_RC));
  const namespaces = Math.ceil(Math.max(rcs, s.services) / rcsPerNs);
  await runPool(namespaces, 16, (i) => createWithRetry(`namespace scale-${i}`, () => cs.namespaces.create({ metadata: { name: `scale-${i}` } })));
  await runPool(
    s.services,
    16,
    (i) =>
      createWithRetry(`service svc-${i}`, () =>
        cs.services.create({
          metadata: { name: `svc-${i}`, namespace: nsOf(i, rcsPerNs) },
          spec: { selector: { app: `app-${i}` }, ports: [{ port: 80 }] },
        }),
      ),
    'Services',
  );
  await runPool(
    rcs,
    16,
    (i) =>
      createWithRetry(`replicationcontroller rc-${i}`, () =>
        cs.replicationControllers.create(rc(nsOf(i, rcsPerNs), i, Math.min(REPLICAS_PER_RC, s.pods - i * REPLICAS_PER_RC))),
      ),
    'RCs',
  );
}

/** Until every pod is Running (true) or the deadline (false); throws when a hollow process exited, as its nodes' pods would never run. */
async function waitRunning(times: PodTimes, s: Sizes, deadline: number, hollow: HollowFleet): Promise<boolean> {
  let last = 0;
  while (times.running.size < s.pods) {
    if (Date.now() > deadline) return false;
    const exited = hollow.exited();
    if (exited !== undefined) throw new Error(exited);
    if (Date.now() - last > 10_000) {
      progress(`${times.seen.size} pods created, ${times.scheduled.size} scheduled, ${times.running.size} Running`);
      last = Date.now();
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return true;
}

/**
 * Every hollow node registered under its own name: processes given
 * overlapping ranges would share nodes and leave fewer than asked.
 */
async function checkNodeNames(cs: Clientset, nodes: number): Promise<void> {
  const names = new Set(((await cs.nodes.list({})).items ?? []).map((n) => n.metadata?.name ?? '').filter((n) => n.startsWith('hollow-node-')));
  if (names.size !== nodes) throw new Error(`${names.size} hollow nodes registered, not ${nodes}`);
}

const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');

/** A table of latencies, the most called first (at most 15 rows). */
function printLatencies(title: string, lat: Map<string, { p50: number; p99: number; count: number }>): void {
  if (lat.size === 0) return; // etcd's handling by method only with its --metrics=extensive
  console.log('');
  console.log(`| ${title} | p50 ms | p99 ms | calls |`);
  console.log('| --- | --- | --- | --- |');
  for (const [k, l] of [...lat].sort((x, y) => y[1].count - x[1].count).slice(0, 15)) {
    console.log(`| ${k} | ${fmt(l.p50)} | ${fmt(l.p99)} | ${l.count} |`);
  }
}

async function main(): Promise<void> {
  const s = parseSizes(process.argv.slice(2));
  // The children write their logs and profiles there from their first line.
  for (const d of [s.logDir, s.cpuProfDir]) if (d !== undefined) mkdirSync(d, { recursive: true });
  const { dir, children, abort, cleanup } = await benchScope('tsk-bench-scale-');
  try {
    const [grpcPort, httpPort] = [await freePort(), await freePort()];
    const nodeTokens = join(dir, 'node-tokens.csv');
    writeNodeTokens(nodeTokens, s.nodes);
    progress(
      `tsk server, ${s.nodes} hollow nodes in ${s.hollowProcesses} process(es)${s.proxies ? '' : ' without proxies'}, ${s.pods} pods, ${s.services} Services`,
    );
    const server = startChild(
      [
        ...benchServerArgs(join(dir, 'server'), grpcPort, httpPort),
        // Room for the nodes' /24s (32,768 of them).
        '--cluster-cidr',
        '10.128.0.0/9',
        // As Kubernetes' 5,000-node tests (test-infra #22446): a Service's
        // Endpoints written once per half second at most while its pods come
        // up, each write going to every hollow proxy's watch.
        '--endpoint-updates-batch-period',
        ENDPOINT_UPDATES_BATCH_PERIOD,
        `--components-thread=${s.componentsThread}`,
        '--token-auth-file',
        nodeTokens,
      ],
      s.cpuProfDir,
      { logDir: s.logDir },
    );
    children.push(server.child);
    await server.until(/scheduler running/, 120_000);
    const config = join(dir, 'server', 'admin.conf');
    const target = await resolveClient({ kubeconfig: config, server: `127.0.0.1:${grpcPort}` });
    const cs = new Clientset(target.server, target.credentials);
    const metricsUrl = `http://127.0.0.1:${httpPort}/metrics`;

    const hollowStart = Date.now();
    const group: ChildProcess[] = [];
    children.push(group);
    const hollow = HollowFleet.start({
      nodes: s.nodes,
      processes: s.hollowProcesses,
      kubeconfig: config,
      server: `127.0.0.1:${grpcPort}`,
      dir,
      proxies: s.proxies,
      cpuProfDir: s.cpuProfDir,
      logDir: s.logDir,
      group,
      nodeTokenFile: nodeTokens,
      nice: s.hollowNice,
    });
    const hollowReports = await hollow.untilUp(s.timeoutS * 1000);
    const hollowS = (Date.now() - hollowStart) / 1000;
    progress(`${s.nodes} hollow nodes up in ${fmt(hollowS)} s`);
    await checkNodeNames(cs, s.nodes);

    const times = new PodTimes();
    const readiness = new ReadyUnknownCounter();
    const watching = Promise.all([
      watchAll('pod', cs.pods, (p) => times.observe(p, Date.now()), abort.signal),
      watchAll('node', cs.nodes, (n) => readiness.observe(n), abort.signal),
    ]);
    const cpu0 = cpuSeconds(server.child.pid);
    const m0 = await scrape(metricsUrl);
    const e0 = await scrapeEtcd(join(dir, 'server'));
    const fillStart = Date.now();
    await fill(cs, s);
    const allRunning = await waitRunning(times, s, fillStart + s.timeoutS * 1000, hollow);
    const fillS = (Date.now() - fillStart) / 1000;
    const m1 = await scrape(metricsUrl);
    const e1 = await scrapeEtcd(join(dir, 'server'));
    const cpuFill = cpuSeconds(server.child.pid) - cpu0;
    const hollowFillRss = hollow.rssMb();
    progress(`fill done in ${fmt(fillS)} s (${times.running.size}/${s.pods} Running); steady state for ${s.steadyS} s`);
    const cpuSteady0 = cpuSeconds(server.child.pid);
    await new Promise((r) => setTimeout(r, s.steadyS * 1000));
    // What the heartbeats alone cost the server: the share of a core it uses with every pod Running.
    const cpuSteadyCores = (cpuSeconds(server.child.pid) - cpuSteady0) / Math.max(1, s.steadyS);
    const m2 = await scrape(metricsUrl);
    const listStart = performance.now();
    const all = await cs.pods.list({});
    const fullListMs = performance.now() - listStart;
    const fillLat = latencies(m0, m1);
    const steadyLat = latencies(m1, m2);
    const etcdDbMb = dbFileMb(join(dir, 'server', 'etcd')) ?? sampleValue(m2, 'apiserver_storage_size_bytes') / 1024 / 1024;
    const serverRss = rssMb(server.child.pid);
    const hollowRss = hollow.rssMb();
    // prom-client's monitorEventLoopDelay is reset on every scrape: m1's max covers the fill, m2's the steady state.
    const serverStallFillS = sampleValue(m1, 'nodejs_eventloop_lag_max_seconds');
    const serverStallSteadyS = sampleValue(m2, 'nodejs_eventloop_lag_max_seconds');
    const hollowStallS = hollow.maxStallS();
    const hollowStartPerNodeKib = startRssPerNodeKib(hollowReports);

    const verbs = [...new Set([...fillLat.keys(), ...steadyLat.keys()])].sort();
    console.log(
      `\nScale: ${s.nodes} hollow nodes in ${s.hollowProcesses} process(es)${s.proxies ? '' : ' (no proxies)'}, ${s.pods} pods in RCs of ${REPLICAS_PER_RC}, ${s.services} Services\n`,
    );
    console.log('| verb | fill p50 ms | fill p99 ms | fill calls | steady p50 ms | steady p99 ms | steady calls |');
    console.log('| --- | --- | --- | --- | --- | --- | --- |');
    for (const v of verbs) {
      const f = fillLat.get(v);
      const st = steadyLat.get(v);
      console.log(
        `| ${v} | ${fmt(f?.p50 ?? NaN)} | ${fmt(f?.p99 ?? NaN)} | ${f?.count ?? 0} | ${fmt(st?.p50 ?? NaN)} | ${fmt(st?.p99 ?? NaN)} | ${st?.count ?? 0} |`,
      );
    }
    const scheduledRate = times.rate(times.scheduled);
    const runningRate = times.rate(times.running);
    // Kubernetes' SLO leaves out full lists (LIST of every object of a kind);
    // the server's metrics name verbs in lower case ("list").
    const apiP99 = Math.max(...verbs.filter((v) => v.toLowerCase() !== 'list').flatMap((v) => [fillLat.get(v)?.p99 ?? 0, steadyLat.get(v)?.p99 ?? 0]));
    console.log('');
    console.log('| figure | value |');
    console.log('| --- | --- |');
    const rows: [string, string][] = [
      ['all pods Running', allRunning ? 'yes' : `no (${times.running.size}/${s.pods})`],
      ['pods created (all ever seen)', String(times.seen.size)],
      ['nodes gone Unknown (transitions; nodes)', `${readiness.transitions}; ${readiness.nodes}`],
      ['hollow processes', String(s.hollowProcesses)],
      ['hollow nodes up (s)', fmt(hollowS)],
      ['hollow node RSS per node at start (KiB)', String(hollowStartPerNodeKib)],
      ['hollow processes RSS after the fill (MB; per node KiB)', `${fmt(hollowFillRss)}; ${fmt((hollowFillRss * 1024) / Math.max(1, s.nodes), 0)}`],
      ['hollow processes max event-loop stall (s)', hollowStallS > 0 ? fmt(hollowStallS) : 'below 2'],
      ['server max event-loop stall, fill / steady (s)', `${fmt(serverStallFillS, 2)} / ${fmt(serverStallSteadyS, 2)}`],
      ['fill (s)', fmt(fillS)],
      ['scheduled pods/s', fmt(scheduledRate)],
      ['Running pods/s', fmt(runningRate)],
      ['API p99 ms (all verbs but LIST)', fmt(apiP99)],
      ['server RSS (MB)', fmt(serverRss)],
      ['server CPU during fill (s)', fmt(cpuFill)],
      ['server CPU per pod (ms)', fmt((cpuFill * 1000) / Math.max(1, times.running.size), 2)],
      ['server CPU share during fill / steady state (cores)', `${fmt(cpuFill / Math.max(0.001, fillS), 2)} / ${fmt(cpuSteadyCores, 2)}`],
      ['etcd database (MB)', fmt(etcdDbMb)],
      [`full list of ${all.items?.length ?? 0} pods (ms)`, fmt(fullListMs, 0)],
    ];
    for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
    // Who costs what: the calls of the fill by verb and resource, per pod.
    console.log('');
    console.log('| fill calls: verb resource | calls | per pod |');
    console.log('| --- | --- | --- |');
    for (const [k, n] of counterDeltaBy(m0, m1, 'apiserver_request_total', ['verb', 'resource']).slice(0, 15)) {
      console.log(`| ${k} | ${n} | ${fmt(n / Math.max(1, s.pods), 2)} |`);
    }
    // Where the calls wait: latency by verb and resource, and the server's etcd calls by operation and type.
    printLatencies('fill latency: verb resource', latencies(m0, m1, 'apiserver_request_duration_seconds', ['verb', 'resource']));
    printLatencies('fill etcd requests: operation type', latencies(m0, m1, 'etcd_request_duration_seconds', ['operation', 'type']));
    // etcd's own side: its disk (WAL fsync, backend commit) and, when it runs with --metrics=extensive, its handling per method.
    const disk = new Map<string, { p50: number; p99: number; count: number }>();
    for (const [what, metric] of [
      ['WAL fsync', 'etcd_disk_wal_fsync_duration_seconds'],
      ['backend commit', 'etcd_disk_backend_commit_duration_seconds'],
    ] as const) {
      const l = latencies(e0, e1, metric, []).get('');
      if (l) disk.set(what, l);
    }
    printLatencies('fill etcd disk', disk);
    printLatencies('fill etcd server: method', latencies(e0, e1, 'grpc_server_handling_seconds', ['grpc_method']));
    console.log('');
    console.log('| fill compare failures: operation type | calls |');
    console.log('| --- | --- |');
    for (const [k, n] of counterDeltaBy(m0, m1, 'etcd_request_compare_failures_total', ['operation', 'type'])) console.log(`| ${k} | ${n} |`);
    printLatencies('steady latency: verb resource', latencies(m1, m2, 'apiserver_request_duration_seconds', ['verb', 'resource']));
    // And what the server still does once every pod is Running (heartbeats, and work the fill left behind).
    console.log('');
    console.log('| steady calls: verb resource | calls | per s |');
    console.log('| --- | --- | --- |');
    for (const [k, n] of counterDeltaBy(m1, m2, 'apiserver_request_total', ['verb', 'resource']).slice(0, 10)) {
      console.log(`| ${k} | ${n} | ${fmt(n / Math.max(1, s.steadyS), 1)} |`);
    }
    const byVerb: Record<string, number> = {};
    for (const v of verbs) {
      const key = v.toLowerCase();
      byVerb[`fill_${key}_p50_ms`] = Number(fmt(fillLat.get(v)?.p50 ?? NaN, 2)) || 0;
      byVerb[`fill_${key}_p99_ms`] = Number(fmt(fillLat.get(v)?.p99 ?? NaN, 2)) || 0;
      byVerb[`steady_${key}_p50_ms`] = Number(fmt(steadyLat.get(v)?.p50 ?? NaN, 2)) || 0;
      byVerb[`steady_${key}_p99_ms`] = Number(fmt(steadyLat.get(v)?.p99 ?? NaN, 2)) || 0;
    }
    console.log(
      JSON.stringify({
        nodes: s.nodes,
        hollow_proxies: s.proxies,
        pods: s.pods,
        services: s.services,
        pods_running: times.running.size,
        // Every pod the RCs created (a watch saw it): more than pods is over-creation or replaced pods.
        pods_created: times.seen.size,
        // Pods beyond those asked for: replacements of evicted pods (or over-creation).
        pods_recreated: Math.max(0, times.seen.size - s.pods),
        // Ready -> Unknown: a node's heartbeats came more than the grace period (40 s) late.
        node_unknown_transitions: readiness.transitions,
        nodes_gone_unknown: readiness.nodes,
        all_running: allRunning,
        hollow_processes: s.hollowProcesses,
        hollow_nice: s.hollowNice,
        hollow_start_s: Number(fmt(hollowS)),
        hollow_rss_per_node_kib: hollowStartPerNodeKib,
        hollow_rss_mb: Number(fmt(hollowRss)),
        hollow_fill_rss_per_node_kib: Math.round((hollowFillRss * 1024) / Math.max(1, s.nodes)),
        // 0: no stall of 2 s or more (the hollow process reports only those).
        hollow_max_stall_s: hollowStallS,
        server_max_stall_fill_s: Number(fmt(serverStallFillS, 2)) || 0,
        server_max_stall_steady_s: Number(fmt(serverStallSteadyS, 2)) || 0,
        fill_s: Number(fmt(fillS)),
        scheduled_pods_per_s: Number(fmt(scheduledRate)),
        running_pods_per_s: Number(fmt(runningRate)),
        api_p99_ms: Number(fmt(apiP99, 2)),
        ...byVerb,
        server_rss_mb: Number(fmt(serverRss)),
        server_cpu_fill_s: Number(fmt(cpuFill)),
        server_cpu_per_pod_ms: Number(fmt((cpuFill * 1000) / Math.max(1, times.running.size), 2)),
        server_cpu_steady_cores: Number(fmt(cpuSteadyCores, 3)),
        etcd_db_mb: Number(fmt(etcdDbMb)),
        full_list_ms: Number(fmt(fullListMs, 0)),
      }),
    );
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
    console.error(`bench: ${errorMessage(err)}`);
    process.exit(1);
  },
);
