// Whether a process still exists, for lock files and records that name their
// owner's PID (the kubelet's IPAM reservations, the image store's ingest
// locks).

import { errnoCode } from './errors';

/**
 * Whether process `pid` exists: signal 0 checks without sending anything.
 * EPERM means it exists but belongs to another user, so it counts as alive.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}
