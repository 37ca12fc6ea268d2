import test from 'ava';
import { LeaseManager, reuseSeconds } from './lease-manager';

function fixture() {
  let clock = 1_000_000;
  const grants: number[] = [];
  const leases = new LeaseManager(
    async (ttl) => {
      grants.push(ttl);
      return String(9_000_000_000_000_000_000n + BigInt(grants.length)); // int64 IDs exceed 2^53
    },
    () => clock,
  );
  return { leases, grants, advance: (ms: number) => (clock += ms) };
}

test('the reuse window is 5% of the TTL, at most a minute', (t) => {
  t.is(reuseSeconds(3600), 60);
  t.is(reuseSeconds(600), 30);
  t.is(reuseSeconds(10), 0);
});

test('writes within the reuse window share one lease of TTL plus the window; later writes get a new one', async (t) => {
  const { leases, grants, advance } = fixture();
  const first = await leases.leaseFor(600);
  t.is(first, '9000000000000000001', 'the ID is kept exactly');
  t.deepEqual(grants, [630]);
  advance(29_000);
  t.is(await leases.leaseFor(600), first, 'still at least the TTL left');
  advance(2_000);
  const second = await leases.leaseFor(600);
  t.not(second, first, 'less than the TTL left: a new lease');
  t.deepEqual(grants, [630, 630]);
});

test('concurrent writes wait for one grant; each TTL has its own lease', async (t) => {
  const { leases, grants } = fixture();
  const ids = await Promise.all([leases.leaseFor(600), leases.leaseFor(600), leases.leaseFor(600), leases.leaseFor(60)]);
  t.deepEqual(grants, [630, 63]);
  t.is(new Set(ids.slice(0, 3)).size, 1);
  t.not(ids[3], ids[0]);
});

test('a failed grant is not remembered: the next write tries again', async (t) => {
  let fail = true;
  const leases = new LeaseManager(async () => {
    if (fail) throw new Error('etcd unavailable');
    return '7';
  });
  await t.throwsAsync(leases.leaseFor(60), { message: /unavailable/ });
  fail = false;
  t.is(await leases.leaseFor(60), '7');
});
