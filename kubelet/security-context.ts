// A container's securityContext as the kubelet applies it (Kubernetes'
// securitycontext.DetermineEffectiveSecurityContext, kuberuntime's
// verifyRunAsNonRoot and qos.GetContainerOOMScoreAdjust): pod-level fields
// with the container's winning, the runAsNonRoot check against the image's
// user, the user string, groups and seccomp choice the runtime takes, and
// the OOM score by QoS class. Pure.

import type { Container, Pod, SeccompProfile } from '../api/gen/tsk/v1/core';
import { aggregateContainerRequests, isPodLevelRequestsSet } from '../api/pod-resources';
import { parseQuantity } from '../api/quantity';
import { qosClass } from './pod-status';
import type { ContainerSecurity, SeccompChoice } from './runtime/runtime';

/** The fields both levels have, merged; the container's win. */
export interface EffectiveSecurity {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  seccompProfile?: SeccompProfile;
}

export function effectiveSecurity(pod: Pod, c: Container): EffectiveSecurity {
  const p = pod.spec?.securityContext ?? {};
  const s = c.securityContext ?? {};
  const out: EffectiveSecurity = {};
  const runAsUser = s.runAsUser ?? p.runAsUser;
  const runAsGroup = s.runAsGroup ?? p.runAsGroup;
  const runAsNonRoot = s.runAsNonRoot ?? p.runAsNonRoot;
  const seccompProfile = s.seccompProfile ?? p.seccompProfile;
  if (runAsUser !== undefined) out.runAsUser = runAsUser;
  if (runAsGroup !== undefined) out.runAsGroup = runAsGroup;
  if (runAsNonRoot !== undefined) out.runAsNonRoot = runAsNonRoot;
  if (seccompProfile !== undefined) out.seccompProfile = seccompProfile;
  return out;
}

/** Kubernetes' format.Pod: name_namespace(uid). */
function podRef(pod: Pod): string {
  return `${pod.metadata?.name ?? ''}_${pod.metadata?.namespace ?? ''}(${pod.metadata?.uid ?? ''})`;
}

/** The image's user as containerd reports it: a numeric uid, or a name (an empty User is root). */
export function imageUserOf(user: string): { uid?: number; name?: string } {
  const u = user.split(':', 1)[0] ?? '';
  if (u === '') return { uid: 0 };
  return /^\d+$/.test(u) ? { uid: Number(u) } : { name: u };
}

/**
 * Kubernetes' verifyRunAsNonRoot: the error message (the container's
 * CreateContainerConfigError) when runAsNonRoot is asked and the container
 * would, or might, run as root; undefined when it may start.
 */
export function verifyRunAsNonRoot(pod: Pod, c: Container, imageUser: string): string | undefined {
  const sc = effectiveSecurity(pod, c);
  if (sc.runAsNonRoot !== true) return undefined;
  const where = `(pod: "${podRef(pod)}", container: ${c.name ?? ''})`;
  if (sc.runAsUser !== undefined) return sc.runAsUser === 0 ? `container's runAsUser breaks non-root policy ${where}` : undefined;
  const img = imageUserOf(imageUser);
  if (img.uid === 0) return `container has runAsNonRoot and image will run as root ${where}`;
  if (img.uid === undefined) return `container has runAsNonRoot and image has non-numeric user (${img.name ?? ''}), cannot verify user is non-root ${where}`;
  return undefined;
}

/**
 * The runtime's user string: runAsUser[:runAsGroup]; runAsGroup alone keeps
 * the image's user with that group; undefined leaves the image's User.
 */
export function runtimeUser(sc: EffectiveSecurity, imageUser: string): string | undefined {
  if (sc.runAsUser !== undefined) return sc.runAsGroup !== undefined ? `${sc.runAsUser}:${sc.runAsGroup}` : `${sc.runAsUser}`;
  if (sc.runAsGroup !== undefined) return `${imageUser.split(':', 1)[0] ?? ''}:${sc.runAsGroup}`;
  return undefined;
}

/** Kubernetes' seccompProfile as the runtime's choice; undefined: the runtime's default (RuntimeDefault). Throws Error naming the field. */
export function seccompChoice(container: string, p: SeccompProfile | undefined): SeccompChoice | undefined {
  switch (p?.type ?? '') {
    case '':
      return undefined;
    case 'RuntimeDefault':
      return { type: 'RuntimeDefault' };
    case 'Unconfined':
      return { type: 'Unconfined' };
    case 'Localhost': {
      const name = p?.localhostProfile ?? '';
      if (name === '' || name.startsWith('/') || name.split('/').includes('..')) {
        throw new Error(`container "${container}": seccompProfile.localhostProfile "${name}" must be a relative path without ".."`);
      }
      return { type: 'Localhost', profile: name };
    }
    default:
      throw new Error(`container "${container}": seccompProfile.type "${p?.type ?? ''}" is not RuntimeDefault, Unconfined or Localhost`);
  }
}

const GUARANTEED_OOM_SCORE_ADJ = -997;
const BEST_EFFORT_OOM_SCORE_ADJ = 1000;

/**
 * With a pod-level memory request, the part of it no container requests is
 * shared equally by the containers in the OOM score (KEP-2837); 0 otherwise.
 */
function podMemoryShare(pod: Pod): number {
  const podRequest = pod.spec?.resources?.requests?.['memory'];
  const containers = pod.spec?.containers?.length ?? 0;
  if (!isPodLevelRequestsSet(pod.spec) || podRequest === undefined || containers === 0) return 0;
  const aggregate = aggregateContainerRequests(pod.spec).get('memory')?.value() ?? 0;
  return Math.max(0, Math.trunc((parseQuantity(podRequest).value() - aggregate) / containers));
}

/**
 * Kubernetes' GetContainerOOMScoreAdjust: Guaranteed -997, BestEffort 1000,
 * Burstable 1000 - 1000 * memoryRequest / nodeMemory, kept within [3, 999]
 * so that Burstable containers die after BestEffort and before Guaranteed.
 */
export function oomScoreAdj(pod: Pod, c: Container, nodeMemoryBytes: number): number {
  const qos = qosClass(pod);
  if (qos === 'Guaranteed') return GUARANTEED_OOM_SCORE_ADJ;
  if (qos === 'BestEffort') return BEST_EFFORT_OOM_SCORE_ADJ;
  const req = c.resources?.requests?.['memory'] ?? c.resources?.limits?.['memory'];
  const request = (req === undefined ? 0 : parseQuantity(req).value()) + podMemoryShare(pod);
  const adj = 1000 - Math.trunc((1000 * request) / Math.max(1, nodeMemoryBytes));
  if (adj < 1000 + GUARANTEED_OOM_SCORE_ADJ) return 1000 + GUARANTEED_OOM_SCORE_ADJ;
  if (adj === BEST_EFFORT_OOM_SCORE_ADJ) return adj - 1;
  return adj;
}

/**
 * procMount: Default is what every container gets (runc's masked and
 * read-only /proc paths). Unmasked (none of them) is allowed by Kubernetes
 * only in a user namespace (hostUsers: false), where /proc's files are no
 * window on the node: elsewhere the container is refused, never run with a
 * /proc other than the one it asked for. Returns whether it is unmasked.
 */
function checkProcMount(container: string, procMount: string | undefined, hostUsers: boolean): boolean {
  if (procMount === undefined || procMount === '' || procMount === 'Default') return false;
  if (procMount === 'Unmasked') {
    if (!hostUsers) return true;
    throw new Error(`container "${container}": securityContext.procMount "Unmasked" needs a user namespace (hostUsers: false)`);
  }
  throw new Error(`container "${container}": securityContext.procMount "${procMount}" is not Default or Unmasked`);
}

/** The runtime's ContainerSecurity of container c (runAsUser etc. go in the user string). Throws Error naming the field. */
export function containerSecurity(pod: Pod, c: Container, nodeMemoryBytes: number): ContainerSecurity {
  const name = c.name ?? '';
  const s = c.securityContext ?? {};
  const ps = pod.spec?.securityContext ?? {};
  const unmasked = checkProcMount(name, s.procMount, pod.spec?.hostUsers !== false);
  const out: ContainerSecurity = { oomScoreAdj: oomScoreAdj(pod, c, nodeMemoryBytes) };
  if (unmasked) out.unmaskedProc = true;
  if (s.privileged) out.privileged = true;
  if (s.capabilities?.add?.length) out.capAdd = s.capabilities.add;
  if (s.capabilities?.drop?.length) out.capDrop = s.capabilities.drop;
  if (s.readOnlyRootFilesystem) out.readOnlyRootfs = true;
  // Kubernetes' AddNoNewPrivileges: only an explicit false sets it; an explicit true lifts tsk's default.
  if (s.allowPrivilegeEscalation !== undefined) out.noNewPrivileges = !s.allowPrivilegeEscalation;
  const seccomp = seccompChoice(name, effectiveSecurity(pod, c).seccompProfile);
  if (seccomp) out.seccomp = seccomp;
  const groups = [...(ps.supplementalGroups ?? []), ...(ps.fsGroup !== undefined ? [ps.fsGroup] : [])];
  if (groups.length > 0) out.supplementalGroups = groups;
  // Merge is the runtime's default too; only Strict needs saying.
  if (ps.supplementalGroupsPolicy === 'Strict') out.supplementalGroupsPolicy = 'Strict';
  // KEP-5474; validated by the API server (ReadOnly, the default, needs no saying).
  if (s.cgroupOptions?.mountMode === 'ReadWrite') out.cgroupMountMode = 'ReadWrite';
  return out;
}
