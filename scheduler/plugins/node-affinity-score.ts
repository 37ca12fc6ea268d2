// NodeAffinity's score: a node earns the weight of every
// preferredDuringSchedulingIgnoredDuringExecution term it matches, and the
// sums are scaled so the best node scores 100 (Kubernetes'
// DefaultNormalizeScore; all 0 when no node matches any term).

import type { NodeInfo, PodInfo, ScorePlugin } from '../framework/types';
import { MAX_NODE_SCORE, SKIP, SUCCESS, type Status } from '../framework/types';
import { NODE_AFFINITY } from './node-selector';
import { termMatches } from './node-selector-terms';

export const nodeAffinityScore: ScorePlugin = {
  name: NODE_AFFINITY,
  /** Every node scores 0 for a pod without preferred node affinity. */
  preScore: (pod: PodInfo): Status =>
    (pod.pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).length > 0 ? SUCCESS : SKIP,
  score(pod: PodInfo, nodes: readonly NodeInfo[]): number[] {
    const terms = pod.pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
    if (terms.length === 0) return new Array<number>(nodes.length).fill(0);
    const sums = nodes.map((n) => terms.reduce((sum, t) => (termMatches(t.preference, n.node) ? sum + (t.weight ?? 0) : sum), 0));
    const max = Math.max(0, ...sums);
    return sums.map((s) => (max === 0 ? 0 : Math.floor((MAX_NODE_SCORE * s) / max)));
  },
};
