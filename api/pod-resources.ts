// Pod-level resources (spec.resources, KEP-2837 PodLevelResources), as
// Kubernetes' component-helpers/resource computes them: which resources a pod
// may set at pod level, whether it sets any, and the aggregate of its
// containers' requests and limits the pod-level values are checked against.
// Shared by validation, defaulting, the scheduler and the kubelet. Pure.

import type { Container, PodSpec } from './gen/tsk/v1/core';
import { type Quantity, tryParseQuantity } from './quantity';

/** The names Kubernetes lists in its "supported values" message (hugepages-* by prefix). */
export const SUPPORTED_POD_LEVEL_RESOURCES = ['cpu', 'hugepages-', 'memory'] as const;

/** IsSupportedPodLevelResource: cpu, memory and hugepages-<size>. */
export function isSupportedPodLevelResource(name: string): boolean {
  return name === 'cpu' || name === 'memory' || name.startsWith('hugepages-');
}

function setsSupported(list: Readonly<Record<string, string>> | undefined): boolean {
  return Object.keys(list ?? {}).some(isSupportedPodLevelResource);
}

/** IsPodLevelRequestsSet: spec.resources.requests names a supported resource. */
export function isPodLevelRequestsSet(spec: PodSpec | undefined): boolean {
  return setsSupported(spec?.resources?.requests);
}

/** IsPodLevelResourcesSet: spec.resources requests or limits name a supported resource. */
export function isPodLevelResourcesSet(spec: PodSpec | undefined): boolean {
  return isPodLevelRequestsSet(spec) || setsSupported(spec?.resources?.limits);
}

export type ResourceQuantities = Map<string, Quantity>;

function sumInto(into: ResourceQuantities, list: Readonly<Record<string, string>> | undefined): void {
  for (const [name, value] of Object.entries(list ?? {})) {
    const q = tryParseQuantity(value);
    if (q === undefined) continue; // reported by validation; nothing to add
    const have = into.get(name);
    into.set(name, have === undefined ? q : have.add(q));
  }
}

function maxInto(into: ResourceQuantities, list: Readonly<Record<string, string>> | undefined): void {
  for (const [name, value] of Object.entries(list ?? {})) {
    const q = tryParseQuantity(value);
    if (q === undefined) continue;
    const have = into.get(name);
    if (have === undefined || q.cmp(have) > 0) into.set(name, q);
  }
}

/**
 * AggregateContainerRequests / AggregateContainerLimits: per resource, the
 * larger of the regular containers' sum and the largest init container
 * (init containers run one at a time, before the others). tsk has no
 * restartable (sidecar) init containers, so none add to the sum.
 */
function aggregate(spec: PodSpec | undefined, pick: (c: Container) => Record<string, string> | undefined): ResourceQuantities {
  const out: ResourceQuantities = new Map();
  for (const c of spec?.containers ?? []) sumInto(out, pick(c));
  for (const c of spec?.initContainers ?? []) maxInto(out, pick(c));
  return out;
}

export function aggregateContainerRequests(spec: PodSpec | undefined): ResourceQuantities {
  return aggregate(spec, (c) => c.resources?.requests);
}

export function aggregateContainerLimits(spec: PodSpec | undefined): ResourceQuantities {
  return aggregate(spec, (c) => c.resources?.limits);
}

/**
 * The pod-level PID limit (KEP-6063): `pids` is a limit only, set only in
 * spec.resources.limits, never per container, and not a compute resource
 * (no requests, no QoS, no scheduling), so it stays out of
 * isSupportedPodLevelResource.
 */
export const POD_PIDS_RESOURCE = 'pids';

/** Why a spec.resources.limits.pids value is invalid; empty when it is a positive integer. */
export function podPidsLimitErrors(value: string): string[] {
  const q = tryParseQuantity(value);
  if (q === undefined || q.sign() <= 0 || q.nanos % 1_000_000_000n !== 0n) return ['must be a positive integer'];
  return [];
}

/** spec.resources.limits.pids as a number, when the pod sets a valid one. */
export function podPidsLimit(spec: PodSpec | undefined): number | undefined {
  const value = spec?.resources?.limits?.[POD_PIDS_RESOURCE];
  if (value === undefined || podPidsLimitErrors(value).length > 0) return undefined;
  return tryParseQuantity(value)?.value();
}
