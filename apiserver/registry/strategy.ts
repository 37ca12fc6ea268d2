// Per-kind behaviour plugged into the generic registry (Kubernetes'
// rest.RESTCreateStrategy and friends): server-set fields, extra etcd
// operations that must commit with the object (service allocations), and
// delete semantics (graceful pods, namespace lifecycle).

import type { ApiObject } from '../../api/kinds';
import type { Compare, Op } from '../storage/etcd-store';

/** Conditions and operations a strategy adds to the object's own transaction. */
export interface WritePlan {
  readonly compares: Compare[];
  readonly ops: Op[];
}

export const EMPTY_PLAN: WritePlan = { compares: [], ops: [] };

export interface Strategy {
  /** Sets the fields the server owns on a new object (status, phase). */
  prepareForCreate(obj: ApiObject): void;
  /** Carries over what an update may not change; `obj` is the request, `old` the stored object. */
  prepareForUpdate(obj: ApiObject, old: ApiObject): void;
  /** Extra txn parts for a create; may change obj (allocated values). Throws InvalidError on bad requests. */
  planCreate?(obj: ApiObject): Promise<WritePlan>;
  planUpdate?(obj: ApiObject, old: ApiObject): Promise<WritePlan>;
  planDelete?(old: ApiObject): Promise<WritePlan>;
  /**
   * The grace period for a delete: 0 removes the object at once; more keeps
   * it with a deletionTimestamp for its owner (the kubelet) to finish.
   */
  gracePeriod?(obj: ApiObject, requested: number | undefined): number;
  /** Seconds a written object lives before etcd removes it (Events); undefined: forever. */
  ttlSeconds?(): number | undefined;
  /**
   * The kind's own lifecycle removes deleted objects (namespaces): an update
   * never finalizes a deleted object, the lifecycle controller does.
   */
  readonly ownsDeletion?: boolean;
}

/** Kinds whose status is reset on create (clients cannot create with a status they did not earn). */
export function resetStatus(obj: ApiObject): void {
  (obj as { status?: unknown }).status = {};
}

export const PLAIN_STRATEGY: Strategy = {
  prepareForCreate: () => undefined,
  prepareForUpdate: () => undefined,
};
