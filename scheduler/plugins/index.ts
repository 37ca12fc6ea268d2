// The default profile: filters in Kubernetes' order (cheap checks first) and
// scores with Kubernetes' default weights (PodTopologySpread's 2 for the
// owner spread, TaintToleration 3, NodeAffinity 2, the resource scores 1).

import type { FilterPlugin, WeightedScorePlugin } from '../framework/types';
import { balancedAllocationScore } from './balanced-allocation';
import { nodeName } from './node-name';
import { nodePorts } from './node-ports';
import { nodeAffinityScore } from './node-affinity-score';
import { leastAllocatedScore, nodeResourcesFit } from './node-resources-fit';
import { nodeSelector } from './node-selector';
import { nodeUnschedulable } from './node-unschedulable';
import { ownerSpreadScore } from './owner-spread';
import { taintTolerationFilter, taintTolerationScore } from './taint-toleration';

export const DEFAULT_FILTERS: readonly FilterPlugin[] = [nodeUnschedulable, nodeName, taintTolerationFilter, nodeSelector, nodePorts, nodeResourcesFit];

export const DEFAULT_SCORES: readonly WeightedScorePlugin[] = [
  { plugin: taintTolerationScore, weight: 3 },
  { plugin: nodeAffinityScore, weight: 2 },
  { plugin: ownerSpreadScore, weight: 2 },
  { plugin: leastAllocatedScore, weight: 1 },
  { plugin: balancedAllocationScore, weight: 1 },
];
