// Running the real `tsk` binary (dist/cmd/tsk.js) inside a network
// namespace, as a user on another machine would: a long-running role whose
// output lines a test can wait for, or a command run to its end.

import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

export const TSK = path.resolve(__dirname, '..', '..', 'cmd', 'tsk.js');
export const TSCTL = path.resolve(__dirname, '..', '..', 'cmd', 'tsctl.js');

export interface Proc {
  child: ChildProcess;
  lines: string[];
  /** Resolves with the first line matching `re` (rejects when the process exits first or after `ms`). */
  waitFor(re: RegExp, ms?: number): Promise<string>;
}

/** Runs `tsk ARGS` in the namespace (nsenter --net only: the runtime needs the host's /sys). */
export function startTsk(ns: string, args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  return startScript(ns, TSK, args, env);
}

/** Runs the node script (tsk, tsctl or a test helper) with ARGS in the namespace. */
export function startScript(ns: string, script: string, args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const child = spawn('nsenter', [`--net=/var/run/netns/${ns}`, process.execPath, script, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TSK_TOKEN: '', TSCTL_SERVER: '', ...env },
  });
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  const keep = (d: Buffer): void => {
    lines.push(
      ...d
        .toString()
        .split('\n')
        .filter((l) => l !== ''),
    );
    for (const w of waiters.splice(0)) w();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.once('exit', () => {
    for (const w of waiters.splice(0)) w();
  });
  return {
    child,
    lines,
    waitFor: (re, ms = 60_000) =>
      new Promise((resolve, reject) => {
        const deadline = Date.now() + ms;
        const check = (): void => {
          const hit = lines.find((l) => re.test(l));
          if (hit !== undefined) return resolve(hit);
          if (child.exitCode !== null || child.signalCode !== null)
            return reject(
              new Error(`${path.basename(script)} ${args[0]} exited (${child.exitCode ?? child.signalCode}) before printing ${re}:\n${lines.join('\n')}`),
            );
          if (Date.now() > deadline) return reject(new Error(`${path.basename(script)} ${args[0]} did not print ${re} within ${ms} ms:\n${lines.join('\n')}`));
          waiters.push(check);
          setTimeout(check, 500).unref();
        };
        check();
      }),
  };
}

export interface Finished {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `tsk ARGS` in the namespace to its end (killed after a minute). */
export function runTsk(ns: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Finished> {
  return runScript(ns, TSK, args, env);
}

/** Runs the node script with ARGS in the namespace to its end (killed after a minute). */
export async function runScript(ns: string, script: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Finished> {
  const p = startScript(ns, script, args, env);
  const out: string[] = [];
  const err: string[] = [];
  p.child.stdout?.on('data', (d: Buffer) => out.push(d.toString()));
  p.child.stderr?.on('data', (d: Buffer) => err.push(d.toString()));
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 60_000);
  const code = await new Promise<number>((resolve) => p.child.once('exit', (c) => resolve(c ?? 1)));
  clearTimeout(timer);
  return { code, stdout: out.join(''), stderr: err.join('') };
}

/** The non-blank lines of `text` (a refusal must be exactly one). */
export function errorLines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}
