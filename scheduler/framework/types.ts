// The scheduling framework's vocabulary (Kubernetes' pkg/scheduler/framework):
// the pod and node views plugins read, the status a plugin returns, and the
// small interfaces of the extension points tsk has: PreFilter (optional,
// on a filter plugin), Filter and Score (which includes PreScore and
// NormalizeScore, since it sees every feasible node at once). A plugin
// implements only the stages it uses.

import type { NodeTable, QuickCheckOf } from './node-table';
import type { Node, Pod, Taint } from '../../api/gen/tsk/v1/core';

/**
 * How a stage ended. Unschedulable is an answer ("does not fit"), Error a
 * failure to answer; Skip, from a PreFilter or PreScore, says the plugin has
 * nothing to check or prefer for this pod, so its Filter or Score is not run
 * this cycle (Kubernetes' Skip).
 */
export type Code = 'Success' | 'Unschedulable' | 'Error' | 'Skip';

export interface Status {
  readonly code: Code;
  /** Why, in Kubernetes' words; each reason is counted per node in the FailedScheduling message. */
  readonly reasons: readonly string[];
}

export const SUCCESS: Status = Object.freeze({ code: 'Success', reasons: Object.freeze([]) as readonly string[] });

export const SKIP: Status = Object.freeze({ code: 'Skip', reasons: Object.freeze([]) as readonly string[] });

export function unschedulable(...reasons: string[]): Status {
  return { code: 'Unschedulable', reasons };
}

export function errorStatus(message: string): Status {
  return { code: 'Error', reasons: [message] };
}

/**
 * An amount of every resource a pod asks for or a node offers: cpu in
 * millicores, memory and ephemeral storage in bytes, and every other
 * resource (extended resources such as example.com/gpu) by name in units.
 */
export interface Resource {
  milliCpu: number;
  memory: number;
  /** Everything else, by resource name. */
  scalar: Record<string, number>;
}

/** A host port a container asks for: protocol, host IP ("" or 0.0.0.0 means every address) and port. */
export interface HostPort {
  readonly protocol: string;
  readonly ip: string;
  readonly port: number;
}

/** What plugins need of a pod, computed once per pod object. */
export interface PodInfo {
  readonly pod: Pod;
  /** namespace/name */
  readonly key: string;
  /** The pod's effective requests: max(sum of containers, largest init container). */
  readonly requests: Resource;
  /** Requests with Kubernetes' non-zero defaults (100m cpu, 200Mi memory) for unset values: what scoring counts. */
  readonly nonZeroRequests: Resource;
  readonly hostPorts: readonly HostPort[];
  /** The uid of the owner reference marked controller, or "". */
  readonly controllerUid: string;
}

/** One node as the scheduler sees it in a cycle: the node and the pods counted on it (bound or assumed). */
export interface NodeInfo {
  readonly node: Node;
  readonly name: string;
  readonly pods: readonly PodInfo[];
  readonly allocatable: Resource;
  /** Sum of the pods' requests. */
  readonly requested: Resource;
  /** Sum of the pods' non-zero requests (for scoring). */
  readonly nonZeroRequested: Resource;
  readonly hostPorts: readonly HostPort[];
  /** Allowed pod count (status.allocatable.pods). */
  readonly allowedPods: number;
  /** How many of the pods each controller (owner uid) has here. */
  readonly controllerCounts: ReadonlyMap<string, number>;
  /** The pods with any podAffinity or podAntiAffinity (InterPodAffinity's score reads only these when the incoming pod has no preference). */
  readonly podsWithAffinity: readonly PodInfo[];
  /** The pods with required podAntiAffinity terms (the existing pods' anti-affinity the incoming pod must not break). */
  readonly podsWithRequiredAntiAffinity: readonly PodInfo[];
  // What the default filters and scores read of every node they search, as
  // fields of this one object: a cycle reads them for hundreds of nodes, and
  // reaching node.spec or allocatable.milliCpu costs a cache miss more each
  // (the cost that dominated a cycle at 5,000 nodes).
  /** node.spec.unschedulable (cordoned). */
  readonly unschedulable: boolean;
  /** node.spec.taints (one shared empty array when none). */
  readonly taints: readonly Taint[];
  /** pods.length */
  readonly podCount: number;
  /** allocatable.milliCpu, allocatable.memory, requested.*, nonZeroRequested.* */
  readonly allocatableMilliCpu: number;
  readonly allocatableMemory: number;
  readonly requestedMilliCpu: number;
  readonly requestedMemory: number;
  readonly nonZeroRequestedMilliCpu: number;
  readonly nonZeroRequestedMemory: number;
}

/** A typed slot of a cycle's state, owned by one plugin. */
export interface StateKey<T> {
  readonly name: string;
  /** Only carries T; never set. */
  readonly _type?: T;
}

/** What a cycle knows of namespaces, for a pod affinity term's namespaceSelector. */
export interface NamespaceView {
  /** The namespace's labels, or undefined when it is unknown. */
  labels(name: string): Readonly<Record<string, string>> | undefined;
  /** Every known namespace with its labels. */
  list(): readonly { readonly name: string; readonly labels: Readonly<Record<string, string>> }[];
}

export const NO_NAMESPACES: NamespaceView = { labels: () => undefined, list: () => [] };

/** The nodes whose pods the pod-affinity plugins must read (Kubernetes' Snapshot's havePodsWithAffinityNodeInfoList ...). */
export interface AffinityNodeLists {
  readonly withAffinity: readonly NodeInfo[];
  readonly withRequiredAntiAffinity: readonly NodeInfo[];
}

/**
 * One scheduling cycle (Kubernetes' CycleState plus the snapshot): every
 * node of the cycle's snapshot, the namespaces, and what each plugin's
 * PreFilter computed for its Filter, so per-node work stays O(1).
 */
export class CycleState {
  private readonly data = new Map<string, unknown>();

  /** The nodes holding a pod with any pod (anti-)affinity. */
  readonly nodesWithAffinity: readonly NodeInfo[];
  /** The nodes holding a pod with required pod anti-affinity. */
  readonly nodesWithRequiredAntiAffinity: readonly NodeInfo[];

  constructor(
    /** Every node of the snapshot, feasible or not. */
    readonly nodes: readonly NodeInfo[],
    readonly namespaces: NamespaceView = NO_NAMESPACES,
    /** The snapshot's lists of nodes with affinity pods (kept by the cache); computed from nodes when not given. */
    lists?: AffinityNodeLists,
  ) {
    this.nodesWithAffinity = lists?.withAffinity ?? nodes.filter((n) => n.podsWithAffinity.length > 0);
    this.nodesWithRequiredAntiAffinity = lists?.withRequiredAntiAffinity ?? nodes.filter((n) => n.podsWithRequiredAntiAffinity.length > 0);
  }

  write<T>(key: StateKey<T>, value: T): void {
    this.data.set(key.name, value);
  }

  read<T>(key: StateKey<T>): T | undefined {
    return this.data.get(key.name) as T | undefined;
  }
}

export interface Plugin {
  /** As Kubernetes names it: NodeResourcesFit, TaintToleration, ... */
  readonly name: string;
}

/** Filter: can the pod run on this node? Pure; called once per node per cycle. */
export interface FilterPlugin extends Plugin {
  /**
   * PreFilter: once per cycle before any Filter, over state.nodes; writes
   * what filter() reads into state. SKIP: filter() is not run this cycle;
   * any other non-success status rejects every node.
   */
  preFilter?(pod: PodInfo, state: CycleState): Status;
  /** The framework always passes state; plugins without a PreFilter may ignore it. */
  filter(pod: PodInfo, node: NodeInfo, state?: CycleState): Status;
  /** A test on a node's NodeTable row that, when it holds, means filter() answers Success there (see node-table.ts). */
  quickCheck?: QuickCheckOf;
}

/** Score: how good is each feasible node, 0..MAX_NODE_SCORE, given all of them (so scores can be normalized). */
export interface ScorePlugin extends Plugin {
  /** PreScore: SKIP when the plugin would score every node the same (0) for this pod, so score() is not run. */
  preScore?(pod: PodInfo, state: CycleState): Status;
  /** The framework always passes state (state.nodes: the whole snapshot); plugins that only compare the feasible nodes may ignore it. */
  score(pod: PodInfo, nodes: readonly NodeInfo[], state?: CycleState): number[];
  /**
   * The same scores as score() for the nodes of these NodeTable rows (the
   * feasible nodes, in order), read from the table; undefined when the
   * rows do not hold what this pod's scores need (score() is called then).
   */
  scoreRows?(pod: PodInfo, rows: readonly number[], table: NodeTable): number[] | undefined;
}

export const MAX_NODE_SCORE = 100;

/** A score plugin with its weight in the sum (Kubernetes' default profile weights). */
export interface WeightedScorePlugin {
  readonly plugin: ScorePlugin;
  readonly weight: number;
}
