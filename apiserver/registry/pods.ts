// Pod strategy (Kubernetes' pkg/registry/core/pod): status starts Pending;
// a pod bound to a node is deleted gracefully so its kubelet can stop the
// containers (deletionTimestamp = now + grace), while an unbound pod, a
// finished pod or grace period 0 goes at once; Bind sets spec.nodeName once.

import { BadRequestError, ConflictError } from '../../api/errors';
import type { Binding, Pod } from '../../api/gen/tsk/v1/core';
import type { ApiObject } from '../../api/kinds';
import { rfc3339 } from '../../util/time';
import type { Registry } from './store';
import type { Strategy } from './strategy';

export const DEFAULT_GRACE_PERIOD_SECONDS = 30;

export function podStrategy(): Strategy {
  return {
    prepareForCreate(obj: ApiObject): void {
      const pod = obj as Pod;
      pod.status = { phase: 'Pending' };
      // Kubernetes' applySchedulingGatedCondition: a gated pod says why it is not scheduled.
      if ((pod.spec?.schedulingGates ?? []).length > 0) {
        pod.status.conditions = [
          { type: 'PodScheduled', status: 'False', reason: 'SchedulingGated', message: 'Scheduling is blocked due to non-empty scheduling gates' },
        ];
      }
    },
    prepareForUpdate: () => undefined,
    gracePeriod(obj: ApiObject, requested: number | undefined): number {
      const pod = obj as Pod;
      if (requested !== undefined && requested <= 0) return 0;
      if (!pod.spec?.nodeName) return 0;
      const phase = pod.status?.phase;
      if (phase === 'Succeeded' || phase === 'Failed') return 0;
      return requested ?? pod.spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_PERIOD_SECONDS;
    },
  };
}

/** Binds a pod to a node: spec.nodeName once, and the PodScheduled condition. */
export async function bindPod(pods: Registry, binding: Binding | undefined, now: () => Date): Promise<Pod> {
  const name = binding?.metadata?.name;
  const node = binding?.target?.name;
  if (!binding || !name) throw new BadRequestError('binding: metadata.name (the pod) is required', [{ field: 'metadata.name', message: 'Required value' }]);
  if (!node) throw new BadRequestError('binding: target.name (the node) is required', [{ field: 'target.name', message: 'Required value' }]);
  if (binding.target?.kind && binding.target.kind !== 'Node') {
    throw new BadRequestError(`binding: target.kind must be Node, not ${binding.target.kind}`, [{ field: 'target.kind', message: 'Unsupported value' }]);
  }
  const ns = pods.namespaceOf(binding.metadata?.namespace);
  const res = await pods.guaranteedUpdate(ns, name, undefined, (cur) => {
    const pod = cur as Pod;
    const uid = binding.metadata?.uid;
    if (uid && uid !== pod.metadata?.uid) {
      throw new ConflictError(`Precondition failed: UID in precondition: ${uid}, UID in object meta: ${pod.metadata?.uid ?? ''}`);
    }
    if (pod.metadata?.deletionTimestamp) {
      throw new ConflictError(`pod ${name} is being deleted, cannot be assigned to a host`, { kind: 'Pod', name });
    }
    if (pod.spec?.nodeName) {
      throw new ConflictError(`pod ${name} is already assigned to node "${pod.spec.nodeName}"`, { kind: 'Pod', name });
    }
    if ((pod.spec?.schedulingGates ?? []).length > 0) throw new ConflictError(`pod ${name} has non-empty .spec.schedulingGates`, { kind: 'Pod', name });
    pod.spec = { ...pod.spec, nodeName: node };
    const status = pod.status ?? {};
    const conditions = (status.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
    conditions.push({ type: 'PodScheduled', status: 'True', lastTransitionTime: rfc3339(now()) });
    pod.status = { ...status, conditions };
    return pod;
  });
  return res as Pod;
}
