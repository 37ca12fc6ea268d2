// The processes a benchmark starts (tsk server, tsk hollow-nodes): their
// output kept and waited on, stopped with a grace period, their RSS read.

import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const TSK = join(__dirname, '..', 'cmd', 'tsk.js');

/**
 * A child process whose output is kept; `until` resolves when a line matches.
 * `nodeFlags` go to node before the script (e.g. --heapsnapshot-signal), `cwd`
 * is where it runs (where node writes heap snapshots), `logDir` keeps its
 * output in `<logDir>/<command>.log`.
 */
export function startChild(
  args: string[],
  cpuProfDir: string | undefined,
  opts: { nodeFlags?: readonly string[]; cwd?: string; logDir?: string | undefined } = {},
): { child: ChildProcess; out: () => string; until: (re: RegExp, timeoutMs: number) => Promise<void> } {
  // V8's tick log (node --prof-process reads it), written as it goes: a child killed on stop still leaves it.
  const prof = cpuProfDir !== undefined ? ['--prof', '--no-logfile-per-isolate', `--logfile=${join(cpuProfDir, `${args[0]}.v8.log`)}`] : [];
  const child = spawn(process.execPath, ['--max-old-space-size=8192', ...prof, ...(opts.nodeFlags ?? []), TSK, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: opts.cwd,
  });
  let out = '';
  const file = opts.logDir !== undefined ? createWriteStream(join(opts.logDir, `${args[0]}.log`)) : undefined;
  const keep = (d: Buffer): void => {
    out += d.toString();
    file?.write(d);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.once('exit', () => file?.end());
  const until = async (re: RegExp, timeoutMs: number): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!re.test(out)) {
      if (child.exitCode !== null) throw new Error(`tsk ${args[0]} exited (${child.exitCode}):\n${out.slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`tsk ${args[0]} did not print ${re}:\n${out.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  return { child, out: () => out, until };
}

export async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export function rssMb(pid: number | undefined): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** What one benchmark run owns: a temporary directory, its children, a signal for its loops. */
export interface BenchScope {
  readonly dir: string;
  readonly children: ChildProcess[];
  readonly abort: AbortController;
  /** Aborts the loops, stops the children (last started first) and removes the directory. */
  cleanup(): Promise<void>;
}

/** A run's scope, cleaned up also when the bench is interrupted (SIGINT, SIGTERM). */
export async function benchScope(prefix: string): Promise<BenchScope> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const children: ChildProcess[] = [];
  const abort = new AbortController();
  const cleanup = async (): Promise<void> => {
    abort.abort();
    for (const c of children.reverse()) await stopChild(c, 20_000);
    await rm(dir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  process.once('SIGTERM', () => void cleanup().then(() => process.exit(143)));
  return { dir, children, abort, cleanup };
}
