// OwnerSpread: pods of one controller (the owner reference marked
// controller, e.g. a ReplicationController) go preferably to the nodes that
// have the fewest of them, so losing a node loses few replicas. This is
// what Kubernetes' SelectorSpread / default PodTopologySpread achieve per
// hostname: score = 100 * (max - count) / max over the feasible nodes.
// A pod without a controller gets 0 everywhere (no preference).

import type { NodeInfo, PodInfo, ScorePlugin } from '../framework/types';
import { MAX_NODE_SCORE } from '../framework/types';

export const OWNER_SPREAD = 'OwnerSpread';

export const ownerSpreadScore: ScorePlugin = {
  name: OWNER_SPREAD,
  score(pod: PodInfo, nodes: readonly NodeInfo[]): number[] {
    if (!pod.controllerUid) return nodes.map(() => 0);
    const counts = nodes.map((n) => n.controllerCounts.get(pod.controllerUid) ?? 0);
    const max = Math.max(0, ...counts);
    return counts.map((c) => (max === 0 ? MAX_NODE_SCORE : Math.floor((MAX_NODE_SCORE * (max - c)) / max)));
  },
};
