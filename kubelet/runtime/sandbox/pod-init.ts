// The pod's PID 1 of a shared PID namespace (shareProcessNamespace), as
// tsk-sandbox leaves it: its namespace held on DIR/pid, its host PID in
// DIR/init.pid (native/tsk-sandbox-ops.h start_pod_init).

import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Whether the sandbox in dir still has its PID 1. The PID in init.pid counts
 * only while it is the init of the namespace held on DIR/pid: after its
 * death the number may have gone to another process.
 */
export function podInitAlive(dir: string): boolean {
  return livePodInit(dir) !== undefined;
}

/**
 * Ends the sandbox's PID 1 (CRI StopPodSandbox stops the pause), and with it
 * every process left in the pod's PID namespace. Idempotent; the namespace
 * file stays until the sandbox is removed.
 */
export function stopPodInit(dir: string): void {
  const pid = livePodInit(dir);
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch (err) {
    // Gone in between: what we wanted.
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

function livePodInit(dir: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(path.join(dir, 'init.pid'), 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    const held = fs.statSync(path.join(dir, 'pid'));
    const its = fs.statSync(`/proc/${pid}/ns/pid`);
    return held.ino === its.ino && held.dev === its.dev && !isZombie(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A dead init that nobody has reaped yet (it was reparented to the node's
 * init) still shows its namespace in /proc; its state in /proc/PID/stat is Z.
 */
function isZombie(pid: number): boolean {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The state follows the command name in parentheses, which may itself hold ") ".
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
}
