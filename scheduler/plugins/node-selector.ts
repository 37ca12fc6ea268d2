// NodeAffinity's filter (Kubernetes' name for the plugin that also checks
// nodeSelector): every key=value of the pod's spec.nodeSelector must be a
// label of the node, and the node must match one of the terms of
// spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.

import type { FilterPlugin, NodeInfo, PodInfo, Status } from '../framework/types';
import { SKIP, SUCCESS, unschedulable } from '../framework/types';
import { selectorMatches } from './node-selector-terms';

export const NODE_AFFINITY = 'NodeAffinity';
export const ERR_REASON_NODE_SELECTOR = "node(s) didn't match Pod's node affinity/selector";

export const nodeSelector: FilterPlugin = {
  name: NODE_AFFINITY,
  /** Nothing to check for a pod without nodeSelector or required node affinity. */
  preFilter(pod: PodInfo): Status {
    const selector = pod.pod.spec?.nodeSelector ?? {};
    const required = pod.pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
    return Object.keys(selector).length > 0 || required !== undefined ? SUCCESS : SKIP;
  },
  filter(pod: PodInfo, node: NodeInfo): Status {
    const labels = node.node.metadata?.labels ?? {};
    for (const [key, value] of Object.entries(pod.pod.spec?.nodeSelector ?? {})) {
      if (!Object.prototype.hasOwnProperty.call(labels, key) || labels[key] !== value) return unschedulable(ERR_REASON_NODE_SELECTOR);
    }
    const required = pod.pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
    if (required !== undefined && !selectorMatches(required, node.node)) return unschedulable(ERR_REASON_NODE_SELECTOR);
    return SUCCESS;
  },
};
