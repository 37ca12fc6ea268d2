// CPU time of benchmark processes: a child's from /proc/PID/stat (utime +
// stime, in clock ticks of 1/100 s), this process's from process.cpuUsage().

import { readFileSync } from 'node:fs';

/** CPU seconds used so far by process `pid`; NaN when it cannot be read. */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** CPU seconds used so far by this process. */
export function selfCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}
