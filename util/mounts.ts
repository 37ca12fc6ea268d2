// Mount points from /proc/self/mountinfo, and the two mount operations the
// kubelet does itself: a tmpfs for a secret volume (so Secret data never
// reaches the node's disk, as Kubernetes' secret plugin does) and lazy
// unmounts of whatever is left under a directory before it is removed.
// mount(8) and umount(8) of util-linux do the syscalls (Node has none).

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The mount points of a mountinfo text (field 5, with its octal escapes such as \040 decoded). */
export function parseMountPoints(mountinfo: string): string[] {
  const out: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const field = line.split(' ')[4];
    if (field) out.push(field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return out;
}

function resolved(dir: string): string {
  try {
    return fs.realpathSync(dir);
  } catch {
    return path.resolve(dir);
  }
}

/** Mount points at or under dir, deepest first (the order to unmount them in). */
export function mountPointsUnder(dir: string, mountinfo = fs.readFileSync('/proc/self/mountinfo', 'utf8')): string[] {
  const root = resolved(dir);
  const under = parseMountPoints(mountinfo).filter((m) => m === root || m.startsWith(`${root}/`));
  return [...new Set(under)].sort((a, b) => b.length - a.length);
}

export function isMountPoint(dir: string): boolean {
  const root = resolved(dir);
  return parseMountPoints(fs.readFileSync('/proc/self/mountinfo', 'utf8')).includes(root);
}

/** Mounts a tmpfs on dir (made if missing), of sizeBytes if given, unless one is there already. Idempotent. */
export function ensureTmpfs(dir: string, sizeBytes?: number): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  if (isMountPoint(dir)) return;
  const size = sizeBytes !== undefined && sizeBytes > 0 ? `,size=${Math.ceil(sizeBytes)}` : '';
  execFileSync('mount', ['-t', 'tmpfs', '-o', `mode=0755,nosuid,nodev${size}`, 'tmpfs', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Lazily unmounts everything mounted at or under dir (each mount as often as it is stacked). Idempotent. */
export function unmountUnder(dir: string): void {
  // A mount stacked on another shows up again after the first umount: a few rounds, never forever.
  for (let round = 0; round < 8; round++) {
    const points = mountPointsUnder(dir);
    if (points.length === 0) return;
    for (const p of points) {
      try {
        execFileSync('umount', ['-l', p], { stdio: ['ignore', 'ignore', 'pipe'] });
      } catch (err) {
        throw new Error(`umount ${p}: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`, { cause: err });
      }
    }
  }
  throw new Error(`umount: mounts under ${dir} remain after 8 rounds: ${mountPointsUnder(dir).join(', ')}`);
}
