// The watchers of one watch cache, indexed as Kubernetes' cacher indexes
// them by a trigger field (pods by spec.nodeName, pkg/registry/core/pod's
// NodeNameTriggerFunc): a watcher whose field selector requires one value of
// the field is kept under that value, so an event is offered only to the
// watchers of its object's old and new values and to the unindexed ones.
// With 5,000 kubelets each watching its node's pods, a pod event then costs
// a handful of selector checks instead of 5,000. Each kubelet's watch of
// its own Node (metadata.name=NODE) is indexed the same way.

import type { KindName } from '../../api/kinds';

/** The kinds whose watchers are indexed, and by which selectable field (Kubernetes' pod and node registries' triggers). */
export const TRIGGER_FIELDS: Readonly<Partial<Record<KindName, string>>> = { Pod: 'spec.nodeName', Node: 'metadata.name' };

export class WatcherSet<W> {
  private readonly unindexed = new Set<W>();
  private readonly byValue = new Map<string, Set<W>>();
  private indexedCount = 0;

  /** `value`: what the watcher requires the trigger field to be, or undefined for any. */
  add(w: W, value: string | undefined): void {
    if (value === undefined) {
      this.unindexed.add(w);
      return;
    }
    let set = this.byValue.get(value);
    if (!set) {
      set = new Set();
      this.byValue.set(value, set);
    }
    if (!set.has(w)) this.indexedCount++;
    set.add(w);
  }

  /** Idempotent; `value` must be the one the watcher was added with. */
  delete(w: W, value: string | undefined): void {
    if (value === undefined) {
      this.unindexed.delete(w);
      return;
    }
    const set = this.byValue.get(value);
    if (!set?.delete(w)) return;
    this.indexedCount--;
    if (set.size === 0) this.byValue.delete(value);
  }

  get size(): number {
    return this.unindexed.size + this.indexedCount;
  }

  /** Whether any watcher is indexed (else the trigger values need not be computed). */
  get hasIndexed(): boolean {
    return this.indexedCount > 0;
  }

  /**
   * The watchers that may see a change of an object whose trigger field had
   * or has one of `values` (its old and new states); undefined offers the
   * change to every watcher. Each watcher appears once. A snapshot: watchers
   * may be added or deleted while it is walked.
   */
  candidates(values?: readonly string[]): W[] {
    const out = [...this.unindexed];
    if (values === undefined) {
      for (const set of this.byValue.values()) for (const w of set) out.push(w);
      return out;
    }
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (values.indexOf(v) !== i) continue;
      for (const w of this.byValue.get(v) ?? []) out.push(w);
    }
    return out;
  }

  /** Every watcher. */
  all(): W[] {
    return this.candidates();
  }
}
