// Validation of a container's bind mounts (ContainerConfig.mounts, CRI
// Mount), before anything runs. Where a mount lands inside the rootfs is NOT
// decided here: only the container's own mount namespace sees the merged
// overlay rootfs, so tsk-shim resolves each containerPath there with
// openat2(RESOLVE_IN_ROOT) (native/tsk-mounts.h), which keeps symlinks and
// ".." inside the rootfs as runc's securejoin does.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { RuntimeError } from '../errors';
import type { Mount } from '../runtime';

/** The shim's list capacity (TSK_MAX_LIST in native/tsk-common.h). */
export const MAX_MOUNTS = 256;

/** What the shim needs per mount: the source's kind decides the kind of target it creates. */
export interface ShimMount {
  hostPath: string;
  containerPath: string;
  /** Relative, normalized, without ".."; "" for hostPath itself. */
  subPath: string;
  readOnly: boolean;
  /** Only with readOnly: the submounts read-only too. */
  recursiveReadOnly?: 'Enabled' | 'IfPossible';
  /** Seen through the sandbox's user namespace (an idmapped mount). */
  idmapped?: boolean;
}

/** Raised for a mount the runtime refuses; the message names the container and the mount. */
export class MountError extends RuntimeError {
  constructor(
    readonly container: string,
    readonly index: number,
    readonly containerPath: string,
    detail: string,
  ) {
    super(`container "${container}": mount ${index} (containerPath ${JSON.stringify(containerPath)}): ${detail}`);
  }
}

/** Checks done without touching the file system: absolute, clean of control characters, not the root. */
export function mountSyntaxProblem(m: Mount): string | undefined {
  for (const [field, value] of [
    ['containerPath', m.containerPath],
    ['hostPath', m.hostPath],
  ] as const) {
    if (typeof value !== 'string' || value === '') return `${field} is required`;
    if (!path.posix.isAbsolute(value)) return `${field} ${JSON.stringify(value)} must be an absolute path`;
    // NUL cannot reach a syscall; newlines would make the error messages and logs lie.
    if (/[\0\n\r]/.test(value)) return `${field} ${JSON.stringify(value)} contains a NUL or newline`;
  }
  if (path.posix.normalize(m.containerPath).replace(/\/+$/, '') === '') return 'containerPath must not be "/" (the rootfs itself)';
  const rro = m.recursiveReadOnly as string | undefined;
  if (rro !== undefined && rro !== 'Enabled' && rro !== 'IfPossible') return `recursiveReadOnly ${JSON.stringify(rro)} is not Enabled or IfPossible`;
  // containerd's message for CRI's recursive_read_only without read_only.
  if (rro !== undefined && m.readOnly !== true) return 'recursive read-only mount must be read-only';
  return m.subPath === undefined ? undefined : subPathProblem(m.subPath);
}

/** A subPath must stay inside its source by its text alone; symlinks are the shim's part (RESOLVE_BENEATH). */
function subPathProblem(sub: string): string | undefined {
  if (/[\0\n\r]/.test(sub)) return `subPath ${JSON.stringify(sub)} contains a NUL or newline`;
  if (path.posix.isAbsolute(sub)) return `subPath ${JSON.stringify(sub)} must be a relative path`;
  if (sub.split('/').includes('..')) return `subPath ${JSON.stringify(sub)} must not contain '..'`;
  return undefined;
}

/** The subPath as the shim takes it: normalized, "" when it names the source itself ("", "." or "./"). */
function normalSubPath(sub: string | undefined): string {
  if (!sub) return '';
  const n = path.posix.normalize(sub).replace(/\/+$/, '');
  return n === '.' ? '' : n;
}

/** Why the host path cannot be a mount source, or undefined. Follows symlinks, as mount(2) does. */
export function hostPathProblem(hostPath: string, stat: (p: string) => fs.Stats = fs.statSync): string | undefined {
  try {
    stat(hostPath);
    return undefined;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return `hostPath ${JSON.stringify(hostPath)} does not exist`;
    return `hostPath ${JSON.stringify(hostPath)}: ${e.code ?? e.message}`;
  }
}

/**
 * Validates every mount of a container (in order, first problem wins) and
 * returns them as the shim takes them. Throws MountError naming the
 * container and the mount's index and containerPath.
 */
export function validateMounts(container: string, mounts: Mount[] | undefined, stat?: (p: string) => fs.Stats): ShimMount[] {
  const list = mounts ?? [];
  if (list.length > MAX_MOUNTS) {
    throw new RuntimeError(`container "${container}": ${list.length} mounts, at most ${MAX_MOUNTS} are supported`);
  }
  return list.map((m, i) => {
    const problem = mountSyntaxProblem(m) ?? hostPathProblem(m.hostPath, stat);
    if (problem !== undefined) throw new MountError(container, i, m.containerPath, problem);
    return {
      hostPath: m.hostPath,
      containerPath: m.containerPath,
      subPath: normalSubPath(m.subPath),
      readOnly: m.readOnly === true,
      ...(m.recursiveReadOnly !== undefined ? { recursiveReadOnly: m.recursiveReadOnly } : {}),
      ...(m.idmapped ? { idmapped: true } : {}),
    };
  });
}
