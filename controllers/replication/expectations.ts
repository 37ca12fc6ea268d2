// Expectations (Kubernetes' UIDTrackingControllerExpectations): before an RC
// creates or deletes pods it records how many creates and which deletes it
// expects; informer events lower the counts. While any are outstanding the RC
// is not managed again, so a pod created but not yet in the cache is never
// created twice. A record older than EXPECTATIONS_TIMEOUT_MS is ignored so a
// lost event cannot wedge the RC.

import type { Clock } from '../../client';

/** Kubernetes' ExpectationsTimeout: 5 minutes. */
export const EXPECTATIONS_TIMEOUT_MS = 5 * 60_000;

interface Record {
  adds: number;
  /** Keys ("namespace/name") of pods whose deletion is expected. */
  deletes: Set<string>;
  /** When the record was set (clock ms). */
  at: number;
}

export class Expectations {
  private readonly records = new Map<string, Record>();

  constructor(private readonly clock: Clock) {}

  /** Expects `adds` creates for the controller `key` (replaces any earlier record). */
  expectCreations(key: string, adds: number): void {
    this.records.set(key, { adds, deletes: new Set(), at: this.clock.now() });
  }

  /** Expects the deletion of the pods `podKeys` (replaces any earlier record). */
  expectDeletions(key: string, podKeys: readonly string[]): void {
    this.records.set(key, { adds: 0, deletes: new Set(podKeys), at: this.clock.now() });
  }

  /** One expected create was seen (or will never happen). */
  creationObserved(key: string): void {
    const r = this.records.get(key);
    if (r) r.adds--;
  }

  /** The pod `podKey` was seen deleted (or being deleted); only an expected one counts. */
  deletionObserved(key: string, podKey: string): void {
    this.records.get(key)?.deletes.delete(podKey);
  }

  /**
   * Whether the controller may be managed: no record, every expectation
   * met, or the record expired.
   */
  satisfied(key: string): boolean {
    const r = this.records.get(key);
    if (!r) return true;
    if (r.adds <= 0 && r.deletes.size === 0) return true;
    return this.clock.now() - r.at > EXPECTATIONS_TIMEOUT_MS;
  }

  /** Milliseconds until the record of `key` expires (0 when expired or absent). */
  expiresInMs(key: string): number {
    const r = this.records.get(key);
    return r ? Math.max(0, r.at + EXPECTATIONS_TIMEOUT_MS + 1 - this.clock.now()) : 0;
  }

  /** What is still expected (for logs and tests). */
  pending(key: string): { adds: number; deletes: number } | undefined {
    const r = this.records.get(key);
    return r ? { adds: Math.max(0, r.adds), deletes: r.deletes.size } : undefined;
  }

  delete(key: string): void {
    this.records.delete(key);
  }
}
