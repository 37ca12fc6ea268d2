// A container's capability set, as containerd's CRI plugin and Docker compute
// it: Docker's default list (DEFAULT_CAPABILITIES); "ALL" in add
// starts from every capability, "ALL" in drop from none; then each named add,
// then each named drop (a capability both added and dropped is dropped). Privileged containers get every
// capability. Names are taken with or without the CAP_ prefix, in any case
// (Kubernetes writes NET_ADMIN, Docker accepts both). Pure.

import { capabilityMask } from './spec';

/** Every capability Linux defines, by number (linux/capability.h). */
export const ALL_CAPABILITIES: Record<string, number> = {
  CAP_CHOWN: 0,
  CAP_DAC_OVERRIDE: 1,
  CAP_DAC_READ_SEARCH: 2,
  CAP_FOWNER: 3,
  CAP_FSETID: 4,
  CAP_KILL: 5,
  CAP_SETGID: 6,
  CAP_SETUID: 7,
  CAP_SETPCAP: 8,
  CAP_LINUX_IMMUTABLE: 9,
  CAP_NET_BIND_SERVICE: 10,
  CAP_NET_BROADCAST: 11,
  CAP_NET_ADMIN: 12,
  CAP_NET_RAW: 13,
  CAP_IPC_LOCK: 14,
  CAP_IPC_OWNER: 15,
  CAP_SYS_MODULE: 16,
  CAP_SYS_RAWIO: 17,
  CAP_SYS_CHROOT: 18,
  CAP_SYS_PTRACE: 19,
  CAP_SYS_PACCT: 20,
  CAP_SYS_ADMIN: 21,
  CAP_SYS_BOOT: 22,
  CAP_SYS_NICE: 23,
  CAP_SYS_RESOURCE: 24,
  CAP_SYS_TIME: 25,
  CAP_SYS_TTY_CONFIG: 26,
  CAP_MKNOD: 27,
  CAP_LEASE: 28,
  CAP_AUDIT_WRITE: 29,
  CAP_AUDIT_CONTROL: 30,
  CAP_SETFCAP: 31,
  CAP_MAC_OVERRIDE: 32,
  CAP_MAC_ADMIN: 33,
  CAP_SYSLOG: 34,
  CAP_WAKE_ALARM: 35,
  CAP_BLOCK_SUSPEND: 36,
  CAP_AUDIT_READ: 37,
  CAP_PERFMON: 38,
  CAP_BPF: 39,
  CAP_CHECKPOINT_RESTORE: 40,
};

/** Docker's default capability set (moby oci/caps/defaults.go); the numbers are ALL_CAPABILITIES'. */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_RAW',
  'CAP_SYS_CHROOT',
  'CAP_MKNOD',
  'CAP_AUDIT_WRITE',
  'CAP_SETFCAP',
];

export class CapabilityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CapabilityError';
  }
}

/** "net_raw", "NET_RAW" and "CAP_NET_RAW" all name CAP_NET_RAW; "ALL" stays "ALL". */
export function normalizeCapability(name: string): string {
  const upper = name.trim().toUpperCase();
  if (upper === 'ALL') return upper;
  return upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
}

function known(field: string, name: string): string {
  const n = normalizeCapability(name);
  if (n !== 'ALL' && ALL_CAPABILITIES[n] === undefined) throw new CapabilityError(`${field}: unknown capability "${name}"`);
  return n;
}

export interface CapabilityRequest {
  add?: string[];
  drop?: string[];
  privileged?: boolean;
}

/** The capability names of the container, sorted by number. Throws CapabilityError naming an unknown one. */
export function computeCapabilities(req: CapabilityRequest): string[] {
  const all = Object.keys(ALL_CAPABILITIES);
  const add = (req.add ?? []).map((c) => known('capabilities.add', c));
  const drop = (req.drop ?? []).map((c) => known('capabilities.drop', c));
  if (req.privileged) return all;
  // containerd's order, so that an individual add or drop still works next to "ALL".
  let set = new Set(DEFAULT_CAPABILITIES);
  if (add.includes('ALL')) set = new Set(all);
  if (drop.includes('ALL')) set = new Set();
  for (const c of add) if (c !== 'ALL') set.add(c);
  for (const c of drop) set.delete(c);
  return all.filter((c) => set.has(c));
}

/** The hex mask tsk-shim and tsk-exec take. */
export function capabilityNamesMask(names: readonly string[]): string {
  return capabilityMask(names.map((n) => ALL_CAPABILITIES[n] ?? -1).filter((n) => n >= 0));
}

export const DEFAULT_CAP_MASK = capabilityNamesMask(DEFAULT_CAPABILITIES);
