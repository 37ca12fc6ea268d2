// Owner references (Kubernetes' metav1.GetControllerOf, NewControllerRef),
// shared by the replication controller and the garbage collector.

import type { ObjectMeta, OwnerReference } from '../api/gen/tsk/v1/meta';

/** The reference marked controller: true, if any (at most one, validation says). */
export function controllerOf(obj: { metadata?: ObjectMeta | undefined }): OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((r) => r.controller === true);
}

/** The controller reference a controller puts on what it creates or adopts. */
export function newControllerRef(kind: string, owner: { metadata?: ObjectMeta | undefined }): OwnerReference {
  return {
    apiVersion: 'v1',
    kind,
    name: owner.metadata?.name ?? '',
    uid: owner.metadata?.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Whether two references name the same owner the same way (nil-safe, as reflect.DeepEqual on them). */
export function sameOwnerRef(a: OwnerReference | undefined, b: OwnerReference | undefined): boolean {
  if (!a || !b) return a === b;
  return a.uid === b.uid && a.kind === b.kind && a.name === b.name && a.apiVersion === b.apiVersion && !!a.controller === !!b.controller;
}

/**
 * Kubernetes' PodControllerUIDIndex (controller_utils.go): objects by their
 * controller's uid, orphans by orphanIndexKey(namespace). A controller's
 * sync looks at its own pods and the orphans it may adopt instead of every
 * pod of the namespace.
 */
export const CONTROLLER_UID_INDEX = 'controllerUID';

/** The index value of a namespace's objects without a controller (Kubernetes' OrphanPodIndexKeyForNamespace). */
export function orphanIndexKey(namespace: string): string {
  return `${namespace}/`;
}

export function controllerUidIndexFunc(obj: { metadata?: ObjectMeta | undefined }): string[] {
  const ref = controllerOf(obj);
  return [ref ? (ref.uid ?? '') : orphanIndexKey(obj.metadata?.namespace ?? '')];
}
