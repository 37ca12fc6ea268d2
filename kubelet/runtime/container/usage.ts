// What the containers under a data dir hold on to in the image store: the
// image each was created from and the layer directories its overlay root
// filesystem is mounted from, and the layer directories of the overlays
// mounted on the node itself (the kubelet's image volumes). Image removal
// (`rmi`) and every prune read this, so a layer is never deleted under a
// container or a volume. It reads the containers' state directories and
// mountinfo only (no native helper, no cgroups), so the image verbs of the
// CLI can use it as they are.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { readRecord, readStatus } from './state';

export interface ImageUser {
  /** Container ID. */
  id: string;
  name: string;
  imageId: string;
  running: boolean;
}

/** Reads what every container holds; a container being created counts from the moment its record is written. */
export interface ContainerUsage {
  imageUsers(): Promise<ImageUser[]>;
  usedLayerDirs(): Promise<string[]>;
}

function containerDirs(containersDir: string): string[] {
  try {
    return fs.readdirSync(containersDir).map((id) => path.join(containersDir, id));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

export function imageUsers(containersDir: string): ImageUser[] {
  const out: ImageUser[] = [];
  for (const dir of containerDirs(containersDir)) {
    const rec = readRecord(dir);
    if (!rec) continue;
    const st = readStatus(dir, rec);
    out.push({ id: rec.id, name: rec.name, imageId: rec.imageId, running: st.state === 'running' });
  }
  return out;
}

/** The lowerdirs of every overlay mounted in this mount namespace (mountinfo's superblock options, lowerdir=a:b:c). */
export function mountedOverlayLowerDirs(mountinfo: string): string[] {
  const out: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const right = line.split(' - ')[1];
    const [fstype, , superOpts = ''] = right?.split(' ') ?? [];
    if (fstype !== 'overlay') continue;
    const lower = superOpts.split(',').find((o) => o.startsWith('lowerdir='));
    for (const d of lower?.slice('lowerdir='.length).split(':') ?? []) if (d) out.push(d);
  }
  return out;
}

function readMountinfo(): string {
  try {
    return fs.readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return '';
  }
}

export function usedLayerDirs(containersDir: string, mountinfo = readMountinfo()): string[] {
  const dirs = new Set<string>(mountedOverlayLowerDirs(mountinfo));
  for (const dir of containerDirs(containersDir)) {
    for (const l of readRecord(dir)?.layerDirs ?? []) dirs.add(l);
  }
  return [...dirs];
}

/** The usage of the containers under a data dir (`<dataDir>/containers`, as NativeRuntime keeps them). */
export function containerUsage(dataDir: string): ContainerUsage {
  const dir = path.join(dataDir, 'containers');
  return {
    imageUsers: async () => imageUsers(dir),
    usedLayerDirs: async () => usedLayerDirs(dir),
  };
}
