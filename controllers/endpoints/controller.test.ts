import test from 'ava';
import { NotFoundError } from '../../api/errors';
import type { Endpoints, Pod, Service } from '../../api/gen/tsk/v1/core';
import { FakeClock, NAMESPACE_INDEX, Store, namespaceIndexFunc, objectKey } from '../../client';
import { EndpointsController, LAST_CHANGE_TRIGGER_TIME_ANNOTATION, POD_LABEL_INDEX, podLabelIndexFunc, type EndpointsClient } from './controller';

/** A fake Endpoints client that applies writes to the store the controller reads (as the informer would). */
class FakeEndpointsClient implements EndpointsClient {
  readonly calls: string[] = [];
  constructor(private readonly store: Store<Endpoints>) {}
  create(ep: Endpoints): Promise<Endpoints> {
    this.calls.push(`create ${objectKey(ep)}`);
    this.store.upsert(ep);
    return Promise.resolve(ep);
  }
  update(ep: Endpoints): Promise<Endpoints> {
    this.calls.push(`update ${objectKey(ep)}`);
    this.store.upsert(ep);
    return Promise.resolve(ep);
  }
  delete(name: string, options: { namespace?: string } = {}): Promise<Endpoints> {
    const key = `${options.namespace ?? 'default'}/${name}`;
    this.calls.push(`delete ${key}`);
    const old = this.store.delete(key);
    return old ? Promise.resolve(old) : Promise.reject(new NotFoundError('Endpoints', name));
  }
}

function setup(options: { updatesBatchPeriodMs?: number; podsByLabel?: boolean } = {}) {
  const services = new Store<Service>({ [NAMESPACE_INDEX]: namespaceIndexFunc });
  const pods = new Store<Pod>({ [NAMESPACE_INDEX]: namespaceIndexFunc, [POD_LABEL_INDEX]: podLabelIndexFunc });
  const endpoints = new Store<Endpoints>({ [NAMESPACE_INDEX]: namespaceIndexFunc });
  const client = new FakeEndpointsClient(endpoints);
  const clock = new FakeClock(Date.parse('2024-05-01T10:00:00Z'));
  const c = new EndpointsController({ services, pods, endpoints, client, clock, log: () => undefined, ...options });
  return { services, pods, endpoints, client, clock, c };
}

const svc = (selector: Record<string, string> = { app: 'web' }): Service => ({
  metadata: { name: 'web', namespace: 'default' },
  spec: { selector, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: { type: 0, intVal: 8080 } }] },
});

const pod = (name: string, ip: string, ready = true): Pod => ({
  metadata: { name, namespace: 'default', uid: name, labels: { app: 'web' } },
  spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x' }] },
  status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});

test('creates the Endpoints of a service, then writes nothing while nothing changes', async (t) => {
  const { services, pods, endpoints, client, c } = setup();
  services.upsert(svc());
  pods.upsert(pod('a', '10.0.0.1'));
  await c.sync('default/web');
  t.deepEqual(client.calls, ['create default/web']);
  const ep = endpoints.get('default/web');
  t.deepEqual(
    ep?.subsets?.[0]?.addresses?.map((a) => a.ip),
    ['10.0.0.1'],
  );
  await c.sync('default/web');
  t.deepEqual(client.calls, ['create default/web']);
});

test('a pod turning not ready moves to notReadyAddresses with one update', async (t) => {
  const { services, pods, endpoints, client, c } = setup();
  services.upsert(svc());
  pods.upsert(pod('a', '10.0.0.1'));
  await c.sync('default/web');
  pods.upsert(pod('a', '10.0.0.1', false));
  await c.sync('default/web');
  t.deepEqual(client.calls, ['create default/web', 'update default/web']);
  const s = endpoints.get('default/web')?.subsets?.[0];
  t.deepEqual(s?.addresses, []);
  t.deepEqual(
    s?.notReadyAddresses?.map((a) => a.ip),
    ['10.0.0.1'],
  );
});

test('the Endpoints of a deleted service are deleted; a service without a selector is left alone', async (t) => {
  const { services, endpoints, client, c } = setup();
  endpoints.upsert({ metadata: { name: 'web', namespace: 'default' }, subsets: [] });
  await c.sync('default/web');
  t.deepEqual(client.calls, ['delete default/web']);
  services.upsert(svc({}));
  endpoints.upsert({ metadata: { name: 'web', namespace: 'default' }, subsets: [{ addresses: [{ ip: '192.0.2.1' }] }] });
  await c.sync('default/web');
  t.deepEqual(client.calls, ['delete default/web']);
  // Already gone: deleting again is not an error.
  await c.sync('default/gone');
  t.pass();
});

test('handlers enqueue the services selecting a pod, before and after a label change', (t) => {
  const { services, c } = setup();
  services.upsert(svc());
  services.upsert({ ...svc({ app: 'db' }), metadata: { name: 'db', namespace: 'default' } });
  services.upsert({ ...svc(), metadata: { name: 'web', namespace: 'other' } });
  const before = pod('a', '10.0.0.1');
  const after = { ...before, metadata: { ...before.metadata, labels: { app: 'db' } } };
  c.podChanged(before, after);
  t.is(c.queue.len(), 2);
});

test('the trigger-time annotation holds when the change was first observed', async (t) => {
  const { services, pods, endpoints, clock, c } = setup();
  services.upsert(svc());
  c.serviceChanged(svc());
  await clock.advance(3000);
  pods.upsert(pod('a', '10.0.0.1'));
  c.podChanged(undefined, pod('a', '10.0.0.1'));
  await c.sync('default/web');
  t.is(endpoints.get('default/web')?.metadata?.annotations?.[LAST_CHANGE_TRIGGER_TIME_ANNOTATION], '2024-05-01T10:00:00Z');
});

test('a pod update that changes nothing Endpoints show enqueues nothing; a resync does', (t) => {
  const { services, c } = setup();
  services.upsert(svc());
  const before = pod('a', '10.0.0.1');
  const heartbeat = { ...before, status: { ...before.status, startTime: '2024-05-01T10:00:00Z' } };
  c.podChanged(before, heartbeat);
  t.is(c.queue.len(), 0);
  c.podChanged(heartbeat, heartbeat);
  t.is(c.queue.len(), 1);
  c.podChanged(heartbeat, pod('a', '10.0.0.1', false));
  t.is(c.queue.len(), 1, 'already queued');
});

test('a selector removed later leaves the Endpoints to the user: never rewritten or deleted', async (t) => {
  const { services, pods, endpoints, client, c } = setup();
  services.upsert(svc());
  pods.upsert(pod('a', '10.0.0.1'));
  await c.sync('default/web');
  services.upsert(svc({}));
  const mine: Endpoints = { metadata: { name: 'web', namespace: 'default' }, subsets: [{ addresses: [{ ip: '192.0.2.7' }], ports: [{ port: 24007 }] }] };
  endpoints.upsert(mine);
  c.serviceChanged(svc({}));
  c.podChanged(undefined, pod('b', '10.0.0.2'));
  await c.sync('default/web');
  t.deepEqual(client.calls, ['create default/web']);
  t.is(endpoints.get('default/web'), mine);
});

test('with a batch period, pod changes wait for it and join in one sync; a service change does not wait', async (t) => {
  const { services, c, clock } = setup({ updatesBatchPeriodMs: 500 });
  services.upsert(svc());
  c.podChanged(undefined, pod('a', '10.0.0.1'));
  await clock.advance(300);
  c.podChanged(undefined, pod('b', '10.0.0.2'));
  t.is(c.queue.len(), 0, 'held back for the batch period');
  await clock.advance(200);
  t.is(c.queue.len(), 1, 'both changes in one queued key, 500 ms after the first');
  c.serviceChanged({ ...svc(), metadata: { name: 'other', namespace: 'default' } });
  t.is(c.queue.len(), 2);
});

test('with the label index, a sync lists the pods of one selector label and the whole selector decides', async (t) => {
  const { services, pods, endpoints, c } = setup({ podsByLabel: true });
  services.upsert(svc({ app: 'web', tier: 'front' }));
  const labelled = (name: string, ip: string, labels: Record<string, string>, namespace = 'default'): Pod => {
    const p = pod(name, ip);
    return { ...p, metadata: { ...p.metadata, namespace, labels } };
  };
  pods.upsert(labelled('a', '10.0.0.1', { app: 'web', tier: 'front' }));
  pods.upsert(labelled('b', '10.0.0.2', { app: 'web', tier: 'back' }));
  pods.upsert(labelled('c', '10.0.0.3', { tier: 'front' }));
  pods.upsert(labelled('d', '10.0.0.4', { app: 'web', tier: 'front' }, 'other'));
  await c.sync('default/web');
  t.deepEqual(
    endpoints.get('default/web')?.subsets?.[0]?.addresses?.map((a) => a.ip),
    ['10.0.0.1'],
  );
});
