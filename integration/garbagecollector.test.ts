// Garbage collection by owner and delete propagation (Background, Orphan,
// Foreground) against a real etcd and API server, with the controller
// manager (replication controller + garbage collector) in-process.

import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiError, InvalidError, NotFoundError } from '../api/errors';
import type { ReplicationController } from '../api/gen/tsk/v1/core';
import { Clientset } from '../client';
import { eventually, startControlPlane } from './support/client-harness';
import { runTsctl } from './support/run';
import { podsOfApp, rcFixture, startTestManager } from './support/manager';
import { testTls, writeTestKubeconfig } from './support/pki';

const rc = rcFixture;
const podsOf = podsOfApp;

async function gone(p: Promise<unknown>): Promise<boolean> {
  try {
    await p;
    return false;
  } catch (err) {
    if (err instanceof NotFoundError) return true;
    throw err;
  }
}

async function setup(t: Parameters<typeof startControlPlane>[0], controllers = ['replicationcontroller', 'garbagecollector']) {
  const plane = await startControlPlane(t);
  const cs = new Clientset(plane.address, (await testTls()).admin);
  t.teardown(() => cs.close());
  const m = await startTestManager(t, plane.address, controllers);
  return { plane, cs, m };
}

async function rcWithPods(cs: Clientset, name: string, n: number): Promise<ReplicationController> {
  const created = await cs.replicationControllers.create(rc(name, n));
  await eventually(async () => (await podsOf(cs, name)).length === n, 20_000, `${n} pods of ${name}`);
  return created;
}

test('background (the default): the RC goes at once, the collector deletes its pods', async (t) => {
  const { cs } = await setup(t);
  await rcWithPods(cs, 'web', 3);
  await cs.replicationControllers.delete('web', { namespace: 'default' });
  t.true(await gone(cs.replicationControllers.get('web', 'default')));
  await eventually(async () => (await podsOf(cs, 'web')).length === 0, 20_000, 'the pods to be collected');
  t.pass();
});

/** Runs the built tsctl against the test's API server. */
async function tsctl(address: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'tsk-gc-tsctl-'));
  const kubeconfig = await writeTestKubeconfig(join(dir, 'config'), address);
  try {
    return await runTsctl([...args, '--server', address, '--kubeconfig', kubeconfig], { env: { TSCTL_SERVER: '' }, timeoutMs: 30_000 });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('orphan (tsctl delete --cascade=orphan): the RC goes, its pods stay without owner references', async (t) => {
  const { plane, cs } = await setup(t);
  await rcWithPods(cs, 'web', 3);
  const bad = await tsctl(plane.address, ['delete', 'rc', 'web', '--cascade=sometimes']);
  t.not(bad.code, 0);
  t.regex(bad.stderr, /invalid cascade value \(sometimes\)\. Must be "background", "foreground", or "orphan"/);
  t.falsy((await cs.replicationControllers.get('web', 'default')).metadata?.deletionTimestamp);
  const res = await tsctl(plane.address, ['delete', 'rc', 'web', '--cascade=orphan']);
  t.is(res.stdout, 'replicationcontroller "web" deleted\n', res.stderr);
  await eventually(() => gone(cs.replicationControllers.get('web', 'default')), 20_000, 'the RC to go');
  const pods = await podsOf(cs, 'web');
  t.is(pods.length, 3);
  for (const p of pods) t.deepEqual(p.metadata?.ownerReferences ?? [], []);
});

test('foreground: the pods are deleted before the RC', async (t) => {
  const { cs } = await setup(t);
  await rcWithPods(cs, 'web', 3);
  // Watch both kinds from now: etcd revisions order the deletions.
  const from = (await cs.pods.list({ namespace: 'default' })).metadata?.resourceVersion ?? '';
  const podWatch = cs.pods.watch({ namespace: 'default', resourceVersion: from });
  const rcWatch = cs.replicationControllers.watch({ namespace: 'default', resourceVersion: from });
  t.teardown(() => {
    podWatch.cancel();
    rcWatch.cancel();
  });
  const marked = await cs.replicationControllers.delete('web', { namespace: 'default', propagationPolicy: 'Foreground' });
  t.truthy(marked.metadata?.deletionTimestamp);
  t.deepEqual(marked.metadata?.finalizers, ['foregroundDeletion']);
  const podDeletes: number[] = [];
  for await (const ev of podWatch) {
    if (ev.type === 'DELETED') podDeletes.push(Number(ev.object.metadata?.resourceVersion));
    if (podDeletes.length === 3) break;
  }
  let rcDeleted = 0;
  for await (const ev of rcWatch) {
    if (ev.type === 'DELETED') {
      rcDeleted = Number(ev.object.metadata?.resourceVersion);
      break;
    }
  }
  t.true(rcDeleted > Math.max(...podDeletes), `RC deleted at ${rcDeleted}, pods at ${podDeletes.join(',')}`);
  t.is((await podsOf(cs, 'web')).length, 0);
});

test('dependents whose owner was deleted while no collector ran are collected at start', async (t) => {
  const plane = await startControlPlane(t);
  const cs = new Clientset(plane.address, (await testTls()).admin);
  t.teardown(() => cs.close());
  const rcOnly = await startTestManager(t, plane.address, ['replicationcontroller']);
  await rcWithPods(cs, 'web', 2);
  await rcOnly.stop();
  await cs.replicationControllers.delete('web', { namespace: 'default' });
  t.is((await podsOf(cs, 'web')).length, 2, 'nothing collects them yet');
  await startTestManager(t, plane.address, ['garbagecollector']);
  await eventually(async () => (await podsOf(cs, 'web')).length === 0, 20_000, 'the pods to be collected');
  t.pass();
});

test('an owner re-created under the same name (another uid) does not keep the old dependents', async (t) => {
  const { cs } = await setup(t, ['garbagecollector']);
  const current = await cs.replicationControllers.create(rc('web', 0));
  const stale = { apiVersion: 'v1', kind: 'ReplicationController', name: 'web', uid: 'uid-of-a-deleted-web', controller: false, blockOwnerDeletion: true };
  const live = { ...stale, uid: current.metadata?.uid ?? '' };
  await cs.pods.create({
    metadata: { name: 'stale', namespace: 'default', ownerReferences: [stale] },
    spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] },
  });
  await cs.pods.create({
    metadata: { name: 'kept', namespace: 'default', ownerReferences: [live] },
    spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] },
  });
  await eventually(() => gone(cs.pods.get('stale', 'default')), 20_000, 'the stale dependent to go');
  t.is((await cs.pods.get('kept', 'default')).metadata?.name, 'kept');
});

test('an unknown propagationPolicy is refused with an InvalidError naming the field, and changes nothing', async (t) => {
  const plane = await startControlPlane(t);
  const cs = new Clientset(plane.address, (await testTls()).admin);
  t.teardown(() => cs.close());
  await cs.replicationControllers.create(rc('web', 0));
  await cs.namespaces.create({ metadata: { name: 'team' } });
  for (const del of [
    () => cs.replicationControllers.delete('web', { namespace: 'default', propagationPolicy: 'orphan' }),
    () => cs.namespaces.delete('team', { propagationPolicy: 'Later' }),
  ]) {
    const err = await t.throwsAsync(del());
    t.true(err instanceof InvalidError, String(err));
    t.is((err as ApiError).causes[0]?.field, 'propagationPolicy');
  }
  t.falsy((await cs.replicationControllers.get('web', 'default')).metadata?.deletionTimestamp);
  t.falsy((await cs.namespaces.get('team')).metadata?.deletionTimestamp);
});

test('the API server alone: Orphan and Foreground hold the object with a finalizer until it is removed; Background drops them', async (t) => {
  const plane = await startControlPlane(t);
  const cs = new Clientset(plane.address, (await testTls()).admin);
  t.teardown(() => cs.close());
  await cs.replicationControllers.create(rc('a', 0));
  const a = await cs.replicationControllers.delete('a', { namespace: 'default', propagationPolicy: 'Orphan' });
  t.deepEqual(a.metadata?.finalizers, ['orphan']);
  // A second delete without a policy keeps the orphaning in progress.
  t.deepEqual((await cs.replicationControllers.delete('a', { namespace: 'default' })).metadata?.finalizers, ['orphan']);
  // With Foreground the finalizer is swapped.
  t.deepEqual((await cs.replicationControllers.delete('a', { namespace: 'default', propagationPolicy: 'Foreground' })).metadata?.finalizers, [
    'foregroundDeletion',
  ]);
  // An explicit Background drops the collector's finalizers: the object goes now.
  await cs.replicationControllers.delete('a', { namespace: 'default', propagationPolicy: 'Background' });
  t.true(await gone(cs.replicationControllers.get('a', 'default')));

  await cs.replicationControllers.create(rc('b', 0));
  await cs.replicationControllers.delete('b', { namespace: 'default', propagationPolicy: 'Orphan' });
  const held = await cs.replicationControllers.get('b', 'default');
  t.truthy(held.metadata?.deletionTimestamp);
  // Removing the finalizer (what the collector does) finishes the deletion.
  await cs.replicationControllers.update({ ...held, metadata: { ...held.metadata, finalizers: [] } });
  t.true(await gone(cs.replicationControllers.get('b', 'default')));
});
