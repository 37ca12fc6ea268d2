// Kubernetes' allocation manager for in-place resize: what the kubelet
// admitted for each pod (checkpointed by AllocationStore), the admission of
// a resize against the node's allocatable and the other pods' allocations,
// and Kubernetes' resize events on each transition. Decisions are resize.ts's
// pure functions; this class only keeps the state between syncs.

import type { Pod } from '../api/gen/tsk/v1/core';
import type { EventType } from '../client';
import type { AllocationStore, PodAllocation } from './allocation';
import type { NodeAllocatable } from './downward-api';
import {
  admitResize,
  allocationOf,
  podRequest,
  POD_RESIZE_IN_PROGRESS,
  POD_RESIZE_PENDING,
  resizeEventPayload,
  sameAllocation,
  withAllocation,
  type ResizePending,
  type ResizeState,
} from './resize';

export interface AllocationManagerDeps {
  store: AllocationStore;
  /** The pods bound to this node. */
  activePods: () => readonly Pod[];
  nodeAllocatable: NodeAllocatable;
  event: (pod: Pod, type: EventType, reason: string, message: string) => void;
}

const uidOf = (pod: Pod): string => pod.metadata?.uid ?? '';

export class AllocationManager {
  /** Pods whose admitted resize has not been seen actuated yet (for the ResizeCompleted event). */
  private readonly resizing = new Set<string>();

  constructor(private readonly deps: AllocationManagerDeps) {}

  /**
   * Kubernetes' allocation manager: a pod seen for the first time is
   * allocated what its spec asks (it was admitted); a later change of its
   * resources (a resize) is allocated only if the node has room for it
   * beside the other pods' allocations, else it waits with the reason.
   */
  allocate(pod: Pod): { alloc: PodAllocation; pending?: ResizePending } {
    const uid = uidOf(pod);
    const desired = allocationOf(pod);
    const have = this.deps.store.get(uid);
    if (!have) {
      this.deps.store.set(uid, desired);
      return { alloc: desired };
    }
    if (sameAllocation(have, desired)) return { alloc: have };
    const others = this.deps
      .activePods()
      .filter((p) => uidOf(p) !== uid && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed')
      .map((p) => podRequest(withAllocation(p, this.deps.store.get(uidOf(p)) ?? allocationOf(p))));
    const pending = admitResize(podRequest(withAllocation(pod, desired)), others, this.deps.nodeAllocatable);
    if (pending) return { alloc: have, pending };
    this.deps.store.set(uid, desired);
    this.resizing.add(uid);
    this.deps.event(pod, 'Normal', 'ResizeStarted', `Pod resize started: ${resizeEventPayload(pod)}`);
    return { alloc: desired };
  }

  /**
   * Kubernetes' resize events, on transitions only (the pod's last reported
   * conditions are the previous state, so a restarted kubelet does not
   * repeat them): ResizeDeferred / ResizeInfeasible when a resize starts
   * waiting (not when only the message changes), ResizeError when
   * actuation fails anew, ResizeCompleted once what runs matches.
   */
  recordEvents(pod: Pod, state: ResizeState): void {
    const old = pod.status?.conditions ?? [];
    const uid = uidOf(pod);
    const wasPending = old.find((c) => c.type === POD_RESIZE_PENDING && c.status === 'True');
    if (state.pending && wasPending?.reason !== state.pending.reason) {
      const reason = state.pending.reason;
      this.deps.event(pod, 'Warning', `Resize${reason}`, `Pod resize ${reason}: ${resizeEventPayload(pod, state.pending.message)}`);
    }
    const wasError = old.find((c) => c.type === POD_RESIZE_IN_PROGRESS && c.reason === 'Error');
    if (state.error !== undefined && wasError?.message !== state.error) {
      this.deps.event(pod, 'Warning', 'ResizeError', `Pod resize error: ${resizeEventPayload(pod, state.error)}`);
    }
    if (old.some((c) => c.type === POD_RESIZE_IN_PROGRESS)) this.resizing.add(uid);
    if (!state.inProgress && state.error === undefined && this.resizing.delete(uid)) {
      this.deps.event(pod, 'Normal', 'ResizeCompleted', `Pod resize completed: ${resizeEventPayload(pod)}`);
    }
  }

  /** Forgets a pod that is gone. */
  remove(uid: string): void {
    this.deps.store.remove(uid);
    this.resizing.delete(uid);
  }
}
