// NodeResourcesBalancedAllocation: prefers nodes whose cpu and memory would
// be used in similar shares after placing the pod, so neither runs out while
// the other sits idle. Score = (1 - standard deviation of the shares) * 100;
// for two resources the deviation is half their difference.

import type { NodeTable } from '../framework/node-table';
import type { NodeInfo, PodInfo, ScorePlugin } from '../framework/types';
import { MAX_NODE_SCORE } from '../framework/types';

export const BALANCED_ALLOCATION = 'NodeResourcesBalancedAllocation';

function share(requested: number, allocatable: number): number {
  if (allocatable <= 0) return 1;
  return Math.min(1, requested / allocatable);
}

/** The score of one node from its numbers (the pod's non-zero requests added to the node's). */
function balanced(requestedCpu: number, allocatableCpu: number, requestedMemory: number, allocatableMemory: number): number {
  const std = Math.abs(share(requestedCpu, allocatableCpu) - share(requestedMemory, allocatableMemory)) / 2;
  return Math.floor((1 - std) * MAX_NODE_SCORE);
}

export const balancedAllocationScore: ScorePlugin = {
  name: BALANCED_ALLOCATION,
  score(pod: PodInfo, nodes: readonly NodeInfo[]): number[] {
    const { milliCpu, memory } = pod.nonZeroRequests;
    const out = new Array<number>(nodes.length);
    // Called for every scored node: plain numbers, no objects (scoringUsage's sums, inline).
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i] as NodeInfo;
      out[i] = balanced(n.nonZeroRequestedMilliCpu + milliCpu, n.allocatableMilliCpu, n.nonZeroRequestedMemory + memory, n.allocatableMemory);
    }
    return out;
  },
  scoreRows(pod: PodInfo, rows: readonly number[], t: NodeTable): number[] {
    const { milliCpu, memory } = pod.nonZeroRequests;
    const out = new Array<number>(rows.length);
    for (let k = 0; k < rows.length; k++) {
      const i = rows[k] as number;
      out[k] = balanced(t.nonZeroRequestedMilliCpu(i) + milliCpu, t.allocatableMilliCpu(i), t.nonZeroRequestedMemory(i) + memory, t.allocatableMemory(i));
    }
    return out;
  },
};
