// Watches, restarts and allocations: a watch from a resourceVersion across an
// API server restart, Expired after compaction, selector transitions,
// bookmarks, objects surviving API server and etcd restarts, ClusterIP and
// NodePort allocation, and the HTTP endpoints.

import test from 'ava';
import { Etcd3 } from 'etcd3';
import type { Event, Pod, Service } from '../api/gen/tsk/v1/core';
import { freePort } from '../util/free-port';
import { startTestEtcd } from './support/etcd';
import { pod, rejects, startTestApiServer } from './support/apiserver';

test('a watch from a resourceVersion receives every event in order, across an API server restart', async (t) => {
  const etcd = await startTestEtcd(t);
  const api = await startTestApiServer(t, etcd, { watchCacheCapacity: 50 });
  let pods = api.kind('Pod');
  const start = (await pods.list()).metadata?.resourceVersion ?? '0';
  const expected: string[] = [];
  for (let i = 0; i < 10; i++) {
    const p = await pods.create(pod(`w${i}`));
    expected.push(`ADDED w${i} ${p.metadata?.resourceVersion}`);
  }
  const live = pods.watch({ resourceVersion: start });
  await live.waitFor((e) => e.length >= 10);
  t.deepEqual(
    live.events.map((e) => `${e.type} ${e.object.metadata?.name} ${e.object.metadata?.resourceVersion}`),
    expected,
  );
  live.cancel();

  // Restart; the new server's cache starts after all of this, so the watch
  // from `start` is replayed from etcd history, then handed to the cache.
  await api.restart();
  pods = api.kind('Pod');
  const p3 = await pods.get('default', 'w3');
  p3.metadata!.labels = { app: 'changed' };
  const u = await pods.update(p3);
  expected.push(`MODIFIED w3 ${u.metadata?.resourceVersion}`);
  const d = await pods.delete({ namespace: 'default', name: 'w5' });
  expected.push(`DELETED w5 ${d.metadata?.resourceVersion}`);
  const resumed = pods.watch({ resourceVersion: start });
  await resumed.waitFor((e) => e.length >= 12);
  for (let i = 10; i < 15; i++) {
    const p = await pods.create(pod(`w${i}`));
    expected.push(`ADDED w${i} ${p.metadata?.resourceVersion}`);
  }
  await resumed.waitFor((e) => e.length >= 17);
  t.deepEqual(
    resumed.events.map((e) => `${e.type} ${e.object.metadata?.name} ${e.object.metadata?.resourceVersion}`),
    expected,
  );
  // The DELETED event carries the last state.
  t.deepEqual(resumed.events[11]?.object.metadata?.labels, { app: 'web' });
  resumed.cancel();
});

test('after etcd compaction a watch from the old revision gets Expired', async (t) => {
  const etcd = await startTestEtcd(t);
  const api = await startTestApiServer(t, etcd, { watchCacheCapacity: 5 });
  const pods = api.kind('Pod');
  const old = (await pods.create(pod('a'))).metadata?.resourceVersion ?? '';
  let last = '';
  for (let i = 0; i < 10; i++) last = (await pods.create(pod(`b${i}`))).metadata?.resourceVersion ?? '';
  const raw = new Etcd3({ hosts: etcd.etcd.clientUrl });
  t.teardown(() => raw.close());
  await raw.kv.compact({ revision: last, physical: true });
  const w = pods.watch({ resourceVersion: old });
  await w.waitEnd();
  t.is(w.error?.reason, 'Expired');
  t.regex(w.error?.message ?? '', /too old resource version/);
  // A recent revision still in the cache's window is served.
  const ok = pods.watch({ resourceVersion: last });
  await pods.create(pod('c'));
  await ok.waitFor((e) => e.length >= 1);
  t.is(ok.events[0]?.object.metadata?.name, 'c');
  ok.cancel();
});

test('selector watches see objects enter and leave; bookmarks carry only a resourceVersion', async (t) => {
  const etcd = await startTestEtcd(t);
  const api = await startTestApiServer(t, etcd, { bookmarkIntervalMs: 200 });
  const pods = api.kind('Pod');
  const w = pods.watch({ labelSelector: 'app=web', allowBookmarks: true });
  const nodeWatch = pods.watch({ fieldSelector: 'spec.nodeName=node-1' });
  await Promise.all([w.registered, nodeWatch.registered]);
  const p = await pods.create(pod('x', { app: 'db' }));
  p.metadata!.labels = { app: 'web' };
  const p2 = await pods.update(p);
  p2.metadata!.labels = { app: 'db' };
  await pods.update(p2);
  await pods.bind({ metadata: { name: 'x', namespace: 'default' }, target: { name: 'node-1' } });
  await w.waitFor((e) => e.filter((x) => x.type !== 'BOOKMARK').length >= 2 && e.some((x) => x.type === 'BOOKMARK'));
  t.deepEqual(
    w.objects().map((e) => `${e.type} ${e.object.metadata?.labels?.['app']}`),
    ['ADDED web', 'DELETED web'],
  );
  const bm = w.events.find((e) => e.type === 'BOOKMARK')!;
  t.truthy(bm.object.metadata?.resourceVersion);
  t.is(bm.object.metadata?.name ?? '', '');
  await nodeWatch.waitFor((e) => e.length >= 1);
  t.is(nodeWatch.events[0]?.type, 'ADDED');
  t.is(nodeWatch.events[0]?.object.spec?.nodeName, 'node-1');
  w.cancel();
  nodeWatch.cancel();
});

test('a watch sends its response headers once registered, before any event; the next change reaches it', async (t) => {
  const etcd = await startTestEtcd(t);
  const api = await startTestApiServer(t, etcd);
  const pods = api.kind('Pod');
  const w = pods.watch({});
  // Nothing has changed yet, so only the headers can resolve this.
  await w.registered;
  t.is(w.events.length, 0);
  await pods.create(pod('after-registered'));
  await w.waitFor((e) => e.length >= 1);
  t.is(w.events[0]?.type, 'ADDED');
  t.is(w.events[0]?.object.metadata?.name, 'after-registered');
  w.cancel();
});

test('a watch without a resourceVersion (or "0") starts with an ADDED event per matching object, even beyond the queue bound', async (t) => {
  const etcd = await startTestEtcd(t);
  const api = await startTestApiServer(t, etcd, { watchQueueLimit: 20 });
  const pods = api.kind('Pod');
  const names: string[] = [];
  for (let i = 0; i < 60; i++) {
    names.push(`web-${String(i).padStart(2, '0')}`);
    await pods.create(pod(names[i]!, { app: 'web' }));
  }
  await pods.create(pod('db-0', { app: 'db' }));
  for (const resourceVersion of ['', '0']) {
    const w = pods.watch({ resourceVersion, labelSelector: 'app=web' });
    const n = names.length;
    await w.waitFor((e) => e.length >= n);
    t.deepEqual(
      w.events.map((e) => `${e.type} ${e.object.metadata?.name}`),
      [...names].sort().map((name) => `ADDED ${name}`),
      `resourceVersion "${resourceVersion}": the state, in key order`,
    );
    // Then the changes after that state.
    const later = await pods.create(pod(`later-${resourceVersion || 'unset'}`, { app: 'web' }));
    names.push(later.metadata!.name!);
    await w.waitFor((e) => e.length >= n + 1);
    t.is(w.events.length, n + 1);
    t.is(w.events[n]?.type, 'ADDED');
    t.is(w.events[n]?.object.metadata?.resourceVersion, later.metadata?.resourceVersion);
    t.is(w.error, undefined);
    w.cancel();
  }
  // From a revision: only the changes after it.
  const rv = (await pods.list()).metadata?.resourceVersion ?? '';
  const fromRv = pods.watch({ resourceVersion: rv });
  await fromRv.registered;
  await pods.create(pod('after-rv'));
  await fromRv.waitFor((e) => e.length >= 1);
  t.deepEqual(
    fromRv.events.map((e) => `${e.type} ${e.object.metadata?.name}`),
    ['ADDED after-rv'],
  );
  fromRv.cancel();
});

test('events expire after --event-ttl (an etcd lease, renewed by every write); other kinds never do', async (t) => {
  const etcd = await startTestEtcd(t);
  // Long enough that a loaded machine cannot expire it before the update below.
  const api = await startTestApiServer(t, etcd, { eventTtlSeconds: 8 });
  const events = api.kind('Event');
  const pods = api.kind('Pod');
  const raw = new Etcd3({ hosts: etcd.etcd.clientUrl });
  t.teardown(() => raw.close());
  const event = (name: string): Event =>
    ({
      metadata: { name, namespace: 'default' },
      involvedObject: { kind: 'Pod', namespace: 'default', name: 'web' },
      reason: 'Pulled',
      type: 'Normal',
      count: 1,
    }) as Event;
  const start = (await events.list()).metadata?.resourceVersion ?? '';
  const created = await events.create(event('web.1'));
  await pods.create(pod('web'));
  const leaseOf = async (key: string): Promise<string> => (await raw.kv.range({ key: Buffer.from(key) })).kvs[0]?.lease ?? 'absent';
  const ttlOf = async (lease: string): Promise<number> => Number((await raw.leaseClient.leaseTimeToLive({ ID: lease })).TTL);
  const lease = await leaseOf('/registry/events/default/web.1');
  t.not(lease, '0', 'the event is stored under a lease');
  const ttl = await ttlOf(lease);
  t.true(ttl > 0 && ttl <= 8, `lease TTL ${ttl} s, want at most --event-ttl`);
  t.is(await leaseOf('/registry/pods/default/web'), '0', 'a pod has no lease');

  // An update (a recorder counting a repeat) starts the TTL again: after the
  // lease reuse window (5% of the TTL) it is stored under a newer lease that
  // outlives the first one.
  await new Promise((r) => setTimeout(r, 1500));
  const updated = await events.update({ ...created, count: 2 });
  t.is(updated.count, 2);
  const renewed = await leaseOf('/registry/events/default/web.1');
  t.not(renewed, lease, 'the update took a new lease');
  const [oldLeft, newLeft] = [await ttlOf(lease), await ttlOf(renewed)];
  t.true(newLeft > oldLeft, `the new lease outlives the old one (${newLeft} s vs ${oldLeft} s left)`);

  // Then etcd removes it; watchers see DELETED, and it is gone.
  const w = events.watch({ resourceVersion: start });
  await w.waitFor((e) => e.some((x) => x.type === 'DELETED'), 30_000);
  t.deepEqual(
    w.events.map((e) => e.type),
    ['ADDED', 'MODIFIED', 'DELETED'],
  );
  t.is((await rejects(events.get('default', 'web.1'))).reason, 'NotFound');
  t.is((await pods.get('default', 'web')).metadata?.name, 'web');
  w.cancel();
});

test('Events have no watch cache (as Kubernetes): lists, pages and watches read etcd, selectors and DELETED included', async (t) => {
  const etcd = await startTestEtcd(t);
  const api = await startTestApiServer(t, etcd);
  const events = api.kind('Event');
  const event = (name: string, object: string, ns = 'default'): Event =>
    ({
      metadata: { name, namespace: ns },
      involvedObject: { kind: 'Pod', namespace: ns, name: object },
      reason: 'Started',
      message: `Started container of ${object}`,
      type: 'Normal',
      count: 1,
    }) as Event;
  for (let i = 0; i < 3; i++) await events.create(event(`web.${i}`, 'web'));
  for (let i = 0; i < 2; i++) await events.create(event(`db.${i}`, 'db'));
  await events.create(event('dns.0', 'dns', 'kube-system'));

  const names = (l: { items?: Event[] }): string[] => (l.items ?? []).map((e) => e.metadata?.name ?? '');
  t.deepEqual(names(await events.list({ namespace: '' })), ['db.0', 'db.1', 'web.0', 'web.1', 'web.2', 'dns.0']);
  t.deepEqual(names(await events.list({ namespace: 'default', fieldSelector: 'involvedObject.name=web' })), ['web.0', 'web.1', 'web.2']);
  const page1 = await events.list({ namespace: 'default', limit: 2 });
  t.deepEqual(names(page1), ['db.0', 'db.1']);
  t.is(page1.metadata?.remainingItemCount, 3);
  const page2 = await events.list({ namespace: 'default', limit: 10, continue: page1.metadata?.continue ?? '' });
  t.deepEqual(names(page2), ['web.0', 'web.1', 'web.2']);

  // From the current state: an ADDED per object of the namespace, then the changes.
  const all = events.watch({ namespace: 'default' });
  await all.waitFor((e) => e.length >= 5);
  t.deepEqual(
    all.events.map((e) => `${e.type} ${e.object.metadata?.name}`).sort(),
    ['db.0', 'db.1', 'web.0', 'web.1', 'web.2'].map((n) => `ADDED ${n}`),
  );
  const from = (await events.list({ namespace: 'default' })).metadata?.resourceVersion ?? '';
  // From a revision, with a selector: only the web Pod's events, one that stops matching is DELETED.
  const web = events.watch({ namespace: 'default', resourceVersion: from, fieldSelector: 'involvedObject.name=web' });
  await web.registered;
  const db0 = await events.get('default', 'db.0');
  await events.update({ ...db0, count: 2 });
  const web1 = await events.get('default', 'web.1');
  const counted = await events.update({ ...web1, count: 2 });
  await events.update({ ...counted, involvedObject: { ...counted.involvedObject, name: 'web-old' } });
  await events.create(event('web.3', 'web'));
  await events.delete({ namespace: 'default', name: 'web.0' });
  await events.create(event('dns.1', 'dns', 'kube-system'));
  await web.waitFor((e) => e.length >= 4);
  t.deepEqual(
    web.events.map((e) => `${e.type} ${e.object.metadata?.name} ${e.object.count}`),
    ['MODIFIED web.1 2', 'DELETED web.1 2', 'ADDED web.3 1', 'DELETED web.0 1'],
  );
  await all.waitFor((e) => e.length >= 10);
  t.deepEqual(
    all.events.slice(5).map((e) => `${e.type} ${e.object.metadata?.name}`),
    ['MODIFIED db.0', 'MODIFIED web.1', 'MODIFIED web.1', 'ADDED web.3', 'DELETED web.0'],
    'the namespace watch sees nothing of kube-system',
  );
  web.cancel();
  all.cancel();
  // etcd itself says when a revision is gone.
  const raw = new Etcd3({ hosts: etcd.etcd.clientUrl });
  t.teardown(() => raw.close());
  const last = (await events.create(event('web.4', 'web'))).metadata?.resourceVersion ?? '';
  await raw.kv.compact({ revision: last, physical: true });
  const old = events.watch({ namespace: 'default', resourceVersion: from });
  await old.waitEnd();
  t.is(old.error?.reason, 'Expired');
  t.regex(old.error?.message ?? '', /too old resource version/);
  // No cache, so no count of cached Events in the storage gauge.
  const metrics = await (await fetch(`http://${api.server.httpAddress}/metrics`)).text();
  t.notRegex(metrics, /apiserver_storage_objects\{resource="events"\}/);
});

test('objects survive restarts of the API server and of etcd', async (t) => {
  const etcd = await startTestEtcd(t);
  const api = await startTestApiServer(t, etcd);
  const pods = api.kind('Pod');
  const a = await pods.create(pod('survivor'));
  await api.restart();
  t.is((await api.kind('Pod').get('default', 'survivor')).metadata?.uid, a.metadata?.uid);
  const w = api.kind('Pod').watch({ resourceVersion: a.metadata?.resourceVersion });
  await etcd.restart();
  // The server reconnects to etcd by itself; writes work again and the watch
  // keeps going without a gap.
  const deadline = Date.now() + 20_000;
  let b: Pod | undefined;
  while (!b) {
    try {
      b = await api.kind('Pod').create(pod('after-etcd-restart'));
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  t.is((await api.kind('Pod').get('default', 'survivor')).metadata?.uid, a.metadata?.uid);
  await w.waitFor((e) => e.some((x) => x.object.metadata?.name === 'after-etcd-restart'));
  t.is(w.objects()[0]?.object.metadata?.name, 'after-etcd-restart');
  w.cancel();
});

test('ClusterIPs and NodePorts are unique, validated, released, and survive a restart', async (t) => {
  const etcd = await startTestEtcd(t);
  const api = await startTestApiServer(t, etcd, { serviceCidr: '10.96.0.0/29', nodePortRange: '30000-30004' });
  const svcs = api.kind('Service');
  const mk = (name: string, extra: Partial<Service['spec']> = {}): Service =>
    ({ metadata: { name, namespace: 'default' }, spec: { type: 'NodePort', ports: [{ port: 80 }], ...extra } }) as Service;
  // /29 has 8 addresses: network, .1 (reserved), broadcast -> 5 usable.
  const created = await Promise.all([0, 1, 2, 3].map((i) => svcs.create(mk(`s${i}`))));
  const ips = created.map((s) => s.spec?.clusterIP);
  const ports = created.map((s) => s.spec?.ports?.[0]?.nodePort);
  t.is(new Set(ips).size, 4);
  t.is(new Set(ports).size, 4);
  for (const ip of ips) t.regex(ip ?? '', /^10\.96\.0\.[2-6]$/);
  for (const p of ports) t.true((p ?? 0) >= 30000 && (p ?? 0) <= 30004);

  const takenIp = await rejects(svcs.create(mk('dup-ip', { clusterIP: ips[0], type: 'ClusterIP' })));
  t.is(takenIp.reason, 'Invalid');
  t.true(takenIp.causes.some((c) => c.field === 'spec.clusterIP' && /already allocated/.test(c.message)));
  const outside = await rejects(svcs.create(mk('far-ip', { clusterIP: '10.97.0.9', type: 'ClusterIP' })));
  t.true(outside.causes.some((c) => c.field === 'spec.clusterIP' && /not in the valid range/.test(c.message)));
  const takenPort = await rejects(svcs.create(mk('dup-port', { ports: [{ port: 81, nodePort: ports[0] }] })));
  t.true(takenPort.causes.some((c) => c.field === 'spec.ports[0].nodePort' && /already allocated/.test(c.message)));

  await api.restart();
  const s4 = await api.kind('Service').create(mk('s4'));
  t.false(ips.includes(s4.spec?.clusterIP));
  t.false(ports.includes(s4.spec?.ports?.[0]?.nodePort));
  // The range is full now; deleting one frees its IP and port for reuse.
  const full = await rejects(api.kind('Service').create(mk('s5')));
  t.is(full.reason, 'Invalid');
  await api.kind('Service').delete({ namespace: 'default', name: 's0' });
  const s5 = await api.kind('Service').create(mk('s5'));
  t.is(s5.spec?.clusterIP, ips[0]);
  t.is(s5.spec?.ports?.[0]?.nodePort, ports[0]);
  // An update that leaves out the allocated values keeps them.
  const upd = await api.kind('Service').update({ ...s5, spec: { ...s5.spec, clusterIP: '', ports: [{ port: 80 }] } });
  t.is(upd.spec?.clusterIP, ips[0]);
  t.is(upd.spec?.ports?.[0]?.nodePort, ports[0]);
});

test('HTTP: healthz, readyz and the metrics series', async (t) => {
  const etcd = await startTestEtcd(t);
  const api = await startTestApiServer(t, etcd);
  const base = `http://${api.server.httpAddress}`;
  const pods = api.kind('Pod');
  await pods.create(pod('m'));
  await pods.list();
  await rejects(pods.get('default', 'missing'));
  const w = pods.watch();
  await new Promise((r) => setTimeout(r, 100));
  t.is(await (await fetch(`${base}/healthz`)).text(), 'ok\n');
  t.is((await fetch(`${base}/livez`)).status, 200);
  t.is((await fetch(`${base}/readyz`)).status, 200);
  const text = await (await fetch(`${base}/metrics`)).text();
  t.regex(text, /apiserver_request_total\{verb="create",resource="pods",code="201"\} 1/);
  t.regex(text, /apiserver_request_total\{verb="get",resource="pods",code="404"\} 1/);
  t.regex(text, /apiserver_request_duration_seconds_bucket\{le="[^"]+",verb="list",resource="pods"\}/);
  t.regex(text, /etcd_request_duration_seconds_count\{operation="create",type="pods"\} 1/);
  t.regex(text, /apiserver_registered_watchers\{resource="pods"\} 1/);
  t.regex(text, /apiserver_longrunning_requests\{resource="pods"\} 1/);
  t.regex(text, /apiserver_storage_objects\{resource="pods"\} 1/);
  // default, kube-system, kube-node-lease
  t.regex(text, /apiserver_storage_objects\{resource="namespaces"\} 3/);
  t.regex(text, /process_cpu_seconds_total/);
  w.cancel();
  await etcd.etcd.stop();
  const notReady = await fetch(`${base}/readyz`);
  t.is(notReady.status, 503);
  t.regex(await notReady.text(), /etcd/);
});

test('a watcher that stops reading is cut off with a clear error; the others get every event', async (t) => {
  const etcd = await startTestEtcd(t);
  const api = await startTestApiServer(t, etcd, { watchQueueLimit: 300 });
  const pods = api.kind('Pod');
  const slow = pods.watch();
  const fast = pods.watch();
  t.teardown(() => {
    slow.cancel();
    fast.cancel();
  });
  await new Promise((r) => setTimeout(r, 200));
  slow.call.pause();
  // Enough bytes to fill the paused client's HTTP/2 window and socket buffers.
  const big = { 'example.com/padding': 'x'.repeat(8000) };
  const n = 800;
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < n) {
        const i = next++;
        await pods.create({ ...pod(`p${i}`), metadata: { name: `p${i}`, namespace: 'default', annotations: big } });
      }
    }),
  );
  await fast.waitFor((e) => e.length >= n, 30_000);
  t.is(new Set(fast.events.map((e) => e.object.metadata?.name)).size, n);
  slow.call.resume();
  await slow.waitEnd(15_000);
  t.is(slow.error?.reason, 'ServiceUnavailable');
  t.regex(slow.error?.message ?? '', /fell \d+ events behind; watch again from resourceVersion \d+/);
  fast.cancel();
});

test('--etcd-servers with a dead member: every request goes to the live one', async (t) => {
  const etcd = await startTestEtcd(t);
  const dead = `http://127.0.0.1:${await freePort()}`;
  const api = await startTestApiServer(t, etcd, { etcdServers: [dead, etcd.etcd.clientUrl, dead] });
  const pods = api.kind('Pod');
  const w = pods.watch({ namespace: 'default' });
  t.teardown(() => w.cancel());
  // Sequential, so each call picks a member afresh; none may fail.
  for (let i = 0; i < 30; i++) await pods.create(pod(`p${i}`));
  t.is((await pods.list({ namespace: 'default' })).items?.length, 30);
  const last = await pods.get('default', 'p29');
  last.metadata!.labels = { app: 'changed' };
  t.is((await pods.update(last)).metadata?.labels?.['app'], 'changed');
  await w.waitFor((evs) => evs.filter((e) => e.type !== 'BOOKMARK').length >= 31);
  t.deepEqual(
    w.objects().map((e) => `${e.type} ${e.object.metadata?.name}`),
    [...Array.from({ length: 30 }, (_, i) => `ADDED p${i}`), 'MODIFIED p29'],
  );
});
