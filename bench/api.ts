// API benchmark: 10,000 pod creates with 64 requests in flight, lists of
// 10,000 pods (one call, and pages of 500), and watch delivery latency with
// 100 watchers; beside raw etcd puts of values the same size with the same
// concurrency, measured in the same run with etcd3, and the architecture's
// floor (bench/floor-server.ts: grpc-js in, one etcd3 Txn out, no API logic).
// The API server runs as a child process (`tsk apiserver`), as in production;
// creates go through tsk's client library (client/Clientset), so its cost is
// counted.
//
// The figures are for the default configuration, TLS with the cluster PKI
// and the admin's client certificate (every client, the watchers too). The
// same workload then runs again against a server with
// --insecure-plaintext-for-benchmarks-only on a fresh etcd, and the TLS /
// plaintext ratios show what TLS costs; so does the wall time of the real
// `tsctl get pods` against each.
//
// Output: a table, then as the LAST line one JSON object with every figure.

import * as grpc from '@grpc/grpc-js';
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Etcd3 } from 'etcd3';
import { PodServiceClient, PodServiceService } from '../api/gen/tsk/v1/api';
import { Pod, PodList } from '../api/gen/tsk/v1/core';
import { Clientset, adminConfigPath, authMetadata, channelCredentials, channelOptions, readClientConfig, type ClientCredentials } from '../client';
import { PLAINTEXT_ENV } from '../tsctl';
import { EtcdProcess } from '../util/etcd-process';
import { ADMIN_GROUP, ADMIN_USER } from '../util/pki';
import { benchPod } from './bench-pod';
import { FLOOR_CREATE } from './floor-server';
import { percentile, runPool } from './pool';
import { cpuSeconds, selfCpuSeconds } from './proc-cpu';
import type { WatchWorkerReply, WatchWorkerStart } from './watch-worker';
import { errorDetail } from '../util/errors';

// Counts can be lowered for profiling runs (BENCH_PODS=2000 ...); the
// targets are stated for the defaults.
const PODS = Number(process.env['BENCH_PODS'] ?? 10_000);
const CONCURRENCY = 64;
const WATCHERS = Number(process.env['BENCH_WATCHERS'] ?? 100);
const WATCH_PODS = Number(process.env['BENCH_WATCH_PODS'] ?? 1_000);
/** Set to a directory to CPU-profile the API server child (node --cpu-prof). */
const PROFILE_DIR = process.env['BENCH_PROFILE_DIR'];
/** Extra node flags for the API server child (e.g. --trace-gc), space-separated. */
const SERVER_NODE_ARGS = (process.env['BENCH_SERVER_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');
const WATCH_RATE_PER_S = 100;
/** Creates at the watch rate before the measured ones, their events not counted. */
const WATCH_WARMUP = Number(process.env['BENCH_WATCH_WARMUP'] ?? 200);
const WARMUP = 500;
const WATCH_NS = 'bench-watch';
const LIST_RUNS = 5;
/** BENCH_PLAINTEXT_FIRST=1 runs the plaintext configuration first, to see how much the order weighs. */
const PLAINTEXT_FIRST = process.env['BENCH_PLAINTEXT_FIRST'] === '1';
/** Runs of `tsctl get pods` per configuration (after one not counted). */
const TSCTL_RUNS = Number(process.env['BENCH_TSCTL_RUNS'] ?? 20);

function progress(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}

/** CPU seconds (user + system) a process has used, from /proc (Linux). */
/** CPU milliseconds per operation used by each process during `fn`. */
async function cpuPerOp<T>(pids: Record<string, number | undefined>, ops: number, fn: () => Promise<T>): Promise<{ result: T; cpuMs: Record<string, number> }> {
  const before: Record<string, number> = { bench: selfCpuSeconds() };
  for (const [k, pid] of Object.entries(pids)) before[k] = cpuSeconds(pid);
  const result = await fn();
  const cpuMs: Record<string, number> = { bench: ((selfCpuSeconds() - before['bench']!) * 1000) / ops };
  for (const [k, pid] of Object.entries(pids)) cpuMs[k] = ((cpuSeconds(pid) - before[k]!) * 1000) / ops;
  return { result, cpuMs };
}

function median(xs: number[]): number {
  return percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );
}

const WATCH_WORKERS = 4;

/** Forks the watcher processes and waits until every watch is registered. */
async function startWatchWorkers(address: string, credentials: ClientCredentials, watchers: number): Promise<ChildProcess[]> {
  const workers: ChildProcess[] = [];
  const ready: Promise<void>[] = [];
  for (let i = 0; i < WATCH_WORKERS; i++) {
    const n = Math.floor(watchers / WATCH_WORKERS) + (i < watchers % WATCH_WORKERS ? 1 : 0);
    const child = fork(join(__dirname, 'watch-worker.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    workers.push(child);
    ready.push(
      new Promise((resolve, reject) => {
        child.once('message', (m: WatchWorkerReply) => ('ready' in m ? resolve() : reject(new Error('watch worker: unexpected reply'))));
        child.once('exit', (code) => reject(new Error(`watch worker exited (code ${code}) before its watches opened`)));
      }),
    );
    child.send({ address, namespace: WATCH_NS, watchers: n, labelSelector: 'app=bench', credentials } satisfies WatchWorkerStart);
  }
  await Promise.all(ready);
  return workers;
}

/**
 * Every worker's receipts, merged, once `expected` events arrived or 30 s
 * passed (a lost event shows as a delivered ratio below 1).
 */
async function collectReceipts(workers: ChildProcess[], expected: number): Promise<Map<string, number[]>> {
  const ask = <T>(msg: object, pick: (m: WatchWorkerReply) => T | undefined): Promise<T[]> =>
    Promise.all(
      workers.map(
        (w) =>
          new Promise<T>((resolve, reject) => {
            // 'disconnect', not 'exit': a worker exits right after sending its
            // receipts, and 'exit' can come before that last (large) message
            // is read; the channel closes only after it.
            const onGone = (): void => reject(new Error(`watch worker exited (code ${w.exitCode}) without answering`));
            const onMessage = (m: WatchWorkerReply): void => {
              const v = pick(m);
              if (v === undefined) return;
              w.off('message', onMessage);
              w.off('disconnect', onGone);
              resolve(v);
            };
            w.on('message', onMessage);
            w.once('disconnect', onGone);
            w.send(msg);
          }),
      ),
    );
  const deadline = Date.now() + 30_000;
  for (;;) {
    const counts = await ask({ count: true }, (m) => ('count' in m ? m.count : undefined));
    if (counts.reduce((a, b) => a + b, 0) >= expected || Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const all = await ask({ stop: true }, (m) => ('receipts' in m ? m.receipts : undefined));
  const merged = new Map<string, number[]>();
  for (const receipts of all) for (const [name, times] of receipts) merged.set(name, [...(merged.get(name) ?? []), ...times]);
  return merged;
}

function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

type Mode = 'tls' | 'plaintext';

/** A running `tsk apiserver` and how its clients reach it. */
interface BenchServer {
  readonly child: ChildProcess;
  readonly address: string;
  /** The admin's client certificate (TLS), or plaintext and the admin's bearer token. */
  readonly credentials: ClientCredentials;
  /** DIR/admin.conf, the admin context the server wrote (TLS only). */
  readonly kubeconfig?: string;
}

/**
 * A --token-auth-file making `token` the admin (system:masters), as the
 * admin certificate is with TLS: without TLS there are no client
 * certificates, and the server refuses anonymous callers.
 */
async function writeTokenFile(dataDir: string, token: string): Promise<string> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, 'tokens.csv');
  await writeFile(file, `${token},${ADMIN_USER},${ADMIN_USER},"${ADMIN_GROUP}"\n`, { mode: 0o600 });
  return file;
}

/**
 * `tsk apiserver` on the bench's etcd: with TLS as in production (its cluster
 * PKI under `dataDir`, clients use the admin certificate from the admin.conf
 * it writes), or with --insecure-plaintext-for-benchmarks-only and the admin
 * as a bearer token.
 */
async function startServer(etcdUrl: string, mode: Mode, dataDir: string): Promise<BenchServer> {
  const kubeconfig = mode === 'tls' ? adminConfigPath(dataDir) : undefined;
  const token = mode === 'plaintext' ? randomBytes(16).toString('hex') : undefined;
  const child = spawn(
    process.execPath,
    [
      ...(PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=apiserver-${mode}-${process.pid}.cpuprofile`] : []),
      ...SERVER_NODE_ARGS,
      join(__dirname, '..', 'cmd', 'tsk.js'),
      'apiserver',
      '--etcd-servers',
      etcdUrl,
      '--data-dir',
      dataDir,
      '--address',
      '127.0.0.1:0',
      '--http-address',
      '127.0.0.1:0',
      '--write-config=false',
      ...(token === undefined ? [] : ['--insecure-plaintext-for-benchmarks-only', '--token-auth-file', await writeTokenFile(dataDir, token)]),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      if (SERVER_NODE_ARGS.length > 0) process.stderr.write(d); // diagnostics such as --trace-gc
      out += d.toString();
      const m = /serving gRPC on (\S+), HTTP on ([^\s,]+)/.exec(out);
      // With TLS, admin.conf is written just after the server starts serving.
      if (m && (kubeconfig === undefined || out.includes(`wrote ${kubeconfig}`))) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`tsk apiserver (${mode}) exited (code ${code}) during start-up:\n${out}`)));
  });
  if (kubeconfig === undefined) return { child, address, credentials: { insecurePlaintext: true, token } };
  const admin = (await readClientConfig(kubeconfig))?.contexts[0];
  if (admin === undefined) throw new Error(`${kubeconfig}: the API server wrote no admin context`);
  return { child, address, kubeconfig, credentials: { caPem: admin.caPem, certPem: admin.certPem, keyPem: admin.keyPem } };
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

function call<Req, Res>(fn: (req: Req, cb: (err: grpc.ServiceError | null, res: Res) => void) => unknown, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => fn(req, (err, res) => (err ? reject(err) : resolve(res))));
}

/**
 * Creates/s of bench/floor-server.ts (grpc-js in, one etcd3 Txn out, an etcd
 * watch), from a grpc-js client sending pre-encoded pods, 64 in flight.
 */
async function measureFloor(
  etcdUrl: string,
  etcdPid: number | undefined,
  podBytes: Buffer,
  clients: grpc.Client[],
): Promise<{ perS: number; cpuMs: Record<string, number> }> {
  const child = spawn(process.execPath, [join(__dirname, 'floor-server.js'), etcdUrl], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /port (\d+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`floor server exited (code ${code}) during start-up`)));
    });
    const c = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    clients.push(c);
    const create = (): Promise<void> =>
      new Promise((resolve, reject) =>
        c.makeUnaryRequest(FLOOR_CREATE.path, FLOOR_CREATE.requestSerialize, FLOOR_CREATE.responseDeserialize, podBytes, (err) =>
          err ? reject(err) : resolve(),
        ),
      );
    await runPool(WARMUP, CONCURRENCY, create, 'floor warm-up');
    const { result: secs, cpuMs } = await cpuPerOp({ server: child.pid, etcd: etcdPid }, PODS, () => runPool(PODS, CONCURRENCY, create, 'floor creates'));
    return { perS: PODS / secs, cpuMs };
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
  }
}

/** Raw etcd3 puts of values the size of a stored pod, 64 in flight: the anchor. */
async function measureAnchor(raw: Etcd3, etcdPid: number | undefined, value: Buffer, round: string): Promise<{ perS: number; cpuMs: Record<string, number> }> {
  const { result: secs, cpuMs } = await cpuPerOp({ etcd: etcdPid }, PODS, () =>
    runPool(
      PODS,
      CONCURRENCY,
      async (i) => {
        await raw.kv.put({ key: Buffer.from(`/bench/raw-${round}/${String(i).padStart(5, '0')}`), value });
      },
      `etcd puts (${round})`,
    ),
  );
  return { perS: PODS / secs, cpuMs };
}

/** Creates/s through tsk's client library (client/Clientset), after a warm-up the figures do not count (JIT, connections). */
async function measureCreates(creator: Clientset, pids: Record<string, number | undefined>): Promise<{ perS: number; cpuMs: Record<string, number> }> {
  await runPool(
    WARMUP,
    CONCURRENCY,
    async (i) => {
      await creator.pods.create({ ...benchPod(`warm-${i}`), metadata: { ...benchPod('').metadata, name: `warm-${i}`, namespace: 'kube-system' } });
    },
    'warm-up',
  );
  const { result: secs, cpuMs } = await cpuPerOp(pids, PODS, () =>
    runPool(
      PODS,
      CONCURRENCY,
      async (i) => {
        await creator.pods.create(benchPod(`bench-${String(i).padStart(5, '0')}`));
      },
      'creates',
    ),
  );
  return { perS: PODS / secs, cpuMs };
}

interface WatchFigures {
  ackP50: number;
  ackP99: number;
  sentP50: number;
  sentP99: number;
  createP50: number;
  createP99: number;
  received: number;
  delivered: number;
  /** API server CPU ms per measured create of the watch phase: the create and its fan-out to every watcher. Steadier than latency on a busy machine. */
  apiserverCpuMs: number;
}

/**
 * Watch: 100 watchers in 4 processes of their own (bench/watch-worker.ts),
 * one connection each, as a cluster's watchers are separate components;
 * creates at a steady rate, in their own namespace so the lists see exactly
 * the 10,000 pods.
 */
async function measureWatch(server: BenchServer, creator: Clientset): Promise<WatchFigures> {
  await creator.namespaces.create({ metadata: { name: WATCH_NS } });
  collectGarbage(); // garbage of the create phase must not pause the creator
  const workers = await startWatchWorkers(server.address, server.credentials, WATCHERS);
  const sentAt = new Map<string, number>();
  const ackedAt = new Map<string, number>();
  const createLatencies: number[] = [];
  let receipts: Map<string, number[]>;
  let cpuBefore: number;
  let cpuAfter: number;
  try {
    const interval = 1000 / WATCH_RATE_PER_S;
    // Warm-up at the same rate, not counted (as for the creates): the first
    // events on fresh streams run the fan-out and the streams' first writes
    // through unoptimised code, which is start-up cost, not delivery latency.
    for (let i = 0; i < WATCH_WARMUP; i++) {
      const object = benchPod(`warm-watch-${String(i).padStart(5, '0')}`);
      object.metadata!.namespace = WATCH_NS;
      await Promise.all([creator.pods.create(object), new Promise((r) => setTimeout(r, interval))]);
    }
    await new Promise((r) => setTimeout(r, 500));
    cpuBefore = cpuSeconds(server.child.pid);
    const t0 = Date.now();
    const inflight: Promise<unknown>[] = [];
    for (let i = 0; i < WATCH_PODS; i++) {
      const due = t0 + i * interval;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const name = `watch-${String(i).padStart(5, '0')}`;
      const object = benchPod(name, Date.now());
      object.metadata!.namespace = WATCH_NS;
      const sent = Date.now();
      sentAt.set(name, sent);
      inflight.push(
        creator.pods.create(object).then(() => {
          const acked = Date.now();
          ackedAt.set(name, acked);
          createLatencies.push(acked - sent);
        }),
      );
      if (i % 200 === 199) progress(`watch: ${i + 1}/${WATCH_PODS} created`);
    }
    await Promise.all(inflight);
    receipts = await collectReceipts(workers, WATCHERS * WATCH_PODS);
    cpuAfter = cpuSeconds(server.child.pid);
  } finally {
    for (const w of workers) if (w.exitCode === null) w.kill();
  }
  // Latency = create sent (or acknowledged) -> the event received by a
  // watcher's client; an event received before the ack counts as 0.
  const latencies: number[] = [];
  const fromAck: number[] = [];
  let received = 0;
  for (const [name, times] of receipts) {
    const sent = sentAt.get(name);
    const acked = ackedAt.get(name);
    if (sent === undefined || acked === undefined) continue;
    for (const t of times) {
      latencies.push(t - sent);
      fromAck.push(Math.max(0, t - acked));
      received++;
    }
  }
  const asc = (xs: number[]): number[] => xs.sort((a, b) => a - b);
  asc(latencies);
  asc(fromAck);
  asc(createLatencies);
  return {
    ackP50: percentile(fromAck, 50),
    ackP99: percentile(fromAck, 99),
    sentP50: percentile(latencies, 50),
    sentP99: percentile(latencies, 99),
    createP50: percentile(createLatencies, 50),
    createP99: percentile(createLatencies, 99),
    received,
    delivered: received / (WATCHERS * WATCH_PODS),
    apiserverCpuMs: ((cpuAfter - cpuBefore) * 1000) / WATCH_PODS,
  };
}

interface ListFigures {
  list10kMs: number;
  list10kDecodedMs: number;
  listPagedMs: number;
}

/**
 * Lists: the whole 10,000 in one call, and in pages of 500. Timed to the last
 * byte received, and separately with the client's decoding.
 */
async function measureLists(server: BenchServer, podBytes: number, clients: grpc.Client[]): Promise<ListFigures> {
  const creds = channelCredentials(server.credentials, server.address);
  const pods = new PodServiceClient(server.address, creds, channelOptions(-1));
  const rawClient = new grpc.Client(server.address, creds, channelOptions(-1));
  clients.push(pods, rawClient);
  const md = authMetadata(server.credentials);
  const listDef = PodServiceService.list;
  const listRaw = (req: object): Promise<Buffer> =>
    new Promise((resolve, reject) =>
      rawClient.makeUnaryRequest(
        listDef.path,
        listDef.requestSerialize,
        (b: Buffer) => b,
        req,
        md,
        (err, res) => (err ? reject(err) : resolve(res as Buffer)),
      ),
    );
  const full: number[] = [];
  const fullDecoded: number[] = [];
  for (let r = 0; r < LIST_RUNS; r++) {
    let t0 = performance.now();
    const bytes = await listRaw({ namespace: 'default' });
    full.push(performance.now() - t0);
    t0 = performance.now();
    const list = await call<object, PodList>((req, cb) => pods.list(req, md, cb), { namespace: 'default' });
    fullDecoded.push(performance.now() - t0);
    if ((list.items ?? []).length !== PODS || bytes.length < PODS * podBytes) throw new Error(`list returned ${list.items?.length} pods, want ${PODS}`);
  }
  const paged: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    let n = 0;
    let cont = '';
    do {
      const page = await call<object, PodList>((req, cb) => pods.list(req, md, cb), { namespace: 'default', limit: 500, continue: cont });
      n += page.items?.length ?? 0;
      cont = page.metadata?.continue ?? '';
    } while (cont);
    paged.push(performance.now() - t0);
    if (n !== PODS) throw new Error(`paginated list returned ${n} pods, want ${PODS}`);
  }
  return { list10kMs: median(full), list10kDecodedMs: median(fullDecoded), listPagedMs: median(paged) };
}

/** One run of the real `tsctl get pods` (a new node process), in wall-clock milliseconds; throws unless it printed every pod. */
async function tsctlGetPods(server: BenchServer, env: NodeJS.ProcessEnv): Promise<number> {
  const target =
    server.kubeconfig === undefined ? ['--server', server.address, '--token', server.credentials.token ?? ''] : ['--kubeconfig', server.kubeconfig];
  const t0 = performance.now();
  const child = spawn(process.execPath, [join(__dirname, '..', 'cmd', 'tsctl.js'), 'get', 'pods', ...target], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let lines = 0;
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    for (const b of d) if (b === 0x0a) lines++;
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  const ms = performance.now() - t0;
  // A header line, then one line per pod of the default namespace.
  if (code !== 0 || lines !== PODS + 1) throw new Error(`tsctl get pods: exit code ${code}, ${lines} lines (want ${PODS + 1}): ${stderr.trim()}`);
  return ms;
}

/** `tsctl get pods` end to end, TSCTL_RUNS times after one run not counted; never reads the user's ~/.tsk/config. */
async function measureTsctl(server: BenchServer, dir: string): Promise<{ medianMs: number; p90Ms: number }> {
  const env: NodeJS.ProcessEnv = { ...process.env, TSK_CONFIG: join(dir, 'no-client-config') };
  delete env['TSCTL_SERVER'];
  if (server.kubeconfig === undefined) env[PLAINTEXT_ENV] = 'true';
  else delete env[PLAINTEXT_ENV];
  await tsctlGetPods(server, env);
  const runs: number[] = [];
  for (let i = 0; i < TSCTL_RUNS; i++) runs.push(await tsctlGetPods(server, env));
  runs.sort((a, b) => a - b);
  return { medianMs: percentile(runs, 50), p90Ms: percentile(runs, 90) };
}

interface ModeFigures {
  etcdBefore: number;
  etcdAfter: number;
  etcdPutPerS: number;
  anchorCpu: Record<string, number>;
  createPerS: number;
  createCpu: Record<string, number>;
  watch: WatchFigures;
  lists: ListFigures;
  tsctl: { medianMs: number; p90Ms: number };
}

/**
 * The whole workload against one API server configuration, on an etcd of its
 * own (so neither configuration runs on the other's 10,000 pods): anchor puts
 * before, the floor (first run only), creates, anchor puts after, watch,
 * lists and `tsctl get pods`.
 */
async function measureMode(
  mode: Mode,
  baseDir: string,
  podBytes: number,
  withFloor: boolean,
): Promise<{ figures: ModeFigures; floor?: { perS: number; cpuMs: Record<string, number> } }> {
  const dir = join(baseDir, mode);
  let etcd: EtcdProcess | undefined;
  let server: BenchServer | undefined;
  let cs: Clientset | undefined;
  let raw: Etcd3 | undefined;
  const clients: grpc.Client[] = [];
  try {
    etcd = await EtcdProcess.start({ dataDir: join(dir, 'etcd') });
    progress(`${mode}: etcd at ${etcd.clientUrl}`);
    // Anchor: raw etcd puts of values the size of a stored pod, measured
    // before and after tsk's creates (the machine is shared; the mean is used).
    // The anchor's keys are left in place: deleting 10,000 keys made etcd
    // 3.4's later transactions about 3x costlier for some time (0.24 -> 0.70 ms
    // of etcd CPU per create-if-absent), which would be charged to tsk.
    raw = new Etcd3({ hosts: etcd.clientUrl });
    const value = Buffer.alloc(podBytes, 0x61);
    await runPool(WARMUP, CONCURRENCY, async (i) => void (await raw!.kv.put({ key: Buffer.from(`/bench/warm/${i}`), value })), 'etcd warm-up');
    const before = await measureAnchor(raw, etcd.pid, value, 'before');
    progress(`${mode}: raw etcd: ${before.perS.toFixed(0)} puts/s`);

    // The floor: the same client shape against a server that only makes the
    // one etcd3 transaction and receives the watch event (bench/floor-server.ts).
    let floor: { perS: number; cpuMs: Record<string, number> } | undefined;
    if (withFloor) {
      floor = await measureFloor(etcd.clientUrl, etcd.pid, Buffer.from(Pod.encode(benchPod('bench-00000')).finish()), clients);
      progress(`floor: ${floor.perS.toFixed(0)} creates/s`);
    }

    server = await startServer(etcd.clientUrl, mode, join(dir, 'apiserver'));
    progress(`${mode}: tsk apiserver at ${server.address}`);
    cs = new Clientset(server.address, server.credentials);
    const creates = await measureCreates(cs, { apiserver: server.child.pid, etcd: etcd.pid });
    progress(`${mode}: tsk: ${creates.perS.toFixed(0)} creates/s`);
    const etcdMetrics = await (await fetch(`${etcd.clientUrl}/metrics`)).text();
    progress(
      `${mode}: etcd: ${etcdMetrics
        .split('\n')
        .filter((l) => /^etcd_debugging_mvcc_(slow_watcher_total|pending_events_total)/.test(l))
        .join(', ')}`,
    );
    const after = await measureAnchor(raw, etcd.pid, value, 'after');
    progress(`${mode}: raw etcd: ${after.perS.toFixed(0)} puts/s`);

    const watch = await measureWatch(server, cs);
    progress(`${mode}: watch p50 ${watch.ackP50} ms, p99 ${watch.ackP99} ms`);
    const lists = await measureLists(server, podBytes, clients);
    progress(
      `${mode}: list 10k: ${lists.list10kMs.toFixed(1)} ms (decoded ${lists.list10kDecodedMs.toFixed(1)} ms), paged: ${lists.listPagedMs.toFixed(1)} ms`,
    );
    const tsctl = await measureTsctl(server, dir);
    progress(`${mode}: tsctl get pods: median ${tsctl.medianMs.toFixed(0)} ms, p90 ${tsctl.p90Ms.toFixed(0)} ms`);
    const figures: ModeFigures = {
      etcdBefore: before.perS,
      etcdAfter: after.perS,
      etcdPutPerS: (before.perS + after.perS) / 2,
      anchorCpu: after.cpuMs,
      createPerS: creates.perS,
      createCpu: creates.cpuMs,
      watch,
      lists,
      tsctl,
    };
    return { figures, floor };
  } finally {
    raw?.close();
    cs?.close();
    for (const c of clients) c.close();
    await stopChild(server?.child);
    await etcd?.stop();
  }
}

const ms = (x: number | undefined): string => (x === undefined || Number.isNaN(x) ? '?' : x.toFixed(2));
/** a / b to 3 decimals; null (JSON) when it has no meaning, e.g. a p50 of 0 ms in plaintext. */
const ratio = (a: number, b: number): number | null => (b === 0 || !Number.isFinite(a / b) ? null : Number((a / b).toFixed(3)));

function printTable(title: string, header: [string, string, string, string], rows: [string, string, string, string][]): void {
  const w0 = Math.max(...rows.map((r) => r[0].length), header[0].length);
  const w1 = Math.max(...rows.map((r) => r[1].length), header[1].length);
  const w2 = Math.max(...rows.map((r) => r[2].length), header[2].length);
  console.log(title);
  for (const r of [header, ...rows]) console.log(`${r[0].padEnd(w0)}  ${r[1].padStart(w1)}  ${r[2].padStart(w2)}  ${r[3]}`);
}

/** tsk against its anchors (raw etcd puts, the floor server), in the default (TLS) configuration. */
function anchorRows(t: ModeFigures, floor: { perS: number; cpuMs: Record<string, number> }): [string, string, string, string][] {
  const { createCpu, anchorCpu, etcdPutPerS, createPerS, lists, watch } = t;
  return [
    [
      'CPU ms per create / per put',
      `${ms((createCpu['bench'] ?? 0) + (createCpu['apiserver'] ?? 0) + (createCpu['etcd'] ?? 0))}`,
      `${ms((anchorCpu['bench'] ?? 0) + (anchorCpu['etcd'] ?? 0))}`,
      `client ${ms(createCpu['bench'])} + apiserver ${ms(createCpu['apiserver'])} + etcd ${ms(createCpu['etcd'])}  vs  client ${ms(anchorCpu['bench'])} + etcd ${ms(anchorCpu['etcd'])}`,
    ],
    [
      'creates/s (64 in flight)',
      createPerS.toFixed(0),
      `${etcdPutPerS.toFixed(0)} etcd puts/s`,
      `${((createPerS / etcdPutPerS) * 100).toFixed(0)}% (target >= 50%)`,
    ],
    [
      'floor: grpc-js server + one etcd3 Txn, no API logic',
      floor.perS.toFixed(0),
      `${etcdPutPerS.toFixed(0)} etcd puts/s`,
      `${((floor.perS / etcdPutPerS) * 100).toFixed(0)}%; tsk reaches ${((createPerS / floor.perS) * 100).toFixed(0)}% of the floor`,
    ],
    [
      'floor CPU ms per create',
      ms((floor.cpuMs['bench'] ?? 0) + (floor.cpuMs['server'] ?? 0) + (floor.cpuMs['etcd'] ?? 0)),
      '',
      `client ${ms(floor.cpuMs['bench'])} + server ${ms(floor.cpuMs['server'])} + etcd ${ms(floor.cpuMs['etcd'])}`,
    ],
    ['list 10,000 pods, one call (received)', `${lists.list10kMs.toFixed(1)} ms`, '', 'target < 300 ms'],
    ['list 10,000 pods, one call (+ client decode)', `${lists.list10kDecodedMs.toFixed(1)} ms`, '', ''],
    ['list 10,000 pods, pages of 500 (decoded)', `${lists.listPagedMs.toFixed(1)} ms`, '', ''],
    [`watch delivery p50 (${WATCHERS} watchers), from create ack`, `${watch.ackP50.toFixed(1)} ms`, '', ''],
    [`watch delivery p99 (${WATCHERS} watchers), from create ack`, `${watch.ackP99.toFixed(1)} ms`, '', 'target < 50 ms'],
    [`watch delivery p50, from create sent`, `${watch.sentP50.toFixed(1)} ms`, '', 'includes the create itself'],
    [`watch delivery p99, from create sent`, `${watch.sentP99.toFixed(1)} ms`, '', ''],
    [`create latency during the watch, p50 / p99`, `${watch.createP50} / ${watch.createP99} ms`, '', ''],
    ['watch events delivered', `${watch.received}/${WATCHERS * WATCH_PODS}`, '', ''],
  ];
}

/** The cost of TLS: the same workload against the same server in plaintext, measured in the same run. */
function tlsRows(t: ModeFigures, p: ModeFigures): [string, string, string, string][] {
  const show = (x: number, unit: string): string => (unit === '/s' ? x.toFixed(0) : unit === '' ? x.toFixed(3) : `${x.toFixed(1)} ${unit}`);
  const row = (name: string, tls: number, plain: number, unit: string, target: string): [string, string, string, string] => [
    name,
    show(tls, unit),
    show(plain, unit),
    `${ratio(tls, plain)?.toFixed(3) ?? '-'}${target ? ` (${target})` : ''}`,
  ];
  return [
    row('creates/s (64 in flight)', t.createPerS, p.createPerS, '/s', 'target >= 0.85'),
    row("  the run's raw etcd puts/s (anchor)", t.etcdPutPerS, p.etcdPutPerS, '/s', ''),
    row('creates per etcd put of the same run', t.createPerS / t.etcdPutPerS, p.createPerS / p.etcdPutPerS, '', 'the same, net of etcd'),
    row('apiserver CPU ms per create', t.createCpu['apiserver'] ?? NaN, p.createCpu['apiserver'] ?? NaN, 'ms', ''),
    row('client CPU ms per create', t.createCpu['bench'] ?? NaN, p.createCpu['bench'] ?? NaN, 'ms', ''),
    row('list 10,000 pods, one call (received)', t.lists.list10kMs, p.lists.list10kMs, 'ms', ''),
    row('list 10,000 pods, pages of 500 (decoded)', t.lists.listPagedMs, p.lists.listPagedMs, 'ms', ''),
    row('watch delivery p50, from create ack', t.watch.ackP50, p.watch.ackP50, 'ms', ''),
    row('watch delivery p99, from create ack', t.watch.ackP99, p.watch.ackP99, 'ms', 'target <= 1.15'),
    row(`apiserver CPU ms per watched create (${WATCHERS} deliveries)`, t.watch.apiserverCpuMs, p.watch.apiserverCpuMs, 'ms', ''),
    row(
      `tsctl get pods (${PODS} pods), median of ${TSCTL_RUNS}`,
      t.tsctl.medianMs,
      p.tsctl.medianMs,
      'ms',
      `+${(t.tsctl.medianMs - p.tsctl.medianMs).toFixed(1)} ms`,
    ),
    row(`tsctl get pods, p90`, t.tsctl.p90Ms, p.tsctl.p90Ms, 'ms', ''),
  ];
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tsk-bench-api-'));
  try {
    const podBytes = Pod.encode(benchPod('bench-00000')).finish().length;
    // TLS (the default, and the figures every existing key reports) first,
    // then the same workload in plaintext: on a busy machine the first run
    // pays more (cold code in this process), so the bias counts against TLS.
    const first = await measureMode(PLAINTEXT_FIRST ? 'plaintext' : 'tls', dir, podBytes, true);
    const second = await measureMode(PLAINTEXT_FIRST ? 'tls' : 'plaintext', dir, podBytes, false);
    const [t, p] = PLAINTEXT_FIRST ? [second.figures, first.figures] : [first.figures, second.figures];
    const floor = first.floor!;

    console.log(
      `API benchmark: ${PODS} pods of ${podBytes} bytes (protobuf), ${CONCURRENCY} in flight; anchor = raw etcd3 puts, same size and concurrency ` +
        `(mean of ${t.etcdBefore.toFixed(0)} before and ${t.etcdAfter.toFixed(0)} after); watch: ${WATCH_PODS} creates at ${WATCH_RATE_PER_S}/s after ${WATCH_WARMUP} not counted, latency = create acknowledged (and sent) -> event received`,
    );
    printTable('', ['measure (TLS, admin client certificate)', 'tsk', 'anchor', 'ratio / target'], anchorRows(t, floor));
    printTable(
      `\nThe cost of TLS: the same workload on a fresh etcd against \`tsk apiserver --insecure-plaintext-for-benchmarks-only\` (bearer token), in the same run (${PLAINTEXT_FIRST ? 'plaintext' : 'TLS'} first)`,
      ['measure', 'TLS', 'plaintext', 'TLS / plaintext'],
      tlsRows(t, p),
    );
    console.log(
      JSON.stringify({
        pods: PODS,
        pod_bytes: podBytes,
        concurrency: CONCURRENCY,
        create_per_s: Math.round(t.createPerS),
        etcd_put_per_s: Math.round(t.etcdPutPerS),
        etcd_put_before_per_s: Math.round(t.etcdBefore),
        etcd_put_after_per_s: Math.round(t.etcdAfter),
        create_ratio: ratio(t.createPerS, t.etcdPutPerS),
        floor_create_per_s: Math.round(floor.perS),
        floor_ratio: ratio(floor.perS, t.etcdPutPerS),
        floor_cpu_client_ms: Number(ms(floor.cpuMs['bench'])),
        floor_cpu_server_ms: Number(ms(floor.cpuMs['server'])),
        floor_cpu_etcd_ms: Number(ms(floor.cpuMs['etcd'])),
        create_cpu_client_ms: Number(ms(t.createCpu['bench'])),
        create_cpu_apiserver_ms: Number(ms(t.createCpu['apiserver'])),
        create_cpu_etcd_ms: Number(ms(t.createCpu['etcd'])),
        put_cpu_client_ms: Number(ms(t.anchorCpu['bench'])),
        put_cpu_etcd_ms: Number(ms(t.anchorCpu['etcd'])),
        list_10k_ms: Number(t.lists.list10kMs.toFixed(1)),
        list_10k_decoded_ms: Number(t.lists.list10kDecodedMs.toFixed(1)),
        list_paged_10k_ms: Number(t.lists.listPagedMs.toFixed(1)),
        watch_p50_ms: t.watch.ackP50,
        watch_p99_ms: t.watch.ackP99,
        watch_from_sent_p50_ms: t.watch.sentP50,
        watch_from_sent_p99_ms: t.watch.sentP99,
        watch_create_p50_ms: t.watch.createP50,
        watch_create_p99_ms: t.watch.createP99,
        watch_delivered_ratio: Number(t.watch.delivered.toFixed(4)),
        watchers: WATCHERS,
        watch_pods: WATCH_PODS,
        watch_rate_per_s: WATCH_RATE_PER_S,
        watch_warmup_creates: WATCH_WARMUP,
        plaintext_create_per_s: Math.round(p.createPerS),
        plaintext_etcd_put_per_s: Math.round(p.etcdPutPerS),
        plaintext_create_ratio: ratio(p.createPerS, p.etcdPutPerS),
        plaintext_create_cpu_client_ms: Number(ms(p.createCpu['bench'])),
        plaintext_create_cpu_apiserver_ms: Number(ms(p.createCpu['apiserver'])),
        plaintext_create_cpu_etcd_ms: Number(ms(p.createCpu['etcd'])),
        plaintext_list_10k_ms: Number(p.lists.list10kMs.toFixed(1)),
        plaintext_list_10k_decoded_ms: Number(p.lists.list10kDecodedMs.toFixed(1)),
        plaintext_list_paged_10k_ms: Number(p.lists.listPagedMs.toFixed(1)),
        plaintext_watch_p50_ms: p.watch.ackP50,
        plaintext_watch_p99_ms: p.watch.ackP99,
        plaintext_watch_delivered_ratio: Number(p.watch.delivered.toFixed(4)),
        tls_vs_plaintext_create_ratio: ratio(t.createPerS, p.createPerS),
        // Each configuration's creates/s against its own run's etcd puts/s: the two etcds of one run differ by up to 30% on a shared machine.
        tls_vs_plaintext_create_anchored_ratio: ratio(t.createPerS / t.etcdPutPerS, p.createPerS / p.etcdPutPerS),
        tls_vs_plaintext_list_10k_ratio: ratio(t.lists.list10kMs, p.lists.list10kMs),
        tls_vs_plaintext_watch_p50_ratio: ratio(t.watch.ackP50, p.watch.ackP50),
        tls_vs_plaintext_watch_p99_ratio: ratio(t.watch.ackP99, p.watch.ackP99),
        watch_cpu_apiserver_ms: Number(ms(t.watch.apiserverCpuMs)),
        plaintext_watch_cpu_apiserver_ms: Number(ms(p.watch.apiserverCpuMs)),
        tls_vs_plaintext_watch_cpu_apiserver_ratio: ratio(t.watch.apiserverCpuMs, p.watch.apiserverCpuMs),
        tls_vs_plaintext_create_cpu_apiserver_ratio: ratio(t.createCpu['apiserver'] ?? NaN, p.createCpu['apiserver'] ?? NaN),
        first_mode: PLAINTEXT_FIRST ? 'plaintext' : 'tls',
        tsctl_runs: TSCTL_RUNS,
        tsctl_get_pods_tls_ms: Number(t.tsctl.medianMs.toFixed(1)),
        tsctl_get_pods_tls_p90_ms: Number(t.tsctl.p90Ms.toFixed(1)),
        tsctl_get_pods_plaintext_ms: Number(p.tsctl.medianMs.toFixed(1)),
        tsctl_get_pods_plaintext_p90_ms: Number(p.tsctl.p90Ms.toFixed(1)),
        tsctl_get_pods_tls_added_ms: Number((t.tsctl.medianMs - p.tsctl.medianMs).toFixed(1)),
      }),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`bench: ${errorDetail(err)}`);
  process.exitCode = 1;
});
