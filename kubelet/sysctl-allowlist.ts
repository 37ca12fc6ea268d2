// Which sysctls a pod may set on this node: Kubernetes' kubelet sysctl
// admission (pkg/kubelet/sysctl, pkg/apis/core/v1/helper SafeSysctlAllowlist).
// The safe set is always allowed; --allowed-unsafe-sysctls adds names or
// "prefix*" patterns, which must be namespaced (set inside the pod's IPC or
// network namespace, never the node's). A pod asking for anything else is
// rejected with reason SysctlForbidden. Pure.

import type { Pod } from '../api/gen/tsk/v1/core';
import { SAFE_SYSCTLS } from '../api/sysctls';

/** The pod status reason and event reason of a rejected pod (Kubernetes' sysctl.ForbiddenReason). */
export const SYSCTL_FORBIDDEN = 'SysctlForbidden';

type SysctlNamespace = 'ipc' | 'net';

/**
 * The namespace a sysctl (dot form) is set in, as Kubernetes' NamespacedBy;
 * undefined when it is the node's. The UTS sysctls (kernel.hostname,
 * kernel.domainname) are left out: the pod's hostname is the kubelet's.
 */
export function namespacedBy(name: string): SysctlNamespace | undefined {
  if (name.startsWith('net.')) return 'net';
  if (name === 'kernel.sem' || /^kernel\.(shm|msg)/.test(name) || name.startsWith('fs.mqueue.')) return 'ipc';
  return undefined;
}

/** Kubernetes' NormalizeName: slash form (when the first separator is '/') to dot form, its dots to slashes. */
export function normalizeSysctlName(name: string): string {
  const slash = name.indexOf('/');
  const dot = name.indexOf('.');
  if (slash < 0 || (dot >= 0 && dot < slash)) return name;
  return name.replace(/[./]/g, (c) => (c === '.' ? '/' : '.'));
}

export interface SysctlAllowlist {
  /** Exact names and their namespace. */
  readonly names: ReadonlyMap<string, SysctlNamespace>;
  /** "prefix*" patterns, without the '*'. */
  readonly prefixes: ReadonlyMap<string, SysctlNamespace>;
}

/**
 * The allowlist of the safe set plus --allowed-unsafe-sysctls patterns.
 * Throws Error naming the pattern that is not namespaced or malformed.
 */
export function newSysctlAllowlist(unsafe: readonly string[]): SysctlAllowlist {
  const names = new Map<string, SysctlNamespace>();
  const prefixes = new Map<string, SysctlNamespace>();
  for (const s of SAFE_SYSCTLS) names.set(s, namespacedBy(s) ?? 'net');
  for (const raw of unsafe) {
    const p = normalizeSysctlName(raw);
    if (!/^[a-z0-9_.\-/]+\*?$/.test(p)) throw new Error(`sysctl pattern "${raw}" is not a sysctl name or a "prefix*" pattern`);
    const prefix = p.endsWith('*') ? p.slice(0, -1) : undefined;
    const ns = namespacedBy(prefix ?? p);
    if (ns === undefined) throw new Error(`the sysctl "${raw}" is not known to be namespaced`);
    if (prefix !== undefined) prefixes.set(prefix, ns);
    else names.set(p, ns);
  }
  return { names, prefixes };
}

/** Kubernetes' validateSysctl: undefined when the pod may set it, else why not. */
export function validateSysctl(list: SysctlAllowlist, name: string, hostNetwork: boolean, hostIPC: boolean): string | undefined {
  const n = normalizeSysctlName(name);
  let ns = list.names.get(n);
  if (ns === undefined) for (const [p, pns] of list.prefixes) if (n.startsWith(p)) ns = pns;
  if (ns === undefined) return `"${n}" not allowlisted`;
  if ((ns === 'ipc' && hostIPC) || (ns === 'net' && hostNetwork)) return `"${n}" not allowed with host ${ns} enabled`;
  return undefined;
}

/** The rejection message of a pod with a forbidden sysctl (Kubernetes' "forbidden sysctl: ..."), or undefined to admit it. */
export function admitSysctls(list: SysctlAllowlist, pod: Pod): string | undefined {
  for (const s of pod.spec?.securityContext?.sysctls ?? []) {
    const why = validateSysctl(list, s.name ?? '', pod.spec?.hostNetwork === true, pod.spec?.hostIPC === true);
    if (why !== undefined) return `forbidden sysctl: ${why}`;
  }
  return undefined;
}
