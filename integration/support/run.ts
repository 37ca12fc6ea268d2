// Running the built commands (and other programs) from a test: without
// blocking the event loop, since the API server or registry a test talks to
// often answers from the test's own process.

import { spawn } from 'node:child_process';
import * as path from 'node:path';

/** dist/cmd/tsk.js and dist/cmd/tsctl.js, as the tests run them. */
export const TSK_BIN = path.resolve(__dirname, '..', '..', 'cmd', 'tsk.js');
export const TSCTL_BIN = path.resolve(__dirname, '..', '..', 'cmd', 'tsctl.js');

export interface Run {
  /** The exit code; -1 when a signal ended the process (also the timeout's SIGKILL). */
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Added to (and overriding) this process's environment. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to stdin, a chunk at a time with chunkDelayMs after each; then stdin is closed (at once when absent). */
  stdin?: string | Buffer | ReadonlyArray<string | Buffer>;
  chunkDelayMs?: number;
  /** Killed with SIGKILL after this long (default: never). */
  timeoutMs?: number;
}

/** Runs cmd to its end and collects its output. */
export function runProcess(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // A command that exits without reading its input must not fail the test with EPIPE.
    child.stdin.on('error', () => undefined);
    child.on('error', reject);
    const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    void writeInput(child.stdin, opts.stdin, opts.chunkDelayMs ?? 0);
  });
}

async function writeInput(stdin: NodeJS.WritableStream, input: RunOptions['stdin'], delayMs: number): Promise<void> {
  const chunks = input === undefined ? [] : typeof input === 'string' || Buffer.isBuffer(input) ? [input] : input;
  for (const chunk of chunks) {
    stdin.write(chunk);
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
  }
  stdin.end();
}

/** `node dist/cmd/tsk.js ARGS`. */
export function runTsk(args: readonly string[], opts: RunOptions = {}): Promise<Run> {
  return runProcess(process.execPath, [TSK_BIN, ...args], opts);
}

/** `node dist/cmd/tsctl.js ARGS`. */
export function runTsctl(args: readonly string[], opts: RunOptions = {}): Promise<Run> {
  return runProcess(process.execPath, [TSCTL_BIN, ...args], opts);
}
