// The replication controller against a real etcd and API server, run by the
// controller manager in-process. No scheduler or kubelet: pods stay unbound
// (deleted at once), and readiness is written with updateStatus as a kubelet would.

import test from 'ava';
import { ConflictError } from '../api/errors';
import { Clientset } from '../client';
import { eventually, startControlPlane } from './support/client-harness';
import { podsOfApp, rcFixture, startTestManager } from './support/manager';
import { testTls } from './support/pki';
import { rfc3339 } from '../util/time';

const rc = rcFixture;
const podsOf = podsOfApp;

async function setup(t: Parameters<typeof startControlPlane>[0]) {
  const plane = await startControlPlane(t);
  const cs = new Clientset(plane.address, (await testTls()).admin);
  t.teardown(() => cs.close());
  return { plane, cs };
}

async function waitReplicas(cs: Clientset, name: string, n: number): Promise<void> {
  await eventually(
    async () => {
      const pods = await podsOf(cs, name);
      const cur = await cs.replicationControllers.get(name, 'default');
      return pods.length === n && cur.status?.replicas === n && cur.status.observedGeneration === cur.metadata?.generation;
    },
    20_000,
    `${n} pods and status.replicas ${n} for ${name}`,
  );
}

test('an RC of 3 gets 3 pods owned by it and status.replicas 3; scaling to 5 and to 1 follows', async (t) => {
  const { plane, cs } = await setup(t);
  const m = await startTestManager(t, plane.address, ['replicationcontroller']);
  const created = await cs.replicationControllers.create(rc('web', 3));
  await waitReplicas(cs, 'web', 3);
  for (const p of await podsOf(cs, 'web')) {
    t.regex(p.metadata?.name ?? '', /^web-[a-z0-9]{5}$/);
    t.deepEqual(p.metadata?.ownerReferences, [
      { apiVersion: 'v1', kind: 'ReplicationController', name: 'web', uid: created.metadata?.uid ?? '', controller: true, blockOwnerDeletion: true },
    ]);
  }
  await eventually(
    async () =>
      ((await cs.events.list({ namespace: 'default' })).items ?? []).some((e) => e.reason === 'SuccessfulCreate' && /^Created pod: web-/.test(e.message ?? '')),
    10_000,
    'a SuccessfulCreate event',
  );

  const scale = async (n: number): Promise<void> => {
    for (;;) {
      const cur = await cs.replicationControllers.get('web', 'default');
      try {
        await cs.replicationControllers.update({ ...cur, spec: { ...cur.spec, replicas: n } });
        return;
      } catch (err) {
        // The controller wrote status meanwhile: read again.
        if (!(err instanceof ConflictError)) throw err;
      }
    }
  };
  await scale(5);
  await waitReplicas(cs, 'web', 5);
  await scale(1);
  await waitReplicas(cs, 'web', 1);
  await eventually(
    async () =>
      ((await cs.events.list({ namespace: 'default' })).items ?? []).some((e) => e.reason === 'SuccessfulDelete' && /^Deleted pod: web-/.test(e.message ?? '')),
    10_000,
    'a SuccessfulDelete event',
  );
  const ev = ((await cs.events.list({ namespace: 'default' })).items ?? []).filter((e) => e.involvedObject?.name === 'web');
  t.true(ev.length > 0 && ev.every((e) => e.source?.component === 'replication-controller' && e.involvedObject?.kind === 'ReplicationController'));
  t.deepEqual(
    m.log.filter((l) => /failed/.test(l)),
    [],
  );
});

test('a deleted pod is replaced', async (t) => {
  const { plane, cs } = await setup(t);
  await startTestManager(t, plane.address, ['replicationcontroller']);
  await cs.replicationControllers.create(rc('web', 2));
  await waitReplicas(cs, 'web', 2);
  const [victim] = await podsOf(cs, 'web');
  await cs.pods.delete(victim!.metadata!.name!, { namespace: 'default' });
  await eventually(
    async () => {
      const pods = await podsOf(cs, 'web');
      return pods.length === 2 && pods.every((p) => p.metadata?.name !== victim!.metadata?.name);
    },
    20_000,
    'a replacement pod',
  );
  t.pass();
});

test('readyReplicas and availableReplicas follow the pods Ready condition', async (t) => {
  const { plane, cs } = await setup(t);
  await startTestManager(t, plane.address, ['replicationcontroller']);
  await cs.replicationControllers.create(rc('web', 3));
  await waitReplicas(cs, 'web', 3);
  const pods = await podsOf(cs, 'web');
  for (const p of pods.slice(0, 2)) {
    await cs.pods.updateStatus({
      ...p,
      status: {
        ...p.status,
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: rfc3339(Date.now()) }],
      },
    });
  }
  await eventually(
    async () => {
      const s = (await cs.replicationControllers.get('web', 'default')).status;
      return s?.readyReplicas === 2 && s.availableReplicas === 2 && s.fullyLabeledReplicas === 3;
    },
    20_000,
    'readyReplicas 2',
  );
  t.pass();
});

test('a controller manager stopped mid-way and started again creates no extra pods', async (t) => {
  const { plane, cs } = await setup(t);
  const first = await startTestManager(t, plane.address, ['replicationcontroller']);
  await cs.replicationControllers.create(rc('web', 20));
  await eventually(async () => (await podsOf(cs, 'web')).length > 0, 20_000, 'the first pods');
  await first.stop();
  const second = await startTestManager(t, plane.address, ['replicationcontroller']);
  await waitReplicas(cs, 'web', 20);
  // Make the new manager sync the RC once more (a pod turns ready), then count again.
  const [p] = await podsOf(cs, 'web');
  await cs.pods.updateStatus({ ...p!, status: { ...p!.status, conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' }] } });
  await eventually(async () => (await cs.replicationControllers.get('web', 'default')).status?.readyReplicas === 1, 20_000, 'readyReplicas 1');
  t.is((await podsOf(cs, 'web')).length, 20);
  t.deepEqual(
    second.log.filter((l) => /failed/.test(l)),
    [],
  );
});

test('an orphan pod matching the selector is adopted; a relabelled pod is released and replaced', async (t) => {
  const { plane, cs } = await setup(t);
  // The stray pod and the RC exist before the manager lists them: it sees both at once.
  await cs.pods.create({
    metadata: { name: 'stray', namespace: 'default', labels: { app: 'web' } },
    spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] },
  });
  const created = await cs.replicationControllers.create(rc('web', 2));
  await startTestManager(t, plane.address, ['replicationcontroller']);
  await waitReplicas(cs, 'web', 2);
  const stray = await cs.pods.get('stray', 'default');
  t.is(stray.metadata?.ownerReferences?.[0]?.uid, created.metadata?.uid, 'adopted');
  // Relabel it: no longer selected, so released, and the RC makes another.
  for (;;) {
    const cur = await cs.pods.get('stray', 'default');
    try {
      await cs.pods.update({ ...cur, metadata: { ...cur.metadata, labels: { app: 'debug' } } });
      break;
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
    }
  }
  await eventually(async () => ((await cs.pods.get('stray', 'default')).metadata?.ownerReferences ?? []).length === 0, 20_000, 'the release');
  await waitReplicas(cs, 'web', 2);
  t.is((await podsOf(cs, 'web')).filter((p) => p.metadata?.name === 'stray').length, 0);
});
