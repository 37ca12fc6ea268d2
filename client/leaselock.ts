// client-go's resourcelock.LeaseLock: the leader election record kept in a
// coordination.k8s.io/v1 Lease. The lock remembers the Lease it last read or
// wrote, so an update carries that resourceVersion and fails with a
// ConflictError when another candidate wrote in between (optimistic
// concurrency: two candidates can never both believe their write won).

import type { Lease } from '../api/gen/tsk/v1/core';
import { NotFoundError } from '../api/errors';
import { rfc3339Micro, parseRfc3339 } from '../util/time';
import { referenceTo, type EventRecorder } from './events';
import { Informer, type ListerWatcher } from './informer';
import type { ResourceClient } from './resource';

/** client-go's LeaderElectionRecord: what a lock stores, times in epoch milliseconds. */
export interface LeaderElectionRecord {
  /** "" when nobody holds the lock (after a release). */
  readonly holderIdentity: string;
  readonly leaseDurationSeconds: number;
  readonly acquireTime: number;
  readonly renewTime: number;
  readonly leaderTransitions: number;
}

/** A record as a lock read or saw it. */
export interface SeenRecord {
  readonly record: LeaderElectionRecord;
  /** A canonical text of the record (recordText), to notice changes. */
  readonly raw: string;
  /** The store's revision of this version (etcd's), when known: a sighting older than one already seen is ignored. */
  readonly revision?: number;
}

/** Where an elector keeps its record (client-go's resourcelock.Interface). */
export interface ResourceLock {
  /** This candidate's identity. */
  readonly identity: string;
  /** The stored record, or undefined when there is none yet. */
  get(): Promise<SeenRecord | undefined>;
  /** Creates the record; rejects (AlreadyExistsError) when another candidate created it first. Resolves to the new revision when known. */
  create(record: LeaderElectionRecord): Promise<number | void>;
  /** Replaces the record last read; rejects (ConflictError) when it changed since. Resolves to the new revision when known. */
  update(record: LeaderElectionRecord): Promise<number | void>;
  /**
   * Reports every version of the record as it is written (a watch), so a
   * candidate times the holder's expiry from the renewal itself rather than
   * from its next poll. Optional: without it, candidates poll. Returns a
   * function that stops the reports.
   */
  observe?(onChange: (seen: SeenRecord) => void): () => Promise<void>;
  /** Records an Event "IDENTITY MESSAGE" on the lock's object (reason LeaderElection). */
  recordEvent(message: string): void;
  /** "kube-system/kube-scheduler", for logs. */
  describe(): string;
}

/** The canonical text of a record: a changed text means the holder wrote (or another took over). */
export function recordText(r: LeaderElectionRecord): string {
  return JSON.stringify([r.holderIdentity, r.leaseDurationSeconds, r.acquireTime, r.renewTime, r.leaderTransitions]);
}

/** The record of a Lease's spec (missing fields as client-go's LeaseSpecToLeaderElectionRecord reads them). */
export function recordOfLease(lease: Lease): LeaderElectionRecord {
  const s = lease.spec ?? {};
  return {
    holderIdentity: s.holderIdentity ?? '',
    leaseDurationSeconds: s.leaseDurationSeconds ?? 0,
    acquireTime: parseRfc3339(s.acquireTime ?? '') ?? 0,
    renewTime: parseRfc3339(s.renewTime ?? '') ?? 0,
    leaderTransitions: s.leaseTransitions ?? 0,
  };
}

/** The Lease spec of a record (client-go's LeaderElectionRecordToLeaseSpec). */
export function leaseSpecOf(r: LeaderElectionRecord): Lease['spec'] {
  return {
    holderIdentity: r.holderIdentity,
    leaseDurationSeconds: r.leaseDurationSeconds,
    acquireTime: rfc3339Micro(r.acquireTime),
    renewTime: rfc3339Micro(r.renewTime),
    leaseTransitions: r.leaderTransitions,
    strategy: '',
    preferredHolder: '',
  };
}

export interface LeaseLockOptions {
  readonly client: Pick<ResourceClient<Lease>, 'get' | 'create' | 'update'>;
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  /** Where "became leader" and "stopped leading" go; none: no Events. */
  readonly recorder?: EventRecorder;
  /** Lists and watches this one Lease (namespace and metadata.name selected); without it the lock cannot observe. */
  readonly watcher?: ListerWatcher<Lease>;
}

/** The revision of a Lease as read, or undefined when it has none (a fake). */
function revisionOf(lease: Lease): number | undefined {
  const rv = Number(lease.metadata?.resourceVersion ?? '');
  return Number.isSafeInteger(rv) && rv > 0 ? rv : undefined;
}

function seenOf(lease: Lease): SeenRecord {
  const record = recordOfLease(lease);
  const revision = revisionOf(lease);
  return { record, raw: recordText(record), ...(revision !== undefined ? { revision } : {}) };
}

export class LeaseLock implements ResourceLock {
  /** The Lease as last read or written: its resourceVersion guards the next update. */
  private lease: Lease | undefined;

  constructor(private readonly opts: LeaseLockOptions) {}

  get identity(): string {
    return this.opts.identity;
  }

  async get(): Promise<SeenRecord | undefined> {
    try {
      this.lease = await this.opts.client.get(this.opts.name, this.opts.namespace);
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
    return seenOf(this.lease);
  }

  async create(record: LeaderElectionRecord): Promise<number | void> {
    this.lease = await this.opts.client.create({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.opts.name, namespace: this.opts.namespace },
      spec: leaseSpecOf(record),
    });
    return revisionOf(this.lease);
  }

  async update(record: LeaderElectionRecord): Promise<number | void> {
    if (!this.lease) throw new Error(`lease ${this.describe()} not read before update`);
    this.lease = await this.opts.client.update({ ...this.lease, spec: leaseSpecOf(record) });
    return revisionOf(this.lease);
  }

  observe(onChange: (seen: SeenRecord) => void): () => Promise<void> {
    const { watcher } = this.opts;
    if (!watcher) return () => Promise.resolve();
    const informer = new Informer<Lease>({ listerWatcher: watcher, name: `lease ${this.describe()}` });
    informer.addEventHandler({ onAdd: (lease) => onChange(seenOf(lease)), onUpdate: (_old, lease) => onChange(seenOf(lease)) });
    informer.start();
    return () => informer.stop();
  }

  recordEvent(message: string): void {
    if (!this.opts.recorder) return;
    const lease: Lease = this.lease ?? { metadata: { name: this.opts.name, namespace: this.opts.namespace } };
    this.opts.recorder.event(referenceTo('Lease', lease), 'Normal', 'LeaderElection', `${this.opts.identity} ${message}`);
  }

  describe(): string {
    return `${this.opts.namespace}/${this.opts.name}`;
  }
}
