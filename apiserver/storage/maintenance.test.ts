import test from 'ava';
import { maintainOnce, needsDefrag, storageHealth, type MaintenanceBackend, type MemberStatus } from './maintenance';

const MiB = 1024 * 1024;

class FakeMembers implements MaintenanceBackend {
  defragOrder: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  constructor(public members: MemberStatus[]) {}
  async status(): Promise<MemberStatus[]> {
    return this.members.map((m) => ({ ...m }));
  }
  async defragment(url: string): Promise<void> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise((r) => setTimeout(r, 5));
    const m = this.members.find((x) => x.url === url)!;
    m.dbSizeBytes = m.dbSizeInUseBytes;
    this.defragOrder.push(url);
    this.inFlight--;
  }
}

const log = (): void => undefined;

test('a big file that is mostly free is defragmented; a small or a full one is not', (t) => {
  const policy = { minDbSizeBytes: 100 * MiB, minFreeRatio: 0.5 };
  t.true(needsDefrag({ url: 'a', dbSizeBytes: 400 * MiB, dbSizeInUseBytes: 100 * MiB }, policy));
  t.false(needsDefrag({ url: 'a', dbSizeBytes: 50 * MiB, dbSizeInUseBytes: 1 * MiB }, policy), 'small files are cheap to keep');
  t.false(needsDefrag({ url: 'a', dbSizeBytes: 400 * MiB, dbSizeInUseBytes: 300 * MiB }, policy), 'mostly in use');
});

test('members are defragmented one at a time, and the health is read again after', async (t) => {
  const etcd = new FakeMembers([
    { url: 'https://a:2379', dbSizeBytes: 300 * MiB, dbSizeInUseBytes: 20 * MiB },
    { url: 'https://b:2379', dbSizeBytes: 300 * MiB, dbSizeInUseBytes: 250 * MiB },
    { url: 'https://c:2379', dbSizeBytes: 200 * MiB, dbSizeInUseBytes: 10 * MiB },
  ]);
  const h = await maintainOnce(etcd, { intervalMs: 1000, quotaBytes: 1024 * MiB, log });
  t.deepEqual(etcd.defragOrder, ['https://a:2379', 'https://c:2379']);
  t.is(etcd.maxInFlight, 1);
  t.is(h.largestDbSizeBytes, 300 * MiB, 'b, not defragmented, is now the largest');
  t.is(h.quotaLeftBytes, 724 * MiB);
  t.false(h.nearQuota);
});

test('near the quota is 80% of it on the largest member; an unknown quota never warns', (t) => {
  const members = [{ url: 'a', dbSizeBytes: 820 * MiB, dbSizeInUseBytes: 800 * MiB }];
  t.true(storageHealth(members, 1024 * MiB, new Date()).nearQuota);
  t.false(storageHealth(members, 2048 * MiB, new Date()).nearQuota);
  const unknown = storageHealth(members, 0, new Date());
  t.false(unknown.nearQuota);
  t.is(unknown.quotaLeftBytes, undefined);
});
