// The pure half of the status manager (Kubernetes' generateAPIPodStatus and
// getPhase): the pod's status from what the runtime reports, the reasons the
// last sync left for containers that could not start, and probe results.

import type { ContainerState, ContainerStatus as ApiContainerStatus, Pod, PodCondition, PodStatus } from '../api/gen/tsk/v1/core';
import { containerNameOf, restartCountOf, type PodRuntimeState } from './pod-runtime';
import { initDone, isSidecar } from './planner';
import { exitAction } from './restart-rules';
import type { ContainerStatus } from './runtime/runtime';
import { rfc3339 } from '../util/time';
import type { PodAllocation } from './allocation';
import { actualRequirements, resizeConditions, type ResizeState } from './resize';

import { qosClass } from '../api/pod-qos';

export { qosClass };

export interface Waiting {
  reason: string;
  message: string;
}

export interface StatusInput {
  pod: Pod;
  state: PodRuntimeState;
  now: number;
  hostIP: string;
  /** Why a container is not running, set by the last sync (ErrImagePull, CrashLoopBackOff, ...), by name. */
  waiting: ReadonlyMap<string, Waiting>;
  /** The readiness probe's last result for a container ID; undefined when there is none yet. */
  readiness: (containerId: string) => boolean | undefined;
  /** Whether a container's startup probe passed (undefined: no result, counts as not started when it has one). */
  started?: (containerId: string) => boolean | undefined;
  /** The pod is being deleted: once its containers stopped it is finished, whatever its restart policy. */
  terminating?: boolean;
  /** The kubelet failed the pod (DeadlineExceeded): phase Failed with this reason and message. */
  failure?: { reason: string; message: string };
  /**
   * KEP-5532's AllContainersRestarting condition: True (with the trigger's
   * message) while an in-place pod restart kills and removes the
   * containers, False once it did; unset, the API's condition is kept.
   */
  restartingAll?: { status: boolean; message: string };
  /** What the kubelet allocated (in-place resize): allocatedResources, and resources in force. */
  allocation?: PodAllocation;
  /** Where a resize stands: the PodResizePending and PodResizeInProgress conditions. */
  resize?: ResizeState;
}

/** KEP-5532's pod condition of an in-place pod restart, and its reason. */
export const ALL_CONTAINERS_RESTARTING = 'AllContainersRestarting';
const CONTAINER_EXITED = 'ContainerExited';

export const CONTAINER_ID_PREFIX = 'tsk://';

function terminated(c: ContainerStatus): ContainerState {
  return {
    terminated: {
      exitCode: c.exitCode ?? 0,
      ...(c.signal ? { signal: c.signal } : {}),
      reason: c.reason ?? (c.exitCode === 0 ? 'Completed' : 'Error'),
      ...(c.message ? { message: c.message } : {}),
      ...(c.startedAt ? { startedAt: rfc3339(c.startedAt) } : {}),
      finishedAt: rfc3339(c.finishedAt ?? c.createdAt),
      containerID: CONTAINER_ID_PREFIX + c.id,
    },
  };
}

function stateOf(c: ContainerStatus): ContainerState {
  if (c.state === 'running') return { running: { startedAt: rfc3339(c.startedAt ?? c.createdAt) } };
  if (c.state === 'created') return { waiting: { reason: 'ContainerCreating' } };
  return terminated(c);
}

function containerStatus(input: StatusInput, index: number, init: boolean, initialized: boolean): ApiContainerStatus {
  const spec = (init ? input.pod.spec?.initContainers : input.pod.spec?.containers)?.[index];
  const name = spec?.name ?? '';
  const instances = input.state.containers.filter((c) => containerNameOf(c) === name);
  const [latest, previous] = instances;
  const wait = input.waiting.get(name) ?? (!init && !initialized ? { reason: 'PodInitializing', message: '' } : undefined);
  const old = (init ? input.pod.status?.initContainerStatuses : input.pod.status?.containerStatuses)?.find((s) => s.name === name);
  const out: ApiContainerStatus = { name, image: spec?.image ?? '', imageID: '', ready: false, started: false, restartCount: 0 };
  // What the kubelet admitted (in-place resize), for every container that can be resized, started or not.
  const allocated = !init || isSidecar(spec) ? input.allocation?.containers[name] : undefined;
  if (allocated?.requests && Object.keys(allocated.requests).length > 0) out.allocatedResources = { ...allocated.requests };
  if (!latest) {
    out.state = { waiting: { reason: wait?.reason ?? 'ContainerCreating', ...(wait?.message ? { message: wait.message } : {}) } };
    // The runtime lost every instance (cleaned up, or removed by an in-place pod restart): keep what the API knew.
    out.restartCount = old?.restartCount ?? 0;
    const last = lastTermination(old);
    if (last) out.lastState = last;
    return out;
  }
  out.restartCount = restartCountOf(latest);
  if (allocated && latest.state === 'running') out.resources = actualRequirements(allocated, latest.resources);
  out.imageID = latest.imageId;
  out.containerID = CONTAINER_ID_PREFIX + latest.id;
  if (wait && latest.state !== 'running') {
    // Exited and not started again (back-off, image or create error): waiting, with the exit as lastState.
    out.state = { waiting: { reason: wait.reason, ...(wait.message ? { message: wait.message } : {}) } };
    if (latest.state !== 'created') out.lastState = terminated(latest);
    return out;
  }
  out.state = stateOf(latest);
  if (previous && previous.state !== 'running' && previous.state !== 'created') out.lastState = terminated(previous);
  else if (old?.lastState?.terminated && old.containerID === out.containerID) out.lastState = old.lastState;
  else if (!previous && old && old.containerID !== out.containerID) {
    // A new instance whose predecessor the runtime no longer has (an in-place pod restart removed it): the API's record of it.
    const last = lastTermination(old);
    if (last) out.lastState = last;
  }
  // A sidecar reports started and ready as an app container does; a plain init container is never ready while it runs.
  const sidecar = init && isSidecar(spec);
  if (latest.state === 'running') {
    out.started = spec?.startupProbe ? input.started?.(latest.id) === true : true;
    out.ready = (init && !sidecar) || !out.started ? false : spec?.readinessProbe ? input.readiness(latest.id) === true : true;
  }
  // A completed init container counts as ready, as in Kubernetes.
  if (init && !sidecar && out.state.terminated?.exitCode === 0) out.ready = true;
  return out;
}

/** The termination the API last recorded for a container: its current state when terminated, else its lastState. */
function lastTermination(old: ApiContainerStatus | undefined): ContainerState | undefined {
  if (old?.state?.terminated) return { terminated: old.state.terminated };
  return old?.lastState?.terminated ? old.lastState : undefined;
}

/**
 * Kubernetes' getPhase: the pod phase from its app containers' states. A
 * stopped container that its rules or its (or the pod's) restart policy
 * start again keeps the pod Running (KEP-5307: a Never pod whose container
 * may restart is not finished); once none will, the pod Succeeded when all
 * exited 0 and Failed otherwise.
 */
export function podPhase(pod: Pod, statuses: ApiContainerStatus[], terminating = false): string {
  let waiting = 0;
  let running = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const s of statuses) {
    // A container waiting to restart (back-off) reports its last exit in lastState.
    const exit = s.state?.terminated ?? (s.state?.running ? undefined : s.lastState?.terminated);
    if (s.state?.running) running++;
    else if (exit) {
      const spec = pod.spec?.containers?.find((c) => c.name === s.name);
      // A deleted pod's containers are not restarted (Kubernetes gives it a terminal phase).
      if (!terminating && exitAction(pod, spec, exit.exitCode) !== 'None') running++;
      else {
        stopped++;
        if (exit.exitCode === 0 && s.state?.terminated) succeeded++;
      }
    } else waiting++;
  }
  if (statuses.length === 0 || waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  return stopped === succeeded ? 'Succeeded' : 'Failed';
}

function condition(old: PodCondition[] | undefined, now: number, type: string, status: boolean, reason = '', message = ''): PodCondition {
  const s = status ? 'True' : 'False';
  const prev = old?.find((c) => c.type === type);
  const since = prev?.status === s && prev.lastTransitionTime ? prev.lastTransitionTime : rfc3339(now);
  return { type, status: s, lastTransitionTime: since, ...(reason ? { reason } : {}), ...(message ? { message } : {}) };
}

function conditions(
  pod: Pod,
  statuses: ApiContainerStatus[],
  initStatuses: ApiContainerStatus[],
  initialized: boolean,
  phase: string,
  now: number,
  restartingAll?: StatusInput['restartingAll'],
): PodCondition[] {
  const old = pod.status?.conditions;
  const initSpecs = pod.spec?.initContainers ?? [];
  const sidecars = initStatuses.filter((_, i) => isSidecar(initSpecs[i]));
  // Kubernetes' GenerateContainersReadyCondition: the sidecars first, then the app containers.
  const unready = [...sidecars, ...statuses].filter((s) => !s.ready).map((s) => s.name ?? '');
  const done = phase === 'Succeeded' || phase === 'Failed';
  const reason = done ? 'PodCompleted' : unready.length > 0 ? 'ContainersNotReady' : '';
  const message = !done && unready.length > 0 ? `containers with unready status: [${unready.join(' ')}]` : '';
  const ready = unready.length === 0 && !done;
  // A sidecar is complete once started; an init container once it exited 0 (GeneratePodInitializedCondition).
  const incomplete = initStatuses.filter((s, i) => (isSidecar(initSpecs[i]) ? !s.started : s.state?.terminated?.exitCode !== 0)).map((s) => s.name ?? '');
  // An in-place pod restart does not make the pod uninitialized again (KEP-5532).
  const restarted = old?.some((c) => c.type === 'Initialized' && c.status === 'True') === true && old.some((c) => c.type === ALL_CONTAINERS_RESTARTING);
  const init =
    initialized || restarted
      ? condition(old, now, 'Initialized', true, done ? 'PodCompleted' : '')
      : condition(old, now, 'Initialized', false, 'ContainersNotInitialized', `containers with incomplete status: [${incomplete.join(' ')}]`);
  const out = [
    init,
    condition(old, now, 'Ready', ready, reason, message),
    condition(old, now, 'ContainersReady', ready, reason, message),
    condition(old, now, 'PodScheduled', true),
  ];
  const restarting = restartingCondition(old, now, restartingAll);
  return restarting ? [...out, restarting] : out;
}

/** AllContainersRestarting: as the pass set it, else as the API has it (a pod never restarted in place has none). */
function restartingCondition(old: PodCondition[] | undefined, now: number, set: StatusInput['restartingAll']): PodCondition | undefined {
  if (set) return condition(old, now, ALL_CONTAINERS_RESTARTING, set.status, CONTAINER_EXITED, set.message);
  return old?.find((c) => c.type === ALL_CONTAINERS_RESTARTING);
}

/**
 * KEP-5532: a pod restarted in place is Pending throughout: while its
 * containers are killed (AllContainersRestarting True; the killed ones must
 * not make a Never pod Failed), and until its app containers run again (it
 * has the condition and its sandbox holds no app container instance yet).
 */
function restartingInPlace(input: StatusInput): boolean {
  if (input.restartingAll?.status === true) return true;
  const sandbox = input.state.sandboxes[0];
  const marked = input.restartingAll !== undefined || input.pod.status?.conditions?.some((c) => c.type === ALL_CONTAINERS_RESTARTING) === true;
  if (!marked || sandbox?.state !== 'ready') return false;
  const apps = new Set((input.pod.spec?.containers ?? []).map((c) => c.name ?? ''));
  return !input.state.containers.some((c) => c.sandboxId === sandbox.id && apps.has(containerNameOf(c)));
}

/** The pod's status as the kubelet reports it. A pod the API saw finish stays finished. */
export function computePodStatus(input: StatusInput): PodStatus {
  const { pod, now } = input;
  const sandbox = input.state.sandboxes[0];
  const initialized = initDone(pod, input.state, sandbox?.id, input.started);
  const initStatuses = (pod.spec?.initContainers ?? []).map((_, i) => containerStatus(input, i, true, initialized));
  const statuses = (pod.spec?.containers ?? []).map((_, i) => containerStatus(input, i, false, initialized));
  const oldPhase = pod.status?.phase;
  const initSpecs = pod.spec?.initContainers ?? [];
  // A sidecar that exits is restarted, whatever the pod's policy: it never fails the pod. An init container fails it when nothing restarts it.
  const initFailed = initStatuses.some((s, i) => {
    const code = s.state?.terminated?.exitCode ?? 0;
    return !isSidecar(initSpecs[i]) && code !== 0 && exitAction(pod, initSpecs[i], code, true) === 'None';
  });
  const phase =
    oldPhase === 'Succeeded' || oldPhase === 'Failed'
      ? oldPhase
      : input.failure || initFailed
        ? 'Failed'
        : (!initialized || restartingInPlace(input)) && !input.terminating
          ? 'Pending'
          : podPhase(pod, statuses, input.terminating);
  const podIP = sandbox?.state === 'ready' ? (sandbox.ips[0] ?? '') : (pod.status?.podIP ?? '');
  const ips = sandbox?.state === 'ready' ? sandbox.ips : (pod.status?.podIPs ?? []).map((p) => p.ip ?? '').filter((ip) => ip !== '');
  const status: PodStatus = {
    phase,
    conditions: conditions(pod, statuses, initStatuses, initialized, phase, now, input.restartingAll),
    hostIP: input.hostIP,
    podIP,
    podIPs: ips.map((ip) => ({ ip })),
    startTime: pod.status?.startTime || rfc3339(now),
    ...(initStatuses.length > 0 ? { initContainerStatuses: initStatuses } : {}),
    containerStatuses: statuses,
  };
  const reason = input.failure ?? (oldPhase === 'Failed' && pod.status?.reason ? { reason: pod.status.reason, message: pod.status.message ?? '' } : undefined);
  if (reason) {
    status.reason = reason.reason;
    status.message = reason.message;
  }
  status.qosClass = qosClass(pod);
  if (input.resize) status.conditions = [...(status.conditions ?? []), ...resizeConditions(pod.status?.conditions, now, input.resize)];
  if (input.allocation?.pod && sandbox?.state === 'ready') status.resources = actualRequirements(input.allocation.pod, sandbox.resources ?? {});
  if (pod.status?.nominatedNodeName) status.nominatedNodeName = pod.status.nominatedNodeName;
  return status;
}

/** A canonical JSON of a status for change detection: key order, and unset/empty/false/zero values, do not count. */
export function canonical(value: unknown): string {
  const norm = (v: unknown): unknown => {
    if (Array.isArray(v)) {
      const items = v.map(norm).filter((x) => x !== undefined);
      return items.length > 0 ? items : undefined;
    }
    if (v !== null && typeof v === 'object') {
      const entries = Object.keys(v as Record<string, unknown>)
        .sort()
        .map((k) => [k, norm((v as Record<string, unknown>)[k])] as const)
        .filter(([, x]) => x !== undefined);
      return entries.length > 0 ? Object.fromEntries(entries) : undefined;
    }
    if (v === undefined || v === null || v === '' || v === false || v === 0) return undefined;
    return v;
  };
  return JSON.stringify(norm(value) ?? null);
}

export function statusChanged(old: PodStatus | undefined, next: PodStatus): boolean {
  return canonical(old) !== canonical(next);
}
