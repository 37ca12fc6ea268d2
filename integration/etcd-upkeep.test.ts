// etcd upkeep by the API server: compaction (--etcd-compaction-interval):
// etcd's compact revision advances on its own, a watch from before it gets Expired
// (the client re-lists), a live watch carries on across it, and two API
// servers on one etcd share the work through compact_rev_key. Then the
// database sizes, defragmentation and the quota left (storage/maintenance.ts).

import test from 'ava';
import { Etcd3 } from 'etcd3';
import { startTestEtcd } from './support/etcd';
import { pod, startTestApiServer } from './support/apiserver';
import { eventually } from './support/wait';
import { COMPACT_REV_KEY } from '../apiserver/storage/compactor';

/** Whether etcd has compacted away `revision` (a read at it fails so). */
async function isCompacted(raw: Etcd3, revision: number): Promise<boolean> {
  try {
    await raw.kv.range({ key: Buffer.from('/registry/'), revision, limit: 1 });
    return false;
  } catch (err) {
    if (/compacted/.test(String(err))) return true;
    throw err;
  }
}

test('the API server compacts etcd every interval; old watches get Expired, live ones carry on', async (t) => {
  const etcd = await startTestEtcd(t);
  const api = await startTestApiServer(t, etcd, { watchCacheCapacity: 5, etcdCompactionIntervalMs: 1000 });
  const raw = new Etcd3({ hosts: etcd.etcd.clientUrl });
  t.teardown(() => raw.close());
  const pods = api.kind('Pod');
  const old = (await pods.create(pod('first'))).metadata?.resourceVersion ?? '';
  const live = pods.watch({ resourceVersion: old });
  for (let i = 0; i < 10; i++) await pods.create(pod(`p${i}`));

  // Round 1 records the revision, round 2 compacts to it: about two intervals.
  await eventually(() => isCompacted(raw, Number(old)), 15_000, 'etcd compacted past the first pod');
  const key = await raw.get(COMPACT_REV_KEY).exec();
  t.true(Number(key.kvs[0]?.version ?? 0) >= 2, 'compact_rev_key advanced at least twice');

  const stale = pods.watch({ resourceVersion: old });
  await stale.waitEnd();
  t.is(stale.error?.reason, 'Expired');

  await pods.create(pod('after'));
  await live.waitFor((e) => e.some((ev) => ev.object.metadata?.name === 'after'));
  t.is(live.events.length, 11, 'the live watch saw every change, across the compaction');
  live.cancel();
  const metrics = await (await fetch(`http://${api.server.httpAddress}/metrics`)).text();
  t.regex(metrics, /apiserver_storage_compactions_total\{result="success"\} [1-9]/);
});

test('two API servers on one etcd compact about once per interval between them', async (t) => {
  const etcd = await startTestEtcd(t);
  const a = await startTestApiServer(t, etcd, { etcdCompactionIntervalMs: 1000 });
  const b = await startTestApiServer(t, etcd, { etcdCompactionIntervalMs: 1000 });
  const pods = a.kind('Pod');
  for (let i = 0; i < 5; i++) await pods.create(pod(`p${i}`));
  await new Promise((r) => setTimeout(r, 5500));
  const count = async (s: typeof a): Promise<number> => {
    const text = await (await fetch(`http://${s.server.httpAddress}/metrics`)).text();
    return Number(/apiserver_storage_compactions_total\{result="success"\} (\d+)/.exec(text)?.[1] ?? 0);
  };
  const total = (await count(a)) + (await count(b));
  // ~5 rounds each; one swap wins per round, so the pair compacts at most about 5 times, not 10.
  t.true(total >= 1 && total <= 6, `compactions by both: ${total}`);
});

test('a database that is mostly free after compaction is defragmented; /readyz and /metrics report its size and the quota left', async (t) => {
  const etcd = await startTestEtcd(t);
  const api = await startTestApiServer(t, etcd, {
    etcdCompactionIntervalMs: 0,
    etcdMaintenanceIntervalMs: 500,
    etcdQuotaBytes: 1024 * 1024 * 1024,
    etcdDefragPolicy: { minDbSizeBytes: 4 * 1024 * 1024, minFreeRatio: 0.5 },
  });
  const raw = new Etcd3({ hosts: etcd.etcd.clientUrl });
  t.teardown(() => raw.close());
  // ~16 MiB of values overwritten: after compaction the file is mostly free pages (bbolt counts them
  // free after the next commits, which a live cluster always has).
  const blob = Buffer.alloc(512 * 1024, 'x');
  for (let i = 0; i < 32; i++) await raw.put(`/scratch/${i % 4}`).value(blob);
  await raw.delete().prefix('/scratch/');
  const rev = Number((await raw.kv.range({ key: Buffer.from('/scratch/'), limit: 1 })).header.revision);
  await raw.kv.compact({ revision: rev, physical: true });
  for (let i = 0; i < 5; i++) await api.kind('Pod').create(pod(`p${i}`));
  const metric = async (name: string): Promise<number> => {
    const text = await (await fetch(`http://${api.server.httpAddress}/metrics`)).text();
    return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  };
  await eventually(async () => (await metric('apiserver_storage_defragmentations_total')) >= 1, 20_000, 'a defragmentation');
  await eventually(async () => (await metric('apiserver_storage_size_bytes')) < 8 * 1024 * 1024, 10_000, 'the file shrunk');
  t.is(await metric('apiserver_storage_quota_bytes'), 1024 * 1024 * 1024);
  const ready = await (await fetch(`http://${api.server.httpAddress}/readyz`)).text();
  t.regex(ready, /^ok\netcd database: [\d.]+ MiB \(1 member\), [\d.]+ MiB of the 1024\.0 MiB quota left\n$/);
});

test('a database near its quota raises a Warning event while writes still succeed', async (t) => {
  const etcd = await startTestEtcd(t);
  // A "quota" the fresh database already passes 80% of.
  const logs: string[] = [];
  const api = await startTestApiServer(t, etcd, {
    etcdCompactionIntervalMs: 0,
    etcdMaintenanceIntervalMs: 300,
    etcdQuotaBytes: 1024,
    log: (m) => logs.push(m),
  });
  const events = api.kind('Event');
  await eventually(
    async () => ((await events.list({ namespace: 'default' })).items ?? []).some((e) => e.reason === 'EtcdDatabaseNearQuota'),
    10_000,
    `the event; the server said:\n${logs.join('\n')}`,
  );
  const ev = ((await events.list({ namespace: 'default' })).items ?? []).find((e) => e.reason === 'EtcdDatabaseNearQuota');
  t.is(ev?.type, 'Warning');
  t.regex(ev?.message ?? '', /etcd database: [\d.]+ MiB \(1 member\), 0\.0 MiB of the 0\.0 MiB quota left \(NEAR QUOTA\)/);
  // Raised once while the condition lasts, not every round.
  await new Promise((r) => setTimeout(r, 1000));
  t.is(((await events.list({ namespace: 'default' })).items ?? []).filter((e) => e.reason === 'EtcdDatabaseNearQuota').length, 1);
});
