// API benchmark: 10,000 pod creates with 64 requests in flight, lists of
// 10,000 pods (one call, and pages of 500), and watch delivery latency with
// 100 watchers; beside raw etcd puts of values the same size with the same
// concurrency, measured in the same run with etcd3, and the architecture's
// floor (bench/floor-server.ts: grpc-js in, one etcd3 Txn out, no API logic).
// The API server runs as a child process (`tsk apiserver`), as in production;
// creates go through tsk's client library (client/Clientset), so its cost is
// counted.
//
// Output: a table, then as the LAST line one JSON object with every figure.

import * as grpc from '@grpc/grpc-js';
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Etcd3 } from 'etcd3';
import { NamespaceServiceService, PodServiceClient, PodServiceService } from '../api/gen/tsk/v1/api';
import { Pod, PodList } from '../api/gen/tsk/v1/core';
import { Clientset, channelOptions } from '../client';
import { EtcdProcess } from '../util/etcd-process';
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

function progress(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}

/** A realistic ~1 KiB pod. */
function benchPod(name: string, sentAtMs = 0): Pod {
  return {
    metadata: {
      name,
      namespace: 'default',
      labels: { app: 'bench', tier: 'backend', release: 'stable', 'pod-template-hash': '5d4f8c7b9' },
      annotations: {
        'bench.tsk.dev/sent-at': String(sentAtMs),
        'example.com/owner': 'team-bench',
        'example.com/revision': '42',
        'example.com/git-commit': '9f2c4e1b7a3d5c6e8f0a1b2c3d4e5f60718293a4',
      },
      ownerReferences: [{ apiVersion: 'v1', kind: 'ReplicationController', name: 'bench', uid: '6f1c0f3e-8a0b-4b8e-9a5c-3d2e1f0a9b8c', controller: true }],
    },
    spec: {
      containers: [
        {
          name: 'app',
          image: 'registry.example.com/team/bench-app:1.24.3',
          command: ['/bin/app'],
          args: ['--port=8080', '--log-level=info', '--config=/etc/app/config.yaml'],
          ports: [
            { name: 'http', containerPort: 8080, protocol: 'TCP' },
            { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
          ],
          env: [
            { name: 'APP_ENV', value: 'production' },
            { name: 'APP_REGION', value: 'eu-west-1' },
            { name: 'APP_FEATURE_FLAGS', value: 'alpha,beta,gamma' },
            { name: 'APP_DATABASE_URL', value: 'postgres://app@db.team-bench.svc.cluster.local:5432/app?sslmode=require' },
            { name: 'APP_CACHE_URL', value: 'redis://cache.team-bench.svc.cluster.local:6379/0' },
            { name: 'APP_TRACING_ENDPOINT', value: 'http://otel-collector.observability.svc:4317' },
          ],
          resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
          volumeMounts: [{ name: 'config', mountPath: '/etc/app', readOnly: true }],
          livenessProbe: { httpGet: { path: '/healthz', port: { type: 0, intVal: 8080 } }, periodSeconds: 10 },
          readinessProbe: { httpGet: { path: '/readyz', port: { type: 0, intVal: 8080 } }, periodSeconds: 5 },
          imagePullPolicy: 'IfNotPresent',
        },
      ],
      volumes: [{ name: 'config', emptyDir: {} }],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      nodeSelector: { 'kubernetes.io/os': 'linux' },
    },
  } as Pod;
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
async function startWatchWorkers(address: string, watchers: number): Promise<ChildProcess[]> {
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
    child.send({ address, namespace: WATCH_NS, watchers: n, labelSelector: 'app=bench' } satisfies WatchWorkerStart);
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
            const onExit = (code: number | null): void => reject(new Error(`watch worker exited (code ${code})`));
            const onMessage = (m: WatchWorkerReply): void => {
              const v = pick(m);
              if (v === undefined) return;
              w.off('message', onMessage);
              w.off('exit', onExit);
              resolve(v);
            };
            w.on('message', onMessage);
            w.once('exit', onExit);
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

async function createNamespace(address: string, name: string): Promise<void> {
  const c = new grpc.Client(address, grpc.credentials.createInsecure());
  const m = NamespaceServiceService.create;
  await new Promise((resolve, reject) =>
    c.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, { object: { metadata: { name } } }, (err, res) => (err ? reject(err) : resolve(res))),
  );
  c.close();
}

async function startServer(etcdUrl: string): Promise<{ child: ChildProcess; address: string }> {
  const child = spawn(
    process.execPath,
    [
      ...(PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : []),
      ...SERVER_NODE_ARGS,
      join(__dirname, '..', 'cmd', 'tsk.js'),
      'apiserver',
      '--etcd-servers',
      etcdUrl,
      '--address',
      '127.0.0.1:0',
      '--http-address',
      '127.0.0.1:0',
      '--write-config=false',
      '--insecure-plaintext-for-benchmarks-only',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      if (SERVER_NODE_ARGS.length > 0) process.stderr.write(d); // diagnostics such as --trace-gc
      out += d.toString();
      const m = /serving gRPC on (\S+), HTTP on (\S+)/.exec(out);
      if (m) resolve({ child, address: m[1]! });
    });
    child.once('exit', (code) => reject(new Error(`tsk apiserver exited (code ${code}) during start-up:\n${out}`)));
  });
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

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tsk-bench-api-'));
  let etcd: EtcdProcess | undefined;
  let server: ChildProcess | undefined;
  let cs: Clientset | undefined;
  const clients: grpc.Client[] = [];
  try {
    etcd = await EtcdProcess.start({ dataDir: dir });
    progress(`etcd at ${etcd.clientUrl}`);
    const podBytes = Pod.encode(benchPod('bench-00000')).finish().length;

    // Anchor: raw etcd puts of values the size of a stored pod, measured
    // before and after tsk's creates (the machine is shared; the mean is used).
    // The anchor's keys are left in place: deleting 10,000 keys made etcd
    // 3.4's later transactions about 3x costlier for some time (0.24 -> 0.70 ms
    // of etcd CPU per create-if-absent), which would be charged to tsk.
    const raw = new Etcd3({ hosts: etcd.clientUrl });
    const value = Buffer.alloc(podBytes, 0x61);
    let anchorCpu: Record<string, number> = {};
    const anchor = async (round: number): Promise<number> => {
      const { result: secs, cpuMs } = await cpuPerOp({ etcd: etcd!.pid }, PODS, () =>
        runPool(
          PODS,
          CONCURRENCY,
          async (i) => {
            await raw.kv.put({ key: Buffer.from(`/bench/raw${round}/${String(i).padStart(5, '0')}`), value });
          },
          `etcd puts (${round === 0 ? 'before' : 'after'})`,
        ),
      );
      anchorCpu = cpuMs;
      return PODS / secs;
    };
    await runPool(
      WARMUP,
      CONCURRENCY,
      async (i) => {
        await raw.kv.put({ key: Buffer.from(`/bench/warm/${i}`), value });
      },
      'etcd warm-up',
    );
    const etcdBefore = await anchor(0);
    progress(`raw etcd: ${etcdBefore.toFixed(0)} puts/s`);

    // The floor: the same client shape against a server that only makes the
    // one etcd3 transaction and receives the watch event (bench/floor-server.ts).
    const floor = await measureFloor(etcd.clientUrl, etcd.pid, Buffer.from(Pod.encode(benchPod('bench-00000')).finish()), clients);
    progress(`floor: ${floor.perS.toFixed(0)} creates/s`);

    const started = await startServer(etcd.clientUrl);
    server = started.child;
    progress(`tsk apiserver at ${started.address}`);
    const mk = (): PodServiceClient => {
      const c = new PodServiceClient(started.address, grpc.credentials.createInsecure(), channelOptions(-1));
      clients.push(c);
      return c;
    };
    const pods = mk();
    // Creates go through tsk's client library (client/), as every component's do.
    cs = new Clientset(started.address, { insecurePlaintext: true });
    const creator = cs;

    // Creates (after a warm-up the figures do not count: JIT, connections).
    await runPool(
      WARMUP,
      CONCURRENCY,
      async (i) => {
        await creator.pods.create({ ...benchPod(`warm-${i}`), metadata: { ...benchPod('').metadata, name: `warm-${i}`, namespace: 'kube-system' } });
      },
      'warm-up',
    );
    const { result: createSecs, cpuMs: createCpu } = await cpuPerOp({ apiserver: server.pid, etcd: etcd.pid }, PODS, () =>
      runPool(
        PODS,
        CONCURRENCY,
        async (i) => {
          await creator.pods.create(benchPod(`bench-${String(i).padStart(5, '0')}`));
        },
        'creates',
      ),
    );
    const createPerS = PODS / createSecs;
    progress(`tsk: ${createPerS.toFixed(0)} creates/s`);
    const etcdMetrics = await (await fetch(`${etcd.clientUrl}/metrics`)).text();
    progress(
      `etcd: ${etcdMetrics
        .split('\n')
        .filter((l) => /^etcd_debugging_mvcc_(slow_watcher_total|pending_events_total)/.test(l))
        .join(', ')}`,
    );
    const etcdAfter = await anchor(1);
    raw.close();
    const etcdPutPerS = (etcdBefore + etcdAfter) / 2;
    progress(`raw etcd: ${etcdAfter.toFixed(0)} puts/s`);

    // Watch: 100 watchers in 4 processes of their own (bench/watch-worker.ts),
    // one connection each, as a cluster's watchers are separate components;
    // creates at a steady rate, in their own namespace so the lists below see
    // exactly the 10,000 pods.
    await createNamespace(started.address, WATCH_NS);
    collectGarbage(); // garbage of the create phase must not pause the creator
    const workers = await startWatchWorkers(started.address, WATCHERS);
    const sentAt = new Map<string, number>();
    const ackedAt = new Map<string, number>();
    const createLatencies: number[] = [];
    let receipts = new Map<string, number[]>();
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
    latencies.sort((a, b) => a - b);
    const watchP50 = percentile(latencies, 50);
    const watchP99 = percentile(latencies, 99);
    fromAck.sort((a, b) => a - b);
    const ackP50 = percentile(fromAck, 50);
    const ackP99 = percentile(fromAck, 99);
    createLatencies.sort((a, b) => a - b);
    const createP50 = percentile(createLatencies, 50);
    const createP99 = percentile(createLatencies, 99);
    const delivered = received / (WATCHERS * WATCH_PODS);

    // Lists: the whole 10,000 in one call, and in pages of 500. Timed to the
    // last byte received, and separately with the client's decoding.
    const rawClient = new grpc.Client(started.address, grpc.credentials.createInsecure(), channelOptions(-1));
    clients.push(rawClient);
    const listDef = PodServiceService.list;
    const listRaw = (req: object): Promise<Buffer> =>
      new Promise((resolve, reject) =>
        rawClient.makeUnaryRequest(
          listDef.path,
          listDef.requestSerialize,
          (b: Buffer) => b,
          req,
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
      const list = await call<object, PodList>(pods.list.bind(pods), { namespace: 'default' });
      fullDecoded.push(performance.now() - t0);
      if ((list.items ?? []).length !== PODS || bytes.length < PODS * podBytes) throw new Error(`list returned ${list.items?.length} pods, want ${PODS}`);
    }
    const paged: number[] = [];
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      let n = 0;
      let cont = '';
      do {
        const page = await call<object, PodList>(pods.list.bind(pods), { namespace: 'default', limit: 500, continue: cont });
        n += page.items?.length ?? 0;
        cont = page.metadata?.continue ?? '';
      } while (cont);
      paged.push(performance.now() - t0);
      if (n !== PODS) throw new Error(`paginated list returned ${n} pods, want ${PODS}`);
    }
    const list10kDecodedMs = median(fullDecoded);
    const list10kMs = median(full);
    const listPagedMs = median(paged);
    progress(`list 10k: ${list10kMs.toFixed(1)} ms (decoded ${list10kDecodedMs.toFixed(1)} ms), paged: ${listPagedMs.toFixed(1)} ms`);

    const ms = (x: number | undefined): string => (x === undefined || Number.isNaN(x) ? '?' : x.toFixed(2));
    const rows: [string, string, string, string][] = [
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
      ['list 10,000 pods, one call (received)', `${list10kMs.toFixed(1)} ms`, '', 'target < 300 ms'],
      ['list 10,000 pods, one call (+ client decode)', `${list10kDecodedMs.toFixed(1)} ms`, '', ''],
      ['list 10,000 pods, pages of 500 (decoded)', `${listPagedMs.toFixed(1)} ms`, '', ''],
      [`watch delivery p50 (${WATCHERS} watchers), from create ack`, `${ackP50.toFixed(1)} ms`, '', ''],
      [`watch delivery p99 (${WATCHERS} watchers), from create ack`, `${ackP99.toFixed(1)} ms`, '', 'target < 50 ms'],
      [`watch delivery p50, from create sent`, `${watchP50.toFixed(1)} ms`, '', 'includes the create itself'],
      [`watch delivery p99, from create sent`, `${watchP99.toFixed(1)} ms`, '', ''],
      [`create latency during the watch, p50 / p99`, `${createP50} / ${createP99} ms`, '', ''],
      ['watch events delivered', `${received}/${WATCHERS * WATCH_PODS}`, '', ''],
    ];
    const w0 = Math.max(...rows.map((r) => r[0].length));
    const w1 = Math.max(...rows.map((r) => r[1].length), 3);
    const w2 = Math.max(...rows.map((r) => r[2].length), 6);
    console.log(
      `API benchmark: ${PODS} pods of ${podBytes} bytes (protobuf), ${CONCURRENCY} in flight; anchor = raw etcd3 puts, same size and concurrency ` +
        `(mean of ${etcdBefore.toFixed(0)} before and ${etcdAfter.toFixed(0)} after); watch: ${WATCH_PODS} creates at ${WATCH_RATE_PER_S}/s after ${WATCH_WARMUP} not counted, latency = create acknowledged (and sent) -> event received`,
    );
    console.log(`${'measure'.padEnd(w0)}  ${'tsk'.padStart(w1)}  ${'anchor'.padStart(w2)}  ratio / target`);
    for (const r of rows) console.log(`${r[0].padEnd(w0)}  ${r[1].padStart(w1)}  ${r[2].padStart(w2)}  ${r[3]}`);
    console.log(
      JSON.stringify({
        pods: PODS,
        pod_bytes: podBytes,
        concurrency: CONCURRENCY,
        create_per_s: Math.round(createPerS),
        etcd_put_per_s: Math.round(etcdPutPerS),
        etcd_put_before_per_s: Math.round(etcdBefore),
        etcd_put_after_per_s: Math.round(etcdAfter),
        create_ratio: Number((createPerS / etcdPutPerS).toFixed(3)),
        floor_create_per_s: Math.round(floor.perS),
        floor_ratio: Number((floor.perS / etcdPutPerS).toFixed(3)),
        floor_cpu_client_ms: Number(ms(floor.cpuMs['bench'])),
        floor_cpu_server_ms: Number(ms(floor.cpuMs['server'])),
        floor_cpu_etcd_ms: Number(ms(floor.cpuMs['etcd'])),
        create_cpu_client_ms: Number(ms(createCpu['bench'])),
        create_cpu_apiserver_ms: Number(ms(createCpu['apiserver'])),
        create_cpu_etcd_ms: Number(ms(createCpu['etcd'])),
        put_cpu_client_ms: Number(ms(anchorCpu['bench'])),
        put_cpu_etcd_ms: Number(ms(anchorCpu['etcd'])),
        list_10k_ms: Number(list10kMs.toFixed(1)),
        list_10k_decoded_ms: Number(list10kDecodedMs.toFixed(1)),
        list_paged_10k_ms: Number(listPagedMs.toFixed(1)),
        watch_p50_ms: ackP50,
        watch_p99_ms: ackP99,
        watch_from_sent_p50_ms: watchP50,
        watch_from_sent_p99_ms: watchP99,
        watch_create_p50_ms: createP50,
        watch_create_p99_ms: createP99,
        watch_delivered_ratio: Number(delivered.toFixed(4)),
        watchers: WATCHERS,
        watch_pods: WATCH_PODS,
        watch_rate_per_s: WATCH_RATE_PER_S,
        watch_warmup_creates: WATCH_WARMUP,
      }),
    );
  } finally {
    cs?.close();
    for (const c of clients) c.close();
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((r) => server!.once('exit', r));
    }
    await etcd?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`bench: ${errorDetail(err)}`);
  process.exitCode = 1;
});
