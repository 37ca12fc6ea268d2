// The downward API values the kubelet computes itself and that both env vars
// and downwardAPI volume files use: a container's resources
// (resourceFieldRef, Kubernetes' ExtractContainerResourceValue, with limits
// that are unset taken from the pod-level limits or else the node's
// allocatable, as MergeContainerResourceLimits does) and the pod fields a volume file may
// hold (labels and annotations in Kubernetes' `key="value"` lines).

import type { Container, Pod, ResourceFieldSelector } from '../api/gen/tsk/v1/core';
import { isPodLevelResourcesSet } from '../api/pod-resources';
import { parseQuantity, type Quantity, tryParseQuantity } from '../api/quantity';
import { errorMessage } from '../util/errors';

/** What a container may use when it sets no limit (the node's allocatable). */
export interface NodeAllocatable {
  cpuMilli: number;
  memoryBytes: number;
}

export class DownwardApiError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DownwardApiError';
  }
}

/**
 * The limits a container without its own falls back to: the pod-level
 * limits (spec.resources) where the pod sets them, else the node's
 * allocatable, as the kubelet's defaultPodLimitsForDownwardAPI does.
 */
export function limitDefaults(pod: Pod, node: NodeAllocatable): NodeAllocatable {
  if (!isPodLevelResourcesSet(pod.spec)) return node;
  const limits = pod.spec?.resources?.limits ?? {};
  const positive = (value: string | undefined): Quantity | undefined => {
    const q = value === undefined ? undefined : tryParseQuantity(value);
    return q !== undefined && q.sign() > 0 ? q : undefined;
  };
  const cpu = positive(limits['cpu']);
  const memory = positive(limits['memory']);
  return { cpuMilli: cpu?.milliValue() ?? node.cpuMilli, memoryBytes: memory?.value() ?? node.memoryBytes };
}

function quantity(what: string, value: string): Quantity {
  try {
    return parseQuantity(value);
  } catch (err) {
    throw new DownwardApiError(`${what} "${value}": ${errorMessage(err)}`);
  }
}

/**
 * The value of a resourceFieldRef of container `c`: the quantity divided by
 * the divisor (default 1), rounded up, as Kubernetes' convertResource*ToString.
 * Throws DownwardApiError for a resource it does not know.
 */
export function resourceFieldValue(c: Container, sel: ResourceFieldSelector, node: NodeAllocatable): string {
  const resource = sel.resource ?? '';
  const divisor = sel.divisor ? quantity('divisor', sel.divisor) : parseQuantity('1');
  const limits = c.resources?.limits ?? {};
  const requests = c.resources?.requests ?? {};
  const pick = (kind: 'limits' | 'requests', name: 'cpu' | 'memory'): Quantity | undefined => {
    const given = kind === 'limits' ? limits[name] : (requests[name] ?? limits[name]);
    if (given !== undefined) return quantity(`resources.${kind}.${name}`, given);
    if (kind === 'limits') return name === 'cpu' ? parseQuantity(`${node.cpuMilli}m`) : parseQuantity(String(node.memoryBytes));
    return undefined;
  };
  const ratio = (q: Quantity | undefined, milli: boolean): string => {
    if (q === undefined) return '0';
    const [num, den] = milli ? [q.milliValue(), divisor.milliValue()] : [q.value(), divisor.value()];
    if (den <= 0) throw new DownwardApiError(`resourceFieldRef ${resource}: divisor "${sel.divisor ?? ''}" must be positive`);
    return String(Math.ceil(num / den));
  };
  switch (resource) {
    case 'limits.cpu':
      return ratio(pick('limits', 'cpu'), true);
    case 'requests.cpu':
      return ratio(pick('requests', 'cpu'), true);
    case 'limits.memory':
      return ratio(pick('limits', 'memory'), false);
    case 'requests.memory':
      return ratio(pick('requests', 'memory'), false);
    default:
      throw new DownwardApiError(`unsupported container resource : ${resource}`);
  }
}

/** Kubernetes' FormatMap: sorted `key="value"` lines, values quoted as Go's %q. */
export function formatMap(m: Readonly<Record<string, string>>): string {
  return Object.keys(m)
    .sort()
    .map((k) => `${k}=${JSON.stringify(m[k] ?? '')}\n`)
    .join('');
}

/**
 * The metadata fields both the env and volume forms of the downward API
 * resolve: name, namespace, uid and one label or annotation; undefined for
 * any other path.
 */
export function podMetadataField(pod: Pod, fieldPath: string): string | undefined {
  const m = pod.metadata;
  const one = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (one) return (one[1] === 'labels' ? m?.labels : m?.annotations)?.[one[2] ?? ''] ?? '';
  switch (fieldPath) {
    case 'metadata.name':
      return m?.name ?? '';
    case 'metadata.namespace':
      return m?.namespace ?? '';
    case 'metadata.uid':
      return m?.uid ?? '';
    default:
      return undefined;
  }
}

/** The content of a downwardAPI volume file with a fieldRef (Kubernetes' ExtractFieldPathAsString). */
export function volumeFieldValue(pod: Pod, fieldPath: string): string {
  const common = podMetadataField(pod, fieldPath);
  if (common !== undefined) return common;
  const m = pod.metadata;
  switch (fieldPath) {
    case 'metadata.labels':
      return formatMap(m?.labels ?? {});
    case 'metadata.annotations':
      return formatMap(m?.annotations ?? {});
    default:
      throw new DownwardApiError(`unsupported fieldPath: ${fieldPath}`);
  }
}
