// NodeUnschedulable: a cordoned node (spec.unschedulable) takes no new pods,
// unless the pod tolerates the node.kubernetes.io/unschedulable:NoSchedule
// taint (as DaemonSet pods do).

import type { FilterPlugin, NodeInfo, PodInfo, Status } from '../framework/types';
import { SUCCESS, unschedulable } from '../framework/types';
import { podToleratesTaint } from '../../api/tolerations';

export const NODE_UNSCHEDULABLE = 'NodeUnschedulable';
export const ERR_REASON_UNSCHEDULABLE = 'node(s) were unschedulable';
export const TAINT_NODE_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';

export const nodeUnschedulable: FilterPlugin = {
  name: NODE_UNSCHEDULABLE,
  quickCheck: () => ({ schedulable: true }),
  filter(pod: PodInfo, node: NodeInfo): Status {
    if (!node.unschedulable) return SUCCESS;
    if (podToleratesTaint(pod.pod, { key: TAINT_NODE_UNSCHEDULABLE, effect: 'NoSchedule' })) return SUCCESS;
    return unschedulable(ERR_REASON_UNSCHEDULABLE);
  },
};
