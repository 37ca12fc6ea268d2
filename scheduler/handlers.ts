// What the scheduler does with informer events. Pods: an unbound pod of
// ours is queued (or updated in the queue); a pod seen bound confirms its
// assumption and leaves the queue; a pod that finishes or is deleted frees
// its node's share, so parked pods are retried; a pod bound, or a bound
// pod's labels changing, retries the parked pods whose pod affinity or
// topology spread it may satisfy. Nodes: an added node, or a
// change that can make a pod fit (labels, cordon, taints, allocatable), retries
// parked pods; heartbeats (conditions, times) do not. Every node and pod
// change is told to the cache, whose snapshot rebuilds only those nodes.

import type { Node, Pod } from '../api/gen/tsk/v1/core';
import { objectKey, type EventHandlers } from '../client';
import type { SchedulerCache } from './cache';
import { isTerminal } from './framework/resources';
import type { SchedulingQueue } from './queue/scheduling-queue';
import { needsScheduling } from './scheduler';

/** Pods whose placement depends on other pods' labels (InterPodAffinity, PodTopologySpread). */
export function dependsOnOtherPods(pod: Pod): boolean {
  const a = pod.spec?.affinity;
  return Boolean(a?.podAffinity) || Boolean(a?.podAntiAffinity) || (pod.spec?.topologySpreadConstraints ?? []).length > 0;
}

/** A bound pod appeared or changed its labels: it may now satisfy a parked pod's affinity (or, for the symmetry, its own terms). */
function boundPodChanged(oldPod: Pod | undefined, pod: Pod): boolean {
  if (!pod.spec?.nodeName || isTerminal(pod)) return false;
  if (!oldPod?.spec?.nodeName) return true;
  return JSON.stringify(oldPod.metadata?.labels ?? {}) !== JSON.stringify(pod.metadata?.labels ?? {});
}

export function podEventHandlers(queue: SchedulingQueue, cache: SchedulerCache, stopped: () => boolean): EventHandlers<Pod> {
  return {
    onAdd(pod) {
      if (stopped()) return;
      cache.podChanged(undefined, pod);
      if (pod.spec?.nodeName) cache.confirm(objectKey(pod));
      else if (needsScheduling(pod)) queue.add(pod);
      if (boundPodChanged(undefined, pod)) queue.moveAllToActiveOrBackoff(dependsOnOtherPods);
    },
    onUpdate(oldPod, pod) {
      if (stopped()) return;
      cache.podChanged(oldPod, pod);
      const key = objectKey(pod);
      if (pod.spec?.nodeName) {
        cache.confirm(key);
        queue.delete(key);
        if (!isTerminal(oldPod) && isTerminal(pod)) queue.moveAllToActiveOrBackoff();
        else if (boundPodChanged(oldPod, pod)) queue.moveAllToActiveOrBackoff(dependsOnOtherPods);
      } else if (needsScheduling(pod)) queue.update(oldPod, pod);
      else queue.delete(key);
    },
    onDelete(pod) {
      if (stopped()) return;
      cache.podChanged(pod, undefined);
      const key = objectKey(pod);
      const held = Boolean(pod.spec?.nodeName) || cache.isAssumed(key);
      queue.delete(key);
      cache.confirm(key);
      if (held) queue.moveAllToActiveOrBackoff();
    },
  };
}

/** Node changes that can make a parked pod fit: labels, cordon, taints, allocatable. */
export function schedulingRelevantNodeChange(oldNode: Node, newNode: Node): boolean {
  const view = (n: Node): string =>
    JSON.stringify([n.metadata?.labels ?? {}, n.spec?.unschedulable ?? false, n.spec?.taints ?? [], n.status?.allocatable ?? {}, n.status?.capacity ?? {}]);
  return oldNode !== newNode && view(oldNode) !== view(newNode);
}

export function nodeEventHandlers(queue: SchedulingQueue, cache: SchedulerCache, stopped: () => boolean): EventHandlers<Node> {
  return {
    onAdd(node) {
      if (stopped()) return;
      cache.nodeChanged(undefined, node);
      queue.moveAllToActiveOrBackoff();
    },
    onUpdate(oldNode, node) {
      if (stopped()) return;
      cache.nodeChanged(oldNode, node);
      if (schedulingRelevantNodeChange(oldNode, node)) queue.moveAllToActiveOrBackoff();
    },
    onDelete(node) {
      if (!stopped()) cache.nodeChanged(node, undefined);
    },
  };
}
