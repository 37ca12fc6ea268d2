// The scheduler's view of where pods are: the informers' nodes and bound
// pods, plus the pods it has *assumed* onto a node but whose Bind has not
// been seen back yet. Counting assumed pods at once is what stops a burst of
// pods from all landing on the node that looked emptiest.
//
// Life of an assumption: assume() when a node is chosen; confirmed (dropped,
// since the informer now counts the pod) when the informer shows the pod
// bound; forget() when the Bind fails; dropped when the pod is deleted.

import type { Node, Pod } from '../api/gen/tsk/v1/core';
import { NODE_NAME_INDEX, type Lister } from '../client';
import { isTerminal, nodeInfo, podInfo } from './framework/resources';
import type { NodeInfo, PodInfo } from './framework/types';

export class SchedulerCache {
  private readonly assumed = new Map<string, Pod>();

  /** `pods` must have the NODE_NAME_INDEX index. */
  constructor(
    private readonly nodes: Lister<Node>,
    private readonly pods: Lister<Pod>,
  ) {}

  /** Counts the pod on nodeName from now on; returns the assumed copy. */
  assume(key: string, pod: Pod, nodeName: string): Pod {
    const copy: Pod = { ...pod, spec: { ...pod.spec, nodeName } };
    this.assumed.set(key, copy);
    return copy;
  }

  isAssumed(key: string): boolean {
    return this.assumed.has(key);
  }

  /** The Bind failed: the pod no longer counts on the node. */
  forget(key: string): void {
    this.assumed.delete(key);
  }

  /** The informer shows the pod bound (or deleted): it counts from there now. */
  confirm(key: string): void {
    this.assumed.delete(key);
  }

  get assumedCount(): number {
    return this.assumed.size;
  }

  /** Every node with the non-terminal pods bound or assumed to it, sorted by name. */
  snapshot(): NodeInfo[] {
    const assumedOn = new Map<string, PodInfo[]>();
    for (const [key, pod] of this.assumed) {
      // Once the informer has the pod bound, it is counted from the index below.
      if (this.pods.get(key)?.spec?.nodeName) continue;
      const node = pod.spec?.nodeName ?? '';
      let list = assumedOn.get(node);
      if (!list) assumedOn.set(node, (list = []));
      list.push(podInfo(pod));
    }
    const nodes = this.nodes.list().sort((a, b) => ((a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : 1));
    return nodes.map((node) => {
      const name = node.metadata?.name ?? '';
      const bound = name ? this.pods.byIndex(NODE_NAME_INDEX, name) : [];
      const infos = bound.filter((p) => !isTerminal(p)).map(podInfo);
      infos.push(...(assumedOn.get(name) ?? []));
      return nodeInfo(node, infos);
    });
  }
}
