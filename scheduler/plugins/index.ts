// The default profile: filters in Kubernetes' order (cheap checks first) and
// scores with Kubernetes' default weights (TaintToleration 3, NodeAffinity,
// PodTopologySpread and InterPodAffinity 2, the resource scores 1).

import type { FilterPlugin, WeightedScorePlugin } from '../framework/types';
import { balancedAllocationScore } from './balanced-allocation';
import { nodeName } from './node-name';
import { nodePorts } from './node-ports';
import { nodeAffinityScore } from './node-affinity-score';
import { leastAllocatedScore, nodeResourcesFit } from './node-resources-fit';
import { nodeSelector } from './node-selector';
import { nodeUnschedulable } from './node-unschedulable';
import { interPodAffinityFilter } from './inter-pod-affinity';
import { interPodAffinityScore } from './inter-pod-affinity-score';
import { podTopologySpreadFilter } from './pod-topology-spread';
import { podTopologySpreadScore } from './pod-topology-spread-score';
import { taintTolerationFilter, taintTolerationScore } from './taint-toleration';

export const DEFAULT_FILTERS: readonly FilterPlugin[] = [
  nodeUnschedulable,
  nodeName,
  taintTolerationFilter,
  nodeSelector,
  nodePorts,
  nodeResourcesFit,
  podTopologySpreadFilter,
  interPodAffinityFilter,
];

export const DEFAULT_SCORES: readonly WeightedScorePlugin[] = [
  { plugin: taintTolerationScore, weight: 3 },
  { plugin: nodeAffinityScore, weight: 2 },
  { plugin: podTopologySpreadScore, weight: 2 },
  { plugin: interPodAffinityScore, weight: 2 },
  { plugin: leastAllocatedScore, weight: 1 },
  { plugin: balancedAllocationScore, weight: 1 },
];
