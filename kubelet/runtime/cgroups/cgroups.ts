// cgroups for pods and containers, v1 and v2.
//
// Layout: <root>/tsk/pod<uid>/<container-id>, in every v1 hierarchy we use
// (cpu, cpuacct, memory, pids, devices) or once in the v2 tree. Device access
// rules (devices.ts) go on container cgroups: v1 writes them here, v2 gets an
// eBPF program that tsk-shim attaches. A hybrid host (v1
// controllers plus an empty cgroup2 at /sys/fs/cgroup/unified) counts as v1:
// its cgroup2 mount holds no controllers we could use, and we leave it alone.
//
// The filesystem calls here are synchronous on purpose: they are a handful of
// tiny writes to a kernel filesystem on the container create/remove path,
// where a thread-pool round trip per call would cost more than the call.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readTextOr } from '../../../util/files';
import type { ContainerResources } from '../runtime';
import { SetupError } from '../errors';
import { DeviceRule, v1DeviceWrites } from './devices';
import { errorMessage } from '../../../util/errors';

export type CgroupVersion = 1 | 2;

const V1_CONTROLLERS = ['cpu', 'cpuacct', 'memory', 'pids'] as const;
/** Not needed for a host to count as v1, but containers are refused without it (see create). */
const V1_OPTIONAL = ['devices'] as const;
type V1Controller = (typeof V1_CONTROLLERS)[number] | (typeof V1_OPTIONAL)[number];
const V2_CONTROLLERS = ['cpu', 'memory', 'pids'];
/**
 * The child of a container's cgroup its processes run in when the container
 * may write its cgroups (KEP-5474 ReadWrite, cgroup v2): the container's own
 * cgroup namespace is rooted here, so the limits the kubelet wrote one level
 * up are out of its sight and reach, and whatever it sets below stays
 * within them.
 */
export const DELEGATED_LEAF = 'container';

export interface CgroupLayout {
  version: CgroupVersion;
  /** v1: mount point of each controller's hierarchy. */
  v1: Partial<Record<V1Controller, string>>;
  /** v2: the cgroup2 mount point. */
  v2Root: string;
}

/**
 * Reads the layout from /proc/self/mountinfo. v1 hierarchies for cpu,
 * cpuacct, memory and pids win (legacy and hybrid hosts; a hybrid's cgroup2
 * may hold a leftover controller such as hugetlb, which is no reason to use
 * it); otherwise the cgroup2 mount whose cgroup.controllers lists cpu, memory
 * and pids is the v2 root.
 */
export function parseCgroupLayout(mountinfo: string, v2Controllers: (dir: string) => string[]): CgroupLayout {
  const v1: Partial<Record<V1Controller, string>> = {};
  const v2Mounts: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const mountPoint = left.split(' ')[4] ?? '';
    const [fstype, , superOpts = ''] = right.split(' ');
    if (fstype === 'cgroup2') v2Mounts.push(mountPoint);
    if (fstype !== 'cgroup') continue;
    const opts = superOpts.split(',');
    for (const c of [...V1_CONTROLLERS, ...V1_OPTIONAL]) if (opts.includes(c) && v1[c] === undefined) v1[c] = mountPoint;
  }
  if (V1_CONTROLLERS.every((c) => v1[c] !== undefined)) return { version: 1, v1, v2Root: '' };
  const v2Root = v2Mounts.find((m) => {
    const have = v2Controllers(m);
    return V2_CONTROLLERS.every((c) => have.includes(c));
  });
  if (v2Root !== undefined) return { version: 2, v1: {}, v2Root };
  throw new SetupError(
    'detect cgroups',
    'found neither cgroup v1 hierarchies for cpu, cpuacct, memory and pids nor a cgroup v2 mount with the cpu, memory and pids controllers',
  );
}

export function detectCgroupLayout(): CgroupLayout {
  const mountinfo = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  return parseCgroupLayout(mountinfo, (dir) => readTextOr(path.join(dir, 'cgroup.controllers')).trim().split(/\s+/));
}

/** CFS period used for every quota (the kernel's default). */
export const CFS_PERIOD_US = 100_000;

/** Kubernetes' conversion from millicores to v1 cpu.shares (min 2). */
export function milliToShares(milli: number): number {
  return Math.max(2, Math.floor((milli * 1024) / 1000));
}

/** The OCI/Kubernetes mapping of cpu.shares [2, 262144] to cgroup v2 cpu.weight [1, 10000]. */
export function sharesToWeight(shares: number): number {
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** The files and values that express resources, per version (pure; unit-tested). */
export function resourceWrites(version: CgroupVersion, r: ContainerResources): Array<[controller: string, file: string, value: string]> {
  const out: Array<[string, string, string]> = [];
  const request = r.cpuRequestMilli ?? r.cpuLimitMilli;
  if (request !== undefined) {
    const shares = milliToShares(request);
    out.push(version === 1 ? ['cpu', 'cpu.shares', `${shares}`] : ['cpu', 'cpu.weight', `${sharesToWeight(shares)}`]);
  }
  if (r.cpuLimitMilli !== undefined) {
    const quota = Math.max(1000, Math.floor((r.cpuLimitMilli * CFS_PERIOD_US) / 1000));
    if (version === 1) out.push(['cpu', 'cpu.cfs_period_us', `${CFS_PERIOD_US}`], ['cpu', 'cpu.cfs_quota_us', `${quota}`]);
    else out.push(['cpu', 'cpu.max', `${quota} ${CFS_PERIOD_US}`]);
  }
  if (r.memoryLimitBytes !== undefined) {
    const bytes = `${Math.floor(r.memoryLimitBytes)}`;
    // Swap would let a hog outlive its limit: cap memory+swap at the same value.
    if (version === 1) out.push(['memory', 'memory.limit_in_bytes', bytes], ['memory', 'memory.memsw.limit_in_bytes', bytes]);
    else out.push(['memory', 'memory.max', bytes], ['memory', 'memory.swap.max', '0']);
  }
  if (r.pidsLimit !== undefined) out.push(['pids', 'pids.max', `${Math.floor(r.pidsLimit)}`]);
  return out;
}

/** Makes a pod UID safe as one path component. */
export function podCgroupName(podUid: string): string {
  return `pod${podUid.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

export interface CgroupUsage {
  cpuUsageNanoseconds: number;
  memoryUsageBytes: number;
  memoryWorkingSetBytes: number;
  pids: number;
}

function statField(text: string, key: string): number {
  const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/**
 * Refuses a relative cgroup path that is not strictly below the hierarchy's
 * root: removing or signalling "" would reach every cgroup and process on
 * the node.
 */
function belowRoot(rel: string): string {
  const parts = path.posix.normalize(rel).split('/');
  if (parts.every((p) => p === '' || p === '.') || parts.includes('..')) {
    throw new SetupError('cgroup', `"${rel}" is not a cgroup below the hierarchy's root: refusing to touch the node's cgroups`);
  }
  return rel;
}

/** The cgroups under dir, parents before their children (cgroup directories hold only cgroups as directories). */
function subCgroups(dir: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.filter((e) => e.isDirectory()).flatMap((e) => [path.join(dir, e.name), ...subCgroups(path.join(dir, e.name))]);
}

export class CgroupManager {
  constructor(
    readonly layout: CgroupLayout,
    readonly parent = 'tsk',
  ) {}

  /** Relative path of a pod's cgroup. */
  podPath(podUid: string): string {
    return path.join(this.parent, podCgroupName(podUid));
  }

  containerPath(podUid: string, containerId: string): string {
    return path.join(this.podPath(podUid), containerId);
  }

  /** Absolute directories of a cgroup, one per distinct hierarchy. */
  dirs(rel: string): string[] {
    if (this.layout.version === 2) return [path.join(this.layout.v2Root, rel)];
    return [...new Set(Object.values(this.layout.v1))].map((m) => path.join(m, rel));
  }

  /** Absolute directory of cgroup rel in the controller's hierarchy (v2: the one tree); throws when v1 has no such hierarchy. */
  controllerDir(controller: string, rel: string): string {
    return this.dirOf(controller, rel);
  }

  private dirOf(controller: string, rel: string): string {
    if (this.layout.version === 2) return path.join(this.layout.v2Root, rel);
    const mount = this.layout.v1[controller as V1Controller];
    if (mount === undefined) throw new SetupError('cgroup', `no hierarchy for controller ${controller}`);
    return path.join(mount, rel);
  }

  /** The file whose "oom_kill N" line counts OOM kills in the cgroup. */
  oomFile(rel: string): string {
    return path.join(this.dirOf('memory', rel), this.layout.version === 1 ? 'memory.oom_control' : 'memory.events');
  }

  /**
   * Creates the cgroup (and parents) with the given resources; idempotent.
   * With `devices` (containers), v1 restricts device access to those rules
   * here, before any process joins; on v2 the caller must attach the eBPF
   * filter to deviceFilterDir(rel) before one does (tsk-shim does).
   */
  create(rel: string, resources: ContainerResources = {}, devices?: readonly DeviceRule[]): void {
    if (devices && this.layout.version === 1 && this.layout.v1.devices === undefined) {
      throw new SetupError(
        'cgroup devices',
        'the cgroup v1 devices controller is not mounted: containers would be free to open any device node (mount it, e.g. at /sys/fs/cgroup/devices)',
      );
    }
    if (this.layout.version === 2) this.enableV2Controllers(rel);
    for (const dir of this.dirs(rel)) {
      try {
        fs.mkdirSync(dir, { recursive: true });
      } catch (err) {
        throw new SetupError(`mkdir cgroup ${dir}`, errorMessage(err));
      }
    }
    if (devices && this.layout.version === 1) this.writeV1Devices(rel, devices);
    this.writeResources(rel, resources);
  }

  /**
   * Rewrites the resource files of an existing cgroup (an in-place resize):
   * cpu weight or shares, CFS quota, memory limit. A memory limit below the
   * usage makes the kernel reclaim and may OOM-kill: the caller checks first.
   */
  update(rel: string, resources: ContainerResources): void {
    this.writeResources(rel, resources);
  }

  private writeResources(rel: string, resources: ContainerResources): void {
    for (const [controller, file, value] of resourceWrites(this.layout.version, resources)) {
      const target = path.join(this.dirOf(controller, rel), file);
      try {
        fs.writeFileSync(target, value);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        // No swap accounting on this kernel: nothing to cap.
        if (e.code === 'ENOENT' && (file === 'memory.memsw.limit_in_bytes' || file === 'memory.swap.max')) continue;
        throw new SetupError(`write ${target}`, e.message);
      }
    }
  }

  private writeV1Devices(rel: string, rules: readonly DeviceRule[]): void {
    const dir = this.dirOf('devices', rel);
    for (const [file, value] of v1DeviceWrites(rules)) {
      try {
        fs.writeFileSync(path.join(dir, file), value);
      } catch (err) {
        throw new SetupError(`write "${value}" to ${path.join(dir, file)}`, errorMessage(err));
      }
    }
  }

  /**
   * v2: makes the delegated leaf under the container cgroup rel (created
   * before, with its limits) with our controllers enabled for it, and
   * returns its relative path. Idempotent.
   */
  createDelegatedLeaf(rel: string): string {
    if (this.layout.version !== 2) throw new SetupError('cgroup delegation', 'writable cgroups need cgroup v2');
    const leaf = path.join(rel, DELEGATED_LEAF);
    this.enableV2Controllers(leaf);
    return leaf;
  }

  /** v2: the directory tsk-shim attaches the device filter to; undefined on v1 (the controller's files do it). */
  deviceFilterDir(rel: string): string | undefined {
    return this.layout.version === 2 ? path.join(this.layout.v2Root, rel) : undefined;
  }

  /** v2: every level above rel must delegate our controllers to its children. */
  private enableV2Controllers(rel: string): void {
    const parts = rel.split('/').filter((p) => p !== '');
    let dir = this.layout.v2Root;
    for (let i = 0; i < parts.length; i++) {
      const available = readTextOr(path.join(dir, 'cgroup.controllers')).trim().split(/\s+/);
      const enabled = readTextOr(path.join(dir, 'cgroup.subtree_control')).trim().split(/\s+/);
      for (const c of V2_CONTROLLERS) {
        if (!available.includes(c) || enabled.includes(c)) continue;
        try {
          fs.writeFileSync(path.join(dir, 'cgroup.subtree_control'), `+${c}`);
        } catch (err) {
          throw new SetupError(`enable ${c} in ${dir}/cgroup.subtree_control`, errorMessage(err));
        }
      }
      dir = path.join(dir, parts[i] ?? '');
      fs.mkdirSync(dir, { recursive: true });
    }
  }

  /** PIDs in the cgroup and the cgroups a container made under it (host PID namespace). */
  procs(rel: string): number[] {
    const root = this.dirOf('pids', belowRoot(rel));
    return [root, ...subCgroups(root)].flatMap((dir) =>
      readTextOr(path.join(dir, 'cgroup.procs'))
        .split('\n')
        .filter((l) => l !== '')
        .map(Number),
    );
  }

  /** Sends a signal to every process in the cgroup (v2: SIGKILL via cgroup.kill when the kernel has it). */
  signalAll(rel: string, signal: NodeJS.Signals): void {
    belowRoot(rel);
    if (signal === 'SIGKILL' && this.layout.version === 2) {
      try {
        fs.writeFileSync(path.join(this.dirOf('pids', rel), 'cgroup.kill'), '1');
        return;
      } catch {
        // Older kernel: fall back to signalling each process.
      }
    }
    for (const pid of this.procs(rel)) {
      try {
        process.kill(pid, signal);
      } catch {
        // Already gone.
      }
    }
  }

  /** Removes the cgroup (and any it holds: a delegated leaf and what the container made there) in every hierarchy, killing leftovers; idempotent. */
  async remove(rel: string): Promise<void> {
    for (const top of this.dirs(belowRoot(rel))) {
      for (const dir of [...subCgroups(top).reverse(), top]) await this.removeDir(rel, dir);
    }
  }

  private async removeDir(rel: string, dir: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        fs.rmdirSync(dir);
        return;
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (e.code === 'ENOENT') return;
        if (e.code !== 'EBUSY' || attempt >= 100) throw new SetupError(`rmdir cgroup ${dir}`, e.message);
        this.signalAll(rel, 'SIGKILL');
        await sleep(attempt < 10 ? 2 : 20);
      }
    }
  }

  usage(rel: string): CgroupUsage {
    if (this.layout.version === 1) {
      const memDir = this.dirOf('memory', rel);
      const usage = Number(readTextOr(path.join(memDir, 'memory.usage_in_bytes'), '0'));
      const inactive = statField(readTextOr(path.join(memDir, 'memory.stat')), 'total_inactive_file');
      return {
        cpuUsageNanoseconds: Number(readTextOr(path.join(this.dirOf('cpuacct', rel), 'cpuacct.usage'), '0')),
        memoryUsageBytes: usage,
        memoryWorkingSetBytes: Math.max(0, usage - inactive),
        pids: Number(readTextOr(path.join(this.dirOf('pids', rel), 'pids.current'), '0')),
      };
    }
    const dir = this.dirOf('memory', rel);
    const usage = Number(readTextOr(path.join(dir, 'memory.current'), '0'));
    const inactive = statField(readTextOr(path.join(dir, 'memory.stat')), 'inactive_file');
    return {
      cpuUsageNanoseconds: statField(readTextOr(path.join(dir, 'cpu.stat')), 'usage_usec') * 1000,
      memoryUsageBytes: usage,
      memoryWorkingSetBytes: Math.max(0, usage - inactive),
      pids: Number(readTextOr(path.join(dir, 'pids.current'), '0')),
    };
  }
}
