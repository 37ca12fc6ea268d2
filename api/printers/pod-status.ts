// A pod's READY, STATUS and RESTARTS columns, computed as kubectl's printPod
// does (k8s.io/kubernetes/pkg/printers/internalversion).

import type { ContainerStatus, Pod } from '../gen/tsk/v1/core';
import { humanDuration } from '../../util/age';

export interface PodSummary {
  readonly ready: string;
  readonly status: string;
  readonly restarts: string;
}

function terminatedReason(prefix: string, cs: ContainerStatus): string | undefined {
  const t = cs.state?.terminated;
  if (!t) return undefined;
  if (t.reason) return `${prefix}${t.reason}`;
  return t.signal ? `${prefix}Signal:${t.signal}` : `${prefix}ExitCode:${t.exitCode ?? 0}`;
}

export function podSummary(pod: Pod, now: number): PodSummary {
  const spec = pod.spec ?? {};
  const status = pod.status ?? {};
  // Sidecars (init containers with restartPolicy Always) count as containers of the pod, as in kubectl.
  const sidecars = new Set((spec.initContainers ?? []).filter((c) => c.restartPolicy === 'Always').map((c) => c.name ?? ''));
  const total = (spec.containers?.length ?? 0) + sidecars.size;
  let ready = 0;
  let restarts = 0;
  let lastRestart = 0;
  // A pod the server has not given a phase yet is, by definition, pending.
  let reason = status.reason || status.phase || 'Pending';
  // A pod held by scheduling gates says so (kubectl: PodScheduled with reason SchedulingGated).
  if ((status.conditions ?? []).some((c) => c.type === 'PodScheduled' && c.reason === 'SchedulingGated')) reason = 'SchedulingGated';

  const lastExit = (cs: ContainerStatus): number => {
    const finished = cs.lastState?.terminated?.finishedAt;
    const at = finished ? Date.parse(finished) : NaN;
    return Number.isNaN(at) ? 0 : at;
  };
  const noteRestart = (cs: ContainerStatus): void => {
    restarts += cs.restartCount ?? 0;
    lastRestart = Math.max(lastRestart, lastExit(cs));
  };

  let initializing = false;
  let sidecarRestarts = 0;
  let sidecarLastRestart = 0;
  const inits = status.initContainerStatuses ?? [];
  for (let i = 0; i < inits.length; i++) {
    const cs = inits[i] as ContainerStatus;
    noteRestart(cs);
    const sidecar = sidecars.has(cs.name ?? '');
    if (sidecar) {
      sidecarRestarts += cs.restartCount ?? 0;
      sidecarLastRestart = Math.max(sidecarLastRestart, lastExit(cs));
    }
    const term = cs.state?.terminated;
    const waiting = cs.state?.waiting;
    if (term && (term.exitCode ?? 0) === 0) continue;
    if (sidecar && cs.started) {
      if (cs.ready) ready++;
      continue;
    }
    if (term) reason = terminatedReason('Init:', cs) ?? reason;
    else if (waiting?.reason && waiting.reason !== 'PodInitializing') reason = `Init:${waiting.reason}`;
    else reason = `Init:${i}/${spec.initContainers?.length ?? inits.length}`;
    initializing = true;
    break;
  }

  const initialized = (status.conditions ?? []).some((c) => c.type === 'Initialized' && c.status === 'True');
  if (!initializing || initialized) {
    restarts = sidecarRestarts;
    lastRestart = sidecarLastRestart;
    let hasRunning = false;
    const statuses = status.containerStatuses ?? [];
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i] as ContainerStatus;
      noteRestart(cs);
      const waiting = cs.state?.waiting;
      const term = cs.state?.terminated;
      if (waiting?.reason) reason = waiting.reason;
      else if (term) reason = terminatedReason('', cs) ?? reason;
      else if (cs.ready && cs.state?.running) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === 'Completed' && hasRunning) {
      const readyCond = (status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
      reason = readyCond ? 'Running' : 'NotReady';
    }
  }

  if (pod.metadata?.deletionTimestamp) reason = status.reason === 'NodeLost' ? 'Unknown' : 'Terminating';

  const restartText = restarts > 0 && lastRestart > 0 ? `${restarts} (${humanDuration(now - lastRestart)} ago)` : String(restarts);
  return { ready: `${ready}/${total}`, status: reason, restarts: restartText };
}
