// container_fs_usage_bytes: the bytes a container's writable layer holds
// (the overlay's upper directory), counted as du counts them (allocated
// blocks, each inode once), and the device it is on, named as mountinfo
// names the mount's source (cAdvisor's `device` label).

import * as fs from 'node:fs';

/** Allocated bytes under dir (st_blocks x 512; hard links once); 0 when it is gone. Async: a big layer must not stall the kubelet. */
export async function diskUsage(dir: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const walk = async (p: string): Promise<void> => {
    let st: fs.Stats;
    try {
      st = await fs.promises.lstat(p);
    } catch {
      return; // Removed while we walked: it holds nothing now.
    }
    const key = `${st.dev}:${st.ino}`;
    if (seen.has(key)) return;
    seen.add(key);
    total += st.blocks * 512;
    if (!st.isDirectory()) return;
    let names: string[];
    try {
      names = await fs.promises.readdir(p);
    } catch {
      return;
    }
    for (const n of names) await walk(`${p}/${n}`);
  };
  await walk(dir);
  return total;
}

/** MAJOR:MINOR of a stat's st_dev (Linux's encoding; device numbers below 2^32). */
export function deviceNumber(dev: number): string {
  const lo = dev >>> 0;
  const major = ((lo >>> 8) & 0xfff) | (Math.floor(dev / 2 ** 32) & ~0xfff);
  const minor = (lo & 0xff) | ((lo >>> 12) & 0xfff00);
  return `${major}:${minor}`;
}

/** The source of the mount with that MAJOR:MINOR in mountinfo (such as /dev/sda1); "" when none is. */
export function mountSourceOf(mountinfo: string, majorMinor: string): string {
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    if (fields[2] !== majorMinor) continue;
    const right = line.split(' - ')[1]?.split(' ');
    return right?.[1] ?? '';
  }
  return '';
}

/** The device a path is on, named by its mount's source; "" when it cannot be told. */
export function deviceOf(p: string, mountinfo: string): string {
  try {
    return mountSourceOf(mountinfo, deviceNumber(fs.statSync(p).dev));
  } catch {
    return '';
  }
}

/**
 * diskUsage with each directory's answer reused for `ttlMs` (cAdvisor
 * likewise walks a container's layer at most once per housekeeping period):
 * a scrape every few seconds must not walk a big layer every time. Entries
 * of directories not asked for within a period are dropped, so containers
 * that are gone leave nothing behind.
 */
export class DiskUsageCache {
  private readonly entries = new Map<string, { atMs: number; bytes: Promise<number> }>();

  constructor(
    private readonly ttlMs = 10_000,
    private readonly nowMs: () => number = Date.now,
    private readonly measure: (dir: string) => Promise<number> = diskUsage,
  ) {}

  usage(dir: string): Promise<number> {
    const now = this.nowMs();
    for (const [d, e] of this.entries) if (now - e.atMs >= this.ttlMs) this.entries.delete(d);
    const hit = this.entries.get(dir);
    if (hit) return hit.bytes;
    const bytes = this.measure(dir);
    this.entries.set(dir, { atMs: now, bytes });
    return bytes;
  }
}
