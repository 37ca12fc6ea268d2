// Kubernetes' kubelet admission of a pod's OS (pkg/kubelet/lifecycle/predicate.go):
// a pod whose spec.os.name, or whose kubernetes.io/os label, names another OS
// than the node's is rejected before anything runs. tsk's nodes are Linux.

import type { Pod } from '../api/gen/tsk/v1/core';

export const NODE_OS = 'linux';
export const POD_OS_NOT_SUPPORTED = 'PodOSNotSupported';
export const POD_OS_SELECTOR_MISMATCH = 'PodOSSelectorNodeLabelDoesNotMatch';

export interface Rejection {
  reason: string;
  message: string;
}

/** Why the node refuses the pod for its OS (Kubernetes' reasons and messages, the label rule first), or undefined to admit it. */
export function admitPodOS(pod: Pod, nodeOS = NODE_OS): Rejection | undefined {
  // Kubernetes compares the pod's own label (not its nodeSelector) with the node's OS.
  const label = pod.metadata?.labels?.['kubernetes.io/os'];
  if (label !== undefined && label !== nodeOS) {
    return { reason: POD_OS_SELECTOR_MISMATCH, message: "Failed to admit pod as the `kubernetes.io/os` label doesn't match node label" };
  }
  const os = pod.spec?.os?.name;
  if (os && os !== nodeOS) return { reason: POD_OS_NOT_SUPPORTED, message: "Failed to admit pod as the OS field doesn't match node OS" };
  return undefined;
}
