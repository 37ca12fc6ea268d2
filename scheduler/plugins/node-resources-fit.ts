// NodeResourcesFit. Filter: the pod's requests must fit in the node's
// allocatable minus what the pods counted on it request, and the node must
// allow one more pod; every shortfall is a reason ("Insufficient cpu",
// "Too many pods"). Score (LeastAllocated): the share of cpu and memory
// left free after placing the pod, counting unset requests at Kubernetes'
// non-zero defaults so that pods without requests still spread.

import type { NodeTable } from '../framework/node-table';
import type { FilterPlugin, NodeInfo, PodInfo, Resource, ScorePlugin, Status } from '../framework/types';
import { MAX_NODE_SCORE, SUCCESS, unschedulable } from '../framework/types';

export const NODE_RESOURCES_FIT = 'NodeResourcesFit';
export const ERR_REASON_TOO_MANY_PODS = 'Too many pods';

export function insufficient(resource: string): string {
  return `Insufficient ${resource}`;
}

/** Every reason the pod does not fit the node's resources (empty when it fits). */
export function fitReasons(pod: PodInfo, node: NodeInfo): string[] {
  const reasons: string[] = [];
  if (node.pods.length + 1 > node.allowedPods) reasons.push(ERR_REASON_TOO_MANY_PODS);
  const req = pod.requests;
  const { allocatable: alloc, requested: used } = node;
  if (req.milliCpu > 0 && req.milliCpu > alloc.milliCpu - used.milliCpu) reasons.push(insufficient('cpu'));
  if (req.memory > 0 && req.memory > alloc.memory - used.memory) reasons.push(insufficient('memory'));
  for (const [name, amount] of Object.entries(req.scalar)) {
    if (amount > 0 && amount > (alloc.scalar[name] ?? 0) - (used.scalar[name] ?? 0)) reasons.push(insufficient(name));
  }
  return reasons;
}

/**
 * The scalar resources (extended resources, ephemeral storage) the last pod
 * asked for: a cycle asks fits() about one pod for hundreds of nodes, and a
 * for-in over its (mostly empty) scalar requests on each was half the cost.
 */
let lastRequests: Resource | undefined;
let lastScalarNames: readonly string[] = [];

function scalarNames(req: Resource): readonly string[] {
  if (req !== lastRequests) {
    lastRequests = req;
    lastScalarNames = Object.keys(req.scalar).filter((name) => (req.scalar[name] ?? 0) > 0);
  }
  return lastScalarNames;
}

/** Whether the pod fits, without building the reasons: the common answer, asked for every node searched. */
function fits(pod: PodInfo, node: NodeInfo): boolean {
  const req = pod.requests;
  // The NodeInfo's own fields (see NodeInfo): this runs for every node searched.
  if (node.podCount + 1 > node.allowedPods) return false;
  if (req.milliCpu > 0 && req.milliCpu > node.allocatableMilliCpu - node.requestedMilliCpu) return false;
  if (req.memory > 0 && req.memory > node.allocatableMemory - node.requestedMemory) return false;
  const names = scalarNames(req);
  if (names.length === 0) return true;
  const { allocatable: alloc, requested: used } = node;
  for (const name of names) {
    if ((req.scalar[name] ?? 0) > (alloc.scalar[name] ?? 0) - (used.scalar[name] ?? 0)) return false;
  }
  return true;
}

export const nodeResourcesFit: FilterPlugin = {
  name: NODE_RESOURCES_FIT,
  // The row has cpu, memory and the pod count; a pod asking for other resources gets the full filter.
  quickCheck: (pod) => (scalarNames(pod.requests).length === 0 ? { fit: { milliCpu: pod.requests.milliCpu, memory: pod.requests.memory } } : undefined),
  filter(pod: PodInfo, node: NodeInfo): Status {
    if (fits(pod, node)) return SUCCESS;
    const reasons = fitReasons(pod, node);
    return reasons.length === 0 ? SUCCESS : unschedulable(...reasons);
  },
};

/** Free share after placing the pod, 0..100 (0 when the node offers none or would be over-committed). */
function leastRequested(requested: number, allocatable: number): number {
  if (allocatable <= 0 || requested > allocatable) return 0;
  return Math.floor(((allocatable - requested) * MAX_NODE_SCORE) / allocatable);
}

export const leastAllocatedScore: ScorePlugin = {
  name: NODE_RESOURCES_FIT,
  score(pod: PodInfo, nodes: readonly NodeInfo[]): number[] {
    const { milliCpu, memory } = pod.nonZeroRequests;
    const out = new Array<number>(nodes.length);
    // Called for every scored node: plain numbers, no objects (scoringUsage's sums, inline).
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i] as NodeInfo;
      const cpu = leastRequested(n.nonZeroRequestedMilliCpu + milliCpu, n.allocatableMilliCpu);
      out[i] = Math.floor((cpu + leastRequested(n.nonZeroRequestedMemory + memory, n.allocatableMemory)) / 2);
    }
    return out;
  },
  scoreRows(pod: PodInfo, rows: readonly number[], t: NodeTable): number[] {
    const { milliCpu, memory } = pod.nonZeroRequests;
    const out = new Array<number>(rows.length);
    for (let k = 0; k < rows.length; k++) {
      const i = rows[k] as number;
      const cpu = leastRequested(t.nonZeroRequestedMilliCpu(i) + milliCpu, t.allocatableMilliCpu(i));
      out[k] = Math.floor((cpu + leastRequested(t.nonZeroRequestedMemory(i) + memory, t.allocatableMemory(i))) / 2);
    }
    return out;
  },
};
