// `tsk server` as a process on free loopback ports, for the tests that need
// the real binary (client config, snapshots and restores): started until its
// scheduler runs, stopped (SIGTERM, which stops its etcd) by stop() or at the
// test's teardown.

import { spawn, type ChildProcess } from 'node:child_process';
import { TSK_BIN } from './run';

export interface TskServer {
  child: ChildProcess;
  /** Everything it printed so far. */
  output(): string;
  /** SIGTERM, then SIGKILL after 15 s; idempotent. */
  stop(): Promise<void>;
}

/** Starts `tsk server --data-dir DATADIR ARGS` with TSK_CONFIG=config; resolves once its scheduler runs. */
export async function startTskServer(t: { teardown(fn: () => Promise<void>): void }, dataDir: string, config: string, args: string[] = []): Promise<TskServer> {
  const child = spawn(process.execPath, [TSK_BIN, 'server', '--address', '127.0.0.1:0', '--http-address', '127.0.0.1:0', '--data-dir', dataDir, ...args], {
    env: { ...process.env, TSK_CONFIG: config },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };
  t.teardown(stop);
  const deadline = Date.now() + 60_000;
  while (!out.includes('scheduler running')) {
    if (child.exitCode !== null) throw new Error(`tsk server exited (${child.exitCode}):\n${out}`);
    if (Date.now() > deadline) throw new Error(`tsk server did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, output: () => out, stop };
}
