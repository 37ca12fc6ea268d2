// Which pods an RC owns (Kubernetes' PodControllerRefManager.ClaimPods):
// its own pods that still match its selector; orphans that match are
// adopted (after a fresh read proves the RC still exists with the same uid
// and is not being deleted); its own pods that no longer match are released.
// Pods owned by another controller are never touched.

import type { Pod, ReplicationController } from '../../api/gen/tsk/v1/core';
import type { LabelSelector } from '../../api/labels';
import { controllerOf, newControllerRef } from '../ownerrefs';
import type { PodControl } from './pod-control';

export const RC_KIND = 'ReplicationController';

export interface ClaimResult {
  /** The pods the RC owns after the claim. */
  readonly owned: Pod[];
  /** Adoptions and releases that failed (the sync is retried). */
  readonly errors: unknown[];
}

/** A lazy, once-only fresh read of the RC, as Kubernetes' RecheckDeletionTimestamp. */
function adoptionCheck(rc: ReplicationController, control: PodControl): () => Promise<void> {
  let checked: Promise<void> | undefined;
  const ns = rc.metadata?.namespace ?? '';
  const name = rc.metadata?.name ?? '';
  return () =>
    (checked ??= (async () => {
      const fresh = await control.getController(ns, name);
      if (fresh.metadata?.uid !== rc.metadata?.uid) {
        throw new Error(`original ReplicationController ${ns}/${name} is gone: got uid ${fresh.metadata?.uid ?? ''}, wanted ${rc.metadata?.uid ?? ''}`);
      }
      if (fresh.metadata?.deletionTimestamp) throw new Error(`${ns}/${name} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
    })());
}

export async function claimPods(rc: ReplicationController, selector: LabelSelector, pods: readonly Pod[], control: PodControl): Promise<ClaimResult> {
  const uid = rc.metadata?.uid ?? '';
  const deleting = !!rc.metadata?.deletionTimestamp;
  const canAdopt = adoptionCheck(rc, control);
  const owned: Pod[] = [];
  const errors: unknown[] = [];
  // Decided synchronously for the many pods that need no call (owned and
  // matching, or not ours): a promise per pod of a 3,000-pod namespace at
  // every sync was the largest cost of the controller.
  const calls: (() => Promise<void>)[] = [];
  for (const pod of pods) {
    const ref = controllerOf(pod);
    if (ref && ref.uid !== uid) continue;
    const matches = selector.matches(pod.metadata?.labels);
    if (ref && matches) {
      owned.push(pod);
      continue;
    }
    const ns = pod.metadata?.namespace ?? '';
    const name = pod.metadata?.name ?? '';
    const podUid = pod.metadata?.uid ?? '';
    if (ref) {
      // An RC being deleted leaves its pods to the garbage collector.
      if (deleting) continue;
      calls.push(async () => {
        await control.updateOwnerReferences(ns, name, podUid, (fresh) => {
          const refs = fresh.metadata?.ownerReferences ?? [];
          return refs.some((r) => r.uid === uid) ? refs.filter((r) => r.uid !== uid) : undefined;
        });
      });
      continue;
    }
    if (deleting || !matches || pod.metadata?.deletionTimestamp || ns !== rc.metadata?.namespace) continue;
    calls.push(async () => {
      await canAdopt();
      const adopted = await control.updateOwnerReferences(ns, name, podUid, (fresh) => {
        // Decided again on the fresh pod: another controller may have won.
        if (controllerOf(fresh) || fresh.metadata?.deletionTimestamp || !selector.matches(fresh.metadata?.labels)) return undefined;
        return [...(fresh.metadata?.ownerReferences ?? []), newControllerRef(RC_KIND, rc)];
      });
      if (adopted) owned.push(pod);
    });
  }
  await Promise.all(calls.map((call) => call().catch((err: unknown) => void errors.push(err))));
  return { owned, errors };
}
