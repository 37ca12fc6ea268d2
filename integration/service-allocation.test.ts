// Service ClusterIP and NodePort allocation under concurrency, against a real
// etcd: many creates on one API server share etcd transactions (group
// commit) instead of queueing one read and one compare-and-swap each, and two
// API servers on one etcd allocating at once never hand out a value twice nor
// leak one (the bitmaps in etcd end up holding exactly the services' values).

import test, { type ExecutionContext } from 'ava';
import { Etcd3 } from 'etcd3';
import type { Service } from '../api/gen/tsk/v1/core';
import type { ApiServerMetrics } from '../apiserver/metrics';
import { decodeAllocation, parsePortRange, parseServiceCidr } from '../apiserver/registry/allocator';
import { NODE_PORTS_KEY, SERVICE_IPS_KEY } from '../apiserver/registry/services';
import { startTestEtcd, type TestEtcd } from './support/etcd';
import { startTestApiServer, type TestApiServer } from './support/apiserver';

function nodePortService(name: string): Service {
  return { metadata: { name, namespace: 'default' }, spec: { type: 'NodePort', selector: { app: name }, ports: [{ port: 80 }] } } as Service;
}

/** A counter's or histogram's count for one label set, from the server's metrics. */
async function metricValue(metrics: ApiServerMetrics, metricName: string, labels: Record<string, string>): Promise<number> {
  let sum = 0;
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    for (const v of m.values as { metricName?: string; labels: Record<string, string | number>; value: number }[]) {
      const name = v.metricName ?? m.name;
      if (name !== metricName) continue;
      if (Object.entries(labels).every(([k, want]) => v.labels[k] === want)) sum += v.value;
    }
  }
  return sum;
}

interface EtcdCalls {
  rangeReads: number;
  serviceTxns: number;
  compareFailures: number;
}

async function etcdCalls(api: TestApiServer): Promise<EtcdCalls> {
  const m = api.server.metrics;
  return {
    rangeReads: await metricValue(m, 'etcd_request_duration_seconds_count', { operation: 'range', type: 'ranges' }),
    serviceTxns:
      (await metricValue(m, 'etcd_request_duration_seconds_count', { type: 'services', operation: 'create' })) +
      (await metricValue(m, 'etcd_request_duration_seconds_count', { type: 'services', operation: 'delete' })) +
      (await metricValue(m, 'etcd_request_duration_seconds_count', { type: 'services', operation: 'update' })) +
      (await metricValue(m, 'etcd_request_duration_seconds_count', { type: 'services', operation: 'write' })),
    compareFailures: await metricValue(m, 'etcd_request_compare_failures_total', { type: 'services' }),
  };
}

function diff(a: EtcdCalls, b: EtcdCalls): EtcdCalls {
  return { rangeReads: b.rangeReads - a.rangeReads, serviceTxns: b.serviceTxns - a.serviceTxns, compareFailures: b.compareFailures - a.compareFailures };
}

/** The values the bitmaps in etcd hold. */
async function storedAllocations(etcd: TestEtcd): Promise<{ ips: string[]; ports: string[] }> {
  const raw = new Etcd3({ hosts: etcd.etcd.clientUrl });
  try {
    const ipRange = parseServiceCidr('10.96.0.0/16');
    const portRange = parsePortRange('30000-32767');
    const ipBits = decodeAllocation(ipRange, (await raw.get(SERVICE_IPS_KEY).buffer()) ?? undefined);
    const portBits = decodeAllocation(portRange, (await raw.get(NODE_PORTS_KEY).buffer()) ?? undefined);
    const ips: string[] = [];
    const ports: string[] = [];
    for (let i = 0; i < ipRange.size; i++) if (ipBits.has(i)) ips.push(ipRange.valueOf(i));
    for (let i = 0; i < portRange.size; i++) if (portBits.has(i)) ports.push(portRange.valueOf(i));
    return { ips: ips.sort(), ports: ports.sort() };
  } finally {
    raw.close();
  }
}

/** The services' allocated values, checked distinct. */
function valuesOf(t: ExecutionContext, services: Service[]): { ips: string[]; ports: string[] } {
  const ips = services.map((s) => s.spec?.clusterIP ?? '').filter((ip) => ip !== '' && ip !== 'None');
  const ports = services.flatMap((s) => (s.spec?.ports ?? []).map((p) => String(p.nodePort ?? 0))).filter((p) => p !== '0');
  t.is(new Set(ips).size, ips.length, 'every ClusterIP is handed out once');
  t.is(new Set(ports).size, ports.length, 'every NodePort is handed out once');
  return { ips: ips.sort(), ports: ports.sort() };
}

/** The values held by every service of the cluster (the server's own, kube-dns's, among them). */
async function heldValues(t: ExecutionContext, api: TestApiServer): Promise<{ ips: string[]; ports: string[] }> {
  return valuesOf(t, (await api.kind('Service').list()).items ?? []);
}

test('200 concurrent Service creates on one API server share transactions, with no allocator reads or conflicts', async (t) => {
  const etcd = await startTestEtcd(t);
  const api = await startTestApiServer(t, etcd);
  const services = api.kind('Service');
  await services.create(nodePortService('warm-up'));

  const before = await etcdCalls(api);
  const start = Date.now();
  const created = await Promise.all(Array.from({ length: 200 }, (_, i) => services.create(nodePortService(`svc-${i}`))));
  const wallMs = Date.now() - start;
  const calls = diff(before, await etcdCalls(api));
  t.log(`200 creates: ${wallMs} ms; etcd: ${calls.serviceTxns} transactions, ${calls.compareFailures} compare failures, ${calls.rangeReads} allocator reads`);

  const mine = valuesOf(t, created);
  t.is(calls.compareFailures, 0, 'local creates never race each other');
  t.is(calls.rangeReads, 0, 'the allocators are read once, not once per create');
  t.true(calls.serviceTxns < 200, `creates share transactions (${calls.serviceTxns} for 200)`);

  t.deepEqual(await storedAllocations(etcd), await heldValues(t, api));

  // Two creates of one name at once: one is stored, the other finds it (in one transaction, etcd would refuse both).
  // (The first create's transaction is in flight while the twins queue for the next one.)
  const [, ...twins] = await Promise.allSettled([
    services.create(nodePortService('lead')),
    services.create(nodePortService('twin')),
    services.create(nodePortService('twin')),
  ]);
  t.is(twins.filter((r) => r.status === 'fulfilled').length, 1);
  t.regex(String(twins.find((r) => r.status === 'rejected')?.reason), /already exists/);
  await Promise.all(['lead', 'twin'].map((name) => services.delete({ namespace: 'default', name })));
  t.deepEqual(await storedAllocations(etcd), await heldValues(t, api));

  // Deletes release in shared transactions too.
  const beforeDeletes = await etcdCalls(api);
  const deleteStart = Date.now();
  await Promise.all(created.map((s) => services.delete({ namespace: 'default', name: s.metadata?.name ?? '' })));
  const deletes = diff(beforeDeletes, await etcdCalls(api));
  t.log(
    `200 deletes: ${Date.now() - deleteStart} ms; etcd: ${deletes.serviceTxns} transactions, ${deletes.compareFailures} compare failures, ${deletes.rangeReads} allocator reads`,
  );
  const stored = await storedAllocations(etcd);
  t.deepEqual(stored, await heldValues(t, api));
  t.false(mine.ips.some((ip) => stored.ips.includes(ip)));
  t.is(deletes.rangeReads, 0);
});

test('two API servers on one etcd allocating at once never hand out a value twice nor leak one', async (t) => {
  const etcd = await startTestEtcd(t);
  const a = await startTestApiServer(t, etcd);
  const b = await startTestApiServer(t, etcd);
  const create = (api: TestApiServer, prefix: string): Promise<Service[]> =>
    Promise.all(Array.from({ length: 100 }, (_, i) => api.kind('Service').create(nodePortService(`${prefix}-${i}`))));
  const [fromA, fromB] = await Promise.all([create(a, 'a'), create(b, 'b')]);
  valuesOf(t, [...fromA, ...fromB]);
  t.deepEqual(await storedAllocations(etcd), await heldValues(t, a), 'etcd holds exactly the allocated values');

  // Type changes release and allocate node ports on both servers at once.
  const retype = (api: TestApiServer, list: Service[], spec: Partial<NonNullable<Service['spec']>>): Promise<Service[]> =>
    Promise.all(list.map((s) => api.kind('Service').update({ ...s, spec: { ...s.spec, ...spec } } as Service)));
  const [toClusterIP, toLocal] = await Promise.all([
    retype(a, fromA.slice(0, 50), { type: 'ClusterIP' }),
    retype(b, fromB.slice(0, 50), { type: 'LoadBalancer', externalTrafficPolicy: 'Local' }),
  ]);
  t.true(toClusterIP.every((s) => !s.spec?.ports?.[0]?.nodePort));
  t.true(toLocal.every((s) => (s.spec?.healthCheckNodePort ?? 0) > 0));
  const afterRetype = await heldValues(t, a);
  t.deepEqual(await storedAllocations(etcd), {
    ips: afterRetype.ips,
    ports: [...afterRetype.ports, ...toLocal.map((s) => String(s.spec?.healthCheckNodePort))].sort(),
  });

  // Each server deletes the other's half, while both create more.
  const del = (api: TestApiServer, list: Service[]): Promise<unknown[]> =>
    Promise.all(list.map((s) => api.kind('Service').delete({ namespace: 'default', name: s.metadata?.name ?? '' })));
  const [, , moreA, moreB] = await Promise.all([del(a, fromB), del(b, fromA), create(a, 'a2'), create(b, 'b2')]);
  valuesOf(t, [...moreA, ...moreB]);
  const held = await heldValues(t, b);
  t.deepEqual(await storedAllocations(etcd), held, 'releases and allocations of both servers all landed');
  for (const [name, api] of [['a', a] as const, ['b', b] as const]) {
    const calls = await etcdCalls(api);
    t.log(`server ${name}: ${calls.serviceTxns} transactions, ${calls.compareFailures} compare failures, ${calls.rangeReads} allocator reads`);
  }
});

test('a restarted API server allocates from what etcd holds, not from what it had in memory', async (t) => {
  const etcd = await startTestEtcd(t);
  const api = await startTestApiServer(t, etcd);
  const create = (prefix: string): Promise<Service[]> =>
    Promise.all(Array.from({ length: 20 }, (_, i) => api.kind('Service').create(nodePortService(`${prefix}-${i}`))));
  const before = await create('before');
  // Another server (its memory empty) allocates and releases meanwhile; then this one restarts.
  const other = await startTestApiServer(t, etcd);
  const theirs = await Promise.all(Array.from({ length: 20 }, (_, i) => other.kind('Service').create(nodePortService(`theirs-${i}`))));
  await other.kind('Service').delete({ namespace: 'default', name: before[0]!.metadata?.name ?? '' });
  await api.restart();
  const after = await create('after');
  valuesOf(t, [...before.slice(1), ...theirs, ...after]);
  t.deepEqual(await storedAllocations(etcd), await heldValues(t, api));
});
