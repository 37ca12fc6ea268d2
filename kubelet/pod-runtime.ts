// What the runtime holds for one pod, as the kubelet reads it back: its
// sandboxes and containers, found by the labels the kubelet put on them
// (Kubernetes' io.kubernetes.* labels), newest first. The runtime's own
// records are the source of truth: nothing about a running pod is kept only
// in the kubelet's memory, so a restarted kubelet picks up where it left off.

import type { ContainerRuntime, ContainerStatus, SandboxStatus } from './runtime/runtime';

export const LABEL_POD_NAME = 'io.kubernetes.pod.name';
export const LABEL_POD_NAMESPACE = 'io.kubernetes.pod.namespace';
export const LABEL_POD_UID = 'io.kubernetes.pod.uid';
export const LABEL_CONTAINER_NAME = 'io.kubernetes.container.name';
/** Annotation: how many times the container had been restarted when this instance was created. */
export const ANNOTATION_RESTART_COUNT = 'io.kubernetes.container.restartCount';
/** Annotation: the pod's termination grace period, so an orphan is stopped as its pod asked. */
export const ANNOTATION_GRACE_PERIOD = 'io.kubernetes.pod.terminationGracePeriod';

export interface PodRuntimeState {
  /** The pod's sandboxes, newest first. */
  sandboxes: SandboxStatus[];
  /** The pod's containers in every sandbox, newest first. */
  containers: ContainerStatus[];
}

export const EMPTY_STATE: PodRuntimeState = Object.freeze({ sandboxes: [], containers: [] }) as PodRuntimeState;

export function containerNameOf(c: ContainerStatus): string {
  return c.labels[LABEL_CONTAINER_NAME] ?? c.name;
}

export function restartCountOf(c: ContainerStatus): number {
  const n = Number(c.annotations[ANNOTATION_RESTART_COUNT] ?? '0');
  return Number.isInteger(n) && n >= 0 ? n : 0;
}

const newestFirst = <T extends { createdAt: Date }>(a: T, b: T): number => b.createdAt.getTime() - a.createdAt.getTime();

/** The containers named `name`, newest first. */
export function containersNamed(state: PodRuntimeState, name: string): ContainerStatus[] {
  return state.containers.filter((c) => containerNameOf(c) === name);
}

/** Every pod the runtime holds, by pod UID (sandboxes without the kubelet's labels are not ours and are skipped). */
export async function readRuntimeState(runtime: ContainerRuntime): Promise<Map<string, PodRuntimeState>> {
  const [sandboxes, containers] = await Promise.all([runtime.listSandboxes(), runtime.listContainers()]);
  return groupByPod(sandboxes, containers);
}

/**
 * What the runtime holds for one pod. A pod's sync reads only its own
 * sandboxes and containers: reading every pod's (readRuntimeState) on each
 * sync made a batch of pods quadratic, most of the kubelet's CPU at start-up.
 */
export async function readPodRuntimeState(runtime: ContainerRuntime, uid: string): Promise<PodRuntimeState> {
  const [sandboxes, containers] = await Promise.all([runtime.listSandboxes({ podUid: uid }), runtime.listContainers({ podUid: uid })]);
  // The grouping checks the labels again: a runtime may ignore the filter.
  return groupByPod(sandboxes, containers).get(uid) ?? EMPTY_STATE;
}

function groupByPod(sandboxes: readonly SandboxStatus[], containers: readonly ContainerStatus[]): Map<string, PodRuntimeState> {
  const byPod = new Map<string, PodRuntimeState>();
  const sandboxPod = new Map<string, string>();
  for (const s of sandboxes) {
    const uid = s.labels[LABEL_POD_UID];
    if (uid === undefined) continue;
    sandboxPod.set(s.id, uid);
    const st = byPod.get(uid) ?? { sandboxes: [], containers: [] };
    st.sandboxes.push(s);
    byPod.set(uid, st);
  }
  for (const c of containers) {
    const uid = sandboxPod.get(c.sandboxId);
    if (uid === undefined) continue;
    byPod.get(uid)?.containers.push(c);
  }
  for (const st of byPod.values()) {
    st.sandboxes.sort(newestFirst);
    st.containers.sort(newestFirst);
  }
  return byPod;
}
