// TaintToleration. Filter: a node with a NoSchedule or NoExecute taint the
// pod does not tolerate is out (the reason names the first such taint, as
// Kubernetes does). Score: fewer untolerated PreferNoSchedule taints is
// better, normalized so the node with the most scores 0.

import type { Taint } from '../../api/gen/tsk/v1/core';
import type { NodeTable } from '../framework/node-table';
import type { FilterPlugin, NodeInfo, PodInfo, ScorePlugin, Status } from '../framework/types';
import { MAX_NODE_SCORE, SUCCESS, unschedulable } from '../framework/types';
import { podToleratesTaint } from '../../api/tolerations';

export const TAINT_TOLERATION = 'TaintToleration';

/** Kubernetes' reason: "node(s) had untolerated taint {key: value}". */
export function untoleratedTaintReason(taint: Taint): string {
  return `node(s) had untolerated taint {${taint.key ?? ''}: ${taint.value ?? ''}}`;
}

export const taintTolerationFilter: FilterPlugin = {
  name: TAINT_TOLERATION,
  quickCheck: () => ({ noHardTaints: true }),
  filter(pod: PodInfo, node: NodeInfo): Status {
    // Most nodes have no taints: no iterator for them (this runs for every node searched).
    if (node.taints.length === 0) return SUCCESS;
    for (const taint of node.taints) {
      if (taint.effect !== 'NoSchedule' && taint.effect !== 'NoExecute') continue;
      if (!podToleratesTaint(pod.pod, taint)) return unschedulable(untoleratedTaintReason(taint));
    }
    return SUCCESS;
  },
};

function intolerablePreferNoSchedule(pod: PodInfo, node: NodeInfo): number {
  let count = 0;
  for (const t of node.taints) if (t.effect === 'PreferNoSchedule' && !podToleratesTaint(pod.pod, t)) count++;
  return count;
}

export const taintTolerationScore: ScorePlugin = {
  name: TAINT_TOLERATION,
  score(pod: PodInfo, nodes: readonly NodeInfo[]): number[] {
    // One array, no spread of hundreds of arguments: this runs for every scored node.
    const out = new Array<number>(nodes.length);
    let max = 0;
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i] as NodeInfo;
      const c = n.taints.length === 0 ? 0 : intolerablePreferNoSchedule(pod, n);
      out[i] = c;
      if (c > max) max = c;
    }
    for (let i = 0; i < out.length; i++) out[i] = max === 0 ? MAX_NODE_SCORE : MAX_NODE_SCORE - Math.floor((MAX_NODE_SCORE * (out[i] as number)) / max);
    return out;
  },
  // Without taints on any of the nodes every node scores the maximum; else the pod's tolerations decide (score()).
  scoreRows(_pod: PodInfo, rows: readonly number[], t: NodeTable): number[] | undefined {
    for (const i of rows) if (t.hasTaints(i)) return undefined;
    return new Array<number>(rows.length).fill(MAX_NODE_SCORE);
  },
};
