// The measuring half of bench:proxy; runs inside the bench's own network
// namespace (bench/proxy.ts starts it there with nsenter), so the iptables it
// programs are that namespace's. For one size: the real proxier
// (startProxy, fed by in-memory Services and Endpoints through the real
// informers) does its full sync into empty tables, then, with it running,
// single Endpoints changes; beside each, the floor: iptables-restore of the
// exact text the proxier wrote, the same way (iptables-restore -w --noflush,
// proxy/iptables.ts) into the same state. Prints one JSON line (WorkerResult).
//
// In nftables mode the same, with `nft -f` of the exact text as the floor
// and the proxy's table deleted between runs; beside it a second floor, the
// same text through a long-lived nftables helper of the bench's own (the
// proxy's tsk-nft, started once: no process start per write), so the
// figures part the kernel and nft's work from the start of a process.
//
// Usage: node proxy-worker.js SERVICES ENDPOINTS REPEATS CHANGES [iptables|nftables]

import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { Registry } from 'prom-client';
import { SharedInformerFactory } from '../client';
import { existsSync } from 'node:fs';
import {
  ExecIptables,
  ExecNftables,
  HelperNftables,
  keepChunks,
  nftCommand,
  nftHelperPath,
  startProxy,
  type Iptables,
  type NftInput,
  type Nftables,
  type ProxyMode,
} from '../proxy';
import { BENCH_NODE_NAME, BenchSource, benchEndpoints, benchService, localPods } from './proxy-source';

export interface WorkerResult {
  readonly mode: ProxyMode;
  readonly services: number;
  readonly endpoints: number;
  /** Endpoints on the measured proxy's own node (the rest are on other nodes: see BENCH_NODES). */
  readonly local_endpoints: number;
  /** ms, one per repetition: startProxy() to the end of its first iptables-restore (nft -f). */
  readonly full_sync_ms: number[];
  /** ms, one per repetition: iptables-restore of the first sync's text into empty tables. */
  readonly restore_floor_ms: number[];
  /** ms, one per change: the Endpoints change delivered to the watch, to the end of the restore it caused. */
  readonly one_change_ms: number[];
  /** ms, one per change: iptables-restore of that sync's text again, in the same state. */
  readonly one_change_floor_ms: number[];
  /** nftables mode: the floors again through a long-lived helper (no process start); empty in iptables mode. */
  readonly helper_floor_ms: number[];
  readonly one_change_helper_floor_ms: number[];
  /** Lines of the full sync's iptables-restore input, and its rules (-A lines). */
  readonly restore_lines: number;
  readonly rules: number;
  /** Lines of each change's restore input. */
  readonly one_change_lines: number[];
}

/** Remembers when each write ended and what it wrote. */
class WriteClock {
  private waiters: ((r: { input: string; at: number }) => void)[] = [];

  wrote(input: string): void {
    const at = performance.now();
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w({ input, at });
  }

  /** The next write to complete. */
  next(): Promise<{ input: string; at: number }> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

/** The real iptables, telling the clock when each restore ended. */
class TimedIptables implements Iptables {
  private readonly real = new ExecIptables();
  constructor(private readonly clock: WriteClock) {}

  save(): Promise<string> {
    return this.real.save();
  }

  async restore(input: string): Promise<void> {
    await this.real.restore(input);
    this.clock.wrote(input);
  }
}

/** The real nftables as the proxy drives it (its helper), telling the clock when each transaction ended. */
class TimedNftables implements Nftables {
  private readonly real = new HelperNftables({ log: progress });
  constructor(private readonly clock: WriteClock) {}

  get generation(): number {
    return this.real.generation;
  }

  close(): Promise<void> {
    return this.real.close();
  }

  list(): Promise<string> {
    return this.real.list();
  }

  async run(input: NftInput): Promise<void> {
    // A full sync's input comes in chunks as it is rendered: kept as they pass, for the floors.
    const chunks: string[] = [];
    await this.real.run(typeof input === 'string' ? input : keepChunks(input, chunks));
    this.clock.wrote(typeof input === 'string' ? input : chunks.join(''));
  }
}

/**
 * Empties the namespace's filter and nat tables (iptables-restore without
 * --noflush flushes and deletes every chain) and removes the nftables mode's table.
 */
function resetTables(): void {
  execFileSync('iptables-restore', ['-w', '5'], { input: '*filter\nCOMMIT\n*nat\nCOMMIT\n' });
  execFileSync(nftCommand(), ['-f', '-'], { input: 'add table ip tsk-proxy\ndelete table ip tsk-proxy\n' });
}

function fill(source: BenchSource, services: number, endpoints: number): void {
  for (let i = 0; i < services; i++) {
    source.services.upsert(benchService(i));
    source.endpoints.upsert(benchEndpoints(i, i * endpoints, endpoints));
  }
}

/** Lines of `text` starting with `prefix`, without splitting it (a full sync's text is 25 MB at 10,000 services). */
function countLines(text: string, prefix: string): number {
  let n = 0;
  for (let at = 0; at < text.length;) {
    const end = text.indexOf('\n', at);
    if (text.startsWith(prefix, at)) n++;
    if (end < 0) break;
    at = end + 1;
  }
  return n;
}

/** A full garbage collection when node runs with --expose-gc (bench/proxy.ts starts the worker so). */
function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** The floor: the same text written the same way (iptables-restore -w --noflush, or nft -f). */
async function timedRestore(mode: ProxyMode, input: string): Promise<number> {
  const t0 = performance.now();
  if (mode === 'nftables') await new ExecNftables().run(input);
  else await new ExecIptables().restore(input);
  return performance.now() - t0;
}

/** The helper floor: the same text through a helper already running. */
async function timedHelper(helper: HelperNftables, input: string): Promise<number> {
  const t0 = performance.now();
  await helper.run(input);
  return performance.now() - t0;
}

function progress(msg: string): void {
  process.stderr.write(`bench:proxy: ${msg}\n`);
}

async function measure(mode: ProxyMode, services: number, endpoints: number, repeats: number, changes: number): Promise<WorkerResult> {
  const result = {
    mode,
    services,
    endpoints,
    local_endpoints: localPods(services * endpoints),
    full_sync_ms: [] as number[],
    restore_floor_ms: [] as number[],
    one_change_ms: [] as number[],
    one_change_floor_ms: [] as number[],
    helper_floor_ms: [] as number[],
    one_change_helper_floor_ms: [] as number[],
    restore_lines: 0,
    rules: 0,
    one_change_lines: [] as number[],
  };
  if (mode === 'nftables' && !existsSync(nftHelperPath())) throw new Error(`${nftHelperPath()} is missing: run scripts/build-native.sh`);
  // The bench's own helper, for the second floor; started before anything is timed.
  const helper = mode === 'nftables' ? new HelperNftables({ log: progress }) : undefined;
  await helper?.list();
  try {
    for (let rep = 0; rep < repeats; rep++) await measureOnce(result, helper, mode, services, endpoints, rep, changes);
  } finally {
    await helper?.close();
  }
  resetTables();
  return result;
}

/** One repetition: a full sync into empty tables, then `changes` one-service changes, each beside its floors. */
async function measureOnce(
  result: Mutable<WorkerResult>,
  helper: HelperNftables | undefined,
  mode: ProxyMode,
  services: number,
  endpoints: number,
  rep: number,
  changes: number,
): Promise<void> {
  resetTables();
  const source = new BenchSource();
  fill(source, services, endpoints);
  const clock = new WriteClock();
  const informers = new SharedInformerFactory(source.clientset());
  const nftables = new TimedNftables(clock);
  const first = clock.next();
  const t0 = performance.now();
  const proxy = await startProxy({
    clientset: source.clientset(),
    informers,
    nodeName: BENCH_NODE_NAME,
    nodeIPs: ['10.250.0.1'],
    clusterCIDR: '10.128.0.0/10',
    mode,
    iptables: new TimedIptables(clock),
    nftables,
    // No rate limit: the figure is the sync itself, not the wait kube-proxy's --iptables-min-sync-period adds.
    minSyncPeriodMs: 0,
    // No periodic resync inside the measured window.
    syncPeriodMs: 3_600_000,
    registry: new Registry(),
    log: (line) => progress(line),
  });
  try {
    const full = await first;
    result.full_sync_ms.push(full.at - t0);
    result.restore_lines = countLines(full.input, '');
    result.rules = countLines(full.input, mode === 'nftables' ? 'add rule ' : '-A ');
    progress(`${mode}, ${services} services: full sync ${(full.at - t0).toFixed(0)} ms`);
    // One endpoint added to one service at a time, spread over the services.
    const counts = new Map<number, number>();
    for (let c = 0; c < changes; c++) {
      const svc = ((rep * changes + c) * 7919) % services;
      const count = (counts.get(svc) ?? endpoints) + 1;
      counts.set(svc, count);
      // The proxy at rest when the change comes: the garbage of the set-up (and of the last change) collected first.
      collectGarbage();
      const next = clock.next();
      const t1 = performance.now();
      // The added pod's address is outside every other service's (numbers past services * endpoints).
      source.endpoints.upsert(benchEndpoints(svc, svc * endpoints, endpoints, services * endpoints + c, count - endpoints));
      const change = await next;
      result.one_change_ms.push(change.at - t1);
      result.one_change_lines.push(countLines(change.input, ''));
      result.one_change_floor_ms.push(await timedRestore(mode, change.input));
      if (helper) result.one_change_helper_floor_ms.push(await timedHelper(helper, change.input));
    }
    await proxy.stop();
    resetTables();
    result.restore_floor_ms.push(await timedRestore(mode, full.input));
    if (helper) {
      resetTables();
      result.helper_floor_ms.push(await timedHelper(helper, full.input));
    }
  } finally {
    await proxy.stop();
    await nftables.close();
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

async function main(): Promise<void> {
  const [services, endpoints, repeats, changes] = process.argv.slice(2, 6).map(Number);
  const mode = process.argv[6] ?? 'iptables';
  if (!services || !endpoints || !repeats || changes === undefined || Number.isNaN(changes) || (mode !== 'iptables' && mode !== 'nftables')) {
    throw new Error('usage: proxy-worker.js SERVICES ENDPOINTS REPEATS CHANGES [iptables|nftables]');
  }
  // The proxier's timers are unref'd (in the agent its API connection keeps the process up): hold it up meanwhile.
  const keepAlive = setInterval(() => undefined, 60_000);
  try {
    console.log(JSON.stringify(await measure(mode, services, endpoints, repeats, changes)));
  } finally {
    clearInterval(keepAlive);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench:proxy worker: ${String(err)}`);
    process.exit(1);
  },
);
