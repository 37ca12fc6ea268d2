// The processes a benchmark starts (tsk server, tsk hollow-nodes): their
// output kept and waited on, stopped with a grace period, their RSS read.

import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const TSK = join(__dirname, '..', 'cmd', 'tsk.js');

/** A started child: its output so far, and a wait for a line of it. */
export interface Child {
  readonly child: ChildProcess;
  out(): string;
  until(re: RegExp, timeoutMs: number): Promise<void>;
}

/** `tsk server` on loopback ports of its own, its data in `dataDir`, writing no client config and no etcd snapshots: what every benchmark's server shares. */
export function benchServerArgs(dataDir: string, grpcPort: number, httpPort: number): string[] {
  return [
    'server',
    '--data-dir',
    dataDir,
    '--address',
    `127.0.0.1:${grpcPort}`,
    '--http-address',
    `127.0.0.1:${httpPort}`,
    '--write-config=false',
    '--etcd-disable-snapshots',
  ];
}

/**
 * A child process whose output is kept; `until` resolves when a line matches.
 * `nodeFlags` go to node before the script (e.g. --heapsnapshot-signal), `cwd`
 * is where it runs (where node writes heap snapshots), `logDir` keeps its
 * output in `<logDir>/<name>.log` and a profile goes to
 * `<cpuProfDir>/<name>.v8.log`, `name` being the command unless given (one
 * of several processes of the same command).
 */
export function startChild(
  args: string[],
  cpuProfDir: string | undefined,
  opts: { nodeFlags?: readonly string[]; cwd?: string; logDir?: string | undefined; name?: string; nice?: number } = {},
): Child {
  const name = opts.name ?? args[0] ?? 'tsk';
  // V8's tick log (node --prof-process reads it), written as it goes: a child killed on stop still leaves it.
  const prof = cpuProfDir !== undefined ? ['--prof', '--no-logfile-per-isolate', `--logfile=${join(cpuProfDir, `${name}.v8.log`)}`] : [];
  const argv = [process.execPath, '--max-old-space-size=8192', ...prof, ...(opts.nodeFlags ?? []), TSK, ...args];
  // Through nice(1), which execs node: every thread of the child starts at that niceness (setpriority on a pid reaches its main thread only).
  const command = opts.nice ? ['nice', '-n', String(opts.nice), ...argv] : argv;
  const child = spawn(command[0]!, command.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: opts.cwd,
  });
  let out = '';
  const file = opts.logDir !== undefined ? createWriteStream(join(opts.logDir, `${name}.log`)) : undefined;
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
      if (child.exitCode !== null) throw new Error(`tsk ${name} exited (${child.exitCode}):\n${out.slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`tsk ${name} did not print ${re}:\n${out.slice(-3000)}`);
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
  /** A child, or a group of children of one role (several hollow node processes) stopped together. */
  readonly children: (ChildProcess | readonly ChildProcess[])[];
  readonly abort: AbortController;
  /**
   * Aborts the loops, stops the children (last started first, a group's
   * members at once) and removes the directory. Idempotent: a second call
   * (the signal handler's and the run's own) waits for the first.
   */
  cleanup(): Promise<void>;
}

/** A run's scope, cleaned up also when the bench is interrupted (SIGINT, SIGTERM). */
export async function benchScope(prefix: string): Promise<BenchScope> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const children: (ChildProcess | readonly ChildProcess[])[] = [];
  const abort = new AbortController();
  let cleaned: Promise<void> | undefined;
  const stopAll = async (): Promise<void> => {
    abort.abort();
    for (const c of [...children].reverse()) await Promise.all((Array.isArray(c) ? c : [c]).map((one) => stopChild(one, 20_000)));
    await rm(dir, { recursive: true, force: true });
  };
  const cleanup = (): Promise<void> => (cleaned ??= stopAll());
  // Every signal, not only the first, waits for the one cleanup: a second
  // SIGINT (sent to `timeout` and to the bench at once, or a second Ctrl-C)
  // took Node's default and exited, leaving the directory and children behind.
  const onSignal = (code: number) => (): void => {
    if (cleaned) process.stderr.write('bench: still stopping its processes and removing its directory\n');
    void cleanup().then(() => process.exit(code));
  };
  process.on('SIGINT', onSignal(130));
  process.on('SIGTERM', onSignal(143));
  return { dir, children, abort, cleanup };
}
