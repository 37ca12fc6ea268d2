// Which surplus pods go first when an RC scales down (Kubernetes'
// controller.ActivePodsWithRanks): the pods whose loss hurts least.
//  1. unassigned before assigned
//  2. Pending before Unknown before Running
//  3. not ready before ready
//  4. lower pod-deletion-cost annotation before higher
//  5. more of this RC's pods on the same node (doubled up) before fewer
//  6. ready for less time before ready for longer
//  7. more container restarts before fewer
//  8. newer before older (no creation time first)

import type { Pod } from '../../api/gen/tsk/v1/core';
import { isReady, maxRestarts, readySince } from './pods';

export const POD_DELETION_COST_ANNOTATION = 'controller.kubernetes.io/pod-deletion-cost';

const PHASE_ORDER: Readonly<Record<string, number>> = { Pending: 0, Unknown: 1, Running: 2 };

function phaseOrdinal(pod: Pod): number {
  return PHASE_ORDER[pod.status?.phase ?? ''] ?? 0;
}

function deletionCost(pod: Pod): number {
  const v = pod.metadata?.annotations?.[POD_DELETION_COST_ANNOTATION];
  if (v === undefined || !/^-?\d+$/.test(v)) return 0;
  return Number(v);
}

function created(pod: Pod): number | undefined {
  const ts = pod.metadata?.creationTimestamp;
  if (!ts) return undefined;
  const t = Date.parse(ts);
  return Number.isNaN(t) ? undefined : t;
}

/** Go's afterOrZero: a zero time first, else the later one first. Negative when a goes first. */
function newerFirst(a: number | undefined, b: number | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  return b - a;
}

/** Compares two ranked pods: negative when a should be deleted before b. */
function compare(a: Pod, rankA: number, b: Pod, rankB: number): number {
  const nodeA = a.spec?.nodeName ?? '';
  const nodeB = b.spec?.nodeName ?? '';
  if (nodeA !== nodeB && (nodeA === '' || nodeB === '')) return nodeA === '' ? -1 : 1;
  const phase = phaseOrdinal(a) - phaseOrdinal(b);
  if (phase !== 0) return phase;
  const readyA = isReady(a);
  const readyB = isReady(b);
  if (readyA !== readyB) return readyA ? 1 : -1;
  const cost = deletionCost(a) - deletionCost(b);
  if (cost !== 0) return cost;
  if (rankA !== rankB) return rankB - rankA;
  if (readyA && readyB) {
    const r = newerFirst(readySince(a), readySince(b));
    if (r !== 0) return r;
  }
  const restarts = maxRestarts(b) - maxRestarts(a);
  if (restarts !== 0) return restarts;
  return newerFirst(created(a), created(b));
}

/**
 * The `count` pods to delete out of `pods` (active pods of one RC). Each
 * pod's rank is how many of `related` (the RC's pods) share its node.
 */
export function podsToDelete(pods: readonly Pod[], related: readonly Pod[], count: number): Pod[] {
  if (count >= pods.length) return [...pods];
  const perNode = new Map<string, number>();
  for (const p of related) {
    const node = p.spec?.nodeName;
    if (node) perNode.set(node, (perNode.get(node) ?? 0) + 1);
  }
  const ranked = pods.map((pod) => ({ pod, rank: pod.spec?.nodeName ? (perNode.get(pod.spec.nodeName) ?? 0) : 0 }));
  ranked.sort((x, y) => compare(x.pod, x.rank, y.pod, y.rank));
  return ranked.slice(0, count).map((r) => r.pod);
}
