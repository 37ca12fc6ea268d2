// Taints the node lifecycle controller owns, and what NoExecute taints mean
// for a pod, as pure functions (Kubernetes' TaintNodesByCondition, the
// NoExecute tainting pass and the taint-eviction controller's rules).

import type { Node, NodeCondition, Taint, Toleration } from '../../api/gen/tsk/v1/core';
import { toleratesTaint } from '../../api/tolerations';

export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';
export const TAINT_MEMORY_PRESSURE = 'node.kubernetes.io/memory-pressure';
export const TAINT_DISK_PRESSURE = 'node.kubernetes.io/disk-pressure';
export const TAINT_PID_PRESSURE = 'node.kubernetes.io/pid-pressure';
export const TAINT_NETWORK_UNAVAILABLE = 'node.kubernetes.io/network-unavailable';
/** Set by an administrator on a node known to be down for good (Kubernetes' non-graceful node shutdown): the pod GC may release its terminating pods. */
export const TAINT_OUT_OF_SERVICE = 'node.kubernetes.io/out-of-service';

export const NO_SCHEDULE = 'NoSchedule';
export const NO_EXECUTE = 'NoExecute';

/** Condition (type, status) -> the NoSchedule taint it implies (TaintNodesByCondition). */
const CONDITION_TAINTS: readonly { type: string; status: string; key: string }[] = [
  { type: 'Ready', status: 'False', key: TAINT_NOT_READY },
  { type: 'Ready', status: 'Unknown', key: TAINT_UNREACHABLE },
  { type: 'MemoryPressure', status: 'True', key: TAINT_MEMORY_PRESSURE },
  { type: 'DiskPressure', status: 'True', key: TAINT_DISK_PRESSURE },
  { type: 'PIDPressure', status: 'True', key: TAINT_PID_PRESSURE },
  { type: 'NetworkUnavailable', status: 'True', key: TAINT_NETWORK_UNAVAILABLE },
];

const OWNED_NO_SCHEDULE = new Set([...CONDITION_TAINTS.map((c) => c.key), TAINT_UNSCHEDULABLE]);
const OWNED_NO_EXECUTE = new Set([TAINT_NOT_READY, TAINT_UNREACHABLE]);

export function getCondition(node: Node, type: string): NodeCondition | undefined {
  return (node.status?.conditions ?? []).find((c) => c.type === type);
}

/** The Ready condition's status: True, False, or Unknown (also when the node never posted one). */
export function readyStatus(node: Node): string {
  return getCondition(node, 'Ready')?.status || 'Unknown';
}

function isOwned(t: Taint): boolean {
  if (t.effect === NO_SCHEDULE) return OWNED_NO_SCHEDULE.has(t.key ?? '');
  if (t.effect === NO_EXECUTE) return OWNED_NO_EXECUTE.has(t.key ?? '');
  return false;
}

/**
 * The taints the controller wants on the node: NoSchedule for each
 * condition and for spec.unschedulable; NoExecute not-ready/unreachable
 * unless `evict` is false (every node is down: the controller itself is
 * probably cut off, so Kubernetes stops evicting).
 */
export function desiredTaints(node: Node, evict: boolean): Taint[] {
  const out: Taint[] = [];
  for (const c of CONDITION_TAINTS) {
    if (getCondition(node, c.type)?.status === c.status) out.push({ key: c.key, effect: NO_SCHEDULE });
  }
  if (node.spec?.unschedulable) out.push({ key: TAINT_UNSCHEDULABLE, effect: NO_SCHEDULE });
  if (evict) {
    const ready = getCondition(node, 'Ready')?.status;
    if (ready === 'False') out.push({ key: TAINT_NOT_READY, effect: NO_EXECUTE });
    if (ready === 'Unknown') out.push({ key: TAINT_UNREACHABLE, effect: NO_EXECUTE });
  }
  return out;
}

/**
 * The node's taints with the controller's own ones made equal to `desired`:
 * other taints are kept as they are, a desired taint already present keeps
 * its timeAdded, a new NoExecute taint gets timeAdded = now. Undefined when
 * nothing changes.
 */
export function reconcileTaints(current: readonly Taint[], desired: readonly Taint[], now: string): Taint[] | undefined {
  const same = (a: Taint, b: Taint): boolean => a.key === b.key && a.effect === b.effect;
  const kept = current.filter((t) => !isOwned(t) || desired.some((d) => same(d, t)));
  const added = desired.filter((d) => !current.some((t) => same(d, t)));
  if (added.length === 0 && kept.length === current.length) return undefined;
  return [...kept, ...added.map((d) => (d.effect === NO_EXECUTE ? { ...d, timeAdded: now } : { ...d }))];
}

export type Eviction = { action: 'keep' } | { action: 'evict' } | { action: 'wait'; atMs: number };

/**
 * What NoExecute taints mean for a pod with these tolerations: evict at once
 * when one taint is not tolerated; else evict when the shortest
 * tolerationSeconds has passed since its taint was added; keep the pod
 * when every taint is tolerated forever. `addedAtMs` gives when a taint was
 * added (its timeAdded, or when it was first seen).
 */
export function evictionFor(tolerations: readonly Toleration[], taints: readonly Taint[], addedAtMs: (t: Taint) => number, nowMs: number): Eviction {
  let at = Infinity;
  for (const taint of taints) {
    if (taint.effect !== NO_EXECUTE) continue;
    const matching = tolerations.filter((tol) => toleratesTaint(tol, taint));
    if (matching.length === 0) return { action: 'evict' };
    // As Kubernetes' getMinTolerationTime: the shortest tolerationSeconds of
    // the matching tolerations wins; only when none has one is it forever.
    const bounded = matching.filter((tol) => tol.tolerationSeconds !== undefined && tol.tolerationSeconds !== null);
    if (bounded.length === 0) continue;
    const seconds = Math.min(...bounded.map((tol) => Math.max(0, Number(tol.tolerationSeconds))));
    at = Math.min(at, addedAtMs(taint) + seconds * 1000);
  }
  if (at === Infinity) return { action: 'keep' };
  return at <= nowMs ? { action: 'evict' } : { action: 'wait', atMs: at };
}
