// The scheduler's view of where pods are: the informers' nodes and bound
// pods, plus the pods it has *assumed* onto a node but whose Bind has not
// been seen back yet. Counting assumed pods at once is what stops a burst of
// pods from all landing on the node that looked emptiest.
//
// Life of an assumption: assume() when a node is chosen; confirmed (dropped,
// since the informer now counts the pod) when the informer shows the pod
// bound; forget() when the Bind fails; dropped when the pod is deleted.
//
// NodeInfos are kept between cycles in a snapshot updated incrementally
// (Kubernetes' Cache + Snapshot): only the nodes marked changed since the
// last cycle are rebuilt. The informer handlers report node changes with
// nodeChanged() and pod changes with podChanged(); every assumption change
// marks its node itself. So a cycle costs O(changed nodes), not O(nodes) or
// O(pods): with 5,000 nodes and a Bind every millisecond, a cycle rebuilds
// the one or two nodes that took a pod.
//
// The node order is stable (the order nodes were first seen), so the
// scheduler's round-robin start index (percentageOfNodesToScore) walks every
// node in turn.

import type { Node, Pod } from '../api/gen/tsk/v1/core';
import { NODE_NAME_INDEX, type Lister } from '../client';
import { assumedPodInfo, isTerminal, nodeInfo, podInfo } from './framework/resources';
import { NodeTable } from './framework/node-table';
import type { NodeInfo, PodInfo } from './framework/types';

/** The nodes of a cycle, with the lists the pod-affinity plugins read (Kubernetes' Snapshot). */
export interface Snapshot {
  /** Every node, in a stable order. */
  readonly nodes: readonly NodeInfo[];
  /** The nodes holding a pod with any pod (anti-)affinity. */
  readonly withAffinity: readonly NodeInfo[];
  /** The nodes holding a pod with required pod anti-affinity. */
  readonly withRequiredAntiAffinity: readonly NodeInfo[];
  /** The filters' numbers of `nodes`, row i for nodes[i]. */
  readonly table: NodeTable;
}

export class SchedulerCache {
  private readonly assumed = new Map<string, Pod>();
  /** Assumed pods by node name. */
  private readonly assumedOn = new Map<string, Set<string>>();
  /** The snapshot's nodes in order, and each node's index in it. */
  private readonly list: NodeInfo[] = [];
  /** The rows of `list`, in its order. */
  private readonly table = new NodeTable();
  private readonly index = new Map<string, number>();
  /** Nodes to rebuild (or drop, when gone from the lister) at the next snapshot. */
  private readonly dirty = new Set<string>();
  /** Names of the nodes with affinity pods, and whether the lists below must be rebuilt from them. */
  private readonly affinityNodes = new Set<string>();
  private readonly antiAffinityNodes = new Set<string>();
  private withAffinity: NodeInfo[] = [];
  private withRequiredAntiAffinity: NodeInfo[] = [];
  private affinityListsStale = false;
  /** The first snapshot reads every node of the lister (events before it may be missed). */
  private synced = false;

  /** `pods` must have the NODE_NAME_INDEX index. */
  constructor(
    private readonly nodes: Lister<Node>,
    private readonly pods: Lister<Pod>,
  ) {}

  /** Counts the pod on nodeName from now on; returns the assumed copy. */
  assume(key: string, pod: Pod, nodeName: string): Pod {
    this.drop(key);
    const copy: Pod = { ...pod, spec: { ...pod.spec, nodeName } };
    assumedPodInfo(pod, copy);
    this.assumed.set(key, copy);
    let set = this.assumedOn.get(nodeName);
    if (!set) this.assumedOn.set(nodeName, (set = new Set()));
    set.add(key);
    this.dirty.add(nodeName);
    return copy;
  }

  isAssumed(key: string): boolean {
    return this.assumed.has(key);
  }

  /** The Bind failed: the pod no longer counts on the node. */
  forget(key: string): void {
    this.drop(key);
  }

  /** The informer shows the pod bound (or deleted): it counts from there now. */
  confirm(key: string): void {
    this.drop(key);
  }

  /** A pod was added, changed or deleted in the informer: its node(s) must be recounted. */
  podChanged(oldPod: Pod | undefined, newPod: Pod | undefined): void {
    const before = oldPod?.spec?.nodeName;
    const after = newPod?.spec?.nodeName;
    if (before) this.dirty.add(before);
    if (after) this.dirty.add(after);
  }

  /** A node was added, changed or deleted in the informer: it is re-read (or dropped) at the next snapshot. */
  nodeChanged(oldNode: Node | undefined, newNode: Node | undefined): void {
    const name = newNode?.metadata?.name ?? oldNode?.metadata?.name;
    if (name) this.dirty.add(name);
  }

  get assumedCount(): number {
    return this.assumed.size;
  }

  /**
   * Every node with the non-terminal pods bound or assumed to it. The arrays
   * are the cache's own and valid until the next call: a cycle reads them
   * synchronously.
   */
  snapshot(): Snapshot {
    if (!this.synced) this.fullSync();
    // Deleted nodes keep their slot until every dirty node is done, so the indices stay valid meanwhile.
    const removed = new Set<number>();
    for (const name of this.dirty) this.update(name, removed);
    this.dirty.clear();
    if (removed.size > 0) this.compact(removed);
    if (this.affinityListsStale) this.rebuildAffinityLists();
    return { nodes: this.list, withAffinity: this.withAffinity, withRequiredAntiAffinity: this.withRequiredAntiAffinity, table: this.table };
  }

  /** Reads every node of the lister, in its order (before the nodes events marked already). */
  private fullSync(): void {
    this.synced = true;
    const marked = [...this.dirty];
    this.dirty.clear();
    for (const node of this.nodes.list()) this.dirty.add(node.metadata?.name ?? '');
    for (const name of marked) this.dirty.add(name);
  }

  /** Rebuilds one node's info, appends a new node, or adds a deleted one's index to `removed`. */
  private update(name: string, removed: Set<number>): void {
    const node = name ? this.nodes.get(name) : undefined;
    const at = this.index.get(name);
    const had = at !== undefined && (this.affinityNodes.has(name) || this.antiAffinityNodes.has(name));
    if (!node) {
      if (at === undefined) return;
      this.index.delete(name);
      removed.add(at);
      this.trackAffinity(name, undefined, had);
      return;
    }
    const info = nodeInfo(node, this.podsOn(name));
    if (at === undefined) {
      this.index.set(name, this.list.length);
      this.table.set(this.list.length, info);
      this.list.push(info);
    } else {
      this.list[at] = info;
      this.table.set(at, info);
    }
    this.trackAffinity(name, info, had);
  }

  /** Drops the deleted nodes' slots, keeping the others' order, and indexes them again. */
  private compact(removed: ReadonlySet<number>): void {
    let kept = 0;
    for (let i = 0; i < this.list.length; i++) {
      if (removed.has(i)) continue;
      const info = this.list[i] as NodeInfo;
      this.table.set(kept, info);
      this.list[kept++] = info;
      this.index.set(info.name, kept - 1);
    }
    this.list.length = kept;
  }

  /** Keeps the affinity node sets; the lists are rebuilt when a node in them (before or now) changed. */
  private trackAffinity(name: string, info: NodeInfo | undefined, had: boolean): void {
    const affinity = (info?.podsWithAffinity.length ?? 0) > 0;
    const anti = (info?.podsWithRequiredAntiAffinity.length ?? 0) > 0;
    if (affinity) this.affinityNodes.add(name);
    else this.affinityNodes.delete(name);
    if (anti) this.antiAffinityNodes.add(name);
    else this.antiAffinityNodes.delete(name);
    if (had || affinity || anti) this.affinityListsStale = true;
  }

  private rebuildAffinityLists(): void {
    this.affinityListsStale = false;
    // In snapshot order, so the plugins see the same order as in nodes.
    const infos = (names: Set<string>): NodeInfo[] =>
      [...names]
        .map((n) => this.index.get(n) ?? -1)
        .sort((x, y) => x - y)
        .map((i) => this.list[i])
        .filter((n): n is NodeInfo => n !== undefined);
    this.withAffinity = infos(this.affinityNodes);
    this.withRequiredAntiAffinity = infos(this.antiAffinityNodes);
  }

  private podsOn(name: string): PodInfo[] {
    // One loop, one array: this runs for each changed node every cycle, over every pod on it.
    const infos: PodInfo[] = [];
    if (name) for (const p of this.pods.byIndex(NODE_NAME_INDEX, name)) if (!isTerminal(p)) infos.push(podInfo(p));
    for (const key of this.assumedOn.get(name) ?? []) {
      // Once the informer has the pod bound, it is counted from the index above.
      if (this.pods.get(key)?.spec?.nodeName) continue;
      const pod = this.assumed.get(key);
      if (pod) infos.push(podInfo(pod));
    }
    return infos;
  }

  private drop(key: string): void {
    const pod = this.assumed.get(key);
    if (!pod) return;
    this.assumed.delete(key);
    const node = pod.spec?.nodeName ?? '';
    const set = this.assumedOn.get(node);
    set?.delete(key);
    if (set && set.size === 0) this.assumedOn.delete(node);
    this.dirty.add(node);
  }
}
