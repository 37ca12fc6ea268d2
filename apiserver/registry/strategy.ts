// Per-kind behaviour plugged into the generic registry (Kubernetes'
// rest.RESTCreateStrategy and friends): server-set fields, extra etcd
// operations that must commit with the object (service allocations), and
// delete semantics (graceful pods, namespace lifecycle).

import type { ApiObject } from '../../api/kinds';
import type { Compare, KeyValue, Op } from '../storage/etcd-store';

/** Conditions and operations of one write's part of a transaction. */
export interface TxnParts {
  readonly compares: Compare[];
  readonly ops: Op[];
}

/**
 * Plans a write's share of state kept beside the objects (the service
 * allocators' bitmaps): fills allocated values into the object, takes
 * requested ones, releases those it drops. Throws InvalidError to refuse
 * the write (a value out of range or taken).
 */
export interface Planner {
  create(obj: ApiObject): void;
  update(obj: ApiObject, old: ApiObject): void;
  delete(old: ApiObject): void;
}

/** How a planned write ended (see PlanCommitter.commit). */
export type PlannedOutcome =
  | { readonly status: 'written'; readonly revision: number }
  /** `build` found nothing to write. */
  | { readonly status: 'noop' }
  /** The write's own compares failed; `read`: their keys as the failed transaction saw them (null: absent). */
  | { readonly status: 'failed'; readonly read: ReadonlyMap<string, KeyValue | null> };

/**
 * Commits writes whose transactions carry a plan on shared state, which
 * stays in memory between them: many writes of this server go in one etcd
 * transaction (group commit), never two transactions comparing the same
 * state at once.
 */
export interface PlanCommitter {
  /**
   * Commits one write. `build` gets a planner on the shared state as the
   * transaction will find it, and returns the write's own compares and ops
   * (the object's), or undefined when there is nothing to write; it may be
   * called again (the state changed under it: another API server wrote it),
   * so it starts from its inputs each time; what is written is what its last
   * call returned. Rejects with what `build` throws
   * (after checking the state it was refused on against etcd), with an etcd
   * error (nothing is known then of whether it was written), or with a
   * ConflictError when the state kept changing.
   */
  commit(type: string, operation: 'create' | 'update' | 'delete', build: (planner: Planner) => TxnParts | undefined): Promise<PlannedOutcome>;
  /** Runs `build` on a copy of the state as etcd holds it now; nothing is written or kept (dry runs). */
  dryRun(build: (planner: Planner) => void): Promise<void>;
}

export interface Strategy {
  /** Sets the fields the server owns on a new object (status, phase). */
  prepareForCreate(obj: ApiObject): void;
  /** Carries over what an update may not change; `obj` is the request, `old` the stored object. */
  prepareForUpdate(obj: ApiObject, old: ApiObject): void;
  /**
   * Writes of this kind carry a plan (service allocations): creates, updates
   * and deletes commit through it. Such a kind's objects do not expire
   * (no ttlSeconds).
   */
  readonly planned?: PlanCommitter;
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
