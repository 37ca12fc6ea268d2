import test from 'ava';
import { ConflictError } from '../../api/errors';
import type { Endpoints, Node, Service } from '../../api/gen/tsk/v1/core';
import { FakeClock, NAMESPACE_INDEX, Store, namespaceIndexFunc, type EventRecorder } from '../../client';
import { ServiceLbController } from './controller';

function setup() {
  const services = new Store<Service>({ [NAMESPACE_INDEX]: namespaceIndexFunc });
  const nodes = new Store<Node>();
  const endpoints = new Store<Endpoints>({ [NAMESPACE_INDEX]: namespaceIndexFunc });
  const writes: string[] = [];
  const events: string[] = [];
  const failures: Error[] = [];
  const client = {
    updateStatus: (s: Service) => {
      const err = failures.shift();
      if (err) return Promise.reject(err);
      writes.push(`${s.metadata?.name}: ${(s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).join(',')}`);
      services.upsert(s);
      return Promise.resolve(s);
    },
  };
  const recorder: EventRecorder = { event: (ref, type, reason, message) => events.push(`${ref.name} ${type} ${reason}: ${message}`) };
  const c = new ServiceLbController({ services, nodes, endpoints, client, recorder, clock: new FakeClock(), log: () => undefined });
  return { services, nodes, endpoints, writes, events, failures, c };
}

const node = (name: string, ip: string, ready = 'True'): Node => ({
  metadata: { name },
  status: { conditions: [{ type: 'Ready', status: ready }], addresses: [{ type: 'InternalIP', address: ip }] },
});

const svc = (name: string, spec: NonNullable<Service['spec']> = { type: 'LoadBalancer' }): Service => ({
  metadata: { name, namespace: 'default', uid: `uid-${name}` },
  spec: { ports: [{ port: 80 }], ...spec },
});

test('publishes the ready nodes, follows readiness, and writes nothing when nothing changed', async (t) => {
  const { services, nodes, writes, events, c } = setup();
  nodes.upsert(node('n1', '172.30.0.2'));
  nodes.upsert(node('n2', '172.30.0.3'));
  services.upsert(svc('web'));
  await c.sync('default/web');
  await c.sync('default/web');
  t.deepEqual(writes, ['web: 172.30.0.2,172.30.0.3']);
  t.deepEqual(services.get('default/web')?.status?.loadBalancer?.ingress, [
    { ip: '172.30.0.2', ipMode: 'VIP' },
    { ip: '172.30.0.3', ipMode: 'VIP' },
  ]);
  nodes.upsert(node('n2', '172.30.0.3', 'Unknown'));
  await c.sync('default/web');
  nodes.delete('n1');
  await c.sync('default/web');
  t.deepEqual(writes.slice(1), ['web: 172.30.0.2', 'web: ']);
  t.deepEqual(events, [
    'web Normal UpdatedLoadBalancer: Updated LoadBalancer with new IPs: [] -> [172.30.0.2 172.30.0.3]',
    'web Normal UpdatedLoadBalancer: Updated LoadBalancer with new IPs: [172.30.0.2 172.30.0.3] -> [172.30.0.2]',
    'web Warning UnAvailableLoadBalancer: There are no available nodes for LoadBalancer',
  ]);
});

test('leaves alone other types, other loadBalancerClasses and missing services', async (t) => {
  const { services, nodes, writes, c } = setup();
  nodes.upsert(node('n1', '172.30.0.2'));
  services.upsert(svc('np', { type: 'NodePort' }));
  services.upsert(svc('metal', { type: 'LoadBalancer', loadBalancerClass: 'example.com/metallb' }));
  for (const k of ['default/np', 'default/metal', 'default/gone']) await c.sync(k);
  t.deepEqual(writes, []);
  c.nodeChanged(undefined, node('n1', '172.30.0.2'));
  t.is(c.queue.len(), 0, 'no owned service to enqueue');
});

test('node changes enqueue every owned service unless only a heartbeat changed; Local services follow their Endpoints', (t) => {
  const { services, c } = setup();
  services.upsert(svc('a'));
  services.upsert(svc('b', { type: 'LoadBalancer', externalTrafficPolicy: 'Local' }));
  services.upsert(svc('c', { type: 'ClusterIP' }));
  const n = node('n1', '172.30.0.2');
  const beat: Node = { ...n, status: { ...n.status, conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: '2024-01-01T00:00:10Z' }] } };
  c.nodeChanged(n, beat);
  t.is(c.queue.len(), 0);
  c.nodeChanged(n, node('n1', '172.30.0.2', 'False'));
  t.is(c.queue.len(), 2);
  const fresh = setup();
  fresh.services.upsert(svc('a'));
  fresh.services.upsert(svc('b', { type: 'LoadBalancer', externalTrafficPolicy: 'Local' }));
  fresh.c.endpointsChanged({ metadata: { name: 'a', namespace: 'default' } });
  t.is(fresh.c.queue.len(), 0, 'Cluster policy: endpoints do not matter');
  fresh.c.endpointsChanged({ metadata: { name: 'b', namespace: 'default' } });
  t.is(fresh.c.queue.len(), 1);
});

test('a conflicting write fails the sync (retried with back-off) and succeeds on the next pass', async (t) => {
  const { services, nodes, writes, failures, c } = setup();
  nodes.upsert(node('n1', '172.30.0.2'));
  services.upsert(svc('web'));
  failures.push(new ConflictError('the object has been modified'));
  await t.throwsAsync(c.sync('default/web'), { instanceOf: ConflictError });
  await c.sync('default/web');
  t.deepEqual(writes, ['web: 172.30.0.2']);
});
