// The pod volumes the kubelet supports: emptyDir (a directory under
// <data-dir>/pods/<uid>/volumes/kubernetes.io~empty-dir/<name>, created
// before the first container and removed with the pod) and hostPath (a node
// path, checked or created per its type, as Kubernetes' hostPath plugin).

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Pod, Volume } from '../api/gen/tsk/v1/core';
import { parseQuantity } from '../api/quantity';
import { unmountUnder } from '../util/mounts';
import type { IdRange } from './userns';

export class VolumeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VolumeError';
  }
}

/** The pod's own directory under the kubelet's data dir. */
export function podDir(dataDir: string, uid: string): string {
  if (!/^[A-Za-z0-9-]+$/.test(uid)) throw new VolumeError(`pod UID "${uid}" is not a safe directory name`);
  return path.join(dataDir, 'pods', uid);
}

/** The directory of each volume plugin under the pod's volumes/, as Kubernetes names them. */
function pluginDir(v: Volume): string | undefined {
  if (v.emptyDir) return 'kubernetes.io~empty-dir';
  if (v.configMap) return 'kubernetes.io~configmap';
  if (v.secret) return 'kubernetes.io~secret';
  if (v.downwardAPI) return 'kubernetes.io~downward-api';
  if (v.projected) return 'kubernetes.io~projected';
  if (v.image) return 'kubernetes.io~image';
  return undefined;
}

/** Where a volume is on the node. */
export function volumeHostPath(pod: Pod, v: Volume, dataDir: string): string {
  const plugin = pluginDir(v);
  if (plugin !== undefined) return path.join(podDir(dataDir, pod.metadata?.uid ?? ''), 'volumes', plugin, v.name ?? '');
  if (v.hostPath) return v.hostPath.path ?? '';
  throw new VolumeError(`volume "${v.name ?? ''}": only emptyDir, hostPath, configMap, secret, downwardAPI, projected and image volumes are supported`);
}

/** Volumes whose files come from the API or an image: Kubernetes always mounts them read-only. */
export function isReadOnlyVolume(v: Volume): boolean {
  return !!(v.configMap || v.secret || v.downwardAPI || v.projected || v.image);
}

function checkType(p: string, type: string, name: string): void {
  const st = fs.statSync(p, { throwIfNoEntry: false });
  const fail = (what: string): never => {
    throw new VolumeError(`hostPath volume "${name}": ${p} ${what}`);
  };
  switch (type) {
    case '':
      return;
    case 'DirectoryOrCreate':
      if (!st) fs.mkdirSync(p, { recursive: true, mode: 0o755 });
      else if (!st.isDirectory()) fail('is not a directory');
      return;
    case 'FileOrCreate':
      if (!st) {
        fs.mkdirSync(path.dirname(p), { recursive: true });
        fs.writeFileSync(p, '', { mode: 0o644 });
      } else if (!st.isFile()) fail('is not a file');
      return;
    case 'Directory':
      if (!st?.isDirectory()) fail('is not a directory');
      return;
    case 'File':
      if (!st?.isFile()) fail('is not a file');
      return;
    case 'Socket':
      if (!st?.isSocket()) fail('is not a socket');
      return;
    case 'CharDevice':
      if (!st?.isCharacterDevice()) fail('is not a character device');
      return;
    case 'BlockDevice':
      if (!st?.isBlockDevice()) fail('is not a block device');
      return;
    default:
      fail(`has an unknown hostPath type "${type}"`);
  }
}

/**
 * Kubernetes' SetVolumeOwnership for a new emptyDir: group fsGroup, g+rwx and
 * setgid, so what the containers create there belongs to fsGroup too. Only
 * the directory itself: it is empty when created, and the setgid bit passes
 * the group on to everything made inside.
 */
export function applyFsGroup(dir: string, fsGroup: number): void {
  if (!Number.isInteger(fsGroup) || fsGroup < 0) throw new VolumeError(`securityContext.fsGroup ${fsGroup} is not a valid group ID`);
  const st = fs.statSync(dir);
  fs.chownSync(dir, st.uid, fsGroup);
  fs.chmodSync(dir, (st.mode & 0o777) | 0o070 | 0o2000);
}

/** Mounts a tmpfs of at most sizeBytes on a directory (util/mounts' ensureTmpfs); absent in unit tests. */
export type MemoryMedium = (dir: string, sizeBytes?: number) => void;

/**
 * The size of a Memory emptyDir's tmpfs: its sizeLimit, as Kubernetes'
 * SizeMemoryBackedVolumes; undefined (the kernel's default, half the RAM)
 * without one. The pod's memory limit still caps what the tmpfs may hold, as
 * its pages are charged to the pod's cgroup.
 */
function memoryVolumeSize(v: Volume): number | undefined {
  const limit = v.emptyDir?.sizeLimit;
  return limit ? parseQuantity(limit).value() : undefined;
}

/**
 * Creates the pod's emptyDirs (Memory ones on a tmpfs) and checks its
 * hostPaths. With a user namespace (userns: the pod's range) an emptyDir
 * belongs to the pod's root on the node (its group: the pod's fsGroup), and
 * is mounted as it is, not idmapped: it is the pod's own, new storage, so
 * what the pod writes there keeps the pod's unprivileged host IDs (a
 * set-user-ID file made in it is no root's on the node). Idempotent. Throws
 * VolumeError.
 */
export function setUpVolumes(pod: Pod, dataDir: string, memoryMedium?: MemoryMedium, userns?: IdRange): void {
  for (const v of pod.spec?.volumes ?? []) {
    const p = volumeHostPath(pod, v, dataDir);
    if (v.emptyDir) {
      if (v.emptyDir.medium === 'Memory') {
        if (!memoryMedium) throw new VolumeError(`emptyDir volume "${v.name ?? ''}": medium Memory needs tmpfs, which this kubelet cannot mount`);
        memoryMedium(p, memoryVolumeSize(v));
      }
      fs.mkdirSync(p, { recursive: true, mode: 0o777 });
      // Containers may run as any user: the directory is world-writable, as Kubernetes' emptyDir,
      // unless emptyDir.mode (01777 for a shared /tmp, say) says otherwise.
      fs.chmodSync(p, v.emptyDir.mode ?? 0o777);
      const fsGroup = pod.spec?.securityContext?.fsGroup;
      if (userns) fs.chownSync(p, userns.hostId, userns.hostId);
      if (fsGroup !== undefined) applyFsGroup(p, userns ? userns.hostId + fsGroup : fsGroup);
    } else if (v.hostPath) {
      if (!path.isAbsolute(p)) throw new VolumeError(`hostPath volume "${v.name ?? ''}": path "${p}" must be absolute`);
      checkType(p, v.hostPath.type ?? '', v.name ?? '');
    }
  }
}

/** Removes the pod's directory (its emptyDirs, and the tmpfs of its secret volumes); hostPaths are the node's and stay. Idempotent. */
export function removePodDir(dataDir: string, uid: string): void {
  const dir = podDir(dataDir, uid);
  unmountUnder(dir);
  fs.rmSync(dir, { recursive: true, force: true });
}

/** UIDs of the pods that have a directory under the data dir. */
export function listPodDirs(dataDir: string): string[] {
  try {
    return fs.readdirSync(path.join(dataDir, 'pods'));
  } catch {
    return [];
  }
}
