// REST benchmark: the same workload through the Kubernetes REST API
// (apiserver/rest: JSON over HTTPS/1.1, node's https with a keep-alive agent,
// as client-go talks to kube-apiserver) and through gRPC (tsk's client
// library, client/Clientset), against one `tsk apiserver` with its embedded
// etcd, in the same run:
// - creates/s: N pods with C requests in flight, each answer decoded; the
//   two transports alternate in rounds, so neither gets the emptier etcd;
// - a full list of N pods in one call (10,000 by default): milliseconds to
//   the decoded list, and the bytes of the answer;
// - watch latency: one watch per transport on the same namespace, pods
//   created at a steady rate (through REST, so that the gRPC watch does not
//   share its HTTP/2 connection with the creates); p50/p99 from the create
//   sent to the event decoded by each watcher.
// Ratios are REST / gRPC of each figure.
//
// Flags: --pods N (10000) --concurrency C (64) --watch-pods W (1000)
// --quick (500 pods, 200 watched). Output: a table, then as the LAST line
// one JSON object with every figure.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { encodeJson } from '../api/codec';
import { PodList, type Pod } from '../api/gen/tsk/v1/core';
import { Clientset, adminConfigPath, readClientConfig, type ClientCredentials } from '../client';
import { errorDetail } from '../util/errors';
import { benchPod } from './bench-pod';
import { percentile, runPool } from './pool';
import { cpuSeconds } from './proc-cpu';

const TSK = join(__dirname, '..', 'cmd', 'tsk.js');
const WARMUP = 300;
const LIST_RUNS = 5;
/** Below what the server sustains on a shared 2-core machine, so the figure is delivery, not a queue of creates. */
const WATCH_RATE_PER_S = 25;
/** Set to a directory to CPU-profile the API server (node --cpu-prof). */
const PROFILE_DIR = process.env['BENCH_PROFILE_DIR'];
const ROUNDS = 2;

interface Sizes {
  pods: number;
  concurrency: number;
  watchPods: number;
  quick: boolean;
}

function progress(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}

function parseSizes(argv: string[]): Sizes {
  const { values } = parseArgs({
    args: argv,
    options: {
      pods: { type: 'string' },
      concurrency: { type: 'string' },
      'watch-pods': { type: 'string' },
      quick: { type: 'boolean', default: false },
    },
  });
  const int = (flag: string, v: string | undefined, dflt: number): number => {
    if (v === undefined) return dflt;
    if (!/^[1-9]\d*$/.test(v)) throw new Error(`--${flag}: "${v}" must be a positive integer`);
    return Number(v);
  };
  const q = values.quick;
  return {
    pods: int('pods', values.pods, q ? 500 : 10_000),
    concurrency: int('concurrency', values.concurrency, 64),
    watchPods: int('watch-pods', values['watch-pods'], q ? 200 : 1000),
    quick: q,
  };
}

/** A running `tsk apiserver` (embedded etcd) with its gRPC and REST addresses and the admin credential. */
interface Server {
  child: ChildProcess;
  grpc: string;
  rest: string;
  credentials: ClientCredentials;
}

async function startServer(dataDir: string): Promise<Server> {
  const child = spawn(
    process.execPath,
    [
      ...(PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=apiserver-rest-${process.pid}.cpuprofile`] : []),
      TSK,
      'apiserver',
      '--data-dir',
      dataDir,
      '--address',
      '127.0.0.1:0',
      '--http-address',
      '127.0.0.1:0',
      '--rest-address',
      '127.0.0.1:0',
      '--write-config=false',
      '--etcd-disable-snapshots',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const conf = adminConfigPath(dataDir);
  let out = '';
  const [grpc, rest] = await new Promise<[string, string]>((resolve, reject) => {
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = /serving gRPC on (\S+), HTTP on \S+, the REST API on (\S+) \(/.exec(out);
      if (m && out.includes(`wrote ${conf}`)) resolve([m[1]!, m[2]!]);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`tsk apiserver exited (code ${code}) during start-up:\n${out.slice(-3000)}`)));
  });
  const admin = (await readClientConfig(conf))?.contexts[0];
  if (admin === undefined) throw new Error(`${conf}: the API server wrote no admin context`);
  return { child, grpc, rest, credentials: { caPem: admin.caPem, certPem: admin.certPem, keyPem: admin.keyPem } };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

/** A REST client as client-go is one: HTTPS/1.1 with keep-alive connections, the admin's client certificate, JSON in and out. */
class RestClient {
  private readonly agent: Agent;
  private readonly host: string;
  private readonly port: number;

  constructor(
    address: string,
    private readonly creds: ClientCredentials,
    maxSockets: number,
  ) {
    const m = /^(.*):(\d+)$/.exec(address);
    if (!m) throw new Error(`REST address "${address}" is not HOST:PORT`);
    this.host = m[1]!;
    this.port = Number(m[2]);
    this.agent = new Agent({ keepAlive: true, maxSockets, ca: creds.caPem, cert: creds.certPem, key: creds.keyPem });
  }

  /** One request; resolves with the status and the whole body. */
  call(method: string, path: string, body?: string): Promise<{ status: number; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (body !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = String(Buffer.byteLength(body));
      }
      const req = request({ host: this.host, port: this.port, method, path, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /** A decoded JSON answer of `want`; anything else is an error with the Status's message. */
  async json(method: string, path: string, want: number, body?: string): Promise<{ value: unknown; bytes: number }> {
    const res = await this.call(method, path, body);
    if (res.status !== want) throw new Error(`REST ${method} ${path}: ${res.status} ${res.body.toString().slice(0, 300)}`);
    return { value: JSON.parse(res.body.toString('utf8')) as unknown, bytes: res.body.length };
  }

  /** A watch on its own connection: `onEvent` gets each decoded event; resolves once the server has registered it (the headers came). */
  watch(path: string, onEvent: (type: string, name: string) => void): Promise<() => void> {
    return new Promise((resolve, reject) => {
      const req = request(
        { host: this.host, port: this.port, method: 'GET', path, agent: false, ca: this.creds.caPem, cert: this.creds.certPem, key: this.creds.keyPem },
        (res) => {
          if (res.statusCode !== 200) return reject(new Error(`REST watch ${path}: ${res.statusCode}`));
          let rest = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            rest += d;
            for (let nl = rest.indexOf('\n'); nl >= 0; nl = rest.indexOf('\n')) {
              const ev = JSON.parse(rest.slice(0, nl)) as { type: string; object: { metadata?: { name?: string } } };
              rest = rest.slice(nl + 1);
              onEvent(ev.type, ev.object.metadata?.name ?? '');
            }
          });
          res.on('error', () => undefined);
          resolve(() => req.destroy());
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function podJson(pod: Pod): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'Pod', ...encodeJson('tsk.v1.Pod', pod) });
}

function inNamespace(pod: Pod, namespace: string): Pod {
  pod.metadata!.namespace = namespace;
  return pod;
}

const name = (prefix: string, i: number): string => `${prefix}-${String(i).padStart(5, '0')}`;

interface CreateFigures {
  restPerS: number;
  grpcPerS: number;
  restServerCpuMs: number;
  grpcServerCpuMs: number;
}

/**
 * N pods per transport, in ROUNDS alternating rounds (REST then gRPC), into
 * namespaces bench-rest and bench-grpc; server CPU per create besides.
 */
async function measureCreates(server: Server, restClient: RestClient, clientset: Clientset, sizes: Sizes): Promise<CreateFigures> {
  const c = sizes.concurrency;
  await runPool(WARMUP, c, (i) =>
    restClient
      .json('POST', '/api/v1/namespaces/bench-warm/pods', 201, podJson(inNamespace(benchPod(name('warm-rest', i)), 'bench-warm')))
      .then(() => undefined),
  );
  await runPool(WARMUP, c, (i) => clientset.pods.create(inNamespace(benchPod(name('warm-grpc', i)), 'bench-warm')).then(() => undefined));
  const secs = { rest: 0, grpc: 0 };
  const cpu = { rest: 0, grpc: 0 };
  const perRound = Math.ceil(sizes.pods / ROUNDS);
  for (let round = 0; round < ROUNDS; round++) {
    const from = round * perRound;
    const count = Math.min(perRound, sizes.pods - from);
    let cpu0 = cpuSeconds(server.child.pid);
    secs.rest += await runPool(
      count,
      c,
      (i) =>
        restClient
          .json('POST', '/api/v1/namespaces/bench-rest/pods', 201, podJson(inNamespace(benchPod(name('bench', from + i)), 'bench-rest')))
          .then(() => undefined),
      `REST creates, round ${round + 1}`,
    );
    cpu.rest += cpuSeconds(server.child.pid) - cpu0;
    cpu0 = cpuSeconds(server.child.pid);
    secs.grpc += await runPool(
      count,
      c,
      (i) => clientset.pods.create(inNamespace(benchPod(name('bench', from + i)), 'bench-grpc')).then(() => undefined),
      `gRPC creates, round ${round + 1}`,
    );
    cpu.grpc += cpuSeconds(server.child.pid) - cpu0;
  }
  return {
    restPerS: sizes.pods / secs.rest,
    grpcPerS: sizes.pods / secs.grpc,
    restServerCpuMs: (cpu.rest * 1000) / sizes.pods,
    grpcServerCpuMs: (cpu.grpc * 1000) / sizes.pods,
  };
}

interface ListFigures {
  restMs: number;
  grpcMs: number;
  restBytes: number;
  grpcBytes: number;
}

function median(xs: number[]): number {
  return percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );
}

/** The whole of bench-rest (N pods) in one call, decoded, LIST_RUNS times per transport, alternating; medians. */
async function measureLists(restClient: RestClient, clientset: Clientset, sizes: Sizes): Promise<ListFigures> {
  const rest: number[] = [];
  const grpc: number[] = [];
  let restBytes = 0;
  let grpcBytes = 0;
  for (let r = 0; r < LIST_RUNS; r++) {
    let t0 = performance.now();
    const { value, bytes } = await restClient.json('GET', '/api/v1/namespaces/bench-rest/pods', 200);
    rest.push(performance.now() - t0);
    const restItems = (value as { items: unknown[] }).items.length;
    restBytes = bytes;
    t0 = performance.now();
    const list = await clientset.pods.list({ namespace: 'bench-rest' });
    grpc.push(performance.now() - t0);
    grpcBytes = PodList.encode(list as PodList).finish().length;
    const grpcItems = list.items?.length ?? 0;
    if (restItems !== sizes.pods || grpcItems !== sizes.pods)
      throw new Error(`lists returned ${restItems} (REST) and ${grpcItems} (gRPC) pods, want ${sizes.pods}`);
  }
  return { restMs: median(rest), grpcMs: median(grpc), restBytes, grpcBytes };
}

interface WatchFigures {
  restP50: number;
  restP99: number;
  grpcP50: number;
  grpcP99: number;
  restReceived: number;
  grpcReceived: number;
}

/** Arrival times (performance.now) of ADDED events by pod name. */
type Arrivals = Map<string, number>;

/**
 * One REST watch and one gRPC watch (tsk's client library, decoding each
 * event) on the same namespace, each on a connection of its own; the pods
 * are created through REST (the keep-alive agent's connections), so neither
 * watch shares its connection with the creates.
 */
async function measureWatch(restClient: RestClient, clientset: Clientset, sizes: Sizes): Promise<WatchFigures> {
  const ns = 'bench-watch';
  const rest: Arrivals = new Map();
  const grpc: Arrivals = new Map();
  const create = (n: string): Promise<unknown> => restClient.json('POST', `/api/v1/namespaces/${ns}/pods`, 201, podJson(inNamespace(benchPod(n), ns)));
  const stopRest = await restClient.watch(`/api/v1/namespaces/${ns}/pods?watch=true&timeoutSeconds=3600`, (type, n) => {
    if (type === 'ADDED') rest.set(n, performance.now());
  });
  const grpcWatch = clientset.pods.watch({ namespace: ns });
  const grpcDone = (async () => {
    for await (const ev of grpcWatch) if (ev.type === 'ADDED') grpc.set(ev.object.metadata?.name ?? '', performance.now());
  })().catch(() => undefined);
  try {
    // A first pod both watchers must see: from then on both are registered.
    await create('sentinel');
    await waitFor(() => rest.has('sentinel') && grpc.has('sentinel'), 30_000, 'both watchers to see the first pod');
    const sent = new Map<string, number>();
    const interval = 1000 / WATCH_RATE_PER_S;
    const t0 = performance.now();
    const inflight: Promise<unknown>[] = [];
    for (let i = 0; i < sizes.watchPods; i++) {
      const wait = t0 + i * interval - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const n = name('watch', i);
      sent.set(n, performance.now());
      inflight.push(create(n));
    }
    await Promise.all(inflight);
    const want = (m: Arrivals): number => [...sent.keys()].filter((n) => m.has(n)).length;
    await waitFor(() => want(rest) === sizes.watchPods && want(grpc) === sizes.watchPods, 30_000, 'every event').catch(() => undefined);
    const lat = (m: Arrivals): number[] =>
      [...sent]
        .filter(([n]) => m.has(n))
        .map(([n, at]) => m.get(n)! - at)
        .sort((a, b) => a - b);
    const r = lat(rest);
    const g = lat(grpc);
    return {
      restP50: percentile(r, 50),
      restP99: percentile(r, 99),
      grpcP50: percentile(g, 50),
      grpcP99: percentile(g, 99),
      restReceived: r.length,
      grpcReceived: g.length,
    };
  } finally {
    stopRest();
    grpcWatch.cancel();
    await grpcDone;
  }
}

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const fixed = (x: number, digits = 1): number => Number(x.toFixed(digits));
const ratio = (rest: number, grpc: number): number => Number((rest / grpc).toFixed(3));

async function main(): Promise<void> {
  const sizes = parseSizes(process.argv.slice(2));
  const dir = await mkdtemp(join(tmpdir(), 'tsk-bench-rest-'));
  let server: Server | undefined;
  let clientset: Clientset | undefined;
  let restClient: RestClient | undefined;
  try {
    progress(`starting tsk apiserver with its embedded etcd in ${dir}`);
    server = await startServer(join(dir, 'data'));
    clientset = new Clientset(server.grpc, server.credentials);
    restClient = new RestClient(server.rest, server.credentials, sizes.concurrency);
    for (const ns of ['bench-warm', 'bench-rest', 'bench-grpc', 'bench-watch']) await clientset.namespaces.create({ metadata: { name: ns } });
    progress(`creates: ${sizes.pods} pods per transport, ${sizes.concurrency} in flight`);
    const creates = await measureCreates(server, restClient, clientset, sizes);
    progress(`lists of ${sizes.pods} pods`);
    const lists = await measureLists(restClient, clientset, sizes);
    progress(`watch: ${sizes.watchPods} pods at ${WATCH_RATE_PER_S}/s`);
    const watch = await measureWatch(restClient, clientset, sizes);

    const rows: Array<[string, string, string, string]> = [
      ['creates/s', fixed(creates.restPerS).toString(), fixed(creates.grpcPerS).toString(), ratio(creates.restPerS, creates.grpcPerS).toString()],
      [
        'server CPU ms per create',
        fixed(creates.restServerCpuMs, 3).toString(),
        fixed(creates.grpcServerCpuMs, 3).toString(),
        ratio(creates.restServerCpuMs, creates.grpcServerCpuMs).toString(),
      ],
      [`list of ${sizes.pods} pods, ms`, fixed(lists.restMs).toString(), fixed(lists.grpcMs).toString(), ratio(lists.restMs, lists.grpcMs).toString()],
      [`list of ${sizes.pods} pods, bytes`, String(lists.restBytes), String(lists.grpcBytes), ratio(lists.restBytes, lists.grpcBytes).toString()],
      ['watch p50 ms', fixed(watch.restP50).toString(), fixed(watch.grpcP50).toString(), ratio(watch.restP50, watch.grpcP50).toString()],
      ['watch p99 ms', fixed(watch.restP99).toString(), fixed(watch.grpcP99).toString(), ratio(watch.restP99, watch.grpcP99).toString()],
      ['watch events received', String(watch.restReceived), String(watch.grpcReceived), ratio(watch.restReceived, watch.grpcReceived).toString()],
    ];
    console.log('| figure | REST (JSON) | gRPC | REST / gRPC |');
    console.log('|---|---|---|---|');
    for (const r of rows) console.log(`| ${r.join(' | ')} |`);
    console.log(
      JSON.stringify({
        pods: sizes.pods,
        concurrency: sizes.concurrency,
        watch_pods: sizes.watchPods,
        quick: sizes.quick,
        rest_creates_per_s: fixed(creates.restPerS),
        grpc_creates_per_s: fixed(creates.grpcPerS),
        rest_grpc_creates_ratio: ratio(creates.restPerS, creates.grpcPerS),
        rest_create_server_cpu_ms: fixed(creates.restServerCpuMs, 3),
        grpc_create_server_cpu_ms: fixed(creates.grpcServerCpuMs, 3),
        rest_grpc_create_server_cpu_ratio: ratio(creates.restServerCpuMs, creates.grpcServerCpuMs),
        [`rest_list_${sizes.pods}_ms`]: fixed(lists.restMs),
        [`grpc_list_${sizes.pods}_ms`]: fixed(lists.grpcMs),
        rest_grpc_list_ratio: ratio(lists.restMs, lists.grpcMs),
        [`rest_list_${sizes.pods}_bytes`]: lists.restBytes,
        [`grpc_list_${sizes.pods}_bytes`]: lists.grpcBytes,
        rest_grpc_list_bytes_ratio: ratio(lists.restBytes, lists.grpcBytes),
        rest_watch_p50_ms: fixed(watch.restP50),
        rest_watch_p99_ms: fixed(watch.restP99),
        grpc_watch_p50_ms: fixed(watch.grpcP50),
        grpc_watch_p99_ms: fixed(watch.grpcP99),
        rest_grpc_watch_p50_ratio: ratio(watch.restP50, watch.grpcP50),
        rest_grpc_watch_p99_ratio: ratio(watch.restP99, watch.grpcP99),
        rest_watch_received: watch.restReceived,
        grpc_watch_received: watch.grpcReceived,
      }),
    );
  } finally {
    restClient?.close();
    clientset?.close();
    if (server) await stopChild(server.child);
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`bench: ${errorDetail(err)}`);
  process.exitCode = 1;
});
