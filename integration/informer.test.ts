// Informers against a real API server on a real etcd: ordered delivery,
// resuming after an API server restart without missing an event, and
// converging by re-listing after etcd compacted the revision it watched from.

import test from 'ava';
import type * as core from '../api/gen/tsk/v1/core';
import { startApiServer } from '../apiserver/server';
import { Clientset } from '../client/clientset';
import { Informer, listerWatcher, type ListerWatcher } from '../client/informer';
import { eventually, startControlPlane, TcpProxy } from './support/client-harness';
import { testTls } from './support/pki';

const pod = (name: string, labels: Record<string, string> = {}): core.Pod => ({
  metadata: { name, namespace: 'default', labels },
  spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] },
});

/** Counts list calls of the real ListerWatcher. */
function counting(lw: ListerWatcher<core.Pod>): ListerWatcher<core.Pod> & { lists: number } {
  const out = {
    lists: 0,
    list: () => {
      out.lists++;
      return lw.list();
    },
    watch: (rv: string) => lw.watch(rv),
  };
  return out;
}

interface Recorder {
  log: string[];
  adds: number;
  updates: number;
  deletes: number;
}

function record(informer: Informer<core.Pod>): Recorder {
  const r: Recorder = { log: [], adds: 0, updates: 0, deletes: 0 };
  informer.addEventHandler({
    onAdd: (p) => {
      r.adds++;
      r.log.push(`add ${p.metadata?.name}`);
    },
    onUpdate: (_o, n) => {
      r.updates++;
      r.log.push(`update ${n.metadata?.name} ${n.metadata?.labels?.['i'] ?? ''}`);
    },
    onDelete: (p) => {
      r.deletes++;
      r.log.push(`delete ${p.metadata?.name} ${p.metadata?.labels?.['last'] ?? ''}`);
    },
  });
  return r;
}

test('a sequence of updates to one object arrives in order', async (t) => {
  const plane = await startControlPlane(t);
  const cs = new Clientset(plane.address, (await testTls()).admin);
  t.teardown(() => cs.close());
  const informer = new Informer<core.Pod>({ listerWatcher: listerWatcher(cs.pods, { namespace: 'default' }), name: 'pods', onError: () => undefined });
  const rec = record(informer);
  const rvs: number[] = [];
  informer.addEventHandler({ onUpdate: (_o, n) => rvs.push(Number(n.metadata?.resourceVersion)) });
  informer.start();
  t.teardown(() => informer.stop());
  await informer.waitForSync();
  let p = await cs.pods.create(pod('seq'));
  for (let i = 0; i < 60; i++) p = await cs.pods.update({ ...p, metadata: { ...p.metadata, labels: { i: String(i) } } });
  await eventually(() => rec.updates === 60, 15_000, '60 updates');
  t.deepEqual(rec.log, ['add seq', ...Array.from({ length: 60 }, (_, i) => `update seq ${i}`)]);
  t.deepEqual(
    rvs,
    [...rvs].sort((a, b) => a - b),
  );
  t.is(informer.store.get('default/seq')?.metadata?.labels?.['i'], '59');
});

test('after an API server restart the informer resumes from its revision and misses no event', async (t) => {
  const plane = await startControlPlane(t, { bookmarkIntervalMs: 200 });
  // The writer rides out the restart too: its calls wait for the connection.
  const cs = new Clientset(plane.address, { ...(await testTls()).admin, waitForReady: true, deadlineMs: 15_000 });
  t.teardown(() => cs.close());
  const lw = counting(listerWatcher(cs.pods, { namespace: 'default' }));
  const informer = new Informer<core.Pod>({ listerWatcher: lw, name: 'pods', backoff: { initialMs: 50, maxMs: 500 }, onError: () => undefined });
  const rec = record(informer);
  informer.start();
  t.teardown(() => informer.stop());
  await informer.waitForSync();
  for (let i = 0; i < 10; i++) await cs.pods.create(pod(`before-${i}`));
  await eventually(() => rec.adds === 10, 10_000, '10 adds');

  // While the informer's server is down, a second API server on the same
  // etcd takes writes: the informer must get all of them after the restart.
  await plane.restart(async () => {
    const other = await startApiServer({
      tls: (await testTls()).serving,
      etcdServers: [plane.etcd.etcd.clientUrl],
      address: '127.0.0.1:0',
      httpAddress: '127.0.0.1:0',
      log: () => undefined,
    });
    const cs2 = new Clientset(other.grpcAddress, (await testTls()).admin);
    try {
      for (let i = 0; i < 10; i++) await cs2.pods.create(pod(`during-${i}`));
      const b = await cs2.pods.get('before-0', 'default');
      await cs2.pods.update({ ...b, metadata: { ...b.metadata, labels: { i: 'x' } } });
      await cs2.pods.delete('before-1', { namespace: 'default', gracePeriodSeconds: 0 });
    } finally {
      cs2.close();
      await other.stop();
    }
  });
  for (let i = 0; i < 5; i++) await cs.pods.create(pod(`after-${i}`));
  await eventually(() => rec.adds === 25 && rec.updates === 1 && rec.deletes === 1, 20_000, 'every event after the restart');
  t.is(lw.lists, 1, 'resumed the watch; no re-list was needed');
  const server = (await cs.pods.listAll({ namespace: 'default' })).items ?? [];
  t.deepEqual(informer.store.listKeys().sort(), server.map((p) => `default/${p.metadata?.name}`).sort());
  t.is(rec.adds + rec.updates + rec.deletes, 27, 'exactly one event per change: none missed, none repeated');
});

test('after etcd compaction the informer re-lists and its cache converges, deletes carrying the last known state', async (t) => {
  // A tiny watch cache: a revision a few writes old is served from etcd's
  // history, which compaction removes, so the resumed watch is Expired.
  const plane = await startControlPlane(t, { watchCacheCapacity: 4 });
  const cs = new Clientset(plane.address, (await testTls()).admin);
  t.teardown(() => cs.close());
  const proxy = await TcpProxy.start(t, plane.address);
  const viaProxy = new Clientset(proxy.address, (await testTls()).admin);
  t.teardown(() => viaProxy.close());
  const lw = counting(listerWatcher(viaProxy.pods, { namespace: 'default' }));
  const errors: string[] = [];
  const informer = new Informer<core.Pod>({
    listerWatcher: lw,
    name: 'pods',
    backoff: { initialMs: 50, maxMs: 300 },
    onError: (err) => errors.push(err instanceof Error ? `${err.name}: ${err.message}` : String(err)),
  });
  const rec = record(informer);
  informer.start();
  t.teardown(() => informer.stop());
  await cs.pods.create(pod('keep'));
  await cs.pods.create(pod('change'));
  await cs.pods.create(pod('gone', { last: 'known' }));
  await informer.waitForSync();
  await eventually(() => informer.store.size === 3, 10_000, 'initial objects');

  proxy.cut();
  const c = await cs.pods.get('change', 'default');
  await cs.pods.update({ ...c, metadata: { ...c.metadata, labels: { i: 'changed' } } });
  await cs.pods.delete('gone', { namespace: 'default', gracePeriodSeconds: 0 });
  for (let i = 0; i < 8; i++) await cs.pods.create(pod(`new-${i}`));
  await plane.compactEtcd();
  proxy.resume();

  await eventually(() => lw.lists >= 2 && informer.store.size === 10, 20_000, 're-list after Expired');
  t.true(
    errors.some((e) => /Unavailable|ServiceUnavailable/.test(e)),
    'the cut was noticed',
  );
  const server = (await cs.pods.listAll({ namespace: 'default' })).items ?? [];
  t.deepEqual(informer.store.listKeys().sort(), server.map((p) => `default/${p.metadata?.name}`).sort());
  for (const p of server) t.is(informer.store.get(`default/${p.metadata?.name}`)?.metadata?.resourceVersion, p.metadata?.resourceVersion);
  t.true(rec.log.includes('delete gone known'), 'the vanished object is deleted with its last known state');
  t.true(rec.log.includes('update change changed'));
  // and it keeps watching after the re-list
  await cs.pods.create(pod('later'));
  await eventually(() => informer.store.get('default/later') !== undefined, 10_000, 'watch after re-list');
});
