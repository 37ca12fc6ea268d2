// An RC's status from its active pods (Kubernetes' calculateStatus):
// replicas, fullyLabeledReplicas (pods carrying every template label),
// readyReplicas, availableReplicas (ready for minReadySeconds), and the
// ReplicaFailure condition while creating or deleting pods fails.

import type { Pod, ReplicationController, ReplicationControllerCondition, ReplicationControllerStatus } from '../../api/gen/tsk/v1/core';
import { selectorFromSet } from '../../api/labels';
import { errorMessage } from '../../util/errors';
import { rfc3339 } from '../../util/time';
import { isAvailable, isReady } from './pods';

export const REPLICA_FAILURE = 'ReplicaFailure';

export function calculateStatus(rc: ReplicationController, pods: readonly Pod[], manageError: unknown, nowMs: number): ReplicationControllerStatus {
  const templateLabels = selectorFromSet(rc.spec?.template?.metadata?.labels);
  const minReady = rc.spec?.minReadySeconds ?? 0;
  let fully = 0;
  let ready = 0;
  let available = 0;
  for (const pod of pods) {
    if (templateLabels.matches(pod.metadata?.labels)) fully++;
    if (isReady(pod)) {
      ready++;
      if (isAvailable(pod, minReady, nowMs)) available++;
    }
  }
  const old = rc.status ?? {};
  let conditions: ReplicationControllerCondition[] = [...(old.conditions ?? [])];
  const failure = conditions.find((c) => c.type === REPLICA_FAILURE);
  if (manageError !== undefined && !failure) {
    const diff = pods.length - (rc.spec?.replicas ?? 1);
    const reason = diff < 0 ? 'FailedCreate' : diff > 0 ? 'FailedDelete' : '';
    const message = errorMessage(manageError);
    conditions.push({ type: REPLICA_FAILURE, status: 'True', lastTransitionTime: rfc3339(nowMs), reason, message });
  } else if (manageError === undefined && failure) {
    conditions = conditions.filter((c) => c.type !== REPLICA_FAILURE);
  }
  return {
    replicas: pods.length,
    fullyLabeledReplicas: fully,
    readyReplicas: ready,
    availableReplicas: available,
    observedGeneration: old.observedGeneration ?? 0,
    conditions,
  };
}

function sameConditions(a: readonly ReplicationControllerCondition[], b: readonly ReplicationControllerCondition[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Whether `rc.status` already says `next` and has observed the RC's generation (no write needed). */
export function statusUpToDate(rc: ReplicationController, next: ReplicationControllerStatus): boolean {
  const cur = rc.status ?? {};
  return (
    (cur.replicas ?? 0) === next.replicas &&
    (cur.fullyLabeledReplicas ?? 0) === next.fullyLabeledReplicas &&
    (cur.readyReplicas ?? 0) === next.readyReplicas &&
    (cur.availableReplicas ?? 0) === next.availableReplicas &&
    (cur.observedGeneration ?? 0) >= (rc.metadata?.generation ?? 0) &&
    sameConditions(cur.conditions ?? [], next.conditions ?? [])
  );
}
