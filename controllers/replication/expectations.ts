// Expectations (Kubernetes' UIDTrackingControllerExpectations): before an RC
// creates or deletes pods it records how many creates and which deletes it
// expects; informer events lower the counts. While any are outstanding the RC
// is not managed again, so a pod created but not yet in the cache is never
// created twice. A record older than EXPECTATIONS_TIMEOUT_MS is ignored so a
// lost event cannot wedge the RC, but only once the informer has reached the
// revision of the last pod created: before that its events are late, not
// lost (an informer minutes behind a loaded server), and acting on its cache
// would create those pods again.

import type { Clock } from '../../client';

/** Kubernetes' ExpectationsTimeout: 5 minutes. */
export const EXPECTATIONS_TIMEOUT_MS = 5 * 60_000;

interface Record {
  adds: number;
  /** Keys ("namespace/name") of pods whose deletion is expected. */
  deletes: Set<string>;
  /** When the record was set (clock ms). */
  at: number;
  /** The highest resourceVersion of a pod created under this record (0: none known). */
  revision: number;
}

export class Expectations {
  private readonly records = new Map<string, Record>();

  constructor(private readonly clock: Clock) {}

  /** Expects `adds` creates for the controller `key` (replaces any earlier record). */
  expectCreations(key: string, adds: number): void {
    this.records.set(key, { adds, deletes: new Set(), at: this.clock.now(), revision: 0 });
  }

  /** Expects the deletion of the pods `podKeys` (replaces any earlier record). */
  expectDeletions(key: string, podKeys: readonly string[]): void {
    this.records.set(key, { adds: 0, deletes: new Set(podKeys), at: this.clock.now(), revision: 0 });
  }

  /** A create of the record went through: the stored pod's resourceVersion. */
  created(key: string, resourceVersion: string | undefined): void {
    const r = this.records.get(key);
    const rv = Number(resourceVersion);
    if (r && Number.isSafeInteger(rv) && rv > r.revision) r.revision = rv;
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
   * met, or the record expired and the informer (at `informerRevision`,
   * when known) is past the last pod created.
   */
  satisfied(key: string, informerRevision?: string): boolean {
    const r = this.records.get(key);
    if (!r) return true;
    if (r.adds <= 0 && r.deletes.size === 0) return true;
    if (this.clock.now() - r.at <= EXPECTATIONS_TIMEOUT_MS) return false;
    return !this.informerBehind(r, informerRevision);
  }

  /** Whether the informer has yet to see the last pod created under the record (its events are on their way). */
  lagging(key: string, informerRevision: string | undefined): boolean {
    const r = this.records.get(key);
    return r !== undefined && this.informerBehind(r, informerRevision);
  }

  private informerBehind(r: Record, informerRevision: string | undefined): boolean {
    const rv = Number(informerRevision);
    return r.revision > 0 && informerRevision !== undefined && Number.isSafeInteger(rv) && rv < r.revision;
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
