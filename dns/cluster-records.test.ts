// The index follows the informers: a Service or Endpoints change is in the
// very next answer (no TTL cache of cluster names), and an unchanged cache
// is not rebuilt per query.

import test from 'ava';
import type { Endpoints, Service } from '../api/gen/tsk/v1/core';
import { FakeApi } from '../client/fake';
import { flushPromises, Informer } from '../client';
import { ClusterRecords } from './cluster-records';

const ZONE = { domain: 'cluster.local', dnsIP: '10.96.0.10' };

const headless: Service = { metadata: { namespace: 'demo', name: 'web', resourceVersion: '1' }, spec: { clusterIP: 'None' } };
const eps = (ips: string[]): Endpoints => ({ metadata: { namespace: 'demo', name: 'web' }, subsets: [{ addresses: ips.map((ip) => ({ ip })) }] });

function answers(records: ClusterRecords, name: string): string[] {
  const l = records.current().lookup(name, 'A');
  return l.kind === 'authoritative' ? l.answers.map((a) => ('data' in a ? String(a.data) : '')).sort() : [];
}

test('answers change with the next query after an informer event; deletion gives NXDOMAIN', async (t) => {
  const services = new FakeApi<Service>();
  const endpoints = new FakeApi<Endpoints>();
  services.upsert(headless);
  endpoints.upsert(eps(['10.244.1.2']));
  const svcInformer = new Informer<Service>({ listerWatcher: services, name: 'services' });
  const epInformer = new Informer<Endpoints>({ listerWatcher: endpoints, name: 'endpoints' });
  svcInformer.start();
  epInformer.start();
  t.teardown(async () => {
    await svcInformer.stop();
    await epInformer.stop();
  });
  await Promise.all([svcInformer.waitForSync(), epInformer.waitForSync()]);
  const records = new ClusterRecords(ZONE, svcInformer, epInformer, () => 7);
  t.deepEqual(answers(records, 'web.demo.svc.cluster.local'), ['10.244.1.2']);
  const first = records.current();
  t.is(records.current(), first, 'no rebuild without a change');

  endpoints.upsert(eps(['10.244.1.2', '10.244.2.3']));
  await flushPromises();
  t.deepEqual(answers(records, 'web.demo.svc.cluster.local'), ['10.244.1.2', '10.244.2.3']);

  services.remove('demo/web');
  await flushPromises();
  const gone = records.current().lookup('web.demo.svc.cluster.local', 'A');
  t.is(gone.kind === 'authoritative' ? gone.rcode : 'forward', 'NXDOMAIN');
});
