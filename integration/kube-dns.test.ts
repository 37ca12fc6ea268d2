// The kube-dns Service the API server keeps for the cluster DNS address
// (a real etcd and API server): made at start with the address and domain,
// the address refused to any other Service, made again after a deletion at
// the next start, and --cluster-dns / --cluster-domain honoured.

import test from 'ava';
import type { Service } from '../api/gen/tsk/v1/core';
import { startTestEtcd } from './support/etcd';
import { rejects, startTestApiServer } from './support/apiserver';

const svc = (name: string, clusterIP: string): Service => ({
  metadata: { name, namespace: 'default' },
  spec: { clusterIP, ports: [{ port: 53, protocol: 'UDP' }] },
});

test('kube-dns holds the 10th service address; asking for it is "already allocated"; it comes back after a delete and restart', async (t) => {
  const etcd = await startTestEtcd(t);
  const api = await startTestApiServer(t, etcd);
  const kubeDns = (await api.kind('Service').get('kube-system', 'kube-dns')) as Service;
  t.is(kubeDns.spec?.clusterIP, '10.96.0.10');
  t.is(kubeDns.metadata?.annotations?.['tsk.io/cluster-domain'], 'cluster.local');
  t.is(kubeDns.metadata?.annotations?.['tsk.io/node-local'], 'true');
  t.deepEqual(
    (kubeDns.spec?.ports ?? []).map((p) => `${p.name}:${p.port}/${p.protocol}`),
    ['dns:53/UDP', 'dns-tcp:53/TCP'],
  );
  const taken = await rejects(api.kind('Service').create(svc('grab', '10.96.0.10')));
  t.is(taken.reason, 'Invalid');
  t.true(taken.causes.some((c) => c.field === 'spec.clusterIP' && c.message === 'Invalid value: "10.96.0.10": provided IP is already allocated'));

  await api.kind('Service').delete({ namespace: 'kube-system', name: 'kube-dns' });
  await api.restart();
  t.is(((await api.kind('Service').get('kube-system', 'kube-dns')) as Service).spec?.clusterIP, '10.96.0.10');
});

test('--cluster-dns and --cluster-domain are what kube-dns publishes', async (t) => {
  const etcd = await startTestEtcd(t);
  const api = await startTestApiServer(t, etcd, { clusterDns: '10.96.0.53', clusterDomain: 'corp.example' });
  const kubeDns = (await api.kind('Service').get('kube-system', 'kube-dns')) as Service;
  t.is(kubeDns.spec?.clusterIP, '10.96.0.53');
  t.is(kubeDns.metadata?.annotations?.['tsk.io/cluster-domain'], 'corp.example');
});
