// Pod strategy (Kubernetes' pkg/registry/core/pod): status starts Pending;
// a pod bound to a node is deleted gracefully so its kubelet can stop the
// containers (deletionTimestamp = now + grace), while an unbound pod, a
// finished pod or grace period 0 goes at once; Bind sets spec.nodeName once;
// the resize subresource (podResizeStrategy) takes only the resources.

import { BadRequestError, ConflictError, InvalidError } from '../../api/errors';
import type { Binding, Container, Pod } from '../../api/gen/tsk/v1/core';
import type { ApiObject } from '../../api/kinds';
import { rfc3339 } from '../../util/time';
import { applyDefaults } from '../defaults';
import { validatePodResize } from '../validation';
import type { BatchUpdate, Registry, WriteAdmission } from './store';
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

/** A binding checked: the pod it binds and the mutate that binds it (for guaranteedUpdate). */
function bindingUpdate(pods: Registry, binding: Binding | undefined, now: () => Date): BatchUpdate {
  const name = binding?.metadata?.name;
  const node = binding?.target?.name;
  if (!binding || !name) throw new BadRequestError('binding: metadata.name (the pod) is required', [{ field: 'metadata.name', message: 'Required value' }]);
  if (!node) throw new BadRequestError('binding: target.name (the node) is required', [{ field: 'target.name', message: 'Required value' }]);
  if (binding.target?.kind && binding.target.kind !== 'Node') {
    throw new BadRequestError(`binding: target.kind must be Node, not ${binding.target.kind}`, [{ field: 'target.kind', message: 'Unsupported value' }]);
  }
  const ns = pods.namespaceOf(binding.metadata?.namespace);
  const mutate = (cur: ApiObject): ApiObject => {
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
  };
  return { ns, name, mutate };
}

/** Binds a pod to a node: spec.nodeName once, and the PodScheduled condition. */
export async function bindPod(pods: Registry, binding: Binding | undefined, now: () => Date): Promise<Pod> {
  const { ns, name, mutate } = bindingUpdate(pods, binding, now);
  // A shallow copy is enough: mutate replaces spec and status, never edits them in place.
  return (await pods.guaranteedUpdate(ns, name, undefined, mutate, false, 'shallow')) as Pod;
}

/**
 * Binds many pods, each as bindPod would (its own checks, its own outcome,
 * in the order given), written together in a few etcd transactions
 * (Registry.guaranteedUpdateBatch): BindBatch's path. `admit` runs first
 * for each binding (authorization); what it throws is that pod's outcome.
 */
export async function bindPods(
  pods: Registry,
  bindings: readonly (Binding | undefined)[],
  now: () => Date,
  admit: (binding: Binding | undefined) => void = () => undefined,
): Promise<(Pod | Error)[]> {
  const results: (Pod | Error)[] = new Array(bindings.length);
  const updates: BatchUpdate[] = [];
  const at: number[] = [];
  bindings.forEach((binding, i) => {
    try {
      admit(binding);
      updates.push(bindingUpdate(pods, binding, now));
      at.push(i);
    } catch (err) {
      results[i] = err instanceof Error ? err : new Error(String(err));
    }
  });
  const written = await pods.guaranteedUpdateBatch(updates, 'shallow');
  written.forEach((r, n) => (results[at[n]!] = r as Pod | Error));
  return results;
}

/**
 * podResizeStrategy's PrepareForUpdate (dropNonResizeUpdates): the stored pod
 * with only the requested resources of its containers (matched by name),
 * init containers and the pod itself taken from `input`; everything else of
 * the request is ignored, as Kubernetes does. Validation then refuses what
 * a resize may not change.
 */
export function applyResize(input: Pod, stored: Pod): Pod {
  const next = structuredClone(stored);
  const spec = (next.spec ??= {});
  const take = (into: Container[] | undefined, from: readonly Container[] | undefined): void => {
    const byName = new Map((into ?? []).map((c) => [c.name ?? '', c]));
    for (const c of from ?? []) {
      const target = byName.get(c.name ?? '');
      if (target) target.resources = structuredClone(c.resources);
    }
  };
  take(spec.containers, input.spec?.containers);
  take(spec.initContainers, input.spec?.initContainers);
  if (input.spec?.resources !== undefined) spec.resources = structuredClone(input.spec.resources);
  else delete spec.resources;
  return next;
}

/**
 * The request defaulted as any decoded pod (requests from limits), then only
 * its resources taken onto the stored pod: fields defaulting adds elsewhere
 * (a resizePolicy for a newly requested resource) are dropped with the rest,
 * as Kubernetes defaults before PrepareForUpdate.
 */
export function prepareResize(input: Pod, stored: Pod): Pod {
  const request = structuredClone(input);
  applyDefaults('Pod', request);
  return applyResize(request, stored);
}

/**
 * The pods/resize subresource (PodService.UpdateResize): a read-modify-write
 * of the stored pod at the request's resourceVersion (a stale one is a
 * Conflict) that changes only resources, validated by ValidatePodResize.
 * The kubelet of the pod's node notices and actuates the resize.
 */
export async function resizePod(pods: Registry, input: Pod | undefined, dryRun: boolean, admission: WriteAdmission): Promise<Pod> {
  const meta = input?.metadata;
  if (!input || !meta?.name)
    throw new BadRequestError('Pod: the request has no object with metadata.name', [{ field: 'metadata.name', message: 'Required value' }]);
  const rv = meta.resourceVersion || undefined;
  if (rv !== undefined && !/^\d+$/.test(rv)) {
    throw new BadRequestError(`invalid resourceVersion "${rv}"`, [{ field: 'metadata.resourceVersion', message: 'must be a decimal number' }]);
  }
  const name = meta.name;
  const res = await pods.guaranteedUpdate(
    pods.namespaceOf(meta.namespace),
    name,
    rv === undefined ? undefined : Number(rv),
    (cur) => {
      const stored = cur as Pod;
      if (meta.uid && meta.uid !== stored.metadata?.uid) {
        throw new ConflictError(`Precondition failed: UID in precondition: ${meta.uid}, UID in object meta: ${stored.metadata?.uid ?? ''}`);
      }
      const next = prepareResize(input, stored);
      next.apiVersion = 'v1';
      next.kind = 'Pod';
      const causes = validatePodResize(next, stored);
      if (causes.length > 0) throw new InvalidError('Pod', name, causes);
      if (JSON.stringify(next.spec) !== JSON.stringify(stored.spec)) next.metadata = { ...next.metadata, generation: (stored.metadata?.generation ?? 0) + 1 };
      admission.update?.(next, stored);
      return next;
    },
    dryRun,
  );
  return res as Pod;
}
