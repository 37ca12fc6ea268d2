// NodeName: a pod that names its node (spec.nodeName) fits only that node.
// The scheduler's queue takes only pods without a nodeName, so this guards
// the framework's contract for any caller that filters a named pod.

import type { FilterPlugin, NodeInfo, PodInfo, Status } from '../framework/types';
import { SKIP, SUCCESS, unschedulable } from '../framework/types';

export const NODE_NAME = 'NodeName';
export const ERR_REASON_NODE_NAME = "node(s) didn't match the requested node name";

export const nodeName: FilterPlugin = {
  name: NODE_NAME,
  /** Nothing to check for a pod that names no node. */
  preFilter: (pod: PodInfo): Status => (pod.pod.spec?.nodeName ? SUCCESS : SKIP),
  filter(pod: PodInfo, node: NodeInfo): Status {
    const wanted = pod.pod.spec?.nodeName;
    return !wanted || wanted === node.name ? SUCCESS : unschedulable(ERR_REASON_NODE_NAME);
  },
};
