// Whether a pod's tolerations tolerate a node's taint, as Kubernetes'
// Toleration.ToleratesTaint: the effect must match unless the toleration
// leaves it empty, the key must match unless the toleration leaves it empty
// (an empty key with Exists tolerates every taint), and Exists ignores the
// value while Equal (the default) compares it.

import type { Pod, Taint, Toleration } from '../../api/gen/tsk/v1/core';

export function toleratesTaint(toleration: Toleration, taint: Taint): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  if (toleration.key && toleration.key !== (taint.key ?? '')) return false;
  switch (toleration.operator || 'Equal') {
    case 'Exists':
      return true;
    case 'Equal':
      return (toleration.value ?? '') === (taint.value ?? '');
    default:
      return false;
  }
}

export function podToleratesTaint(pod: Pod, taint: Taint): boolean {
  return (pod.spec?.tolerations ?? []).some((t) => toleratesTaint(t, taint));
}
