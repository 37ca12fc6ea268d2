// CPU time of a lab machine's process and of its resident helpers (tsk-launcher,
// etcd), from /proc: what a bench phase cost each of them whatever the
// machine's load (wall-clock figures on a shared machine move with the other
// work on it; CPU time spent moves much less). proc-cpu.ts reads one process.

import { readFileSync, readdirSync } from 'node:fs';

/** Clock ticks per second of /proc/PID/stat's times (USER_HZ: 100 on every Linux architecture Node runs on). */
const TICKS_PER_S = 100;

/** utime + stime (+ cutime + cstime: the children it waited for) of PID, in ms; undefined when it is gone. */
export function processCpuMs(pid: number, withWaitedChildren: boolean): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the command name (which may hold spaces), numbered from 3 (state).
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const field = (n: number): number => Number(f[n - 3] ?? 0);
  const ticks = field(14) + field(15) + (withWaitedChildren ? field(16) + field(17) : 0);
  return (ticks * 1000) / TICKS_PER_S;
}

/** The direct children of PID (every thread's), from /proc/PID/task/TID/children. */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/)) if (c !== '') out.push(Number(c));
    } catch {
      // The thread ended meanwhile.
    }
  }
  return out;
}

/** The command name of PID (/proc/PID/comm), "" when it is gone. */
export function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/**
 * CPU ms by name: the process itself as `name`, and each direct child that
 * is still running (a resident helper such as tsk-launcher or etcd, with the
 * children it has reaped) as `name/COMM`.
 */
export function cpuSnapshot(name: string, pid: number): Map<string, number> {
  const out = new Map<string, number>();
  const own = processCpuMs(pid, true);
  if (own === undefined) return out;
  out.set(name, own);
  for (const c of childPids(pid)) {
    const ms = processCpuMs(c, true);
    const key = `${name}/${commOf(c)}`;
    if (ms !== undefined) out.set(key, (out.get(key) ?? 0) + ms);
  }
  return out;
}

/** What each name spent between two snapshots (names only in `after` count from 0). */
export function cpuSpent(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of after) out.set(k, v - (before.get(k) ?? 0));
  return out;
}
