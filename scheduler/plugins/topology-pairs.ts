// Counts per topology pair (a node label key=value, Kubernetes'
// topologyPair), shared by InterPodAffinity and PodTopologySpread.

import type { Node } from '../../api/gen/tsk/v1/core';

/** Counts keyed by pairKey(). */
export type TopologyCounts = Map<string, number>;

/** One map key per pair: label keys cannot hold NUL, so "key\0value" is unambiguous. */
export function pairKey(key: string, value: string): string {
  return `${key}\0${value}`;
}

/** Adds `by` to the node's pair for `key`; a node without the label counts nowhere (Kubernetes' topologyToMatchedTermCount.update). */
export function addForNode(counts: TopologyCounts, node: Node, key: string, by: number): void {
  const value = node.metadata?.labels?.[key];
  if (value === undefined) return;
  const k = pairKey(key, value);
  counts.set(k, (counts.get(k) ?? 0) + by);
}
