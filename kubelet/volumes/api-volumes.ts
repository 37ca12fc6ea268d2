// Sets up and refreshes the pod's configMap, secret, downwardAPI and
// projected volumes: fetch the objects each reads, build its file set
// (projections.ts) and write it atomically (atomic-writer.ts). Called before
// the sandbox is made (a failure keeps the pod waiting, with FailedMount)
// and on every later sync of the pod, so contents follow the objects and
// the pod's labels and annotations.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Pod, Volume } from '../../api/gen/tsk/v1/core';
import { errorMessage } from '../../util/errors';
import { fetchObjects, type ObjectGetter } from '../api-objects';
import type { NodeAllocatable } from '../downward-api';
import { volumeHostPath } from '../volumes';
import { writePayload } from './atomic-writer';
import { isProjectedVolume, volumeObjectNames, volumePayload } from './projections';

export interface ApiVolumeResult {
  /** Volumes whose files changed in this pass. */
  updated: string[];
  /** Volumes that could not be set up, with Kubernetes' FailedMount message. */
  failed: { volume: string; message: string }[];
}

/**
 * Kubernetes' SetVolumeOwnership for a read-only volume: everything group
 * fsGroup, files g+r (0440 added), directories g+rx and setgid, so a
 * container running as another user in that group can read the files.
 */
export function setReadOnlyOwnership(dir: string, fsGroup: number): void {
  const walk = (p: string): void => {
    const st = fs.lstatSync(p);
    if (st.isSymbolicLink()) return;
    fs.chownSync(p, st.uid, fsGroup);
    if (st.isDirectory()) {
      fs.chmodSync(p, (st.mode & 0o7777) | 0o440 | 0o110 | 0o2000);
      for (const e of fs.readdirSync(p)) walk(path.join(p, e));
    } else {
      fs.chmodSync(p, (st.mode & 0o7777) | 0o440);
    }
  };
  walk(dir);
}

export interface ApiVolumeOptions {
  /**
   * Prepares the directory of a volume that may hold Secret data (secret and
   * projected) before anything is written: the kubelet mounts a tmpfs there,
   * as Kubernetes does, so Secrets never reach the node's disk.
   */
  memoryMedium?: (dir: string) => void;
}

async function syncOne(pod: Pod, v: Volume, dataDir: string, getter: ObjectGetter, node: NodeAllocatable, opts: ApiVolumeOptions): Promise<boolean> {
  const objects = await fetchObjects(getter, pod.metadata?.namespace ?? '', volumeObjectNames(v));
  const payload = volumePayload(pod, v, objects, node);
  const dir = volumeHostPath(pod, v, dataDir);
  if ((v.secret || v.projected) && opts.memoryMedium) opts.memoryMedium(dir);
  const fsGroup = pod.spec?.securityContext?.fsGroup;
  return writePayload(dir, payload, fsGroup !== undefined ? { setPerms: (d) => setReadOnlyOwnership(d, fsGroup) } : {});
}

/**
 * Writes every API-data volume of the pod. Idempotent: a volume whose files
 * are already current is left untouched. Failures are per volume.
 */
export async function syncApiVolumes(
  pod: Pod,
  dataDir: string,
  getter: ObjectGetter,
  node: NodeAllocatable,
  opts: ApiVolumeOptions = {},
): Promise<ApiVolumeResult> {
  const result: ApiVolumeResult = { updated: [], failed: [] };
  for (const v of (pod.spec?.volumes ?? []).filter(isProjectedVolume)) {
    const name = v.name ?? '';
    try {
      if (await syncOne(pod, v, dataDir, getter, node, opts)) result.updated.push(name);
    } catch (err) {
      result.failed.push({ volume: name, message: `MountVolume.SetUp failed for volume "${name}" : ${errorMessage(err)}` });
    }
  }
  return result;
}

/** True when the pod has a volume syncApiVolumes writes. */
export function hasApiVolumes(pod: Pod): boolean {
  return (pod.spec?.volumes ?? []).some(isProjectedVolume);
}
