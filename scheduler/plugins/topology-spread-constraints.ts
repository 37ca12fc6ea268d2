// PodTopologySpread's constraints as the scheduler uses them (Kubernetes'
// podtopologyspread/common.go): a pod's constraints of one
// whenUnsatisfiable, each with its selector (matchLabelKeys merged in from
// the pod's labels), minDomains (1 when unset) and node inclusion policies
// (nodeAffinityPolicy Honor and nodeTaintsPolicy Ignore when unset); the
// nodes that count as domains; and the count of matching pods on a node.

import type { Node } from '../../api/gen/tsk/v1/core';
import { LabelSelector, labelSelectorAsSelector, type Requirement } from '../../api/labels';
import type { NodeInfo, PodInfo } from '../framework/types';
import { nodeSelector } from './node-selector';
import { taintTolerationFilter } from './taint-toleration';

export const POD_TOPOLOGY_SPREAD = 'PodTopologySpread';

export interface SpreadConstraint {
  readonly maxSkew: number;
  readonly topologyKey: string;
  /** undefined: an unset labelSelector, which matches no pod. */
  readonly selector: LabelSelector | undefined;
  readonly minDomains: number;
  readonly honorNodeAffinity: boolean;
  readonly honorNodeTaints: boolean;
}

/** The pod's constraints whose whenUnsatisfiable is `when`. */
export function spreadConstraints(pod: PodInfo, when: 'DoNotSchedule' | 'ScheduleAnyway'): SpreadConstraint[] {
  const labels = pod.pod.metadata?.labels ?? {};
  return (pod.pod.spec?.topologySpreadConstraints ?? [])
    .filter((c) => c.whenUnsatisfiable === when)
    .map((c) => {
      let selector = labelSelectorAsSelector(c.labelSelector);
      const extra: Requirement[] = (c.matchLabelKeys ?? []).flatMap((key) => {
        const v = labels[key];
        return v === undefined ? [] : [{ key, operator: 'in' as const, values: [v] }];
      });
      if (selector && extra.length > 0) selector = new LabelSelector([...selector.requirements, ...extra]);
      return {
        maxSkew: c.maxSkew ?? 0,
        topologyKey: c.topologyKey ?? '',
        selector,
        minDomains: c.minDomains ?? 1,
        honorNodeAffinity: (c.nodeAffinityPolicy || 'Honor') === 'Honor',
        honorNodeTaints: (c.nodeTaintsPolicy || 'Ignore') === 'Honor',
      };
    });
}

/** Whether the node has every constraint's topology key (Kubernetes' nodeLabelsMatchSpreadConstraints). */
export function hasAllTopologyKeys(node: Node, constraints: readonly SpreadConstraint[]): boolean {
  const labels = node.metadata?.labels ?? {};
  return constraints.every((c) => Object.prototype.hasOwnProperty.call(labels, c.topologyKey));
}

/** Kubernetes' matchNodeInclusionPolicies: whether the node counts as a domain of the constraint for this pod. */
export function nodeIncluded(c: SpreadConstraint, pod: PodInfo, node: NodeInfo): boolean {
  if (c.honorNodeAffinity && nodeSelector.filter(pod, node).code !== 'Success') return false;
  if (c.honorNodeTaints && taintTolerationFilter.filter(pod, node).code !== 'Success') return false;
  return true;
}

/**
 * Kubernetes' countPodsMatchSelector: the node's pods of the namespace that
 * match, terminating pods left out; an empty selector counts none.
 */
export function countMatching(node: NodeInfo, selector: LabelSelector | undefined, namespace: string): number {
  if (selector === undefined || selector.empty()) return 0;
  let n = 0;
  for (const p of node.pods) {
    const meta = p.pod.metadata;
    if (meta?.deletionTimestamp || (meta?.namespace ?? '') !== namespace) continue;
    if (selector.matches(meta?.labels ?? {})) n++;
  }
  return n;
}
