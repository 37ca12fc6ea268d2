// Namespace lifecycle (Kubernetes' namespace lifecycle admission plugin and
// namespace controller): a new namespace is Active; deleting one marks it
// Terminating, deletes everything in it (pods gracefully), and removes it
// when it is empty. The work is resumed at start-up for namespaces left
// Terminating, so an API server restart never strands one.

import { NAMESPACE_NODE_LEASE } from '../../api/namespaces';
import { ApiError } from '../../api/errors';
import type { Namespace, NamespaceCondition } from '../../api/gen/tsk/v1/core';
import { KIND_NAMES, KINDS, type ApiObject, type KindName } from '../../api/kinds';
import { listPrefix, objectKey, prefixEnd } from '../storage/keys';
import { rfc3339 } from '../../util/time';
import type { Registry } from './store';
import type { Strategy } from './strategy';
import { errorMessage } from '../../util/errors';

/**
 * Namespaces that always exist and cannot be deleted. kube-node-lease holds
 * the nodes' heartbeat Leases; Kubernetes lets it be deleted and its system
 * namespaces controller recreates it within a minute, tsk refuses the delete
 * (it creates these only at start-up), to the same end.
 */
export const SYSTEM_NAMESPACES = ['default', 'kube-system', NAMESPACE_NODE_LEASE] as const;

export function namespaceStrategy(): Strategy {
  return {
    prepareForCreate(obj: ApiObject): void {
      (obj as Namespace).status = { phase: 'Active' };
    },
    prepareForUpdate: () => undefined,
    ownsDeletion: true,
  };
}

export interface LifecycleDeps {
  registries: ReadonlyMap<KindName, Registry>;
  now: () => Date;
  /** Delay between passes while content is still going away. */
  retryMs?: number;
  log: (msg: string) => void;
}

export class NamespaceLifecycle {
  private readonly running = new Set<string>();
  /** The last NamespaceContentRemaining text logged per namespace. */
  private readonly reported = new Map<string, string>();
  private stopped = false;
  private timers = new Set<NodeJS.Timeout>();

  constructor(private readonly deps: LifecycleDeps) {}

  private get namespaces(): Registry {
    return this.deps.registries.get('Namespace')!;
  }

  /** The Delete verb for namespaces: mark Terminating and start emptying it. */
  async delete(name: string | undefined, preconditionUid?: string): Promise<ApiObject> {
    if (!name) return this.namespaces.get('', name);
    if ((SYSTEM_NAMESPACES as readonly string[]).includes(name)) {
      throw new ApiError('Forbidden', `namespaces "${name}" is forbidden: this namespace may not be deleted`, [], { kind: 'Namespace', name });
    }
    const obj = await this.namespaces.guaranteedUpdate('', name, undefined, (cur) => {
      const ns = cur as Namespace;
      if (preconditionUid && preconditionUid !== ns.metadata?.uid) {
        throw new ApiError('Conflict', `Precondition failed: UID in precondition: ${preconditionUid}, UID in object meta: ${ns.metadata?.uid ?? ''}`);
      }
      if (ns.status?.phase === 'Terminating' && ns.metadata?.deletionTimestamp) return undefined;
      ns.metadata = { ...ns.metadata, deletionTimestamp: rfc3339(this.deps.now()), deletionGracePeriodSeconds: 0 };
      ns.status = { ...ns.status, phase: 'Terminating' };
      return ns;
    });
    this.finalize(name);
    return obj;
  }

  /** Resumes every namespace left Terminating (start-up). */
  async resume(): Promise<void> {
    const store = this.namespaces;
    for (const name of await storeRange(store, listPrefix('Namespace', ''))) {
      const ns = (await store.get('', name)) as Namespace;
      if (ns.status?.phase === 'Terminating') this.finalize(name);
    }
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
  }

  /** Starts (once per namespace) the loop that empties and removes it. */
  finalize(name: string): void {
    if (this.running.has(name) || this.stopped) return;
    this.running.add(name);
    const pass = async (): Promise<void> => {
      try {
        const done = await this.emptyOnce(name);
        if (done) {
          this.running.delete(name);
          this.reported.delete(name);
          return;
        }
      } catch (err) {
        this.deps.log(`namespace ${name}: deletion pass failed, retrying: ${errorMessage(err)}`);
      }
      if (this.stopped) return;
      const t = setTimeout(() => {
        this.timers.delete(t);
        void pass();
      }, this.deps.retryMs ?? 1000);
      this.timers.add(t);
    };
    void pass();
  }

  /**
   * Records what a Terminating namespace waits for when that changes, as
   * Kubernetes' namespace controller does: the NamespaceContentRemaining
   * condition (and NamespaceDeletionContentFailure False, since every
   * deletion was issued) in its status, and one log line.
   */
  private async reportRemaining(name: string, left: ReadonlyMap<KindName, number>): Promise<void> {
    const text = [...left].map(([kind, n]) => `${KINDS[kind].plural} has ${n} resource instances`).join(', ');
    if (text === '' || this.reported.get(name) === text) return;
    const conditions = remainingConditions(text, rfc3339(this.deps.now()));
    await this.namespaces.guaranteedUpdate('', name, undefined, (cur) => {
      const ns = cur as Namespace;
      if (ns.status?.phase !== 'Terminating') return undefined;
      ns.status = { ...ns.status, conditions: mergeConditions(ns.status.conditions ?? [], conditions) };
      return ns;
    });
    this.reported.set(name, text);
    this.deps.log(`namespace ${name}: NamespaceContentRemaining: Some resources are remaining: ${text}`);
  }

  /** One pass: delete what is left; remove the namespace when empty. True when finished. */
  private async emptyOnce(name: string): Promise<boolean> {
    let remaining = 0;
    // Objects already terminating, by kind: what the namespace waits for.
    const left = new Map<KindName, number>();
    for (const kind of KIND_NAMES) {
      if (!KINDS[kind].namespaced) continue;
      const reg = this.deps.registries.get(kind)!;
      for (const objName of await storeRange(reg, listPrefix(kind, name))) {
        remaining++;
        let obj: ApiObject;
        try {
          obj = await reg.get(name, objName);
        } catch {
          continue;
        }
        // Graceful deletion only, as Kubernetes' namespace controller: a
        // pod bound to a node stays Terminating until its kubelet has
        // stopped its containers, or until the pod GC removes it once the
        // Node is deleted. Forcing it here would show it gone from the API
        // while its containers still run on a node that is merely down.
        if (obj.metadata?.deletionTimestamp !== undefined) {
          left.set(kind, (left.get(kind) ?? 0) + 1);
          continue;
        }
        try {
          await reg.delete({ namespace: name, name: objName, propagationPolicy: '' });
        } catch (err) {
          if (!(err instanceof ApiError && err.reason === 'NotFound')) throw err;
        }
      }
    }
    if (remaining > 0) {
      // Check again at once: unbound objects were deleted outright.
      for (const kind of KIND_NAMES) {
        if (KINDS[kind].namespaced && (await storeRange(this.deps.registries.get(kind)!, listPrefix(kind, name))).length > 0) {
          await this.reportRemaining(name, left);
          return false;
        }
      }
    }
    const nsObj = (await this.namespaces.read('', name).catch(() => undefined))?.kv;
    if (!nsObj) return true;
    const res = await this.namespaces.removeKey(objectKey('Namespace', '', name), nsObj.modRevision);
    if (res) this.deps.log(`namespace ${name}: deleted`);
    return res;
  }
}

/** Names of the objects under a prefix (keys only). */
async function storeRange(reg: Registry, prefix: string): Promise<string[]> {
  const names = await reg.keysUnder(prefix, prefixEnd(prefix));
  return names.map((k) => k.slice(prefix.length));
}

/** Kubernetes' deletion conditions for a namespace waiting on `text` (empty: nothing left). */
export function remainingConditions(text: string, now: string): NamespaceCondition[] {
  return [
    {
      type: 'NamespaceDeletionContentFailure',
      status: 'False',
      lastTransitionTime: now,
      reason: 'ContentDeleted',
      message: 'All content successfully deleted, may be waiting on finalization',
    },
    text === ''
      ? { type: 'NamespaceContentRemaining', status: 'False', lastTransitionTime: now, reason: 'ContentRemoved', message: 'All content successfully removed' }
      : {
          type: 'NamespaceContentRemaining',
          status: 'True',
          lastTransitionTime: now,
          reason: 'SomeResourcesRemain',
          message: `Some resources are remaining: ${text}`,
        },
  ];
}

/** Conditions with `next` replacing those of the same type; a transition time is kept while the status is unchanged. */
export function mergeConditions(cur: readonly NamespaceCondition[], next: readonly NamespaceCondition[]): NamespaceCondition[] {
  const out = cur.filter((c) => !next.some((n) => n.type === c.type));
  for (const n of next) {
    const old = cur.find((c) => c.type === n.type);
    out.push(old && old.status === n.status ? { ...n, lastTransitionTime: old.lastTransitionTime } : n);
  }
  return out;
}
