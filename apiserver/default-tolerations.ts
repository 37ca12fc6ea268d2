// The DefaultTolerationSeconds admission of Kubernetes: every pod tolerates
// the node lifecycle controller's NoExecute taints not-ready and unreachable
// for 300 s unless it says otherwise, so a short kubelet outage does not
// evict it at once while a lasting one does. A pod that already has a
// toleration for one of these taints (same key, effect NoExecute or any) is
// left as it is for that taint.

import type { PodSpec, Toleration } from '../api/gen/tsk/v1/core';

export const TAINT_NODE_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_NODE_UNREACHABLE = 'node.kubernetes.io/unreachable';
/** Kubernetes' --default-not-ready-toleration-seconds and --default-unreachable-toleration-seconds. */
export const DEFAULT_TOLERATION_SECONDS = 300;

function hasTolerationFor(tolerations: readonly Toleration[], key: string): boolean {
  return tolerations.some((t) => (t.key === key || !t.key) && (!t.effect || t.effect === 'NoExecute'));
}

/** Adds the two default tolerations to a pod's spec, in place. Idempotent. */
export function addDefaultTolerations(spec: PodSpec, seconds = DEFAULT_TOLERATION_SECONDS): void {
  const tolerations = (spec.tolerations ??= []);
  for (const key of [TAINT_NODE_NOT_READY, TAINT_NODE_UNREACHABLE]) {
    if (!hasTolerationFor(tolerations, key)) tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: seconds });
  }
}
