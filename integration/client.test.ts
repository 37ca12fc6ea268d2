// The client library against a real API server on a real etcd: every verb of
// every kind, errors as ApiError classes, watches in order.

import test from 'ava';
import { ConflictError, InvalidError, NotFoundError, UnavailableError, AlreadyExistsError } from '../api/errors';
import type * as core from '../api/gen/tsk/v1/core';
import { Clientset } from '../client/clientset';
import type { WatchEvent } from '../client/watch';
import { freePort } from '../util/free-port';
import { startControlPlane } from './support/client-harness';
import { testTls } from './support/pki';

const podSpec = (image = 'busybox:1.36'): core.PodSpec => ({ containers: [{ name: 'c', image }] });

test('CRUD of every kind through the typed clients', async (t) => {
  const plane = await startControlPlane(t);
  const cs = new Clientset(plane.address, (await testTls()).admin);
  t.teardown(() => cs.close());

  // Namespace
  const ns = await cs.namespaces.create({ metadata: { name: 'team-a', labels: { env: 'test' } } });
  t.is(ns.metadata?.name, 'team-a');
  t.truthy(ns.metadata?.uid);
  t.truthy(ns.metadata?.resourceVersion);
  const nsList = await cs.namespaces.list({ labelSelector: 'env=test' });
  t.deepEqual(
    nsList.items?.map((n) => n.metadata?.name),
    ['team-a'],
  );

  // Pod: create, get, list by label, update, stale update, updateStatus, bind, delete
  const pod = await cs.pods.create({ metadata: { name: 'web', namespace: 'team-a', labels: { app: 'web' } }, spec: podSpec() });
  t.is(pod.spec?.restartPolicy, 'Always', 'server defaults come back');
  await t.throwsAsync(cs.pods.create({ metadata: { name: 'web', namespace: 'team-a' }, spec: podSpec() }), { instanceOf: AlreadyExistsError });
  const got = await cs.pods.get('web', 'team-a');
  t.is(got.metadata?.uid, pod.metadata?.uid);
  t.deepEqual(
    (await cs.pods.list({ namespace: 'team-a', labelSelector: 'app in (web,db)' })).items?.map((p) => p.metadata?.name),
    ['web'],
  );
  t.deepEqual((await cs.pods.list({ namespace: 'team-a', labelSelector: 'app!=web' })).items ?? [], []);
  const updated = await cs.pods.update({ ...got, metadata: { ...got.metadata, labels: { app: 'web', v: '2' } } });
  t.is(updated.metadata?.labels?.['v'], '2');
  await t.throwsAsync(cs.pods.update({ ...got, metadata: { ...got.metadata, labels: { stale: 'yes' } } }), { instanceOf: ConflictError });
  const withStatus = await cs.pods.updateStatus({ ...updated, status: { phase: 'Running', podIP: '10.244.0.9' } });
  t.is(withStatus.status?.phase, 'Running');
  const bound = await cs.pods.bind('team-a', 'web', 'node-1');
  t.is(bound.spec?.nodeName, 'node-1');
  await t.throwsAsync(cs.pods.bind('team-a', 'web', 'node-2'), { instanceOf: ConflictError });
  t.deepEqual(
    (await cs.pods.list({ namespace: 'team-a', fieldSelector: 'spec.nodeName=node-1' })).items?.map((p) => p.metadata?.name),
    ['web'],
  );
  await cs.pods.delete('web', { namespace: 'team-a', gracePeriodSeconds: 0 });
  await t.throwsAsync(cs.pods.get('web', 'team-a'), { instanceOf: NotFoundError, message: 'pods "web" not found' });

  // Invalid input comes back as InvalidError with the field.
  const invalid = await t.throwsAsync(cs.pods.create({ metadata: { name: 'bad', namespace: 'team-a' }, spec: { containers: [{ name: 'c' }] } }), {
    instanceOf: InvalidError,
  });
  t.true(invalid?.causes.some((c) => c.field === 'spec.containers[0].image'));

  // ReplicationController
  const rc = await cs.replicationControllers.create({
    metadata: { name: 'web', namespace: 'team-a' },
    spec: { replicas: 2, selector: { app: 'web' }, template: { metadata: { labels: { app: 'web' } }, spec: podSpec() } },
  });
  const rc2 = await cs.replicationControllers.update({ ...rc, spec: { ...rc.spec, replicas: 3 } });
  t.is(rc2.spec?.replicas, 3);
  const rc3 = await cs.replicationControllers.updateStatus({ ...rc2, status: { replicas: 3, readyReplicas: 1 } });
  t.is(rc3.status?.readyReplicas, 1);
  await cs.replicationControllers.delete('web', { namespace: 'team-a' });

  // Service (clusterIP allocated), Endpoints
  const svc = await cs.services.create({ metadata: { name: 'web', namespace: 'team-a' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } });
  t.regex(svc.spec?.clusterIP ?? '', /^\d+\.\d+\.\d+\.\d+$/);
  const ep = await cs.endpoints.create({
    metadata: { name: 'web', namespace: 'team-a' },
    subsets: [{ addresses: [{ ip: '10.244.0.9' }], ports: [{ port: 80 }] }],
  });
  const ep2 = await cs.endpoints.update({ ...ep, subsets: [] });
  t.deepEqual(ep2.subsets ?? [], []);
  await cs.endpoints.delete('web', { namespace: 'team-a' });
  await cs.services.delete('web', { namespace: 'team-a' });

  // Node (cluster-scoped), Event
  const node = await cs.nodes.create({ metadata: { name: 'node-1' }, spec: { podCIDR: '10.244.1.0/24' } });
  t.is(node.metadata?.namespace ?? '', '');
  const node2 = await cs.nodes.updateStatus({ ...node, status: { conditions: [{ type: 'Ready', status: 'True' }] } });
  t.is(node2.status?.conditions?.[0]?.status, 'True');
  t.deepEqual(
    (await cs.nodes.list()).items?.map((n) => n.metadata?.name),
    ['node-1'],
  );
  await cs.nodes.delete('node-1');
  const ev = await cs.events.create({
    metadata: { name: 'web.1', namespace: 'team-a' },
    involvedObject: { kind: 'Pod', name: 'web', namespace: 'team-a' },
    reason: 'Scheduled',
    message: 'assigned',
    type: 'Normal',
  });
  t.is(ev.reason, 'Scheduled');
  t.deepEqual(
    (await cs.events.list({ namespace: 'team-a' })).items?.map((e) => e.metadata?.name),
    ['web.1'],
  );
  await cs.events.delete('web.1', { namespace: 'team-a' });

  // Generic access by what a user types
  t.is(cs.resource('ns').info.kind, 'Namespace');
  t.throws(() => cs.resource('deployments'), { message: /doesn't have a resource type "deployments"/ });
  const v = await cs.version();
  t.truthy(v.version);
  await cs.namespaces.delete('team-a');
});

test('listAll follows continue tokens', async (t) => {
  const plane = await startControlPlane(t);
  const cs = new Clientset(plane.address, (await testTls()).admin);
  t.teardown(() => cs.close());
  for (let i = 0; i < 7; i++) await cs.pods.create({ metadata: { name: `p${i}` }, spec: podSpec() });
  const page = await cs.pods.list({ namespace: 'default', limit: 3 });
  t.is(page.items?.length, 3);
  t.truthy(page.metadata?.continue);
  const all = await cs.pods.listAll({ namespace: 'default', limit: 3 });
  t.deepEqual(
    all.items?.map((p) => p.metadata?.name),
    ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6'],
  );
});

test('a watch delivers every change in order, and cancel() ends it quietly', async (t) => {
  const plane = await startControlPlane(t);
  const cs = new Clientset(plane.address, (await testTls()).admin);
  t.teardown(() => cs.close());
  const list = await cs.pods.list({ namespace: 'default' });
  const watch = cs.pods.watch({ namespace: 'default', resourceVersion: list.metadata?.resourceVersion });
  const seen: WatchEvent<core.Pod>[] = [];
  const done = (async () => {
    for await (const ev of watch) {
      if (ev.type === 'BOOKMARK') continue;
      seen.push(ev);
      if (seen.length === 12) watch.cancel();
    }
  })();
  let p = await cs.pods.create({ metadata: { name: 'x' }, spec: podSpec() });
  for (let i = 0; i < 10; i++) p = await cs.pods.update({ ...p, metadata: { ...p.metadata, labels: { i: String(i) } } });
  await cs.pods.delete('x', { gracePeriodSeconds: 0 });
  await done;
  t.deepEqual(
    seen.map((e) => e.type),
    ['ADDED', ...Array<string>(10).fill('MODIFIED'), 'DELETED'],
  );
  t.deepEqual(
    seen.slice(1, 11).map((e) => e.object.metadata?.labels?.['i']),
    ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  );
  const rvs = seen.map((e) => Number(e.object.metadata?.resourceVersion));
  t.deepEqual(
    rvs,
    [...rvs].sort((a, b) => a - b),
  );
});

test('an unreachable server is an UnavailableError naming the address', async (t) => {
  const port = await freePort();
  const cs = new Clientset(`127.0.0.1:${port}`, { ...(await testTls()).admin, deadlineMs: 3000 });
  t.teardown(() => cs.close());
  await t.throwsAsync(cs.pods.list(), { instanceOf: UnavailableError, message: new RegExp(`cannot reach the API server at 127\\.0\\.0\\.1:${port}`) });
});
