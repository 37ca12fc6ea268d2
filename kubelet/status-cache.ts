// The status this kubelet last wrote for each pod, with the resourceVersion
// the write returned (Kubernetes' status manager keeps the same in
// podStatuses). The pod informer lags behind the kubelet's own writes: a
// sync that starts from the informer's copy right after a write would
// compare against the old status, write again, and fail with a Conflict
// (then read the pod and write a third time). Starting from the newer of
// the two copies, the kubelet writes once per real change and without
// conflicts.

import type { Pod, PodStatus } from '../api/gen/tsk/v1/core';

interface Written {
  readonly resourceVersion: number;
  readonly status: PodStatus;
}

const versionOf = (pod: Pod): number => Number(pod.metadata?.resourceVersion || NaN);

export class WrittenStatuses {
  private readonly byUid = new Map<string, Written>();

  /**
   * The pod at the newest version this kubelet knows: the informer's copy,
   * or it with the status and resourceVersion of this kubelet's last write
   * when that is newer. An entry the informer has caught up with is dropped.
   */
  latest(pod: Pod): Pod {
    const uid = pod.metadata?.uid ?? '';
    const w = this.byUid.get(uid);
    if (!w) return pod;
    // NaN (no resourceVersion) compares false: the informer's copy wins.
    if (!(w.resourceVersion > versionOf(pod))) {
      this.byUid.delete(uid);
      return pod;
    }
    return { ...pod, metadata: { ...pod.metadata, resourceVersion: String(w.resourceVersion) }, status: w.status };
  }

  /**
   * True when the pod is exactly what this kubelet's last status write made
   * (its resourceVersion): the informer echoing the kubelet's own write,
   * which brings nothing a sync has not already acted on.
   */
  isOwnWrite(pod: Pod): boolean {
    const w = this.byUid.get(pod.metadata?.uid ?? '');
    return w !== undefined && w.resourceVersion === versionOf(pod);
  }

  /** Records what a status write returned. */
  record(written: Pod): void {
    const rv = versionOf(written);
    if (!Number.isFinite(rv) || !written.status) return;
    this.byUid.set(written.metadata?.uid ?? '', { resourceVersion: rv, status: written.status });
  }

  forget(uid: string): void {
    this.byUid.delete(uid);
  }

  get size(): number {
    return this.byUid.size;
  }
}
