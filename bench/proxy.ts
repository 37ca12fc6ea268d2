// npm run bench:proxy — the service proxy's sync at scale: the full sync of
// the real proxier (proxy/, fed through the real informers by in-memory
// Services and Endpoints: bench/proxy-source.ts) at S/10 and S Services with
// E endpoints each, and one Service's change (one endpoint added) at S, each
// timed to the end of the iptables-restore it causes; beside each, the floor:
// iptables-restore of the exact text the proxier produced, run the same way
// into the same state, in the same run.
//
// Both proxy modes are measured in the same run (--modes, default
// iptables,nftables): the nftables mode's floor is `nft -f` of the exact text
// it wrote, and a second floor, the same text through a long-lived nftables
// helper (proxy/native/tsk-nft.c, the proxy's own way of writing: no
// process start per write; keys "nft_helper_floor_*"). The JSON keys
// without prefix are the iptables mode's (the default mode); the nftables
// mode's carry "nft_".
//
// The Endpoints are a real cluster's: each address names its node (100
// nodes, BENCH_NODES in proxy-source.ts), the measured proxy's node holding
// 1 in 100 (500 of 50,000 at 10,000 Services); the table and the JSON line
// ("local_endpoints_S") say how many. That matters to the nftables mode,
// which writes a hairpin pair only for its node's endpoints; the floors
// write the same text, so they shrink with it.
//
// Everything happens in a network namespace this bench creates and removes
// (also on failure and Ctrl-C), never the host's: the measuring process
// (bench/proxy-worker.ts) runs in it through nsenter.
//
// Flags: --services S (default 10000), --endpoints E (default 5),
// --repeats R (full syncs per size, default 3), --changes C (one-service
// changes at S, default 10, spread over the R runs: ceil(C/R) each).
// Full sync: from startProxy() (its informers list the in-memory objects)
// to the end of its first iptables-restore, into empty tables. One change:
// from the Endpoints change entering the watch to the end of the restore of
// the (partial) sync it causes, the garbage of earlier steps collected first. BENCH_PROFILE_DIR=DIR: CPU profiles
// (node --cpu-prof) of the measuring processes.
// Output: a table, then as the LAST line one JSON object with every figure.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ProxyMode } from '../proxy';
import { BENCH_NODES } from './proxy-source';
import type { WorkerResult } from './proxy-worker';

const exec = promisify(execFile);
const WORKER = join(__dirname, 'proxy-worker.js');

export interface BenchFlags {
  readonly services: number;
  readonly endpoints: number;
  readonly repeats: number;
  readonly changes: number;
  /** The proxy modes measured, in order. */
  readonly modes: readonly ProxyMode[];
}

type NumberFlag = 'services' | 'endpoints' | 'repeats' | 'changes';

const FLAG_NAMES: Record<string, NumberFlag> = {
  '--services': 'services',
  '--endpoints': 'endpoints',
  '--repeats': 'repeats',
  '--changes': 'changes',
};

const ALL_MODES: readonly ProxyMode[] = ['iptables', 'nftables'];

/** --modes: a comma-separated list of proxy modes. */
function parseModes(value: string | undefined): ProxyMode[] {
  const modes = (value ?? '').split(',').map((m) => m.trim());
  const bad = modes.find((m) => !ALL_MODES.some((known) => known === m));
  if (value === undefined || bad !== undefined) throw new Error(`--modes must be iptables, nftables or both comma-separated, got ${value ?? 'nothing'}`);
  return ALL_MODES.filter((m) => modes.includes(m));
}

/** Parses the bench's flags; throws a one-line error naming the bad flag. */
export function parseBenchFlags(argv: readonly string[]): BenchFlags {
  const flags: Record<NumberFlag, number> = { services: 10_000, endpoints: 5, repeats: 3, changes: 10 };
  let modes: ProxyMode[] = [...ALL_MODES];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const [name = '', inline] = arg.split('=', 2);
    if (name === '--modes') {
      modes = parseModes(inline ?? argv[++i]);
      continue;
    }
    const key = FLAG_NAMES[name];
    if (!key) throw new Error(`unknown flag ${arg} (flags: ${[...Object.keys(FLAG_NAMES), '--modes'].join(', ')})`);
    const value = inline ?? argv[++i];
    const n = Number(value);
    if (value === undefined || !Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${value ?? 'nothing'}`);
    flags[key] = n;
  }
  if (flags.services < 10) throw new Error(`--services must be at least 10 (the small size is a tenth of it), got ${flags.services}`);
  if (flags.services * (flags.endpoints + 1) + flags.changes * flags.repeats > 1 << 22) {
    throw new Error(`--services ${flags.services} with --endpoints ${flags.endpoints} needs more pod addresses than 10.128.0.0/10 holds`);
  }
  if (flags.services > 65_000) throw new Error(`--services must be at most 65000 (cluster IPs come from 10.96.0.0/16), got ${flags.services}`);
  return { ...flags, modes };
}

/** The measuring processes running now (killed on Ctrl-C). */
const workers = new Set<ChildProcess>();

async function withNamespace<T>(fn: (ns: string) => Promise<T>): Promise<T> {
  const ns = `tsk-bproxy-${randomBytes(3).toString('hex')}`;
  const remove = (): Promise<unknown> => exec('ip', ['netns', 'del', ns]).catch(() => undefined);
  // Ctrl-C or a kill: stop the worker and remove the namespace before leaving.
  const onSignal = (signal: NodeJS.Signals): void => {
    for (const child of workers) child.kill('SIGKILL');
    void remove().then(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await exec('ip', ['netns', 'add', ns]);
    await exec('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    return await fn(ns);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await remove();
  }
}

/** Runs the worker for one size in the namespace; its last stdout line is its result. */
function runWorker(ns: string, mode: ProxyMode, services: number, flags: BenchFlags, changes: number): Promise<WorkerResult> {
  const profile = process.env['BENCH_PROFILE_DIR'];
  const nodeArgs = profile ? ['--cpu-prof', '--cpu-prof-dir', profile] : [];
  const args = [
    `--net=/var/run/netns/${ns}`,
    process.execPath,
    '--expose-gc',
    ...nodeArgs,
    WORKER,
    String(services),
    String(flags.endpoints),
    String(flags.repeats),
    String(changes),
    mode,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('nsenter', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    workers.add(child);
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      workers.delete(child);
      if (code !== 0) return reject(new Error(`the measuring process for ${services} services (${mode}) exited with ${code}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '') as WorkerResult);
      } catch {
        reject(new Error(`the measuring process for ${services} services printed no result: ${JSON.stringify(out.slice(-200))}`));
      }
    });
  });
}

const sorted = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);
const best = (xs: readonly number[]): number => sorted(xs)[0] ?? NaN;
const median = (xs: readonly number[]): number => {
  const s = sorted(xs);
  return s.length === 0 ? NaN : s.length % 2 ? (s[(s.length - 1) / 2] ?? NaN) : ((s[s.length / 2 - 1] ?? 0) + (s[s.length / 2] ?? 0)) / 2;
};
const r1 = (n: number): number => Number(n.toFixed(1));
const r2 = (n: number): number => Number(n.toFixed(2));

interface Row {
  readonly label: string;
  readonly tsk: readonly number[];
  readonly floor: readonly number[];
  /** The nftables mode's second floor (through the helper); empty for iptables. */
  readonly helper: readonly number[];
}

/** The two sizes of one mode. */
interface ModeResult {
  readonly mode: ProxyMode;
  readonly small: WorkerResult;
  readonly large: WorkerResult;
}

function rowsOf(r: ModeResult): Row[] {
  const { small, large } = r;
  return [
    { label: `${r.mode}: full sync, ${small.services} services`, tsk: small.full_sync_ms, floor: small.restore_floor_ms, helper: small.helper_floor_ms },
    { label: `${r.mode}: full sync, ${large.services} services`, tsk: large.full_sync_ms, floor: large.restore_floor_ms, helper: large.helper_floor_ms },
    {
      label: `${r.mode}: one change at ${large.services}`,
      tsk: large.one_change_ms,
      floor: large.one_change_floor_ms,
      helper: large.one_change_helper_floor_ms,
    },
  ];
}

function printTable(flags: BenchFlags, results: readonly ModeResult[]): void {
  const sizes = results.map(
    (r) => `${r.mode}: ${r.small.rules} rules at ${r.small.services}, ${r.large.rules} at ${r.large.services} (${r.large.restore_lines} input lines)`,
  );
  const large = results[0]?.large;
  const spread = large
    ? `; endpoints on ${BENCH_NODES} nodes, ${large.local_endpoints} of ${large.services * large.endpoints} on the measured node at ${large.services}`
    : '';
  console.log(
    `proxy sync: ${flags.endpoints} endpoints per Service, ClusterIP, TCP; full syncs ${flags.repeats}x per size, ${flags.changes} one-endpoint changes at ${flags.services}; ` +
      `floor: iptables-restore / nft -f of the same text (helper: the same through a running tsk-nft); ${sizes.join('; ')}${spread}`,
  );
  const cols = ['', 'tsk best', 'tsk median', 'floor best', 'floor median', 'ratio (median)', 'helper median'];
  console.log(
    cols[0]?.padEnd(40) +
      cols
        .slice(1)
        .map((c) => c.padStart(15))
        .join(''),
  );
  for (const r of results.flatMap(rowsOf)) {
    const cells = [best(r.tsk), median(r.tsk), best(r.floor), median(r.floor)].map((n) => `${n.toFixed(1)} ms`);
    cells.push((median(r.tsk) / median(r.floor)).toFixed(2));
    cells.push(r.helper.length > 0 ? `${median(r.helper).toFixed(1)} ms` : '-');
    console.log(r.label.padEnd(40) + cells.map((c) => c.padStart(15)).join(''));
  }
}

/** One mode's figures; keys of the nftables mode carry "nft_" (the iptables mode is the default mode). */
function modeFigures(r: ModeResult): Record<string, number> {
  const { small, large } = r;
  const s = small.services;
  const l = large.services;
  const p = r.mode === 'iptables' ? '' : 'nft_';
  return {
    [`${p}full_sync_${s}_ms`]: r1(median(small.full_sync_ms)),
    [`${p}full_sync_${s}_best_ms`]: r1(best(small.full_sync_ms)),
    [`${p}full_sync_${l}_ms`]: r1(median(large.full_sync_ms)),
    [`${p}full_sync_${l}_best_ms`]: r1(best(large.full_sync_ms)),
    [`${p}one_change_${l}_ms`]: r1(median(large.one_change_ms)),
    [`${p}one_change_${l}_best_ms`]: r1(best(large.one_change_ms)),
    [`${p}restore_floor_${s}_ms`]: r1(median(small.restore_floor_ms)),
    [`${p}restore_floor_${l}_ms`]: r1(median(large.restore_floor_ms)),
    [`${p}one_change_floor_${l}_ms`]: r1(median(large.one_change_floor_ms)),
    [`${p}local_endpoints_${l}`]: large.local_endpoints,
    [`${p}rules_${s}`]: small.restore_lines,
    [`${p}rules_${l}`]: large.restore_lines,
    [r.mode === 'iptables' ? `iptables_rules_${l}` : `nft_rules_added_${l}`]: large.rules,
    [`${p}one_change_lines_${l}`]: median(large.one_change_lines),
    [`${p}full_sync_${s}_ratio`]: r2(median(small.full_sync_ms) / median(small.restore_floor_ms)),
    [`${p}full_sync_${l}_ratio`]: r2(median(large.full_sync_ms) / median(large.restore_floor_ms)),
    [`${p}one_change_${l}_ratio`]: r2(median(large.one_change_ms) / median(large.one_change_floor_ms)),
    ...(r.mode === 'nftables'
      ? {
          [`nft_helper_floor_${s}_ms`]: r1(median(small.helper_floor_ms)),
          [`nft_helper_floor_${l}_ms`]: r1(median(large.helper_floor_ms)),
          [`nft_one_change_helper_floor_${l}_ms`]: r1(median(large.one_change_helper_floor_ms)),
        }
      : {}),
  };
}

async function main(): Promise<void> {
  const flags = parseBenchFlags(process.argv.slice(2));
  const smallSize = Math.floor(flags.services / 10);
  const results = await withNamespace(async (ns) => {
    const out: ModeResult[] = [];
    for (const mode of flags.modes) {
      process.stderr.write(`bench:proxy: ${mode}, ${smallSize} services in ${ns}\n`);
      const small = await runWorker(ns, mode, smallSize, flags, 0);
      process.stderr.write(`bench:proxy: ${mode}, ${flags.services} services in ${ns}\n`);
      const large = await runWorker(ns, mode, flags.services, flags, Math.ceil(flags.changes / flags.repeats));
      out.push({ mode, small, large });
    }
    return out;
  });
  printTable(flags, results);
  console.log(
    JSON.stringify({
      services: flags.services,
      endpoints_per_service: flags.endpoints,
      repeats: flags.repeats,
      changes: results[0]?.large.one_change_ms.length ?? 0,
      modes: flags.modes.join(','),
      ...Object.assign({}, ...results.map(modeFigures)),
    }),
  );
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(`bench:proxy: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
