// electLeader over a LeaseLock on an in-memory Lease client with the API
// server's resourceVersion checks: terms run only while leading, are
// stopped the moment the Lease is lost (before anything else happens), are
// rebuilt for the next term, and a clean stop stops the work before the
// Lease is released.

import test from 'ava';
import { AlreadyExistsError, ConflictError, NotFoundError } from '../api/errors';
import type { Lease } from '../api/gen/tsk/v1/core';
import { FakeClock } from './clock';
import type { EventRecorder } from './events';
import { electLeader, leaderIdentity, type LeaderElectionConfig, type LeaderTerm } from './leader-gate';
import { LeaseLock, recordOfLease } from './leaselock';

/** Leases by namespace/name, versioned as etcd's mod revision. */
class FakeLeases {
  readonly objects = new Map<string, Lease>();
  revision = 0;
  /** Every write, in order: "create HOLDER" / "update HOLDER". */
  readonly writes: string[] = [];

  async get(name: string, namespace = 'default'): Promise<Lease> {
    const l = this.objects.get(`${namespace}/${name}`);
    if (!l) throw new NotFoundError('Lease', name);
    return structuredClone(l);
  }

  async create(obj: Lease): Promise<Lease> {
    const key = `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
    if (this.objects.has(key)) throw new AlreadyExistsError('Lease', obj.metadata?.name ?? '');
    return this.store(key, obj, 'create');
  }

  async update(obj: Lease): Promise<Lease> {
    const key = `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
    const cur = this.objects.get(key);
    if (!cur) throw new NotFoundError('Lease', obj.metadata?.name ?? '');
    if (cur.metadata?.resourceVersion !== obj.metadata?.resourceVersion) {
      throw new ConflictError(`Operation cannot be fulfilled on leases.coordination.k8s.io "${obj.metadata?.name ?? ''}": the object has been modified`);
    }
    return this.store(key, obj, 'update');
  }

  private store(key: string, obj: Lease, verb: string): Lease {
    const stored: Lease = { ...structuredClone(obj), metadata: { ...obj.metadata, resourceVersion: String(++this.revision) } };
    this.objects.set(key, stored);
    this.writes.push(`${verb} ${stored.spec?.holderIdentity ?? ''}`);
    return structuredClone(stored);
  }
}

const CONFIG: LeaderElectionConfig = {
  leaderElect: true,
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
  resourceName: 'kube-scheduler',
  resourceNamespace: 'kube-system',
};

/** Terms that log what happened to them. */
function terms(log: string[]): () => LeaderTerm {
  let n = 0;
  return () => {
    const id = ++n;
    log.push(`prepare ${id}`);
    return {
      run: () => void log.push(`run ${id}`),
      stop: async () => void log.push(`stop ${id}`),
    };
  };
}

test('LeaseLock: a Lease in the API, updates guarded by the resourceVersion last seen; MicroTime in the spec', async (t) => {
  const leases = new FakeLeases();
  const lock = new LeaseLock({ client: leases, namespace: 'kube-system', name: 'kube-scheduler', identity: 'a_1' });
  t.is(await lock.get(), undefined);
  const rec = { holderIdentity: 'a_1', leaseDurationSeconds: 15, acquireTime: 1_700_000_000_123, renewTime: 1_700_000_000_123, leaderTransitions: 0 };
  await lock.create(rec);
  const stored = await leases.get('kube-scheduler', 'kube-system');
  t.like(stored, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', spec: { holderIdentity: 'a_1', renewTime: '2023-11-14T22:13:20.123000Z' } });
  t.deepEqual(recordOfLease(stored), rec);
  // Another writer changes it: our next update without a read is a Conflict.
  await leases.update({ ...stored, spec: { ...stored.spec, holderIdentity: 'b_2' } });
  await t.throwsAsync(lock.update({ ...rec, renewTime: rec.renewTime + 2000 }), { instanceOf: ConflictError });
  t.is((await lock.get())?.record.holderIdentity, 'b_2');
  await lock.update({ ...rec, renewTime: rec.renewTime + 2000 });
  t.is((await leases.get('kube-scheduler', 'kube-system')).spec?.holderIdentity, 'a_1');
});

test('LeaseLock records LeaderElection events on the Lease, "IDENTITY MESSAGE"', async (t) => {
  const events: string[] = [];
  const recorder: EventRecorder = {
    event: (ref, type, reason, message) => void events.push(`${ref.apiVersion} ${ref.kind} ${ref.namespace}/${ref.name} ${type} ${reason} ${message}`),
  };
  const lock = new LeaseLock({ client: new FakeLeases(), namespace: 'kube-system', name: 'kube-scheduler', identity: 'a_1', recorder });
  lock.recordEvent('became leader');
  t.deepEqual(events, ['coordination.k8s.io/v1 Lease kube-system/kube-scheduler Normal LeaderElection a_1 became leader']);
});

test('the identity is HOSTNAME_UUID, fresh per candidate', (t) => {
  t.regex(leaderIdentity('host-1'), /^host-1_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  t.not(leaderIdentity('h'), leaderIdentity('h'));
});

test('without --leader-elect a term runs at once and stop() stops it', async (t) => {
  const log: string[] = [];
  const leases = new FakeLeases();
  const c = electLeader({ config: { ...CONFIG, leaderElect: false }, leases, prepare: terms(log), log: () => undefined });
  t.true(c.isLeader());
  await c.stop();
  t.deepEqual(log, ['prepare 1', 'run 1', 'stop 1']);
  t.deepEqual(leases.writes, []);
});

test('a term is prepared ahead, runs on acquiring, stops the moment the lease is lost, and a fresh one waits for the next', async (t) => {
  const clock = new FakeClock();
  const log: string[] = [];
  const leases = new FakeLeases();
  const c = electLeader({ config: CONFIG, leases, prepare: terms(log), identity: 'a_1', clock, random: () => 0, log: () => undefined });
  t.deepEqual(log, ['prepare 1']);
  await clock.advance(0);
  t.true(c.isLeader());
  t.deepEqual(log, ['prepare 1', 'run 1']);
  // Someone else takes the lease (an admin, a peer that saw it expire during a long pause).
  const cur = await leases.get('kube-scheduler', 'kube-system');
  await leases.update({ ...cur, spec: { ...cur.spec, holderIdentity: 'b_2' } });
  await clock.advance(2_000);
  t.false(c.isLeader());
  t.deepEqual(log, ['prepare 1', 'run 1', 'stop 1', 'prepare 2']);
  // b_2 stops renewing: after the lease duration a_1 leads again, with the fresh term.
  await clock.advance(20_000);
  t.true(c.isLeader());
  t.deepEqual(log.slice(-1), ['run 2']);
  await c.stop();
  t.deepEqual(log.slice(-1), ['stop 2']);
  t.is((await leases.get('kube-scheduler', 'kube-system')).spec?.holderIdentity, '', 'released after the work stopped');
});

test('stop() before the lease is won stops the prepared term and writes nothing more', async (t) => {
  const clock = new FakeClock();
  const log: string[] = [];
  const leases = new FakeLeases();
  await leases.create({ metadata: { name: 'kube-scheduler', namespace: 'kube-system' }, spec: { holderIdentity: 'b_2', leaseDurationSeconds: 15 } });
  const c = electLeader({ config: CONFIG, leases, prepare: terms(log), identity: 'a_1', clock, random: () => 0, log: () => undefined });
  await clock.advance(5_000);
  t.false(c.isLeader());
  await c.stop();
  t.deepEqual(log, ['prepare 1', 'stop 1']);
  t.deepEqual(leases.writes, ['create b_2']);
});
