// PodTopologySpread's Score (Kubernetes' podtopologyspread/scoring.go), for
// the ScheduleAnyway constraints. Feasible nodes without every topology key
// are ignored (score 0). Matching pods are counted per domain of the
// feasible nodes over the whole snapshot (per node for
// kubernetes.io/hostname); a node's raw score is the sum over constraints
// of count * log(domains + 2) + (maxSkew - 1), and fewer is better: scores
// are normalized to 100 * (max + min - s) / max.
//
// A pod without constraints of its own gets Kubernetes' system default
// spreading, which tsk has as OwnerSpread (the pods of its controller); a
// pod with only DoNotSchedule constraints gets no spreading score.

import type { NodeInfo, PodInfo, ScorePlugin } from '../framework/types';
import { CycleState, MAX_NODE_SCORE, SKIP, SUCCESS, type Status } from '../framework/types';
import { pairKey } from './topology-pairs';
import { ownerSpreadScore } from './owner-spread';
import { countMatching, hasAllTopologyKeys, nodeIncluded, POD_TOPOLOGY_SPREAD, type SpreadConstraint, spreadConstraints } from './topology-spread-constraints';

export const LABEL_HOSTNAME = 'kubernetes.io/hostname';

/** Matching pods per domain of the feasible nodes, counted over every node of the cycle (PreScore). */
function domainCounts(pod: PodInfo, constraints: readonly SpreadConstraint[], feasible: readonly NodeInfo[], state: CycleState): Map<string, number> {
  const counts = new Map<string, number>();
  for (const n of feasible) {
    for (const c of constraints) {
      if (c.topologyKey !== LABEL_HOSTNAME) counts.set(pairKey(c.topologyKey, n.node.metadata?.labels?.[c.topologyKey] ?? ''), 0);
    }
  }
  const namespace = pod.pod.metadata?.namespace ?? '';
  for (const n of state.nodes) {
    if (!hasAllTopologyKeys(n.node, constraints)) continue;
    for (const c of constraints) {
      if (!nodeIncluded(c, pod, n)) continue;
      const k = pairKey(c.topologyKey, n.node.metadata?.labels?.[c.topologyKey] ?? '');
      const cur = counts.get(k);
      if (cur !== undefined) counts.set(k, cur + countMatching(n, c.selector, namespace));
    }
  }
  return counts;
}

function scoreConstraints(pod: PodInfo, constraints: readonly SpreadConstraint[], nodes: readonly NodeInfo[], state: CycleState): number[] {
  const considered = nodes.filter((n) => hasAllTopologyKeys(n.node, constraints));
  const counts = domainCounts(pod, constraints, considered, state);
  const weights = constraints.map((c) => {
    const size = c.topologyKey === LABEL_HOSTNAME ? considered.length : new Set(considered.map((n) => n.node.metadata?.labels?.[c.topologyKey])).size;
    return Math.log(size + 2);
  });
  const namespace = pod.pod.metadata?.namespace ?? '';
  const raw = nodes.map((n) => {
    if (!hasAllTopologyKeys(n.node, constraints)) return undefined;
    let score = 0;
    constraints.forEach((c, i) => {
      const value = n.node.metadata?.labels?.[c.topologyKey] ?? '';
      const cnt = c.topologyKey === LABEL_HOSTNAME ? countMatching(n, c.selector, namespace) : (counts.get(pairKey(c.topologyKey, value)) ?? 0);
      score += cnt * (weights[i] ?? 0) + (c.maxSkew - 1);
    });
    return Math.round(score);
  });
  const valid = raw.filter((s): s is number => s !== undefined);
  const min = Math.min(...valid);
  const max = Math.max(0, ...valid);
  return raw.map((s) => (s === undefined ? 0 : max === 0 ? MAX_NODE_SCORE : Math.floor((MAX_NODE_SCORE * (max + min - s)) / max)));
}

export const podTopologySpreadScore: ScorePlugin = {
  name: POD_TOPOLOGY_SPREAD,
  /** Every node scores 0 for a pod without spread constraints and without a controller (nothing to spread against). */
  preScore: (pod: PodInfo): Status => ((pod.pod.spec?.topologySpreadConstraints ?? []).length > 0 || pod.controllerUid !== '' ? SUCCESS : SKIP),
  score(pod: PodInfo, nodes: readonly NodeInfo[], state?: CycleState): number[] {
    if ((pod.pod.spec?.topologySpreadConstraints ?? []).length === 0) return ownerSpreadScore.score(pod, nodes, state);
    const constraints = spreadConstraints(pod, 'ScheduleAnyway');
    if (constraints.length === 0) return nodes.map(() => 0);
    return scoreConstraints(pod, constraints, nodes, state ?? new CycleState(nodes));
  },
};
