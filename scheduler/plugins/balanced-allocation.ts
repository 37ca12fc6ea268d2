// NodeResourcesBalancedAllocation: prefers nodes whose cpu and memory would
// be used in similar shares after placing the pod, so neither runs out while
// the other sits idle. Score = (1 - standard deviation of the shares) * 100;
// for two resources the deviation is half their difference.

import type { NodeInfo, PodInfo, ScorePlugin } from '../framework/types';
import { MAX_NODE_SCORE } from '../framework/types';

export const BALANCED_ALLOCATION = 'NodeResourcesBalancedAllocation';

function share(requested: number, allocatable: number): number {
  if (allocatable <= 0) return 1;
  return Math.min(1, requested / allocatable);
}

export const balancedAllocationScore: ScorePlugin = {
  name: BALANCED_ALLOCATION,
  score(pod: PodInfo, nodes: readonly NodeInfo[]): number[] {
    const { milliCpu, memory } = pod.nonZeroRequests;
    const out = new Array<number>(nodes.length);
    // Called for every scored node: plain numbers, no objects (scoringUsage's sums, inline).
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i] as NodeInfo;
      const cpu = share(n.nonZeroRequestedMilliCpu + milliCpu, n.allocatableMilliCpu);
      const std = Math.abs(cpu - share(n.nonZeroRequestedMemory + memory, n.allocatableMemory)) / 2;
      out[i] = Math.floor((1 - std) * MAX_NODE_SCORE);
    }
    return out;
  },
};
