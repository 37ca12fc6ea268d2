// The pure half of in-place pod resize (KEP-1287; Kubernetes' allocation
// manager and kuberuntime's computePodResizeAction): what the kubelet has
// allocated to a pod, whether a resize the spec asks for fits the node
// (else PodResizePending, Infeasible or Deferred, with Kubernetes'
// messages), and which running containers must have their cgroup rewritten
// in place or be restarted (resizePolicy RestartContainer) to match what
// was allocated. No calls out; pod-sync.ts carries the actions out.

import type { Container, Pod, PodCondition, ResourceRequirements } from '../api/gen/tsk/v1/core';
import { aggregateContainerRequests, isPodLevelRequestsSet } from '../api/pod-resources';
import { tryParseQuantity } from '../api/quantity';
import type { PodAllocation } from './allocation';
import { buildPodResources, buildResources } from './container-config';
import type { NodeAllocatable } from './downward-api';
import { containersNamed, restartCountOf, type PodRuntimeState } from './pod-runtime';
import type { ContainerResources } from './runtime/runtime';
import { rfc3339 } from '../util/time';

export const POD_RESIZE_PENDING = 'PodResizePending';
export const POD_RESIZE_IN_PROGRESS = 'PodResizeInProgress';

export type ResizePendingReason = 'Infeasible' | 'Deferred';

export interface ResizePending {
  reason: ResizePendingReason;
  message: string;
}

/** The containers a resize may touch: regular ones and sidecars (plain init containers have run to completion). */
function resizable(pod: Pod): Array<{ c: Container; index: number; init: boolean }> {
  return [
    ...(pod.spec?.initContainers ?? []).map((c, index) => ({ c, index, init: true })).filter((x) => x.c.restartPolicy === 'Always'),
    ...(pod.spec?.containers ?? []).map((c, index) => ({ c, index, init: false })),
  ];
}

/** What the spec asks for, as an allocation. */
export function allocationOf(pod: Pod): PodAllocation {
  const containers: Record<string, ResourceRequirements> = {};
  for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) containers[c.name ?? ''] = structuredClone(c.resources ?? {});
  return { containers, ...(pod.spec?.resources ? { pod: structuredClone(pod.spec.resources) } : {}) };
}

function sameList(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined): boolean {
  const ka = Object.keys(a ?? {});
  if (ka.length !== Object.keys(b ?? {}).length) return false;
  return ka.every((k) => {
    const x = tryParseQuantity(a?.[k] ?? '');
    const y = tryParseQuantity(b?.[k] ?? '');
    return x !== undefined && y !== undefined ? x.cmp(y) === 0 : a?.[k] === b?.[k];
  });
}

export function sameRequirements(a: ResourceRequirements | undefined, b: ResourceRequirements | undefined): boolean {
  return sameList(a?.requests, b?.requests) && sameList(a?.limits, b?.limits);
}

/** Whether two allocations are the same (quantities compared by value: 0.5 is 500m). */
export function sameAllocation(a: PodAllocation, b: PodAllocation): boolean {
  const names = new Set([...Object.keys(a.containers), ...Object.keys(b.containers)]);
  return [...names].every((n) => sameRequirements(a.containers[n], b.containers[n])) && sameRequirements(a.pod, b.pod);
}

/** The pod with its containers' (and its own) resources replaced by what was allocated: what the kubelet runs. */
export function withAllocation(pod: Pod, alloc: PodAllocation): Pod {
  // Copies only what changes (a deep copy of every pod at every sync was a
  // tenth of a hollow node's CPU); the rest is shared, and like the informer's
  // objects never mutated.
  const swap = (cs: Container[]): Container[] =>
    cs.map((c) => {
      const allocated = alloc.containers[c.name ?? ''];
      return allocated ? { ...c, resources: structuredClone(allocated) } : c;
    });
  const spec = pod.spec ?? {};
  return {
    ...pod,
    spec: {
      ...spec,
      ...(spec.initContainers ? { initContainers: swap(spec.initContainers) } : {}),
      ...(spec.containers ? { containers: swap(spec.containers) } : {}),
      ...(alloc.pod ? { resources: structuredClone(alloc.pod) } : {}),
    },
  };
}

export interface PodRequest {
  cpuMilli: number;
  memoryBytes: number;
}

/** The pod's cpu and memory requests as admission counts them: pod-level requests where set, else its containers'. */
export function podRequest(pod: Pod): PodRequest {
  const aggregate = aggregateContainerRequests(pod.spec);
  const podLevel = isPodLevelRequestsSet(pod.spec) ? (pod.spec?.resources?.requests ?? {}) : {};
  const cpu = tryParseQuantity(podLevel['cpu'] ?? '') ?? aggregate.get('cpu');
  const memory = tryParseQuantity(podLevel['memory'] ?? '') ?? aggregate.get('memory');
  return { cpuMilli: cpu?.milliValue() ?? 0, memoryBytes: memory?.value() ?? 0 };
}

/**
 * Kubernetes' canResizePod: a pod that would not fit the node even alone is
 * Infeasible (it never will); one that does not fit beside the others' current
 * allocations is Deferred (retried as they shrink or leave). Undefined: admit.
 */
export function admitResize(desired: PodRequest, others: readonly PodRequest[], node: NodeAllocatable): ResizePending | undefined {
  if (desired.memoryBytes > node.memoryBytes) {
    return { reason: 'Infeasible', message: `Node didn't have enough capacity: memory, requested: ${desired.memoryBytes}, capacity: ${node.memoryBytes}` };
  }
  if (desired.cpuMilli > node.cpuMilli) {
    return { reason: 'Infeasible', message: `Node didn't have enough capacity: cpu, requested: ${desired.cpuMilli}, capacity: ${node.cpuMilli}` };
  }
  const usedCpu = others.reduce((n, o) => n + o.cpuMilli, 0);
  const usedMemory = others.reduce((n, o) => n + o.memoryBytes, 0);
  if (usedCpu + desired.cpuMilli > node.cpuMilli) {
    return {
      reason: 'Deferred',
      message: `Node didn't have enough resource: cpu, requested: ${desired.cpuMilli}, used: ${usedCpu}, capacity: ${node.cpuMilli}`,
    };
  }
  if (usedMemory + desired.memoryBytes > node.memoryBytes) {
    return {
      reason: 'Deferred',
      message: `Node didn't have enough resource: memory, requested: ${desired.memoryBytes}, used: ${usedMemory}, capacity: ${node.memoryBytes}`,
    };
  }
  return undefined;
}

export interface ContainerResize {
  id: string;
  name: string;
  index: number;
  init: boolean;
  /** What the container must run with (from the allocation). */
  resources: ContainerResources;
  /** resizePolicy RestartContainer for a resource that changes: stop it and start it again with `resources`. */
  restart: boolean;
  /** The memory limit goes down: only when usage is below it (else the kernel would OOM-kill). */
  memoryLimitDecrease: boolean;
  /** The restart count of the running instance (a restart starts count + 1). */
  restartCount: number;
}

function policyOf(c: Container, resource: 'cpu' | 'memory'): string {
  return c.resizePolicy?.find((p) => p.resourceName === resource)?.restartPolicy || 'NotRequired';
}

/**
 * The running containers of `pod` (already with its allocation applied)
 * whose cgroup limits differ from the allocation, and how each is resized.
 */
export function containerResizes(pod: Pod, state: PodRuntimeState): ContainerResize[] {
  const out: ContainerResize[] = [];
  for (const { c, index, init } of resizable(pod)) {
    const latest = containersNamed(state, c.name ?? '')[0];
    if (latest?.state !== 'running') continue;
    const want = buildResources(c);
    const have = latest.resources;
    const cpuChanged = want.cpuRequestMilli !== have.cpuRequestMilli || want.cpuLimitMilli !== have.cpuLimitMilli;
    const memoryChanged = want.memoryLimitBytes !== have.memoryLimitBytes;
    if (!cpuChanged && !memoryChanged) continue;
    out.push({
      id: latest.id,
      name: c.name ?? '',
      index,
      init,
      resources: { ...want, ...(have.pidsLimit !== undefined ? { pidsLimit: have.pidsLimit } : {}) },
      restart: (cpuChanged && policyOf(c, 'cpu') === 'RestartContainer') || (memoryChanged && policyOf(c, 'memory') === 'RestartContainer'),
      memoryLimitDecrease:
        memoryChanged && want.memoryLimitBytes !== undefined && (have.memoryLimitBytes === undefined || want.memoryLimitBytes < have.memoryLimitBytes),
      restartCount: restartCountOf(latest),
    });
  }
  return out;
}

/** The pod cgroup's new limits when pod-level resources were resized, else undefined. */
export function podCgroupResize(pod: Pod, actual: ContainerResources | undefined): ContainerResources | undefined {
  const want = buildPodResources(pod);
  const have = actual ?? {};
  const same = want.cpuRequestMilli === have.cpuRequestMilli && want.cpuLimitMilli === have.cpuLimitMilli && want.memoryLimitBytes === have.memoryLimitBytes;
  return same || Object.keys(want).length === 0 ? undefined : want;
}

/**
 * The requests and limits in force, as status.containerStatuses[].resources
 * reports them: the allocation as written when the cgroup matches it, else
 * what the cgroup holds (cpu in millicores, memory in bytes).
 */
export function actualRequirements(allocated: ResourceRequirements, actual: ContainerResources): ResourceRequirements {
  const want = buildResources({ name: '', resources: allocated });
  if (want.cpuRequestMilli === actual.cpuRequestMilli && want.cpuLimitMilli === actual.cpuLimitMilli && want.memoryLimitBytes === actual.memoryLimitBytes) {
    return structuredClone(allocated);
  }
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
  if (actual.cpuRequestMilli !== undefined) requests['cpu'] = `${actual.cpuRequestMilli}m`;
  if (allocated.requests?.['memory'] !== undefined) requests['memory'] = allocated.requests['memory'];
  if (actual.cpuLimitMilli !== undefined) limits['cpu'] = `${actual.cpuLimitMilli}m`;
  if (actual.memoryLimitBytes !== undefined) limits['memory'] = String(actual.memoryLimitBytes);
  return { ...(Object.keys(requests).length > 0 ? { requests } : {}), ...(Object.keys(limits).length > 0 ? { limits } : {}) };
}

/** Where a resize stands, for the pod's conditions. */
export interface ResizeState {
  pending?: ResizePending;
  /** The allocation is not yet what runs (actuation under way or failing). */
  inProgress: boolean;
  /** Why actuation failed (PodResizeInProgress reason Error). */
  error?: string;
}

function resizeCondition(old: readonly PodCondition[] | undefined, now: number, type: string, reason: string, message: string): PodCondition {
  const prev = old?.find((c) => c.type === type);
  const same = prev?.status === 'True' && (prev.reason ?? '') === reason && (prev.message ?? '') === message;
  return {
    type,
    status: 'True',
    lastTransitionTime: same && prev?.lastTransitionTime ? prev.lastTransitionTime : rfc3339(now),
    ...(reason ? { reason } : {}),
    ...(message ? { message } : {}),
  };
}

/** PodResizePending and PodResizeInProgress as Kubernetes reports them; none once a resize is done. */
export function resizeConditions(old: readonly PodCondition[] | undefined, now: number, state: ResizeState): PodCondition[] {
  const out: PodCondition[] = [];
  if (state.pending) out.push(resizeCondition(old, now, POD_RESIZE_PENDING, state.pending.reason, state.pending.message));
  if (state.inProgress || state.error) out.push(resizeCondition(old, now, POD_RESIZE_IN_PROGRESS, state.error ? 'Error' : '', state.error ?? ''));
  return out;
}

function sortedList(list: Readonly<Record<string, string>> | undefined): Record<string, string> | undefined {
  const keys = Object.keys(list ?? {}).sort();
  return keys.length === 0 ? undefined : Object.fromEntries(keys.map((k) => [k, list![k]!]));
}

/**
 * The body of Kubernetes' resize events (ResizeStarted, ResizeDeferred,
 * ResizeInfeasible, ResizeError, ResizeCompleted): the resizable containers'
 * requested resources, the pod's generation and the error, as JSON:
 * `{"containers":[{"name":"c","resources":{"requests":{"cpu":"1"}}}],"generation":2}`.
 */
export function resizeEventPayload(pod: Pod, error?: string): string {
  const containers = resizable(pod)
    .map(({ c }) => {
      const limits = sortedList(c.resources?.limits);
      const requests = sortedList(c.resources?.requests);
      return { name: c.name ?? '', resources: { ...(limits ? { limits } : {}), ...(requests ? { requests } : {}) } };
    })
    .filter((c) => Object.keys(c.resources).length > 0);
  return JSON.stringify({ containers, generation: pod.metadata?.generation ?? 0, ...(error !== undefined ? { error } : {}) });
}
