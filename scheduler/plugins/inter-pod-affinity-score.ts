// InterPodAffinity's Score (Kubernetes' interpodaffinity/scoring.go). Per
// topology pair, over the whole snapshot once (PreScore):
// - + weight for each existing pod matching a preferred affinity term of the
//   incoming pod, - weight for each matching a preferred anti-affinity term;
// - + HARD_POD_AFFINITY_WEIGHT for each existing pod whose required affinity
//   term the incoming pod matches, and +/- weight for existing pods'
//   preferred (anti-)affinity terms the incoming pod matches (symmetry).
// Without preferences of its own, only nodes' pods with affinity are read.
// A node scores the sum over its labels' pairs; the sums are scaled to
// 0..100 between the lowest and the highest (NormalizeScore).

import type { Labels } from '../../api/labels';
import type { NodeInfo, PodInfo, ScorePlugin } from '../framework/types';
import { CycleState, MAX_NODE_SCORE, SKIP, SUCCESS, type Status } from '../framework/types';
import { mergeNamespaces, podAffinityTerms, termMatches, type WeightedAffinityTerm } from './affinity-terms';
import { INTER_POD_AFFINITY } from './inter-pod-affinity';
import { addForNode, pairKey, type TopologyCounts } from './topology-pairs';

/** Kubernetes' default hardPodAffinityWeight (InterPodAffinityArgs): 1. */
export const HARD_POD_AFFINITY_WEIGHT = 1;

interface Incoming {
  readonly pod: PodInfo;
  readonly preferredAffinity: readonly WeightedAffinityTerm[];
  readonly preferredAntiAffinity: readonly WeightedAffinityTerm[];
  readonly nsLabels: Labels | undefined;
}

/** Kubernetes' processExistingPod. */
function processExisting(scores: TopologyCounts, incoming: Incoming, existing: PodInfo, node: NodeInfo): void {
  if (Object.keys(node.node.metadata?.labels ?? {}).length === 0) return;
  for (const w of incoming.preferredAffinity) if (termMatches(w.term, existing.pod, undefined)) addForNode(scores, node.node, w.term.topologyKey, w.weight);
  for (const w of incoming.preferredAntiAffinity)
    if (termMatches(w.term, existing.pod, undefined)) addForNode(scores, node.node, w.term.topologyKey, -w.weight);
  const theirs = podAffinityTerms(existing.pod);
  const pod = incoming.pod.pod;
  for (const t of theirs.requiredAffinity) if (termMatches(t, pod, incoming.nsLabels)) addForNode(scores, node.node, t.topologyKey, HARD_POD_AFFINITY_WEIGHT);
  for (const w of theirs.preferredAffinity) if (termMatches(w.term, pod, incoming.nsLabels)) addForNode(scores, node.node, w.term.topologyKey, w.weight);
  for (const w of theirs.preferredAntiAffinity) if (termMatches(w.term, pod, incoming.nsLabels)) addForNode(scores, node.node, w.term.topologyKey, -w.weight);
}

/** The per-pair scores over every node of the cycle. */
export function topologyScores(pod: PodInfo, state: CycleState): TopologyCounts {
  const terms = podAffinityTerms(pod.pod);
  const merge = (w: WeightedAffinityTerm): WeightedAffinityTerm => ({ ...w, term: mergeNamespaces(w.term, state.namespaces) });
  const incoming: Incoming = {
    pod,
    preferredAffinity: terms.preferredAffinity.map(merge),
    preferredAntiAffinity: terms.preferredAntiAffinity.map(merge),
    nsLabels: state.namespaces.labels(pod.pod.metadata?.namespace ?? ''),
  };
  const hasPreferences = incoming.preferredAffinity.length > 0 || incoming.preferredAntiAffinity.length > 0;
  const scores: TopologyCounts = new Map();
  for (const n of hasPreferences ? state.nodes : state.nodesWithAffinity) {
    for (const existing of hasPreferences ? n.pods : n.podsWithAffinity) processExisting(scores, incoming, existing, n);
  }
  return scores;
}

export const interPodAffinityScore: ScorePlugin = {
  name: INTER_POD_AFFINITY,
  /** Every node scores 0 when the pod has no preferences and no existing pod has affinity terms (Kubernetes' PreScore Skip). */
  preScore(pod: PodInfo, state: CycleState): Status {
    const terms = podAffinityTerms(pod.pod);
    return terms.preferredAffinity.length > 0 || terms.preferredAntiAffinity.length > 0 || state.nodesWithAffinity.length > 0 ? SUCCESS : SKIP;
  },
  score(pod: PodInfo, nodes: readonly NodeInfo[], state?: CycleState): number[] {
    const scores = topologyScores(pod, state ?? new CycleState(nodes));
    if (scores.size === 0) return nodes.map(() => 0);
    const raw = nodes.map((n) => Object.entries(n.node.metadata?.labels ?? {}).reduce((sum, [k, v]) => sum + (scores.get(pairKey(k, v)) ?? 0), 0));
    const min = Math.min(...raw);
    const diff = Math.max(...raw) - min;
    return raw.map((s) => (diff > 0 ? Math.floor((MAX_NODE_SCORE * (s - min)) / diff) : 0));
  },
};
