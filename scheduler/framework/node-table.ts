// The numbers the common filters read of every node searched, packed in one
// Float64Array in the snapshot's node order: a cycle at 5,000 nodes searches
// 500 of them, and reaching each NodeInfo object (scattered over the heap,
// evicted from the CPU caches by the informers' and gRPC's allocations
// between two visits) cost more than the filters' own work. A row is read
// sequentially, 64 bytes per node.
//
// A filter plugin may offer a QuickCheck for a pod: conditions on a row
// that, when they hold, mean its filter() answers Success on that node. When
// every active filter offers one, the framework tests the rows and calls the
// plugins only for the nodes that fail the test (for their exact reasons).
// Likewise a score plugin may score the feasible nodes from their rows
// (scoreRows), with the same arithmetic as its score().

import type { NodeInfo, PodInfo } from './types';

/** Conditions on a node's row; each set one must hold. */
export interface QuickCheck {
  /** The node is not cordoned (spec.unschedulable). */
  readonly schedulable?: boolean;
  /** The node has no NoSchedule or NoExecute taint. */
  readonly noHardTaints?: boolean;
  /** The node allows one more pod and has this much cpu and memory free (0: not asked). */
  readonly fit?: { readonly milliCpu: number; readonly memory: number };
}

/** Offered by a filter plugin: undefined when no row test can stand for its filter() for this pod. */
export type QuickCheckOf = (pod: PodInfo) => QuickCheck | undefined;

const STRIDE = 10;
const FLAGS = 0;
const POD_COUNT = 1;
const ALLOWED_PODS = 2;
const ALLOCATABLE_CPU = 3;
const REQUESTED_CPU = 4;
const ALLOCATABLE_MEMORY = 5;
const REQUESTED_MEMORY = 6;
const NON_ZERO_REQUESTED_CPU = 7;
const NON_ZERO_REQUESTED_MEMORY = 8;

const UNSCHEDULABLE = 1;
const HARD_TAINTS = 2;
const ANY_TAINTS = 4;

/** Several QuickChecks as one: every condition of each. */
export function combineQuickChecks(checks: readonly QuickCheck[]): QuickCheck {
  let schedulable = false;
  let noHardTaints = false;
  let fit: { milliCpu: number; memory: number } | undefined;
  for (const c of checks) {
    schedulable ||= c.schedulable === true;
    noHardTaints ||= c.noHardTaints === true;
    if (c.fit) fit = { milliCpu: Math.max(fit?.milliCpu ?? 0, c.fit.milliCpu), memory: Math.max(fit?.memory ?? 0, c.fit.memory) };
  }
  return { schedulable, noHardTaints, ...(fit ? { fit } : {}) };
}

export class NodeTable {
  private data = new Float64Array(STRIDE * 64);

  /** Writes row `i` from the node's info (row i stands for snapshot.nodes[i]). */
  set(i: number, info: NodeInfo): void {
    if ((i + 1) * STRIDE > this.data.length) {
      const grown = new Float64Array(Math.max(this.data.length * 2, (i + 1) * STRIDE));
      grown.set(this.data);
      this.data = grown;
    }
    const o = i * STRIDE;
    const d = this.data;
    let hard = false;
    for (const t of info.taints) if (t.effect === 'NoSchedule' || t.effect === 'NoExecute') hard = true;
    d[o + FLAGS] = (info.unschedulable ? UNSCHEDULABLE : 0) | (hard ? HARD_TAINTS : 0) | (info.taints.length > 0 ? ANY_TAINTS : 0);
    d[o + POD_COUNT] = info.podCount;
    d[o + ALLOWED_PODS] = info.allowedPods;
    d[o + ALLOCATABLE_CPU] = info.allocatableMilliCpu;
    d[o + REQUESTED_CPU] = info.requestedMilliCpu;
    d[o + ALLOCATABLE_MEMORY] = info.allocatableMemory;
    d[o + REQUESTED_MEMORY] = info.requestedMemory;
    d[o + NON_ZERO_REQUESTED_CPU] = info.nonZeroRequestedMilliCpu;
    d[o + NON_ZERO_REQUESTED_MEMORY] = info.nonZeroRequestedMemory;
  }

  /** Whether the node of row `i` has any taint. */
  hasTaints(i: number): boolean {
    return ((this.data[i * STRIDE + FLAGS] as number) & ANY_TAINTS) !== 0;
  }

  allocatableMilliCpu(i: number): number {
    return this.data[i * STRIDE + ALLOCATABLE_CPU] as number;
  }

  allocatableMemory(i: number): number {
    return this.data[i * STRIDE + ALLOCATABLE_MEMORY] as number;
  }

  nonZeroRequestedMilliCpu(i: number): number {
    return this.data[i * STRIDE + NON_ZERO_REQUESTED_CPU] as number;
  }

  nonZeroRequestedMemory(i: number): number {
    return this.data[i * STRIDE + NON_ZERO_REQUESTED_MEMORY] as number;
  }

  /** Whether row `i` meets every condition of `check` (the same comparisons as the plugins' filters). */
  passes(i: number, check: QuickCheck): boolean {
    const d = this.data;
    const o = i * STRIDE;
    const flags = d[o + FLAGS] as number;
    if (check.schedulable && (flags & UNSCHEDULABLE) !== 0) return false;
    if (check.noHardTaints && (flags & HARD_TAINTS) !== 0) return false;
    const fit = check.fit;
    if (fit) {
      if ((d[o + POD_COUNT] as number) + 1 > (d[o + ALLOWED_PODS] as number)) return false;
      if (fit.milliCpu > 0 && fit.milliCpu > (d[o + ALLOCATABLE_CPU] as number) - (d[o + REQUESTED_CPU] as number)) return false;
      if (fit.memory > 0 && fit.memory > (d[o + ALLOCATABLE_MEMORY] as number) - (d[o + REQUESTED_MEMORY] as number)) return false;
    }
    return true;
  }
}
