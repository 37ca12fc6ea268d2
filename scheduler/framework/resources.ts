// Builds the plugins' views of pods and nodes: a pod's effective requests
// (as Kubernetes computes them: the larger of the containers' sum and the
// largest init container, since init containers run one at a time before
// the others; a pod-level request in spec.resources replaces that sum), its
// host ports and controller, and a node's allocatable and the sums over the
// pods counted on it.

import type { Container, Node, Pod, Taint } from '../../api/gen/tsk/v1/core';
import { isSupportedPodLevelResource } from '../../api/pod-resources';
import { parseQuantity } from '../../api/quantity';
import { objectKey } from '../../client';
import type { HostPort, NodeInfo, PodInfo, Resource } from './types';

/** Kubernetes' defaults for scoring a container that requests nothing (pkg/scheduler/util: 100m, 200Mi). */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

export function emptyResource(): Resource {
  return { milliCpu: 0, memory: 0, scalar: {} };
}

/** Parsed quantities by their text: every pod of a controller repeats the same few ("100m", "128Mi"). */
const parsedQuantities = new Map<string, { readonly milli: number; readonly value: number }>();
const PARSED_QUANTITIES_MAX = 4096;

function parsed(quantity: string): { readonly milli: number; readonly value: number } {
  let p = parsedQuantities.get(quantity);
  if (!p) {
    const q = parseQuantity(quantity);
    p = { milli: q.milliValue(), value: q.value() };
    if (parsedQuantities.size >= PARSED_QUANTITIES_MAX) parsedQuantities.clear();
    parsedQuantities.set(quantity, p);
  }
  return p;
}

/** Adds one resource list entry (Kubernetes resource name, quantity string) to r. */
function addEntry(r: Resource, name: string, quantity: string): void {
  if (name === 'cpu') r.milliCpu += parsed(quantity).milli;
  else if (name === 'memory') r.memory += parsed(quantity).value;
  else if (name !== 'pods') r.scalar[name] = (r.scalar[name] ?? 0) + parsed(quantity).value;
}

/** A resource list ({cpu: "500m", memory: "1Gi", ...}) as a Resource. Quantities were validated by the API server. */
export function resourceFromList(list: Readonly<Record<string, string>> | undefined): Resource {
  const r = emptyResource();
  for (const [name, quantity] of Object.entries(list ?? {})) addEntry(r, name, quantity);
  return r;
}

export function addResources(into: Resource, other: Resource): void {
  into.milliCpu += other.milliCpu;
  into.memory += other.memory;
  // for-in, not Object.entries: no arrays made per call (a node's sums add every pod on it, each cycle the node changed).
  for (const name in other.scalar) into.scalar[name] = (into.scalar[name] ?? 0) + (other.scalar[name] ?? 0);
}

function maxResources(into: Resource, other: Resource): void {
  into.milliCpu = Math.max(into.milliCpu, other.milliCpu);
  into.memory = Math.max(into.memory, other.memory);
  for (const [name, v] of Object.entries(other.scalar)) into.scalar[name] = Math.max(into.scalar[name] ?? 0, v);
}

/** Whether the kubelet found the pod's pending resize infeasible (PodResizePending, reason Infeasible). */
function resizeInfeasible(pod: Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'PodResizePending' && c.status === 'True' && c.reason === 'Infeasible');
}

/**
 * What a container holds on its node while an in-place resize is under way
 * (Kubernetes' PodRequests with UseStatusResources): the largest of its spec
 * requests, what the kubelet allocated and what is in force, so a node is
 * never overcommitted mid-resize; an infeasible resize will never happen, so
 * then only the allocated and actual values count.
 */
function requestsWithStatus(pod: Pod, c: Container, init: boolean): Record<string, string> {
  const statuses = init ? pod.status?.initContainerStatuses : pod.status?.containerStatuses;
  const st = statuses?.find((s) => s.name === c.name);
  const lists = [st?.allocatedResources, st?.resources?.requests].filter((l): l is Record<string, string> => l !== undefined && Object.keys(l).length > 0);
  if (lists.length === 0) return c.resources?.requests ?? {};
  if (!resizeInfeasible(pod)) lists.unshift(c.resources?.requests ?? {});
  const out: Record<string, string> = {};
  for (const list of lists) {
    for (const [name, value] of Object.entries(list)) {
      const have = out[name];
      if (have === undefined || parseQuantity(value).cmp(parseQuantity(have)) > 0) out[name] = value;
    }
  }
  return out;
}

function containerRequests(pod: Pod, c: Container, nonZero: boolean, init = false): Resource {
  const requests = requestsWithStatus(pod, c, init);
  const r = resourceFromList(requests);
  if (nonZero) {
    if (!('cpu' in requests)) r.milliCpu = DEFAULT_MILLI_CPU_REQUEST;
    if (!('memory' in requests)) r.memory = DEFAULT_MEMORY_REQUEST;
  }
  return r;
}

/**
 * The pod's effective requests; nonZero applies the scoring defaults to
 * containers that leave cpu or memory unset. Kubernetes' PodRequests with
 * sidecars (init containers with restartPolicy Always): a sidecar runs on
 * beside everything after it, so it adds to the app containers' sum and to
 * every later init container's own requests. A pod-level request
 * (spec.resources.requests, PodLevelResources) replaces that aggregate for
 * its resource, for scoring too.
 */
export function podRequests(pod: Pod, nonZero = false): Resource {
  const sum = emptyResource();
  for (const c of pod.spec?.containers ?? []) addResources(sum, containerRequests(pod, c, nonZero));
  const sidecars = emptyResource();
  const init = emptyResource();
  for (const c of pod.spec?.initContainers ?? []) {
    const own = containerRequests(pod, c, nonZero, true);
    if (c.restartPolicy === 'Always') {
      addResources(sum, own);
      addResources(sidecars, own);
      maxResources(init, sidecars);
    } else {
      addResources(own, sidecars);
      maxResources(init, own);
    }
  }
  maxResources(sum, init);
  for (const [name, quantity] of Object.entries(podLevelRequests(pod))) {
    if (!isSupportedPodLevelResource(name)) continue;
    const single = resourceFromList({ [name]: quantity });
    if (name === 'cpu') sum.milliCpu = single.milliCpu;
    else if (name === 'memory') sum.memory = single.memory;
    else sum.scalar[name] = single.scalar[name] ?? 0;
  }
  return sum;
}

/** Pod-level requests, the larger of spec and status.resources (a pod-level resize under way). */
function podLevelRequests(pod: Pod): Record<string, string> {
  const out: Record<string, string> = { ...pod.spec?.resources?.requests };
  const actual = pod.status?.resources?.requests ?? {};
  for (const [name, value] of Object.entries(actual)) {
    const have = out[name];
    if (have === undefined || resizeInfeasible(pod) || parseQuantity(value).cmp(parseQuantity(have)) > 0) out[name] = value;
  }
  return out;
}

export function podHostPorts(pod: Pod): HostPort[] {
  const out: HostPort[] = [];
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (!p.hostPort || p.hostPort <= 0) continue;
      out.push({ protocol: p.protocol || 'TCP', ip: p.hostIP || '0.0.0.0', port: p.hostPort });
    }
  }
  return out;
}

export function controllerUid(pod: Pod): string {
  return pod.metadata?.ownerReferences?.find((r) => r.controller)?.uid ?? '';
}

const podInfos = new WeakMap<Pod, PodInfo>();

/** The PodInfo of a pod object, memoized per object (informer objects are replaced, never mutated). */
export function podInfo(pod: Pod): PodInfo {
  let info = podInfos.get(pod);
  if (!info) {
    info = {
      pod,
      key: objectKey(pod),
      requests: podRequests(pod),
      nonZeroRequests: podRequests(pod, true),
      hostPorts: podHostPorts(pod),
      controllerUid: controllerUid(pod),
    };
    podInfos.set(pod, info);
  }
  return info;
}

/** The PodInfo of an assumed copy of a pod (only spec.nodeName set): the original's, computed once. */
export function assumedPodInfo(original: Pod, copy: Pod): PodInfo {
  const info: PodInfo = { ...podInfo(original), pod: copy };
  podInfos.set(copy, info);
  return info;
}

/** Succeeded and Failed pods hold no resources. */
export function isTerminal(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

/** status.allocatable, or status.capacity when the node reports no allocatable (Kubernetes defaults one to the other). */
function allocatableList(node: Node): Record<string, string> {
  const alloc = node.status?.allocatable ?? {};
  return Object.keys(alloc).length > 0 ? alloc : (node.status?.capacity ?? {});
}

interface NodeCapacity {
  readonly allocatable: Resource;
  readonly allowedPods: number;
}

const capacities = new WeakMap<Node, NodeCapacity>();

/** The node's parsed allocatable, memoized per node object. */
function nodeCapacity(node: Node): NodeCapacity {
  let c = capacities.get(node);
  if (!c) {
    const list = allocatableList(node);
    c = { allocatable: resourceFromList(list), allowedPods: list['pods'] ? parseQuantity(list['pods']).value() : 0 };
    capacities.set(node, c);
  }
  return c;
}

const NO_TAINTS: readonly Taint[] = Object.freeze([]);

/** The NodeInfo of a node with the pods counted on it (callers pass only non-terminal pods). */
export function nodeInfo(node: Node, pods: readonly PodInfo[]): NodeInfo {
  const requested = emptyResource();
  const nonZeroRequested = emptyResource();
  const hostPorts: HostPort[] = [];
  const controllerCounts = new Map<string, number>();
  const podsWithAffinity: PodInfo[] = [];
  const podsWithRequiredAntiAffinity: PodInfo[] = [];
  for (const p of pods) {
    const affinity = p.pod.spec?.affinity;
    if (affinity?.podAffinity || affinity?.podAntiAffinity) podsWithAffinity.push(p);
    if ((affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).length > 0) podsWithRequiredAntiAffinity.push(p);
    addResources(requested, p.requests);
    addResources(nonZeroRequested, p.nonZeroRequests);
    if (p.hostPorts.length > 0) hostPorts.push(...p.hostPorts);
    if (p.controllerUid) controllerCounts.set(p.controllerUid, (controllerCounts.get(p.controllerUid) ?? 0) + 1);
  }
  const { allocatable, allowedPods } = nodeCapacity(node);
  return {
    node,
    name: node.metadata?.name ?? '',
    pods,
    allocatable,
    requested,
    nonZeroRequested,
    hostPorts,
    allowedPods,
    controllerCounts,
    podsWithAffinity,
    podsWithRequiredAntiAffinity,
    unschedulable: node.spec?.unschedulable ?? false,
    taints: node.spec?.taints?.length ? node.spec.taints : NO_TAINTS,
    podCount: pods.length,
    allocatableMilliCpu: allocatable.milliCpu,
    allocatableMemory: allocatable.memory,
    requestedMilliCpu: requested.milliCpu,
    requestedMemory: requested.memory,
    nonZeroRequestedMilliCpu: nonZeroRequested.milliCpu,
    nonZeroRequestedMemory: nonZeroRequested.memory,
  };
}

/** What the resource scores compare: cpu and memory requested on the node with the pod placed (non-zero requests), and allocatable. */
export interface ScoringUsage {
  readonly cpu: { readonly requested: number; readonly allocatable: number };
  readonly memory: { readonly requested: number; readonly allocatable: number };
}

export function scoringUsage(pod: PodInfo, node: NodeInfo): ScoringUsage {
  return {
    cpu: { requested: node.nonZeroRequested.milliCpu + pod.nonZeroRequests.milliCpu, allocatable: node.allocatable.milliCpu },
    memory: { requested: node.nonZeroRequested.memory + pod.nonZeroRequests.memory, allocatable: node.allocatable.memory },
  };
}
