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

/**
 * The mount options of a read-only overlay of image layers (bottom layer
 * first, as ImageRecord.layerDirs): no upperdir, so the overlay itself is
 * read-only, and noexec, nosuid and nodev, as container runtimes mount image
 * volumes (KEP-4639). Throws when the layers cannot be named in one option
 * string (overlayfs splits lowerdir on ':' and ','; the kernel takes a page).
 */
export function readOnlyOverlayOptions(layerDirs: readonly string[]): string {
  if (layerDirs.length === 0) throw new Error('an image without layers cannot be mounted');
  for (const l of layerDirs) if (/[:,]/.test(l)) throw new Error(`layer directory ${l} contains ':' or ',' which overlayfs cannot take`);
  const opts = `ro,nosuid,nodev,noexec,lowerdir=${[...layerDirs].reverse().join(':')}`;
  if (opts.length >= 4000) throw new Error(`the overlay of ${layerDirs.length} layers needs mount options longer than a page`);
  return opts;
}

/**
 * Mounts a read-only overlay of the layers on dir (made if missing), unless
 * something is mounted there already. Idempotent. Overlayfs wants at least
 * two lowerdirs without an upperdir: a one-layer image gets an empty
 * directory beneath it (".<name>.empty" beside dir, removed with it).
 */
export function ensureReadOnlyOverlay(dir: string, layerDirs: readonly string[]): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  if (isMountPoint(dir)) return;
  let lower = layerDirs;
  if (layerDirs.length === 1) {
    const empty = path.join(path.dirname(dir), `.${path.basename(dir)}.empty`);
    fs.mkdirSync(empty, { recursive: true, mode: 0o755 });
    lower = [empty, ...layerDirs];
  }
  try {
    execFileSync('mount', ['-t', 'overlay', '-o', readOnlyOverlayOptions(lower), 'overlay', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr;
    throw new Error(`mount overlay on ${dir}: ${stderr ? stderr.toString().trim() : String(err)}`, { cause: err });
  }
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
