// Kubernetes' pod QoS class (pkg/apis/core/helper/qos ComputePodQOS), from
// the pod's spec alone: the kubelet reports it, the API server keeps it from
// changing on an in-place resize. Pure.

import type { Pod, ResourceRequirements } from './gen/tsk/v1/core';
import { isPodLevelResourcesSet } from './pod-resources';
import { type Quantity, tryParseQuantity } from './quantity';

function sameQuantity(a: string, b: string): boolean {
  const qa = tryParseQuantity(a);
  const qb = tryParseQuantity(b);
  return qa !== undefined && qb !== undefined && qa.cmp(qb) === 0;
}

/**
 * Kubernetes' QoS class: BestEffort when no container asks for cpu or
 * memory; Guaranteed when every container has cpu and memory limits and
 * its requests (defaulting to the limits) equal them; Burstable otherwise.
 * A pod with pod-level resources (spec.resources) is classed by those alone.
 */
export function qosClass(pod: Pod): string {
  if (isPodLevelResourcesSet(pod.spec)) return podLevelQosClass(pod.spec?.resources ?? {});
  const all = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  const resources = ['cpu', 'memory'];
  const asks = all.some((c) => resources.some((r) => c.resources?.requests?.[r] !== undefined || c.resources?.limits?.[r] !== undefined));
  if (!asks) return 'BestEffort';
  const guaranteed = all.every((c) =>
    resources.every((r) => {
      const limit = c.resources?.limits?.[r];
      const request = c.resources?.requests?.[r] ?? limit;
      return limit !== undefined && request !== undefined && sameQuantity(limit, request);
    }),
  );
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

const QOS_RESOURCES = ['cpu', 'memory'];

/** The positive cpu and memory quantities of a list (ComputePodQOS skips zeros). */
function positiveQosQuantities(list: Readonly<Record<string, string>> | undefined): Map<string, Quantity> {
  const out = new Map<string, Quantity>();
  for (const name of QOS_RESOURCES) {
    const q = tryParseQuantity(list?.[name] ?? '');
    if (q !== undefined && q.sign() > 0) out.set(name, q);
  }
  return out;
}

/**
 * ComputePodQOS with pod-level resources, which decide alone: BestEffort
 * with no positive cpu or memory request or limit, Guaranteed when both
 * cpu and memory have limits and every request equals its limit.
 */
function podLevelQosClass(res: ResourceRequirements): string {
  const requests = positiveQosQuantities(res.requests);
  const limits = positiveQosQuantities(res.limits);
  if (requests.size === 0 && limits.size === 0) return 'BestEffort';
  const guaranteed =
    limits.size === QOS_RESOURCES.length && requests.size === limits.size && [...requests].every(([name, q]) => limits.get(name)?.cmp(q) === 0);
  return guaranteed ? 'Guaranteed' : 'Burstable';
}
