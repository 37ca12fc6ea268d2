// The scheduler's view of where pods are: the informers' nodes and bound
// pods, plus the pods it has *assumed* onto a node but whose Bind has not
// been seen back yet. Counting assumed pods at once is what stops a burst of
// pods from all landing on the node that looked emptiest.
//
// Life of an assumption: assume() when a node is chosen; confirmed (dropped,
// since the informer now counts the pod) when the informer shows the pod
// bound; forget() when the Bind fails; dropped when the pod is deleted.
//
// NodeInfos are kept between cycles and rebuilt only for nodes that changed:
// a node object replaced by the informer is seen by identity; pod changes
// must be reported with podChanged() (the informer handlers do), and every
// assumption change marks its node itself. So a cycle costs O(nodes), not
// O(pods).

import type { Node, Pod } from '../api/gen/tsk/v1/core';
import { NODE_NAME_INDEX, type Lister } from '../client';
import { isTerminal, nodeInfo, podInfo } from './framework/resources';
import type { NodeInfo, PodInfo } from './framework/types';

export class SchedulerCache {
  private readonly assumed = new Map<string, Pod>();
  /** Assumed pods by node name. */
  private readonly assumedOn = new Map<string, Set<string>>();
  private readonly infos = new Map<string, NodeInfo>();
  private readonly dirty = new Set<string>();

  /** `pods` must have the NODE_NAME_INDEX index. */
  constructor(
    private readonly nodes: Lister<Node>,
    private readonly pods: Lister<Pod>,
  ) {}

  /** Counts the pod on nodeName from now on; returns the assumed copy. */
  assume(key: string, pod: Pod, nodeName: string): Pod {
    this.drop(key);
    const copy: Pod = { ...pod, spec: { ...pod.spec, nodeName } };
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

  get assumedCount(): number {
    return this.assumed.size;
  }

  /** Every node with the non-terminal pods bound or assumed to it. */
  snapshot(): NodeInfo[] {
    const out: NodeInfo[] = [];
    const present = new Set<string>();
    for (const node of this.nodes.list()) {
      const name = node.metadata?.name ?? '';
      present.add(name);
      let info = this.infos.get(name);
      if (!info || info.node !== node || this.dirty.has(name)) {
        info = nodeInfo(node, this.podsOn(name));
        this.infos.set(name, info);
      }
      out.push(info);
    }
    this.dirty.clear();
    for (const name of this.infos.keys()) if (!present.has(name)) this.infos.delete(name);
    return out;
  }

  private podsOn(name: string): PodInfo[] {
    const infos = name
      ? this.pods
          .byIndex(NODE_NAME_INDEX, name)
          .filter((p) => !isTerminal(p))
          .map(podInfo)
      : [];
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
