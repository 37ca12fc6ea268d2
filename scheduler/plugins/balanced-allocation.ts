// NodeResourcesBalancedAllocation: prefers nodes whose cpu and memory would
// be used in similar shares after placing the pod, so neither runs out while
// the other sits idle. Score = (1 - standard deviation of the shares) * 100;
// for two resources the deviation is half their difference.

import { scoringUsage } from '../framework/resources';
import type { NodeInfo, PodInfo, ScorePlugin } from '../framework/types';
import { MAX_NODE_SCORE } from '../framework/types';

export const BALANCED_ALLOCATION = 'NodeResourcesBalancedAllocation';

function share({ requested, allocatable }: { requested: number; allocatable: number }): number {
  if (allocatable <= 0) return 1;
  return Math.min(1, requested / allocatable);
}

export const balancedAllocationScore: ScorePlugin = {
  name: BALANCED_ALLOCATION,
  score(pod: PodInfo, nodes: readonly NodeInfo[]): number[] {
    return nodes.map((n) => {
      const usage = scoringUsage(pod, n);
      const std = Math.abs(share(usage.cpu) - share(usage.memory)) / 2;
      return Math.floor((1 - std) * MAX_NODE_SCORE);
    });
  },
};
