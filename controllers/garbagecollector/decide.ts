// The garbage collector's decisions as pure functions (Kubernetes'
// attemptToDeleteItem and processDeletingDependentsItem), so they are tested
// by table without a server.
//
// Every owner reference of a dependent is classified:
//  - solid: the owner exists with that uid and is not waiting for its dependents;
//  - dangling: no object of that kind and name has that uid any more (a live
//    read said so: an owner re-created under the same name is another owner);
//  - waiting: the owner is being deleted in the foreground.

import type { ObjectMeta, OwnerReference } from '../../api/gen/tsk/v1/meta';

export const ORPHAN_FINALIZER = 'orphan';
export const FOREGROUND_FINALIZER = 'foregroundDeletion';

export type PropagationPolicy = 'Orphan' | 'Background' | 'Foreground';
export type OwnerState = 'solid' | 'dangling' | 'waiting';

export interface ClassifiedRef {
  readonly ref: OwnerReference;
  readonly state: OwnerState;
}

export type DependentAction =
  | { readonly action: 'none' }
  /** Keep the object; drop the references to owners that are gone or going. */
  | { readonly action: 'removeOwnerRefs'; readonly uids: readonly string[] }
  | { readonly action: 'delete'; readonly policy: PropagationPolicy };

export function hasFinalizer(meta: ObjectMeta | undefined, finalizer: string): boolean {
  return (meta?.finalizers ?? []).includes(finalizer);
}

/** An owner in foreground deletion: its dependents go first. */
export function deletingDependents(meta: ObjectMeta | undefined): boolean {
  return !!meta?.deletionTimestamp && hasFinalizer(meta, FOREGROUND_FINALIZER);
}

/** How an owner found under the reference stands (undefined: no such owner with that uid). */
export function ownerState(owner: { metadata?: ObjectMeta | undefined } | undefined): OwnerState {
  if (!owner) return 'dangling';
  return deletingDependents(owner.metadata) ? 'waiting' : 'solid';
}

/**
 * What to do with a dependent whose owners are classified:
 *  - some solid owner: keep it, dropping references to dangling and waiting owners;
 *  - only owners waiting for their dependents, and dependents of its own:
 *    delete it in the foreground too, so the wait reaches down the chain;
 *  - otherwise (every owner gone or going): delete it, with the propagation
 *    its own finalizers ask for (Background by default).
 */
export function decideDependent(meta: ObjectMeta | undefined, refs: readonly ClassifiedRef[], hasDependents: boolean): DependentAction {
  if (refs.length === 0) return { action: 'none' };
  const solid = refs.filter((r) => r.state === 'solid');
  const waiting = refs.filter((r) => r.state === 'waiting');
  if (solid.length > 0) {
    const drop = refs.filter((r) => r.state !== 'solid').map((r) => r.ref.uid ?? '');
    return drop.length === 0 ? { action: 'none' } : { action: 'removeOwnerRefs', uids: drop };
  }
  if (waiting.length > 0 && hasDependents) return { action: 'delete', policy: 'Foreground' };
  if (hasFinalizer(meta, ORPHAN_FINALIZER)) return { action: 'delete', policy: 'Orphan' };
  if (hasFinalizer(meta, FOREGROUND_FINALIZER)) return { action: 'delete', policy: 'Foreground' };
  return { action: 'delete', policy: 'Background' };
}

export type OwnerAction =
  | { readonly action: 'none' }
  /** Orphan: remove the owner from these dependents, then the "orphan" finalizer. */
  | { readonly action: 'orphan' }
  /** Foreground: the blocking dependents are gone; remove the "foregroundDeletion" finalizer. */
  | { readonly action: 'finishForeground' }
  /** Foreground: dependents remain; delete them (the owner waits for the blocking ones). */
  | { readonly action: 'deleteDependents' };

/** What to do with an object being deleted, given its dependents' references to it. */
export function decideOwner(meta: ObjectMeta | undefined, dependentRefs: readonly OwnerReference[]): OwnerAction {
  if (!meta?.deletionTimestamp) return { action: 'none' };
  if (hasFinalizer(meta, ORPHAN_FINALIZER)) return { action: 'orphan' };
  if (!hasFinalizer(meta, FOREGROUND_FINALIZER)) return { action: 'none' };
  const blocking = dependentRefs.some((r) => r.blockOwnerDeletion === true);
  return blocking ? { action: 'deleteDependents' } : { action: 'finishForeground' };
}
