// The pure half of a pod sync (Kubernetes' kuberuntime computePodActions):
// from the pod as the API has it and what the runtime reports, which
// sandbox to create, stop or remove and which containers to start, kill or
// remove. It never calls anything; executor.ts carries the plan out. Every
// decision is re-derived from the current state, so running it again after
// a crash or a half-done pass makes the remaining progress and nothing twice.

import type { Container, Pod } from '../api/gen/tsk/v1/core';
import { goDuration } from './backoff';
import { containerNameOf, restartCountOf, type PodRuntimeState } from './pod-runtime';
import { exitAction, restartAllMessage } from './restart-rules';
import type { ContainerStatus } from './runtime/runtime';

export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

export interface PlanInput {
  pod: Pod;
  state: PodRuntimeState;
  /** Milliseconds left of container `name`'s crash back-off after its exit at `finishedAt` (0: may restart now). */
  crashBackoffRemaining: (name: string, finishedAt: number) => number;
  /** The current back-off of container `name`, for the waiting message. */
  crashBackoffDuration: (name: string) => number;
  /** True when the liveness probe of this running container has failed (it must be killed). */
  livenessFailed: (containerId: string) => boolean;
  /** True when its startup probe failed (killed as well). */
  startupFailed?: (containerId: string) => boolean;
  /** Whether a container's startup probe passed (undefined: no result yet); decides when a sidecar has started. */
  started?: (containerId: string) => boolean | undefined;
}

export interface ContainerToStart {
  /** Index in spec.containers, or in spec.initContainers when `init`. */
  index: number;
  init?: boolean;
  name: string;
  /** The new instance's restart count (previous + 1, or 0 for the first). */
  restartCount: number;
  /** True when this restarts a container that exited (the executor extends its back-off). */
  restart: boolean;
}

export interface ContainerToKill {
  id: string;
  name: string;
  /** Why, for the Killing event: Kubernetes' wording. */
  message: string;
  /** Overrides the pod's grace period (a liveness probe's terminationGracePeriodSeconds). */
  graceSeconds?: number;
}

export interface PodPlan {
  /** Stop every container of the pod, then its sandboxes (the sandbox is gone or the pod is done). */
  killPod: boolean;
  createSandbox: boolean;
  /** The ready sandbox containers start in; undefined when createSandbox. */
  sandboxId: string | undefined;
  /** Ready sandboxes to stop (older ones, or the current one of a finished pod). */
  stopSandboxes: string[];
  /** Stopped sandboxes that nothing needs any more. */
  removeSandboxes: string[];
  start: ContainerToStart[];
  kill: ContainerToKill[];
  /** Exited containers beyond the newest two of each name, or of names the spec no longer has. */
  removeContainers: string[];
  /** Containers waiting in CrashLoopBackOff: name -> message. */
  backOff: Map<string, string>;
  /** When a back-off ends and the pod should be synced again (ms from now). */
  requeueAfterMs: number | undefined;
  /**
   * A RestartAllContainers rule matched (KEP-5532): every container is killed
   * at once and every instance removed (`removeContainers`, the trigger's
   * last), keeping the sandbox, its IP and volumes; the next pass starts the
   * pod from its first init container.
   */
  restartAll: RestartAll | undefined;
}

export interface RestartAll {
  /** The container whose exit matched the rule. */
  name: string;
  exitCode: number;
  /** The AllContainersRestarting condition's message. */
  message: string;
}

export function restartPolicyOf(pod: Pod): RestartPolicy {
  const p = pod.spec?.restartPolicy;
  return p === 'OnFailure' || p === 'Never' ? p : 'Always';
}

/** Whether a container that exited with `exitCode` is started again under `policy`. */
export function shouldRestart(policy: RestartPolicy, exitCode: number | undefined): boolean {
  if (policy === 'Always') return true;
  if (policy === 'OnFailure') return exitCode !== 0;
  return false;
}

const isExited = (c: ContainerStatus): boolean => c.state === 'exited' || c.state === 'unknown';

/**
 * A sidecar (KEP-753): an init container with restartPolicy Always. It starts
 * in order with the init containers, runs beside the app containers and is
 * restarted whenever it exits, whatever the pod's restartPolicy.
 */
export function isSidecar(c: Container | undefined): boolean {
  return c?.restartPolicy === 'Always';
}

/**
 * Kubernetes' "started" for a sidecar instance: running, and its startup
 * probe passed when it has one. Its postStart hook has returned by then: the
 * sync that started it waited for the hook before it ended.
 */
export function sidecarStarted(spec: Container, c: ContainerStatus | undefined, started?: (containerId: string) => boolean | undefined): boolean {
  if (c?.state !== 'running') return false;
  return !spec.startupProbe || started?.(c.id) === true;
}
const isRunning = (c: ContainerStatus): boolean => c.state === 'running' || c.state === 'created';

/** "name_namespace(uid)": how Kubernetes names a pod in messages. */
export function podDescription(pod: Pod): string {
  const m = pod.metadata;
  return `${m?.name ?? ''}_${m?.namespace ?? ''}(${m?.uid ?? ''})`;
}

/** The fieldPath of a container in events, as Kubernetes writes it: `spec.initContainers{name}` for init containers and sidecars. */
export function containerFieldPath(pod: Pod, name: string): string {
  const init = pod.spec?.initContainers?.some((c) => c.name === name) === true;
  return `spec.${init ? 'initContainers' : 'containers'}{${name}}`;
}

/**
 * True when the pod will never run a container again: the API says it
 * Succeeded or Failed, an init container failed for good, or every
 * container exited and neither its rules nor its (or the pod's) restart
 * policy start any of them again (KEP-5307).
 */
export function podFinished(pod: Pod, state: PodRuntimeState): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return true;
  // An in-place pod restart cut short (the containers killed, not yet removed) is still to be finished.
  const sandbox = state.sandboxes[0];
  if (sandbox?.state === 'ready' && restartAllTrigger(pod, state, sandbox.id)) return false;
  if (initFailed(pod, state)) return true;
  const spec = pod.spec?.containers ?? [];
  if (spec.length === 0) return false;
  return spec.every((c) => {
    const latest = state.containers.find((x) => containerNameOf(x) === (c.name ?? ''));
    return latest !== undefined && isExited(latest) && exitAction(pod, c, latest.exitCode) === 'None';
  });
}

/** A (non-sidecar) init container's newest instance exited non-zero and nothing starts it (or the pod) again. */
function initFailed(pod: Pod, state: PodRuntimeState): boolean {
  return (pod.spec?.initContainers ?? []).some((c) => {
    if (isSidecar(c)) return false;
    const latest = state.containers.find((x) => containerNameOf(x) === (c.name ?? ''));
    return latest !== undefined && isExited(latest) && latest.exitCode !== 0 && exitAction(pod, c, latest.exitCode, true) === 'None';
  });
}

/**
 * The restart count of a container's next instance when the runtime has
 * none of it: one more than the API's count when the API saw it run (its
 * instances were removed, as by an in-place pod restart), else 0.
 */
export function nextRestartCount(pod: Pod, name: string, init: boolean, latest: ContainerStatus | undefined): number {
  if (latest) return restartCountOf(latest) + 1;
  const old = (init ? pod.status?.initContainerStatuses : pod.status?.containerStatuses)?.find((s) => s.name === name);
  const ran = old?.state?.running !== undefined || old?.state?.terminated !== undefined || old?.lastState?.terminated !== undefined;
  return ran ? (old?.restartCount ?? 0) + 1 : 0;
}

/**
 * The exited container in `sandboxId` whose exit matched a
 * RestartAllContainers rule (KEP-5532), if any: init containers (sidecars
 * included) first, in spec order, then the app containers. Only a newest
 * instance counts, so once the pod restarted (every instance removed) the
 * same exit never triggers again.
 */
export function restartAllTrigger(pod: Pod, state: PodRuntimeState, sandboxId: string): { container: ContainerStatus; exitCode: number } | undefined {
  const specs: Array<[Container, boolean]> = [
    ...(pod.spec?.initContainers ?? []).map((c): [Container, boolean] => [c, true]),
    ...(pod.spec?.containers ?? []).map((c): [Container, boolean] => [c, false]),
  ];
  for (const [c, init] of specs) {
    const latest = state.containers.find((x) => containerNameOf(x) === (c.name ?? ''));
    if (!latest || latest.sandboxId !== sandboxId || !isExited(latest)) continue;
    if (exitAction(pod, c, latest.exitCode, init) === 'RestartAllContainers') return { container: latest, exitCode: latest.exitCode ?? 0 };
  }
  return undefined;
}

/**
 * True when the pod's app containers may run in `sandboxId`: every init
 * container's newest instance there exited 0 and every sidecar's has started
 * (`started`: the startup probe results), or an app container already ran
 * there (the init instances may have been collected or restarted since).
 */
export function initDone(pod: Pod, state: PodRuntimeState, sandboxId: string | undefined, started?: (containerId: string) => boolean | undefined): boolean {
  const inSandbox = state.containers.filter((c) => c.sandboxId === sandboxId);
  const apps = new Set((pod.spec?.containers ?? []).map((c) => c.name ?? ''));
  if (inSandbox.some((c) => apps.has(containerNameOf(c)))) return true;
  return (pod.spec?.initContainers ?? []).every((c) => {
    const latest = inSandbox.find((x) => containerNameOf(x) === (c.name ?? ''));
    if (isSidecar(c)) return sidecarStarted(c, latest, started);
    return latest !== undefined && isExited(latest) && latest.exitCode === 0;
  });
}

/**
 * Milliseconds left of the pod's activeDeadlineSeconds, counted from its
 * startTime (or `firstSeen` before it has one); undefined without a deadline.
 */
export function deadlineRemaining(pod: Pod, firstSeen: number, now: number): number | undefined {
  const deadline = pod.spec?.activeDeadlineSeconds;
  if (deadline === undefined || deadline === null || deadline <= 0) return undefined;
  const started = Date.parse(pod.status?.startTime ?? '');
  return (Number.isFinite(started) ? started : firstSeen) + deadline * 1000 - now;
}

function emptyPlan(): PodPlan {
  return {
    killPod: false,
    createSandbox: false,
    sandboxId: undefined,
    stopSandboxes: [],
    removeSandboxes: [],
    start: [],
    kill: [],
    removeContainers: [],
    backOff: new Map(),
    requeueAfterMs: undefined,
    restartAll: undefined,
  };
}

/** Garbage: exited containers past the newest two per spec name, and exited ones of unknown names. */
function collectGarbage(pod: Pod, state: PodRuntimeState, plan: PodPlan): void {
  const names = new Set([...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c) => c.name ?? ''));
  const seen = new Map<string, number>();
  for (const c of state.containers) {
    const name = containerNameOf(c);
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    if (!names.has(name)) {
      if (isExited(c)) plan.removeContainers.push(c.id);
      else plan.kill.push({ id: c.id, name, message: `Container ${name} is not in the pod's spec, will be killed` });
    } else if (n > 2 && isExited(c)) {
      plan.removeContainers.push(c.id);
    }
  }
  const kept = new Set(state.containers.filter((c) => !plan.removeContainers.includes(c.id)).map((c) => c.sandboxId));
  for (const s of state.sandboxes.slice(1)) {
    if (s.state === 'ready') plan.stopSandboxes.push(s.id);
    else if (!kept.has(s.id)) plan.removeSandboxes.push(s.id);
  }
}

/** A new sandbox is needed: start what the restart policies and rules allow in it. */
function planNewSandbox(pod: Pod, state: PodRuntimeState, policy: RestartPolicy, plan: PodPlan): void {
  plan.killPod = state.containers.some(isRunning);
  // A pod that must not restart and already ran is not started again in a new sandbox (Kubernetes does the same).
  if (policy === 'Never' && state.containers.length > 0) return;
  plan.createSandbox = true;
  const firstInit = pod.spec?.initContainers?.[0];
  if (firstInit) {
    // A new sandbox runs the init containers again, from the first.
    const name = firstInit.name ?? '';
    const latest = state.containers.find((x) => containerNameOf(x) === name);
    plan.start.push({ index: 0, init: true, name, restartCount: nextRestartCount(pod, name, true, latest), restart: latest !== undefined });
    return;
  }
  (pod.spec?.containers ?? []).forEach((c, index) => {
    const name = c.name ?? '';
    const latest = state.containers.find((x) => containerNameOf(x) === name);
    if (latest && isExited(latest) && exitAction(pod, c, latest.exitCode) === 'None') return;
    plan.start.push({ index, name, restartCount: nextRestartCount(pod, name, false, latest), restart: latest !== undefined });
  });
}

/**
 * Init containers run one at a time, in order: the first not yet completed
 * in this sandbox is (re)started. A sidecar counts as done once it has
 * started (and stays running); until then the ones after it wait.
 */
function planInit(input: PlanInput, sandboxId: string, plan: PodPlan): void {
  const init = input.pod.spec?.initContainers ?? [];
  for (let index = 0; index < init.length; index++) {
    const spec = init[index];
    const name = spec?.name ?? '';
    const latest = input.state.containers.find((x) => containerNameOf(x) === name);
    const here = latest?.sandboxId === sandboxId ? latest : undefined;
    if (spec && isSidecar(spec)) {
      if (sidecarStarted(spec, here, input.started)) continue;
      if (here?.state === 'running') {
        // Waiting for its startup probe, which may fail and restart it.
        killOnProbeFailure(input, spec, here, plan);
        return;
      }
    } else if (here && isExited(here) && here.exitCode === 0) continue;
    if (!here) {
      plan.start.push({ index, init: true, name, restartCount: nextRestartCount(input.pod, name, true, latest), restart: latest !== undefined });
    } else if (here.state === 'created') {
      plan.removeContainers.push(here.id);
      plan.start.push({ index, init: true, name, restartCount: restartCountOf(here), restart: false });
    } else if (isExited(here)) {
      // Failed: when nothing restarts it the pod is finished (podFinished); otherwise, and always for a sidecar, it restarts with back-off.
      restartAfterBackoff(input, here, name, plan, { index, init: true, name, restartCount: restartCountOf(here) + 1, restart: true });
    }
    return;
  }
}

/** Starts `start` now, or records the CrashLoopBackOff wait of the exited instance `latest`. */
function restartAfterBackoff(input: PlanInput, latest: ContainerStatus, name: string, plan: PodPlan, start: ContainerToStart): void {
  const finishedAt = (latest.finishedAt ?? latest.createdAt).getTime();
  const remaining = input.crashBackoffRemaining(name, finishedAt);
  if (remaining > 0) {
    const d = input.crashBackoffDuration(name);
    plan.backOff.set(name, `back-off ${goDuration(d)} restarting failed container=${name} pod=${podDescription(input.pod)}`);
    plan.requeueAfterMs = Math.min(plan.requeueAfterMs ?? Infinity, remaining);
    return;
  }
  plan.start.push(start);
}

/** Kills a running container whose startup or liveness probe failed (it restarts under its policy and back-off). */
function killOnProbeFailure(input: PlanInput, spec: Container | undefined, latest: ContainerStatus, plan: PodPlan): void {
  const name = containerNameOf(latest);
  const failed = input.startupFailed?.(latest.id) ? 'startup' : input.livenessFailed(latest.id) ? 'liveness' : undefined;
  if (!failed) return;
  const grace = (failed === 'startup' ? spec?.startupProbe : spec?.livenessProbe)?.terminationGracePeriodSeconds;
  plan.kill.push({
    id: latest.id,
    name,
    message: `Container ${name} failed ${failed} probe, will be restarted`,
    ...(grace !== undefined ? { graceSeconds: grace } : {}),
  });
}

/**
 * Plans one spec container in the current, ready sandbox: an app container
 * (spec.containers[index]) or, with `init`, a sidecar (spec.initContainers[index],
 * whose policy is always Always). An exited one starts again when its rules
 * or restart policy say so (exitAction).
 */
function planContainer(input: PlanInput, sandboxId: string, index: number, plan: PodPlan, init = false): void {
  const spec = (init ? input.pod.spec?.initContainers : input.pod.spec?.containers)?.[index];
  const restarts = (exitCode: number | undefined): boolean => exitAction(input.pod, spec, exitCode) !== 'None';
  const name = spec?.name ?? '';
  const at = (restartCount: number, restart: boolean): ContainerToStart => ({ index, ...(init ? { init } : {}), name, restartCount, restart });
  const all = input.state.containers.filter((x) => containerNameOf(x) === name);
  const latest = all[0];
  if (!latest) {
    plan.start.push(at(nextRestartCount(input.pod, name, init, undefined), false));
    return;
  }
  const next = restartCountOf(latest) + 1;
  if (latest.sandboxId !== sandboxId) {
    // Ran in an earlier sandbox: start here unless it finished for good.
    if (isExited(latest) && !restarts(latest.exitCode)) return;
    plan.start.push(at(next, true));
    return;
  }
  if (latest.state === 'running') {
    killOnProbeFailure(input, spec, latest, plan);
    return;
  }
  if (latest.state === 'created') {
    // Created but never started (the kubelet died in between): replace it, same count.
    plan.removeContainers.push(latest.id);
    plan.start.push(at(restartCountOf(latest), false));
    return;
  }
  if (!restarts(latest.exitCode)) return;
  restartAfterBackoff(input, latest, name, plan, at(next, true));
}

/**
 * KEP-5532's in-place pod restart, once the trigger's crash back-off allows:
 * every running container is killed without grace period or preStop hook,
 * then every instance of the pod is removed, the trigger's last (so a pass
 * cut short finds the trigger again and finishes the job). The sandbox
 * stays. Returns false while the back-off holds the restart.
 */
function planRestartAll(input: PlanInput, trigger: ContainerStatus, exitCode: number, plan: PodPlan): boolean {
  const name = containerNameOf(trigger);
  const remaining = input.crashBackoffRemaining(name, (trigger.finishedAt ?? trigger.createdAt).getTime());
  if (remaining > 0) {
    const d = input.crashBackoffDuration(name);
    plan.backOff.set(name, `back-off ${goDuration(d)} restarting failed container=${name} pod=${podDescription(input.pod)}`);
    plan.requeueAfterMs = Math.min(plan.requeueAfterMs ?? Infinity, remaining);
    return false;
  }
  const message = restartAllMessage(name, exitCode);
  plan.restartAll = { name, exitCode, message };
  plan.kill = input.state.containers
    .filter(isRunning)
    .map((c) => ({ id: c.id, name: containerNameOf(c), message: `Container ${containerNameOf(c)} will be restarted: ${message}`, graceSeconds: 0 }));
  plan.removeContainers = [...input.state.containers.filter((c) => c.id !== trigger.id).map((c) => c.id), trigger.id];
  return true;
}

/** The actions that bring the runtime in line with the pod. Pure. */
export function planPod(input: PlanInput): PodPlan {
  const { pod, state } = input;
  const plan = emptyPlan();
  collectGarbage(pod, state, plan);
  const newest = state.sandboxes[0];
  if (podFinished(pod, state)) {
    plan.killPod = state.containers.some(isRunning);
    if (newest?.state === 'ready') plan.stopSandboxes.push(newest.id);
    return plan;
  }
  const policy = restartPolicyOf(pod);
  if (!newest || newest.state !== 'ready') {
    planNewSandbox(pod, state, policy, plan);
    return plan;
  }
  plan.sandboxId = newest.id;
  const trigger = restartAllTrigger(pod, state, newest.id);
  if (trigger && planRestartAll(input, trigger.container, trigger.exitCode, plan)) return plan;
  if (!initDone(pod, state, newest.id, input.started)) {
    planInit(input, newest.id, plan);
    return plan;
  }
  // Sidecars run beside the app containers and are restarted whatever the pod's policy (KEP-753).
  (pod.spec?.initContainers ?? []).forEach((c, index) => {
    if (isSidecar(c)) planContainer(input, newest.id, index, plan, true);
  });
  (pod.spec?.containers ?? []).forEach((_, index) => planContainer(input, newest.id, index, plan));
  return plan;
}
