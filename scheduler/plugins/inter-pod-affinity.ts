// InterPodAffinity's Filter (Kubernetes' interpodaffinity/filtering.go).
// PreFilter counts, per topology pair (key=value of a node label), over the
// whole snapshot once:
// - existing pods' required anti-affinity terms the incoming pod matches
//   (the symmetry: a pod may not land where an existing pod refuses it),
//   from only the nodes holding such pods;
// - existing pods matching all the incoming pod's required affinity terms,
//   and those matching each of its required anti-affinity terms.
// Filter then looks up the node's pairs: O(terms) per node.
//
// A pod whose required affinity no existing pod satisfies may still go
// where it would satisfy itself (the first of a group that attracts
// itself), as Kubernetes allows.

import type { Node } from '../../api/gen/tsk/v1/core';
import type { CycleState, FilterPlugin, NodeInfo, PodInfo, StateKey, Status } from '../framework/types';
import { SKIP, SUCCESS, unschedulable } from '../framework/types';
import { type AffinityTerm, matchesAllTerms, mergeNamespaces, podAffinityTerms, termMatches } from './affinity-terms';
import { addForNode, pairKey, type TopologyCounts } from './topology-pairs';

export const INTER_POD_AFFINITY = 'InterPodAffinity';
export const ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH = "node(s) didn't satisfy existing pods anti-affinity rules";
export const ERR_REASON_AFFINITY_RULES_NOT_MATCH = "node(s) didn't match pod affinity rules";
export const ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH = "node(s) didn't match pod anti-affinity rules";

interface PreFilterState {
  readonly requiredAffinity: readonly AffinityTerm[];
  readonly requiredAntiAffinity: readonly AffinityTerm[];
  readonly existingAntiAffinityCounts: TopologyCounts;
  readonly affinityCounts: TopologyCounts;
  readonly antiAffinityCounts: TopologyCounts;
  readonly matchesOwnAffinity: boolean;
}

const STATE: StateKey<PreFilterState> = { name: 'PreFilterInterPodAffinity' };

function existingAntiAffinityCounts(pod: PodInfo, state: CycleState): TopologyCounts {
  const counts: TopologyCounts = new Map();
  const nsLabels = state.namespaces.labels(pod.pod.metadata?.namespace ?? '');
  for (const n of state.nodesWithRequiredAntiAffinity) {
    for (const existing of n.podsWithRequiredAntiAffinity) {
      for (const t of podAffinityTerms(existing.pod).requiredAntiAffinity) if (termMatches(t, pod.pod, nsLabels)) addForNode(counts, n.node, t.topologyKey, 1);
    }
  }
  return counts;
}

function incomingCounts(affinity: readonly AffinityTerm[], anti: readonly AffinityTerm[], nodes: readonly NodeInfo[]): [TopologyCounts, TopologyCounts] {
  const aff: TopologyCounts = new Map();
  const antiCounts: TopologyCounts = new Map();
  if (affinity.length === 0 && anti.length === 0) return [aff, antiCounts];
  for (const n of nodes) {
    for (const existing of n.pods) {
      if (matchesAllTerms(affinity, existing.pod)) for (const t of affinity) addForNode(aff, n.node, t.topologyKey, 1);
      for (const t of anti) if (termMatches(t, existing.pod, undefined)) addForNode(antiCounts, n.node, t.topologyKey, 1);
    }
  }
  return [aff, antiCounts];
}

function preFilter(pod: PodInfo, state: CycleState): Status {
  const terms = podAffinityTerms(pod.pod);
  // No terms of its own and no existing pod refusing it: nothing to check on any node.
  const existing = existingAntiAffinityCounts(pod, state);
  if (terms.requiredAffinity.length === 0 && terms.requiredAntiAffinity.length === 0 && existing.size === 0) return SKIP;
  const requiredAffinity = terms.requiredAffinity.map((t) => mergeNamespaces(t, state.namespaces));
  const requiredAntiAffinity = terms.requiredAntiAffinity.map((t) => mergeNamespaces(t, state.namespaces));
  const [affinityCounts, antiAffinityCounts] = incomingCounts(requiredAffinity, requiredAntiAffinity, state.nodes);
  state.write(STATE, {
    requiredAffinity,
    requiredAntiAffinity,
    existingAntiAffinityCounts: existing,
    affinityCounts,
    antiAffinityCounts,
    matchesOwnAffinity: matchesAllTerms(requiredAffinity, pod.pod),
  });
  return SUCCESS;
}

function satisfiesPodAffinity(s: PreFilterState, node: Node): boolean {
  const labels = node.metadata?.labels ?? {};
  let podsExist = true;
  for (const t of s.requiredAffinity) {
    const value = labels[t.topologyKey];
    // Every topology label must exist on the node.
    if (value === undefined) return false;
    if ((s.affinityCounts.get(pairKey(t.topologyKey, value)) ?? 0) <= 0) podsExist = false;
  }
  // The first pod of a group with affinity to itself: no pod anywhere matches yet.
  return podsExist || (s.affinityCounts.size === 0 && s.matchesOwnAffinity);
}

function satisfiesPodAntiAffinity(s: PreFilterState, node: Node): boolean {
  if (s.antiAffinityCounts.size === 0) return true;
  const labels = node.metadata?.labels ?? {};
  return s.requiredAntiAffinity.every((t) => {
    const value = labels[t.topologyKey];
    return value === undefined || (s.antiAffinityCounts.get(pairKey(t.topologyKey, value)) ?? 0) <= 0;
  });
}

function satisfiesExistingAntiAffinity(s: PreFilterState, node: Node): boolean {
  if (s.existingAntiAffinityCounts.size === 0) return true;
  return Object.entries(node.metadata?.labels ?? {}).every(([k, v]) => (s.existingAntiAffinityCounts.get(pairKey(k, v)) ?? 0) <= 0);
}

export const interPodAffinityFilter: FilterPlugin = {
  name: INTER_POD_AFFINITY,
  preFilter,
  filter(_pod: PodInfo, node: NodeInfo, state?: CycleState): Status {
    const s = state?.read(STATE);
    if (!s) throw new Error('invariant: InterPodAffinity Filter ran without its PreFilter');
    if (!satisfiesPodAffinity(s, node.node)) return unschedulable(ERR_REASON_AFFINITY_RULES_NOT_MATCH);
    if (!satisfiesPodAntiAffinity(s, node.node)) return unschedulable(ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH);
    if (!satisfiesExistingAntiAffinity(s, node.node)) return unschedulable(ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH);
    return SUCCESS;
  },
};
