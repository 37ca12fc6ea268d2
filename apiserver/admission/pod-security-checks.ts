// The Pod Security Standards' checks (k8s.io/pod-security-admission/policy),
// latest version, on tsk's pod fields. Each check is pure: pod in, a
// violation (reason + detail, worded as Kubernetes words them) or nothing
// out. Checks run per level in Kubernetes' order: baseline checks by ID,
// then restricted checks by ID; the messages join them in that order.

import type { Container, PodSpec, SecurityContext } from '../../api/gen/tsk/v1/core';
import type { ObjectMeta } from '../../api/gen/tsk/v1/meta';
import { SAFE_SYSCTLS } from '../../api/sysctls';

export type Level = 'privileged' | 'baseline' | 'restricted';

export interface Violation {
  readonly reason: string;
  readonly detail: string;
}

export interface Check {
  readonly id: string;
  readonly level: Exclude<Level, 'privileged'>;
  /** Baseline checks a restricted check replaces at the restricted level. */
  readonly overrides?: readonly string[];
  check(meta: ObjectMeta, spec: PodSpec): Violation | undefined;
}

function pluralize(one: string, many: string, n: number): string {
  return n === 1 ? one : many;
}

/** Go's %q for the names and values at hand (JSON string quoting). */
function quote(s: string): string {
  return JSON.stringify(s);
}

function joinQuote(items: readonly string[]): string {
  return items.map(quote).join(', ');
}

function sorted(set: Set<string>): string[] {
  return [...set].sort();
}

/** Init containers first, as Kubernetes' visitContainers. */
function containersOf(spec: PodSpec): Container[] {
  return [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
}

/** `container "a"` or `containers "a", "b"`. */
function containerList(names: readonly string[]): string {
  return `${pluralize('container', 'containers', names.length)} ${joinQuote(names)}`;
}

function badContainers(spec: PodSpec, bad: (sc: SecurityContext) => boolean): string[] {
  return containersOf(spec)
    .filter((c) => c.securityContext !== undefined && bad(c.securityContext))
    .map((c) => c.name ?? '');
}

const APPARMOR_ANNOTATION_PREFIX = 'container.apparmor.security.beta.kubernetes.io/';

const appArmorProfile: Check = {
  id: 'appArmorProfile',
  level: 'baseline',
  check(meta, spec) {
    const bad: string[] = [];
    for (const [k, v] of Object.entries(meta.annotations ?? {})) {
      if (k.startsWith(APPARMOR_ANNOTATION_PREFIX) && v !== '' && v !== 'runtime/default' && !v.startsWith('localhost/')) bad.push(`${k}=${quote(v)}`);
    }
    // The appArmorProfile fields (1.30+): only RuntimeDefault and Localhost.
    const field = (path: string, type: string | undefined): void => {
      if (type !== undefined && type !== '' && type !== 'RuntimeDefault' && type !== 'Localhost') bad.push(`${path}=${quote(type)}`);
    };
    field('spec.securityContext.appArmorProfile.type', spec.securityContext?.appArmorProfile?.type);
    for (const c of containersOf(spec))
      field(`container ${quote(c.name ?? '')} securityContext.appArmorProfile.type`, c.securityContext?.appArmorProfile?.type);
    if (bad.length === 0) return undefined;
    bad.sort();
    return { reason: pluralize('forbidden AppArmor profile', 'forbidden AppArmor profiles', bad.length), detail: bad.join(', ') };
  },
};

/** Kubernetes' default capability set: the only ones baseline lets a container add. */
export const BASELINE_CAPABILITIES = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);

const capabilitiesBaseline: Check = {
  id: 'capabilities_baseline',
  level: 'baseline',
  check(_meta, spec) {
    const caps = new Set<string>();
    const names = badContainers(spec, (sc) => {
      const extra = (sc.capabilities?.add ?? []).filter((c) => !BASELINE_CAPABILITIES.has(c));
      for (const c of extra) caps.add(c);
      return extra.length > 0;
    });
    if (names.length === 0) return undefined;
    return {
      reason: 'non-default capabilities',
      detail: `${containerList(names)} must not include ${joinQuote(sorted(caps))} in securityContext.capabilities.add`,
    };
  },
};

const hostNamespaces: Check = {
  id: 'hostNamespaces',
  level: 'baseline',
  check(_meta, spec) {
    const bad: string[] = [];
    if (spec.hostNetwork) bad.push('hostNetwork=true');
    if (spec.hostPID) bad.push('hostPID=true');
    if (spec.hostIPC) bad.push('hostIPC=true');
    return bad.length === 0 ? undefined : { reason: 'host namespaces', detail: bad.join(', ') };
  },
};

const hostPathVolumes: Check = {
  id: 'hostPathVolumes',
  level: 'baseline',
  check(_meta, spec) {
    const names = (spec.volumes ?? []).filter((v) => v.hostPath !== undefined).map((v) => v.name ?? '');
    if (names.length === 0) return undefined;
    return { reason: 'hostPath volumes', detail: `${pluralize('volume', 'volumes', names.length)} ${joinQuote(names)}` };
  },
};

const hostPorts: Check = {
  id: 'hostPorts',
  level: 'baseline',
  check(_meta, spec) {
    const ports = new Set<string>();
    const names: string[] = [];
    for (const c of containersOf(spec)) {
      const used = (c.ports ?? []).filter((p) => (p.hostPort ?? 0) !== 0).map((p) => String(p.hostPort));
      for (const p of used) ports.add(p);
      if (used.length > 0) names.push(c.name ?? '');
    }
    if (names.length === 0) return undefined;
    const list = sorted(ports);
    return {
      reason: 'hostPort',
      detail: `${containerList(names)} ${pluralize('uses', 'use', names.length)} ${pluralize('hostPort', 'hostPorts', list.length)} ${list.join(', ')}`,
    };
  },
};

const privileged: Check = {
  id: 'privileged',
  level: 'baseline',
  check(_meta, spec) {
    const names = badContainers(spec, (sc) => sc.privileged === true);
    return names.length === 0 ? undefined : { reason: 'privileged', detail: `${containerList(names)} must not set securityContext.privileged=true` };
  },
};

const procMount: Check = {
  id: 'procMount',
  level: 'baseline',
  check(_meta, spec) {
    const types = new Set<string>();
    const names = badContainers(spec, (sc) => {
      if (sc.procMount === undefined || sc.procMount === 'Default') return false;
      types.add(sc.procMount);
      return true;
    });
    if (names.length === 0) return undefined;
    return { reason: 'procMount', detail: `${containerList(names)} must not set securityContext.procMount to ${joinQuote(sorted(types))}` };
  },
};

const SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);

const seLinuxOptions: Check = {
  id: 'seLinuxOptions',
  level: 'baseline',
  check(_meta, spec) {
    const types = new Set<string>();
    let user = false;
    let role = false;
    const bad = (o: SecurityContext['seLinuxOptions']): boolean => {
      if (!o) return false;
      let ok = true;
      if (!SELINUX_TYPES.has(o.type ?? '')) {
        types.add(o.type ?? '');
        ok = false;
      }
      if (o.user) {
        user = true;
        ok = false;
      }
      if (o.role) {
        role = true;
        ok = false;
      }
      return !ok;
    };
    const setters: string[] = [];
    if (bad(spec.securityContext?.seLinuxOptions)) setters.push('pod');
    const names = badContainers(spec, (sc) => bad(sc.seLinuxOptions));
    if (names.length > 0) setters.push(containerList(names));
    if (setters.length === 0) return undefined;
    // Kubernetes mentions user and role only next to a bad type (so its message can end
    // empty); tsk names them whenever they are set.
    const data: string[] = [];
    if (types.size > 0) data.push(`${pluralize('type', 'types', types.size)} ${joinQuote(sorted(types))}`);
    if (user) data.push('user may not be set');
    if (role) data.push('role may not be set');
    return { reason: 'seLinuxOptions', detail: `${setters.join(' and ')} set forbidden securityContext.seLinuxOptions: ${data.join('; ')}` };
  },
};

const seccompProfileBaseline: Check = {
  id: 'seccompProfile_baseline',
  level: 'baseline',
  check(_meta, spec) {
    const setters: string[] = [];
    if (spec.securityContext?.seccompProfile?.type === 'Unconfined') setters.push('pod');
    const names = badContainers(spec, (sc) => sc.seccompProfile?.type === 'Unconfined');
    if (names.length > 0) setters.push(containerList(names));
    if (setters.length === 0) return undefined;
    return { reason: 'seccompProfile', detail: `${setters.join(' and ')} must not set securityContext.seccompProfile.type to "Unconfined"` };
  },
};

const sysctls: Check = {
  id: 'sysctls',
  level: 'baseline',
  check(_meta, spec) {
    const bad = (spec.securityContext?.sysctls ?? []).map((s) => s.name ?? '').filter((n) => !SAFE_SYSCTLS.has(n));
    return bad.length === 0 ? undefined : { reason: 'forbidden sysctls', detail: bad.join(', ') };
  },
};

const allowPrivilegeEscalation: Check = {
  id: 'allowPrivilegeEscalation',
  level: 'restricted',
  check(_meta, spec) {
    const names = containersOf(spec)
      .filter((c) => c.securityContext?.allowPrivilegeEscalation !== false)
      .map((c) => c.name ?? '');
    if (names.length === 0) return undefined;
    return { reason: 'allowPrivilegeEscalation != false', detail: `${containerList(names)} must set securityContext.allowPrivilegeEscalation=false` };
  },
};

const capabilitiesRestricted: Check = {
  id: 'capabilities_restricted',
  level: 'restricted',
  check(_meta, spec) {
    const missingDrop: string[] = [];
    const adding: string[] = [];
    const caps = new Set<string>();
    for (const c of containersOf(spec)) {
      const cap = c.securityContext?.capabilities;
      if (!(cap?.drop ?? []).includes('ALL')) missingDrop.push(c.name ?? '');
      const extra = (cap?.add ?? []).filter((x) => x !== 'NET_BIND_SERVICE');
      for (const x of extra) caps.add(x);
      if (extra.length > 0) adding.push(c.name ?? '');
    }
    const details: string[] = [];
    if (missingDrop.length > 0) details.push(`${containerList(missingDrop)} must set securityContext.capabilities.drop=["ALL"]`);
    if (adding.length > 0) details.push(`${containerList(adding)} must not include ${joinQuote(sorted(caps))} in securityContext.capabilities.add`);
    return details.length === 0 ? undefined : { reason: 'unrestricted capabilities', detail: details.join('; ') };
  },
};

/** The volume types restricted allows; of tsk's, emptyDir. */
const ALLOWED_VOLUME_TYPES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);

const restrictedVolumes: Check = {
  id: 'restrictedVolumes',
  level: 'restricted',
  check(_meta, spec) {
    const names: string[] = [];
    const types = new Set<string>();
    for (const v of spec.volumes ?? []) {
      const bad = Object.keys(v).filter((k) => k !== 'name' && (v as Record<string, unknown>)[k] !== undefined && !ALLOWED_VOLUME_TYPES.has(k));
      for (const t of bad) types.add(t);
      if (bad.length > 0) names.push(v.name ?? '');
    }
    if (names.length === 0) return undefined;
    const list = sorted(types);
    return {
      reason: 'restricted volume types',
      detail: `${pluralize('volume', 'volumes', names.length)} ${joinQuote(names)} ${pluralize('uses', 'use', names.length)} ${pluralize('restricted volume type', 'restricted volume types', list.length)} ${joinQuote(list)}`,
    };
  },
};

/** runAsNonRoot and seccompProfile share a shape: the pod sets a good value for all, or each container does. */
function podOrContainers(
  spec: PodSpec,
  podValue: boolean | undefined,
  containerValue: (sc: SecurityContext | undefined) => boolean | undefined,
): { badSetters: string[]; implicit: string[] } {
  const badSetters: string[] = podValue === false ? ['pod'] : [];
  const explicit: string[] = [];
  const implicit: string[] = [];
  for (const c of containersOf(spec)) {
    const v = containerValue(c.securityContext);
    if (v === false) explicit.push(c.name ?? '');
    else if (v === undefined && podValue !== true) implicit.push(c.name ?? '');
  }
  if (explicit.length > 0) badSetters.push(containerList(explicit));
  return { badSetters, implicit };
}

const runAsNonRoot: Check = {
  id: 'runAsNonRoot',
  level: 'restricted',
  check(_meta, spec) {
    const { badSetters, implicit } = podOrContainers(spec, spec.securityContext?.runAsNonRoot, (sc) => sc?.runAsNonRoot);
    const reason = 'runAsNonRoot != true';
    if (badSetters.length > 0) return { reason, detail: `${badSetters.join(' and ')} must not set securityContext.runAsNonRoot=false` };
    if (implicit.length > 0) return { reason, detail: `pod or ${containerList(implicit)} must set securityContext.runAsNonRoot=true` };
    return undefined;
  },
};

const runAsUser: Check = {
  id: 'runAsUser',
  level: 'restricted',
  check(_meta, spec) {
    const setters: string[] = [];
    if (spec.securityContext?.runAsUser === 0) setters.push('pod');
    const names = badContainers(spec, (sc) => sc.runAsUser === 0);
    if (names.length > 0) setters.push(containerList(names));
    return setters.length === 0 ? undefined : { reason: 'runAsUser=0', detail: `${setters.join(' and ')} must not set runAsUser=0` };
  },
};

function validSeccomp(type: string | undefined): boolean | undefined {
  if (type === undefined) return undefined;
  return type === 'RuntimeDefault' || type === 'Localhost';
}

const seccompProfileRestricted: Check = {
  id: 'seccompProfile_restricted',
  level: 'restricted',
  overrides: ['seccompProfile_baseline'],
  check(_meta, spec) {
    const values = new Set<string>();
    const note = (type: string | undefined): boolean | undefined => {
      const ok = validSeccomp(type);
      if (ok === false) values.add(type ?? '');
      return ok;
    };
    const pod = spec.securityContext?.seccompProfile ? note(spec.securityContext.seccompProfile.type ?? '') : undefined;
    const { badSetters, implicit } = podOrContainers(spec, pod, (sc) => (sc?.seccompProfile ? note(sc.seccompProfile.type ?? '') : undefined));
    if (badSetters.length > 0) {
      return {
        reason: 'seccompProfile',
        detail: `${badSetters.join(' and ')} must not set securityContext.seccompProfile.type to ${joinQuote(sorted(values))}`,
      };
    }
    if (implicit.length > 0) {
      return {
        reason: 'seccompProfile',
        detail: `pod or ${containerList(implicit)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`,
      };
    }
    return undefined;
  },
};

const byId = (a: Check, b: Check): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export const BASELINE_CHECKS: readonly Check[] = [
  appArmorProfile,
  capabilitiesBaseline,
  hostNamespaces,
  hostPathVolumes,
  hostPorts,
  privileged,
  procMount,
  seLinuxOptions,
  seccompProfileBaseline,
  sysctls,
].sort(byId);

export const RESTRICTED_CHECKS: readonly Check[] = [
  allowPrivilegeEscalation,
  capabilitiesRestricted,
  restrictedVolumes,
  runAsNonRoot,
  runAsUser,
  seccompProfileRestricted,
].sort(byId);

/** The checks of a level, in the order their violations are reported. */
export function checksFor(level: Level): readonly Check[] {
  if (level === 'privileged') return [];
  if (level === 'baseline') return BASELINE_CHECKS;
  const overridden = new Set(RESTRICTED_CHECKS.flatMap((c) => c.overrides ?? []));
  return [...BASELINE_CHECKS.filter((c) => !overridden.has(c.id)), ...RESTRICTED_CHECKS];
}

/** Every violation of `level` by a pod, in Kubernetes' order. */
export function evaluatePod(level: Level, meta: ObjectMeta, spec: PodSpec): Violation[] {
  return checksFor(level).flatMap((c) => c.check(meta, spec) ?? []);
}
