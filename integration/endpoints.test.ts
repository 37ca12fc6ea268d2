// The endpoints controller against a real etcd and API server: a Service's
// Endpoints follow its pods' IPs and readiness (written through the status
// subresource, as a kubelet would), pods leave when deleted, and the
// Endpoints go with the Service. Services without a selector are left alone.

import test from 'ava';
import type { Clientset } from '../client';
import type { Endpoints, Pod } from '../api/gen/tsk/v1/core';
import { newEndpointsController } from '../controllers/endpoints/controller';
import { eventually, startControlPlane } from './support/client-harness';
import { runControllers } from './support/controllers';
import { rfc3339 } from '../util/time';

const podSpec = (name: string): Pod => ({
  metadata: { name, namespace: 'default', labels: { app: 'web' } },
  spec: { containers: [{ name: 'c', image: 'busybox:1.36', ports: [{ name: 'http', containerPort: 8080 }] }] },
});

/** What a kubelet reports: the pod's IP and its Ready condition. */
async function setStatus(cs: Clientset, name: string, ip: string, ready: boolean): Promise<void> {
  const pod = await cs.pods.get(name, 'default');
  const conditions = (pod.status?.conditions ?? []).filter((c) => c.type !== 'Ready');
  conditions.push({ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: rfc3339(Date.now()) });
  await cs.pods.updateStatus({ ...pod, status: { ...pod.status, phase: 'Running', podIP: ip, podIPs: [{ ip }], conditions } });
}

function ips(ep: Endpoints | undefined, field: 'addresses' | 'notReadyAddresses'): string[] {
  return (ep?.subsets ?? []).flatMap((s) => (s[field] ?? []).map((a) => a.ip ?? '')).sort();
}

async function endpointsOf(cs: Clientset, name: string): Promise<Endpoints | undefined> {
  try {
    return await cs.endpoints.get(name, 'default');
  } catch {
    return undefined;
  }
}

test('a Service gets the Endpoints of its pods, following readiness and deletion', async (t) => {
  const plane = await startControlPlane(t);
  const { clientset: cs } = await runControllers(t, plane.address, (ctx) => [newEndpointsController(ctx)]);

  await cs.services.create({
    metadata: { name: 'web', namespace: 'default' },
    spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: { type: 1, strVal: 'http' } }] },
  });
  for (const [i, name] of ['a', 'b', 'c'].entries()) {
    await cs.pods.create(podSpec(name));
    await setStatus(cs, name, `10.244.0.${i + 1}`, true);
  }
  // A pod of another app stays out.
  await cs.pods.create({ ...podSpec('other'), metadata: { name: 'other', namespace: 'default', labels: { app: 'db' } } });
  await setStatus(cs, 'other', '10.244.0.9', true);

  await eventually(async () => ips(await endpointsOf(cs, 'web'), 'addresses').length === 3, 15_000, 'three ready addresses');
  const ep = await endpointsOf(cs, 'web');
  t.deepEqual(ips(ep, 'addresses'), ['10.244.0.1', '10.244.0.2', '10.244.0.3']);
  t.deepEqual(
    ep?.subsets?.[0]?.ports?.map((p) => `${p.name}:${p.port}/${p.protocol}`),
    ['http:8080/TCP'],
  );
  const a = ep?.subsets?.[0]?.addresses?.find((x) => x.ip === '10.244.0.1');
  t.like(a?.targetRef, { kind: 'Pod', name: 'a', namespace: 'default' });
  t.truthy(a?.targetRef?.uid);

  await setStatus(cs, 'b', '10.244.0.2', false);
  await eventually(async () => ips(await endpointsOf(cs, 'web'), 'notReadyAddresses').join() === '10.244.0.2', 15_000, 'b not ready');
  t.deepEqual(ips(await endpointsOf(cs, 'web'), 'addresses'), ['10.244.0.1', '10.244.0.3']);

  await cs.pods.delete('c', { namespace: 'default' });
  await eventually(async () => ips(await endpointsOf(cs, 'web'), 'addresses').join() === '10.244.0.1', 15_000, 'c gone');

  // Nothing changes: the controller does not rewrite the object.
  const rv = (await endpointsOf(cs, 'web'))?.metadata?.resourceVersion;
  await setStatus(cs, 'a', '10.244.0.1', true);
  await new Promise((r) => setTimeout(r, 300));
  t.is((await endpointsOf(cs, 'web'))?.metadata?.resourceVersion, rv);

  await cs.services.delete('web', { namespace: 'default' });
  await eventually(async () => (await endpointsOf(cs, 'web')) === undefined, 15_000, 'the Endpoints deleted with the Service');
});

test('a Service without a selector keeps the Endpoints its user wrote', async (t) => {
  const plane = await startControlPlane(t);
  const { clientset: cs } = await runControllers(t, plane.address, (ctx) => [newEndpointsController(ctx)]);
  await cs.services.create({ metadata: { name: 'ext', namespace: 'default' }, spec: { ports: [{ port: 5432 }] } });
  await cs.endpoints.create({
    metadata: { name: 'ext', namespace: 'default' },
    subsets: [{ addresses: [{ ip: '192.0.2.10' }], ports: [{ port: 5432 }] }],
  });
  // A selector service beside it proves the controller is working meanwhile.
  await cs.services.create({ metadata: { name: 'sel', namespace: 'default' }, spec: { selector: { app: 'none' }, ports: [{ port: 80 }] } });
  await eventually(async () => (await endpointsOf(cs, 'sel')) !== undefined, 15_000, 'the selector service has Endpoints');
  t.deepEqual(ips(await endpointsOf(cs, 'ext'), 'addresses'), ['192.0.2.10']);
});
