import test from 'ava';
import { ConflictError, InternalError, NotFoundError } from '../api/errors';
import type { Lease, Node } from '../api/gen/tsk/v1/core';
import { FakeClock } from '../client';
import { NodeLeaseController, nodeOwner, renewIntervalMs, renewedLease } from './node-lease';

const node: Node = { metadata: { name: 'n1', uid: 'uid-1' } };

/** Leases by name in kube-node-lease, with injectable failures. */
class FakeLeases {
  readonly items = new Map<string, Lease>();
  failures: Error[] = [];
  writes = 0;
  private rv = 1;
  private fail(): void {
    const err = this.failures.shift();
    if (err) throw err;
  }
  private store(l: Lease): Lease {
    const stored = { ...l, metadata: { ...l.metadata, resourceVersion: String(this.rv++) } };
    this.items.set(l.metadata?.name ?? '', stored);
    this.writes++;
    return stored;
  }
  async get(name: string): Promise<Lease> {
    const l = this.items.get(name);
    if (!l) throw new NotFoundError('Lease', name);
    return l;
  }
  async create(l: Lease): Promise<Lease> {
    this.fail();
    return this.store(l);
  }
  async update(l: Lease): Promise<Lease> {
    this.fail();
    const cur = this.items.get(l.metadata?.name ?? '');
    if (!cur) throw new NotFoundError('Lease', l.metadata?.name ?? '');
    if (cur.metadata?.resourceVersion !== l.metadata?.resourceVersion) throw new ConflictError('the object has been modified');
    return this.store(l);
  }
}

function controller(leases: FakeLeases, clock: FakeClock, log: string[] = [], random = (): number => 0): NodeLeaseController {
  return new NodeLeaseController({ leases, nodeName: 'n1', durationSeconds: 40, clock, node: () => node, random, log: (l) => log.push(l) });
}

test("renewals are jittered by up to 4% of the interval, as the lease controller's JitterUntil", async (t) => {
  const leases = new FakeLeases();
  const clock = new FakeClock();
  const c = controller(leases, clock, [], () => 0.5);
  c.start();
  await clock.advance(0);
  await clock.advance(10_199);
  t.is(leases.writes, 1);
  await clock.advance(1);
  t.is(leases.writes, 2);
  await c.stop();
});

test('renewIntervalMs is a quarter of the duration, as the kubelet renews', (t) => {
  t.is(renewIntervalMs(40), 10_000);
  t.is(renewIntervalMs(4), 1_000);
});

test('renewedLease: holder, duration and renewTime set; the Node owner replaced after the Node was re-created', (t) => {
  const fresh = renewedLease(undefined, { nodeName: 'n1', durationSeconds: 40, owner: nodeOwner(node) }, '2026-01-01T00:00:00.000001Z');
  t.deepEqual(fresh.metadata, { name: 'n1', namespace: 'kube-node-lease', ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'n1', uid: 'uid-1' }] });
  t.like(fresh.spec, { holderIdentity: 'n1', leaseDurationSeconds: 40, renewTime: '2026-01-01T00:00:00.000001Z' });
  const again = renewedLease(fresh, { nodeName: 'n1', durationSeconds: 40, owner: nodeOwner({ metadata: { name: 'n1', uid: 'uid-2' } }) }, 'later');
  t.deepEqual(again.metadata?.ownerReferences, [{ apiVersion: 'v1', kind: 'Node', name: 'n1', uid: 'uid-2' }]);
  const unknown = renewedLease(fresh, { nodeName: 'n1', durationSeconds: 40, owner: undefined }, 'later');
  t.deepEqual(unknown.metadata?.ownerReferences, fresh.metadata?.ownerReferences, 'the owner stays while the Node is not known');
});

test('the Lease is created, then renewed every quarter of its duration', async (t) => {
  const leases = new FakeLeases();
  const clock = new FakeClock();
  const c = controller(leases, clock);
  c.start();
  await clock.advance(0);
  const first = leases.items.get('n1');
  t.is(first?.spec?.acquireTime, first?.spec?.renewTime, 'created: acquired when first renewed');
  t.is(leases.writes, 1);
  await clock.advance(9_999);
  t.is(leases.writes, 1);
  await clock.advance(1);
  t.is(leases.writes, 2);
  t.true((leases.items.get('n1')?.spec?.renewTime ?? '') > (first?.spec?.renewTime ?? ''));
  await c.stop();
  await clock.advance(60_000);
  t.is(leases.writes, 2, 'no renewals after stop');
});

test('a conflict re-reads the Lease; other failures back off from 200 ms and the next attempt reads again', async (t) => {
  const leases = new FakeLeases();
  const clock = new FakeClock();
  const log: string[] = [];
  const c = controller(leases, clock, log);
  await c.renew();
  // Someone else wrote it: the update conflicts, the controller reads and writes again.
  const cur = leases.items.get('n1') as Lease;
  leases.items.set('n1', { ...cur, metadata: { ...cur.metadata, resourceVersion: 'other' } });
  await c.renew();
  t.is(leases.items.get('n1')?.spec?.holderIdentity, 'n1');
  leases.failures = [new InternalError('etcdserver: request timed out'), new InternalError('etcdserver: request timed out')];
  c.start();
  await clock.advance(0);
  t.regex(log[0] ?? '', /failed to update the node lease: .*request timed out; retrying in 200 ms/);
  await clock.advance(200);
  t.regex(log[1] ?? '', /retrying in 400 ms/);
  const writes = leases.writes;
  await clock.advance(400);
  t.is(leases.writes, writes + 1, 'renewed after the back-off');
  await c.stop();
});

test('a Lease deleted (its Node was) is created again', async (t) => {
  const leases = new FakeLeases();
  const clock = new FakeClock();
  const c = controller(leases, clock);
  await c.renew();
  leases.items.clear();
  await t.throwsAsync(c.renew(), { instanceOf: NotFoundError });
  await c.renew();
  t.is(leases.items.get('n1')?.spec?.holderIdentity, 'n1');
});
