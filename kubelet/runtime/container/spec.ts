// The spec file tsk-shim reads: one "key value" record a line, values
// escaped (\\ and \n) so that no JSON parser is needed in C. Pure; the shim's
// parser (native/tsk-shim.c parse_spec) is its other half.

import type { ShimMount } from './mounts';

/** Bit mask (hex) of capability numbers, as the shim and tsk-exec take it. */
export function capabilityMask(caps: number[]): string {
  let mask = 0n;
  for (const c of caps) mask |= 1n << BigInt(c);
  return mask.toString(16);
}

/** Paths runc masks by default (files get /dev/null, directories an empty read-only tmpfs). */
export const MASKED_PATHS = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

/** Paths runc makes read-only by default. */
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export interface ShimSpec {
  /** Layer directories, top layer first (overlayfs lowerdir order). */
  lowerDirs: string[];
  upperDir: string;
  workDir: string;
  rootfs: string;
  netns?: string;
  ipcns?: string;
  utsns?: string;
  /** Kubernetes hostPID: the init stays in the node's PID namespace. */
  hostPid?: boolean;
  /** Kubernetes shareProcessNamespace: the sandbox's PID namespace file, joined instead of a new one. */
  pidns?: string;
  /** Kubernetes hostUsers: false: the sandbox's user namespace file, joined by the init just before it execs. */
  userns?: string;
  /** With userns: the host ID of the pod's root (user and group); the rootfs is idmapped to it. */
  usernsRoot?: number;
  cgroupDirs: string[];
  /** cgroup v2: the directory tsk-shim attaches the device filter to, before the init joins it. */
  deviceCgroup?: string;
  /** Device rules for that filter, as "allow c 1:3 rwm" (cgroups/devices.ts shimDeviceRule). */
  deviceRules?: string[];
  /**
   * cgroup v2: the init gets a cgroup namespace of its own (rooted at the
   * cgroup it joined) and cgroup2 mounted at /sys/fs/cgroup, read-only or
   * read-write. Unset (cgroup v1): neither.
   */
  cgroupMount?: 'ro' | 'rw';
  oomFile?: string;
  args: string[];
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
  extraGids: number[];
  capMask: string;
  /** Defaults to true. */
  noNewPrivs?: boolean;
  /** The seccomp file (seccomp.ts renderSeccomp); none: no filter. */
  seccompFile?: string;
  /** Where tsk-shim keeps compiled seccomp filters, one per distinct profile (compiling one is most of a start's CPU); none: compiled every time. */
  seccompCacheDir?: string;
  readonlyRootfs?: boolean;
  /** Privileged: /sys read-write and the host's device nodes in /dev (capabilities, masks and seccomp are separate fields). */
  privileged?: boolean;
  /** The init's own score, never the shim's low one; defaults to 0. */
  oomScoreAdj?: number;
  hostsFile?: string;
  resolvFile?: string;
  hostnameFile?: string;
  /** Bind mounts, applied in order after the /etc files (validated: container/mounts.ts). */
  mounts?: ShimMount[];
  logPath: string;
  logMaxBytes: number;
  logMaxFiles: number;
  maskedPaths: string[];
  readonlyPaths: string[];
  /** Kubernetes' stdin, stdinOnce and tty: the shim holds the stdin (a pipe or the terminal) behind its attach socket. */
  stdin?: boolean;
  stdinOnce?: boolean;
  tty?: boolean;
}

/** The shim's bind_ro value (native/tsk-mounts.h parse_read_only). */
function bindReadOnly(m: ShimMount): string {
  if (!m.readOnly) return '0';
  if (m.recursiveReadOnly === 'Enabled') return 'recursive';
  if (m.recursiveReadOnly === 'IfPossible') return 'recursive-if-possible';
  return '1';
}

function escape(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function renderSpec(s: ShimSpec): string {
  const lines: string[] = [];
  const put = (k: string, v: string | number | undefined): void => {
    if (v !== undefined) lines.push(`${k} ${escape(String(v))}`);
  };
  for (const l of s.lowerDirs) {
    // overlayfs splits lowerdir on ':' and ','; a layer path with them cannot be mounted.
    if (/[:,]/.test(l)) throw new Error(`layer directory ${l} contains ':' or ',' which overlayfs cannot take`);
    put('lower', l);
  }
  put('upper', s.upperDir);
  put('work', s.workDir);
  put('rootfs', s.rootfs);
  put('netns', s.netns);
  put('ipcns', s.ipcns);
  put('utsns', s.utsns);
  if (s.hostPid) put('host_pid', 1);
  if (s.hostPid && s.pidns !== undefined) throw new Error('shim spec: hostPid and pidns together');
  put('pidns', s.pidns);
  if ((s.userns === undefined) !== (s.usernsRoot === undefined)) throw new Error('shim spec: userns and usernsRoot go together');
  put('userns', s.userns);
  put('userns_root', s.usernsRoot);
  for (const c of s.cgroupDirs) put('cgroup', c);
  if (s.deviceCgroup !== undefined) {
    // An empty list would deny every device, /dev/null included: surely a mistake.
    if (!s.deviceRules || s.deviceRules.length === 0) throw new Error('shim spec: deviceCgroup without deviceRules');
    put('device_cgroup', s.deviceCgroup);
    for (const r of s.deviceRules) put('device', r);
  }
  put('cgroup_mount', s.cgroupMount);
  put('oom_file', s.oomFile);
  for (const a of s.args) put('arg', a);
  for (const e of s.env) put('env', e);
  put('cwd', s.cwd);
  put('uid', s.uid);
  put('gid', s.gid);
  for (const g of s.extraGids) put('gid_extra', g);
  put('caps', s.capMask);
  put('no_new_privs', s.noNewPrivs === false ? 0 : 1);
  put('seccomp', s.seccompFile);
  put('seccomp_cache', s.seccompCacheDir);
  put('readonly_rootfs', s.readonlyRootfs ? 1 : 0);
  if (s.privileged) put('privileged', 1);
  put('oom_score_adj', s.oomScoreAdj ?? 0);
  put('hosts', s.hostsFile);
  put('resolv', s.resolvFile);
  put('hostname_file', s.hostnameFile);
  // Five records per mount, always together and in this order: the shim pairs them up.
  for (const m of s.mounts ?? []) {
    if (m.idmapped && s.userns === undefined) throw new Error(`shim spec: mount ${m.containerPath} is idmapped but there is no user namespace`);
    put('bind_src', m.hostPath);
    put('bind_dst', m.containerPath);
    put('bind_ro', bindReadOnly(m));
    put('bind_sub', m.subPath);
    put('bind_idmap', m.idmapped ? 1 : 0);
  }
  put('log', s.logPath);
  put('log_max_bytes', s.logMaxBytes);
  put('log_max_files', s.logMaxFiles);
  for (const m of s.maskedPaths) put('mask', m);
  for (const r of s.readonlyPaths) put('ro', r);
  if (s.stdin) put('stdin', 1);
  if (s.stdin && s.stdinOnce) put('stdin_once', 1);
  if (s.tty) put('tty', 1);
  return `${lines.join('\n')}\n`;
}

/** Merges KEY=VALUE lists; later entries win, order of first appearance kept (as Docker). */
export function mergeEnv(...lists: string[][]): string[] {
  const map = new Map<string, string>();
  for (const list of lists) {
    for (const kv of list) {
      const i = kv.indexOf('=');
      const key = i < 0 ? kv : kv.slice(0, i);
      map.set(key, kv);
    }
  }
  return [...map.values()];
}

/** Kubernetes' rule: command replaces Entrypoint (and drops Cmd), args replace Cmd. */
export function resolveCommand(entrypoint: string[], cmd: string[], command?: string[], args?: string[]): string[] {
  if (command && command.length > 0) return [...command, ...(args ?? [])];
  return [...entrypoint, ...(args && args.length > 0 ? args : cmd)];
}
