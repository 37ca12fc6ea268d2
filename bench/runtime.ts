// npm run bench:runtime — the container cycle: create, start, wait for and
// remove a container running /bin/true from the busybox test image, with its
// own network namespace, N times after a warm-up; tsk against Debian's runc
// and crun on the same root filesystem in the same run.
//
// tsk is driven in-process through NativeRuntime (as the kubelet drives it):
// createSandbox + createContainer + startContainer + waitContainer +
// removeContainer + removeSandbox. runc and crun run `run --bundle` on an OCI
// bundle made by `runc spec` (no terminal, read-only false, the same
// namespaces: pid, network, ipc, uts, mount), timed with bash's
// $EPOCHREALTIME around each call so no extra process is counted. crun 1.8
// refuses this host's hybrid cgroup layout, so its loop runs in a private
// mount namespace with /sys/fs/cgroup/unified unmounted (set up once, outside
// the timed region). Also measured: the shim's RSS per running container.
//
// Env: BENCH_N (default 50), BENCH_WARMUP (default 5).

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FILES, NativeRuntime, cleanupRuntime, importBusybox, readPid } from '../kubelet/runtime';
import { errorMessage } from '../util/errors';

const BUSYBOX_REF = 'tsk.bench/busybox:latest';

const N = Number(process.env['BENCH_N'] ?? 50);
const WARMUP = Number(process.env['BENCH_WARMUP'] ?? 5);

function progress(msg: string): void {
  process.stderr.write(`bench:runtime: ${msg}\n`);
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? NaN;
}

interface Summary {
  median: number;
  p90: number;
  mean: number;
}

function summarize(ms: number[]): Summary {
  const s = [...ms].sort((a, b) => a - b);
  return { median: quantile(s, 0.5), p90: quantile(s, 0.9), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

const round = (v: number, d = 2): number => Math.round(v * 10 ** d) / 10 ** d;

async function tskCycle(rt: NativeRuntime, i: number): Promise<{ total: number; phases: number[] }> {
  const t = [performance.now()];
  const sb = await rt.createSandbox({ name: `bench${i}`, namespace: 'bench', uid: `bench-${process.pid}-${i}` });
  t.push(performance.now());
  const id = await rt.createContainer(sb, { name: 'true', image: BUSYBOX_REF, command: ['/bin/true'] });
  t.push(performance.now());
  await rt.startContainer(id);
  t.push(performance.now());
  const st = await rt.waitContainer(id);
  t.push(performance.now());
  if (st.exitCode !== 0) throw new Error(`tsk: /bin/true exited with ${st.exitCode}: ${st.message ?? ''}`);
  await rt.removeContainer(id);
  t.push(performance.now());
  await rt.removeSandbox(sb);
  t.push(performance.now());
  const phases = t.slice(1).map((v, k) => v - (t[k] ?? 0));
  return { total: (t[t.length - 1] ?? 0) - (t[0] ?? 0), phases };
}

async function benchTsk(rt: NativeRuntime): Promise<{ totals: number[]; phases: number[][] }> {
  for (let i = 0; i < WARMUP; i++) await tskCycle(rt, -1 - i);
  const totals: number[] = [];
  const phases: number[][] = [[], [], [], [], [], []];
  for (let i = 0; i < N; i++) {
    const r = await tskCycle(rt, i);
    totals.push(r.total);
    r.phases.forEach((p, k) => phases[k]?.push(p));
    if ((i + 1) % 10 === 0) progress(`tsk ${i + 1}/${N}`);
  }
  return { totals, phases };
}

async function shimRss(rt: NativeRuntime, count: number): Promise<number[]> {
  const sb = await rt.createSandbox({ name: 'rss', namespace: 'bench', uid: `bench-rss-${process.pid}` });
  const ids: string[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const id = await rt.createContainer(sb, { name: `sleep${i}`, image: BUSYBOX_REF, command: ['sleep', '1000'] });
      await rt.startContainer(id);
      ids.push(id);
    }
    await new Promise((r) => setTimeout(r, 300));
    return ids.map((id) => {
      const pid = readPid(path.join(rt.containersDir, id), FILES.shimPid);
      const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN);
    });
  } finally {
    await rt.removeSandbox(sb);
  }
}

/** An OCI bundle from `runc spec`, adapted: /bin/true, no terminal, writable root, no cgroup namespace (as tsk). */
function makeBundle(dir: string, layerDir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  execFileSync('cp', ['-a', layerDir, path.join(dir, 'rootfs')]);
  execFileSync('runc', ['spec'], { cwd: dir });
  const cfgPath = path.join(dir, 'config.json');
  const cfg = JSON.parse(fs.readFileSync(cfgPath, 'utf8')) as {
    process: { terminal: boolean; args: string[] };
    root: { readonly: boolean };
    linux: { namespaces: Array<{ type: string }> };
  };
  cfg.process.terminal = false;
  cfg.process.args = ['/bin/true'];
  cfg.root.readonly = false;
  cfg.linux.namespaces = cfg.linux.namespaces.filter((n) => ['pid', 'network', 'ipc', 'uts', 'mount'].includes(n.type));
  fs.writeFileSync(cfgPath, JSON.stringify(cfg, null, 1));
}

/** Times `RUNTIME run` in one bash loop (EPOCHREALTIME around each call); the prelude runs before the loop. */
function benchOci(runtime: 'runc' | 'crun', bundle: string, prefix: string): number[] {
  const total = WARMUP + N;
  const script = [
    'set -e',
    runtime === 'crun' ? 'umount /sys/fs/cgroup/unified 2>/dev/null || true' : ':',
    `for i in $(seq 1 ${total}); do`,
    '  s=$EPOCHREALTIME',
    `  ${runtime} run --bundle "$1" "${prefix}-$i" >/dev/null 2>&1 </dev/null`,
    '  e=$EPOCHREALTIME',
    '  echo "$s $e"',
    'done',
  ].join('\n');
  const argv =
    runtime === 'crun' ? ['unshare', '-m', '--propagation', 'private', 'bash', '-c', script, 'bench', bundle] : ['bash', '-c', script, 'bench', bundle];
  const out = execFileSync(argv[0] ?? 'bash', argv.slice(1), { encoding: 'utf8', maxBuffer: 1 << 24 });
  const ms = out
    .trim()
    .split('\n')
    .map((l) => {
      const [s, e] = l.split(' ').map(Number);
      return ((e ?? 0) - (s ?? 0)) * 1000;
    });
  return ms.slice(WARMUP);
}

function table(rows: string[][]): string {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('   ')).join('\n');
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench:runtime needs root (namespaces, cgroups, mounts)');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-bench-'));
  const rt = new NativeRuntime({ dataDir, images: { get: async () => undefined } });
  try {
    progress('importing the busybox test image');
    const store = await importBusybox(dataDir, BUSYBOX_REF);
    const image = await store.get(BUSYBOX_REF);
    if (!image || image.layerDirs.length !== 1) throw new Error('busybox test image missing or not single-layer');
    const runtime = new NativeRuntime({ dataDir, images: store });
    const bundle = path.join(dataDir, 'bundle');
    makeBundle(bundle, image.layerDirs[0] ?? '');

    progress(`tsk: ${WARMUP} warm-up + ${N} cycles`);
    const tsk = await benchTsk(runtime);
    progress(`crun (private mount namespace, /sys/fs/cgroup/unified unmounted): ${WARMUP} + ${N}`);
    const crun = benchOci('crun', bundle, `tsk-bench-crun-${process.pid}`);
    progress(`runc: ${WARMUP} + ${N}`);
    const runc = benchOci('runc', bundle, `tsk-bench-runc-${process.pid}`);
    progress('shim RSS over 5 running containers');
    const rss = await shimRss(runtime, 5);

    const s = { tsk: summarize(tsk.totals), crun: summarize(crun), runc: summarize(runc) };
    const phaseNames = ['create_sandbox', 'create', 'start', 'wait', 'remove', 'remove_sandbox'];
    const phaseMedians = tsk.phases.map((p) => summarize(p).median);
    const rssMax = Math.max(...rss);
    const out = {
      iterations: N,
      warmup: WARMUP,
      tsk_median_ms: round(s.tsk.median),
      tsk_p90_ms: round(s.tsk.p90),
      tsk_mean_ms: round(s.tsk.mean),
      crun_median_ms: round(s.crun.median),
      crun_p90_ms: round(s.crun.p90),
      crun_mean_ms: round(s.crun.mean),
      runc_median_ms: round(s.runc.median),
      runc_p90_ms: round(s.runc.p90),
      runc_mean_ms: round(s.runc.mean),
      ratio_vs_crun: round(s.tsk.median / s.crun.median, 3),
      ratio_vs_runc: round(s.tsk.median / s.runc.median, 3),
      target_ratio_vs_crun_max: 1.5,
      target_ratio_vs_runc_max: 0.7,
      shim_rss_kib: rssMax,
      shim_rss_kib_each: rss,
      target_shim_rss_kib_max: 2048,
      ...Object.fromEntries(phaseNames.map((n, i) => [`tsk_${n}_median_ms`, round(phaseMedians[i] ?? NaN)])),
      crun_note: 'crun measured in a private mount namespace with /sys/fs/cgroup/unified unmounted (crun 1.8 refuses the hybrid layout)',
    };
    console.log(`Container cycle: create + start + wait + remove of /bin/true (busybox), own network namespace; ${N} runs after ${WARMUP} warm-up\n`);
    console.log(
      table([
        ['runtime', 'median ms', 'p90 ms', 'mean ms', 'tsk / this'],
        ['tsk', s.tsk.median.toFixed(2), s.tsk.p90.toFixed(2), s.tsk.mean.toFixed(2), '1.00'],
        ['crun*', s.crun.median.toFixed(2), s.crun.p90.toFixed(2), s.crun.mean.toFixed(2), (s.tsk.median / s.crun.median).toFixed(2)],
        ['runc', s.runc.median.toFixed(2), s.runc.p90.toFixed(2), s.runc.mean.toFixed(2), (s.tsk.median / s.runc.median).toFixed(2)],
      ]),
    );
    console.log(
      '* crun runs in a private mount namespace with /sys/fs/cgroup/unified unmounted (crun 1.8 refuses the hybrid cgroup layout); tsk and runc run on the host as is.',
    );
    console.log(`\ntsk phases (median ms): ${phaseNames.map((n, i) => `${n} ${(phaseMedians[i] ?? NaN).toFixed(2)}`).join(', ')}`);
    console.log(`tsk-shim RSS per running container: ${rss.join(', ')} KiB (max ${rssMax} KiB; target <= 2048 KiB)`);
    console.log(
      `targets: tsk/crun ${out.ratio_vs_crun} (<= 1.5) ${out.ratio_vs_crun <= 1.5 ? 'met' : 'MISSED'}; tsk/runc ${out.ratio_vs_runc} (<= 0.7) ${out.ratio_vs_runc <= 0.7 ? 'met' : 'MISSED'}; shim RSS ${rssMax <= 2048 ? 'met' : 'MISSED'}`,
    );
    console.log(JSON.stringify(out));
    await cleanupRuntime(runtime, dataDir);
  } finally {
    await cleanupRuntime(rt, dataDir).catch(() => undefined);
  }
}

main().catch((err: unknown) => {
  console.error(`bench:runtime: ${errorMessage(err)}`);
  process.exitCode = 1;
});
