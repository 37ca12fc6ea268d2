// percentageOfNodesToScore (KubeSchedulerConfiguration): in a large cluster
// the scheduler stops filtering once it has found enough feasible nodes and
// scores only those, so the work per pod does not grow with the node count.
// The next cycle starts where the last one stopped (nextStartNodeIndex), so
// every node is considered in turn. Kubernetes' numFeasibleNodesToFind:
// below 100 nodes every node; otherwise the percentage given, or by default
// an adaptive one (50% minus 1% per 125 nodes, at least 5%), and never fewer
// than 100 nodes.

/** Kubernetes' minFeasibleNodesToFind. */
export const MIN_FEASIBLE_NODES_TO_FIND = 100;
/** Kubernetes' minFeasibleNodesPercentageToFind: the adaptive percentage's floor. */
export const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5;
/** 0: the adaptive default. */
export const DEFAULT_PERCENTAGE_OF_NODES_TO_SCORE = 0;

/** How many feasible nodes end the search among numAllNodes; percentage 0 is the adaptive default. */
export function numFeasibleNodesToFind(percentage: number, numAllNodes: number): number {
  if (numAllNodes < MIN_FEASIBLE_NODES_TO_FIND || percentage >= 100) return numAllNodes;
  let p = percentage;
  if (p === 0) p = Math.max(MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND, 50 - Math.trunc(numAllNodes / 125));
  return Math.max(MIN_FEASIBLE_NODES_TO_FIND, Math.trunc((numAllNodes * p) / 100));
}

/** The message when a percentage is out of range, as Kubernetes' validation words it; undefined when valid. */
export function percentageOfNodesToScoreError(percentage: number): string | undefined {
  if (!Number.isInteger(percentage) || percentage < 0 || percentage > 100) return `not in valid range [0-100]: ${percentage}`;
  return undefined;
}

/**
 * The round-robin start of the feasibility search (Kubernetes'
 * nextStartNodeIndex): each search begins where the previous one stopped.
 */
export class NodeSampler {
  private nextStart = 0;

  constructor(private readonly percentage: number = DEFAULT_PERCENTAGE_OF_NODES_TO_SCORE) {
    const err = percentageOfNodesToScoreError(percentage);
    if (err !== undefined) throw new Error(`percentageOfNodesToScore: ${err}`);
  }

  /** Where this cycle's search over numAllNodes starts and how many feasible nodes end it. */
  window(numAllNodes: number): { start: number; want: number } {
    return { start: numAllNodes === 0 ? 0 : this.nextStart % numAllNodes, want: numFeasibleNodesToFind(this.percentage, numAllNodes) };
  }

  /** The search that started at start over numAllNodes filtered processed nodes. */
  advance(start: number, processed: number, numAllNodes: number): void {
    this.nextStart = numAllNodes === 0 ? 0 : (start + processed) % numAllNodes;
  }
}
