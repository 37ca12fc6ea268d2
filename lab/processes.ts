// The lab's long-running processes (the server, one agent per node): started
// detached with their output in a log file, so `tsk lab up` can return like
// `kind create cluster` does, and stopped later by `tsk lab down` from the
// PIDs kept in the lab's state file. A PID is only signalled while it is still
// the process we started (same start time), never a stranger that reused it.

import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ProcessRecord {
  readonly what: string;
  readonly pid: number;
  /** Field 22 of /proc/PID/stat (clock ticks since boot): tells our process from one that reused its PID. */
  readonly startTime: string;
  readonly log: string;
}

/** The start time of a live process, or undefined when there is none with that PID. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = rest[19];
    const state = rest[0];
    return state === 'Z' ? undefined : start;
  } catch {
    return undefined;
  }
}

export function isRunning(rec: ProcessRecord): boolean {
  return processStartTime(rec.pid) === rec.startTime;
}

/**
 * Starts argv detached (its own session) with stdout and stderr appended to
 * `log`; inside network namespace `netns` when given. nsenter --net, not `ip
 * netns exec`: the latter also mounts a fresh /sys for the namespace, which
 * hides /sys/fs/cgroup from the runtime. nsenter execs the command, so the PID
 * is the command's own.
 */
export function startDetached(what: string, argv: readonly string[], log: string, netns?: string, env: NodeJS.ProcessEnv = process.env): ProcessRecord {
  const full = netns ? ['nsenter', `--net=/var/run/netns/${netns}`, ...argv] : [...argv];
  const fd = openSync(log, 'a');
  try {
    const child = spawn(full[0] ?? '', full.slice(1), { detached: true, stdio: ['ignore', fd, fd], env });
    child.unref();
    if (child.pid === undefined) throw new Error(`${what}: could not start ${full.join(' ')}`);
    const startTime = processStartTime(child.pid);
    if (startTime === undefined) throw new Error(`${what} exited at once; see ${log}`);
    return { what, pid: child.pid, startTime, log };
  } finally {
    closeSync(fd);
  }
}

/** SIGTERM, then SIGKILL after graceMs; resolves when the process is gone. Idempotent. */
export async function stopProcess(rec: ProcessRecord, graceMs = 10_000): Promise<void> {
  if (!isRunning(rec)) return;
  process.kill(rec.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isRunning(rec)) {
    if (Date.now() > deadline) {
      process.kill(rec.pid, 'SIGKILL');
      while (isRunning(rec)) await sleep(50);
      return;
    }
    await sleep(50);
  }
}

/** The last lines of a log, for error messages. */
export function logTail(path: string, lines = 15): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** SIGKILL (kill -9), as a crash or the OOM killer does; resolves when the process is gone. Only the process, not its group: what it started detached lives on. */
export async function killProcess(rec: ProcessRecord): Promise<void> {
  if (!isRunning(rec)) return;
  process.kill(rec.pid, 'SIGKILL');
  while (isRunning(rec)) await sleep(50);
}

/** Stops (SIGSTOP) or continues (SIGCONT) a running process; a process that is gone is left alone. */
export function freezeProcess(rec: ProcessRecord, frozen: boolean): void {
  if (isRunning(rec)) process.kill(rec.pid, frozen ? 'SIGSTOP' : 'SIGCONT');
}
