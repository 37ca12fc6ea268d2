// The proxier with fake informers, a fake iptables and a FakeClock: when it
// syncs (coalescing, min interval, periodic resync, retries) and what it
// applies.

import test from 'ava';
import { Registry } from 'prom-client';
import type { Endpoints, Service } from '../api/gen/tsk/v1/core';
import { KINDS } from '../api/kinds';
import { type Clientset, FakeClock, flushPromises, SharedInformerFactory } from '../client';
import { FakeApi } from '../client/fake';
import { cleanupIptables } from './cleanup';
import { FakeIptables } from './fake-iptables';
import { nodeAddresses, startProxy, TRIGGER_TIME_ANNOTATION, type RunningProxy } from './proxier';

function fakeClientset(services: FakeApi<Service>, endpoints: FakeApi<Endpoints>): Clientset {
  const client = <T>(info: unknown, api: FakeApi<T & { metadata?: { name?: string } }>): unknown => ({
    info,
    listAll: () => api.list(),
    watch: (o: { resourceVersion?: string }) => api.watch(o.resourceVersion ?? ''),
  });
  const clients: Record<string, unknown> = { Service: client(KINDS.Service, services), Endpoints: client(KINDS.Endpoints, endpoints) };
  return { kind: (k: string) => clients[k] } as unknown as Clientset;
}

const web: Service = {
  metadata: { namespace: 'default', name: 'web', resourceVersion: '1' },
  spec: { clusterIP: '10.96.0.10', ports: [{ port: 80, protocol: 'TCP' }] },
};

function webEndpoints(ips: string[], triggerTime?: string): Endpoints {
  return {
    metadata: { namespace: 'default', name: 'web', ...(triggerTime ? { annotations: { [TRIGGER_TIME_ANNOTATION]: triggerTime } } : {}) },
    subsets: ips.length ? [{ addresses: ips.map((ip) => ({ ip })), ports: [{ port: 8080, protocol: 'TCP' }] }] : [],
  };
}

interface Harness {
  clock: FakeClock;
  iptables: FakeIptables;
  services: FakeApi<Service>;
  endpoints: FakeApi<Endpoints>;
  proxy: RunningProxy;
  registry: Registry;
  /** conntrack -D filters asked for. */
  flushed: string[][];
}

async function harness(t: { teardown(fn: () => unknown): void }, eps: string[] = ['10.244.1.2'], fullSyncPeriodMs?: number): Promise<Harness> {
  const clock = new FakeClock();
  const iptables = new FakeIptables();
  const services = new FakeApi<Service>();
  const endpoints = new FakeApi<Endpoints>();
  services.upsert(web);
  endpoints.upsert(webEndpoints(eps));
  const informers = new SharedInformerFactory(fakeClientset(services, endpoints), { clock });
  const registry = new Registry();
  const flushed: string[][] = [];
  const proxy = await startProxy({
    conntrack: { deleteFlows: (f) => Promise.resolve(void flushed.push([...f])) },
    clientset: fakeClientset(services, endpoints),
    informers,
    nodeName: 'n1',
    nodeIPs: ['172.30.0.2'],
    iptables,
    clock,
    registry,
    minSyncPeriodMs: 1000,
    syncPeriodMs: 30_000,
    ...(fullSyncPeriodMs !== undefined ? { fullSyncPeriodMs } : {}),
    log: () => undefined,
  });
  t.teardown(() => proxy.stop());
  await flushPromises();
  await clock.advance(0); // the first sync is due at once
  await proxy.firstSync;
  return { clock, iptables, services, endpoints, proxy, registry, flushed };
}

const svcChain = 'TSK-SVC-LOLE4ISW44XBNF3G';

test('the first sync applies everything in one restore, and makes /healthz healthy', async (t) => {
  const h = await harness(t, ['10.244.1.2', '10.244.1.3']);
  t.is(h.iptables.restores.length, 1);
  t.deepEqual(h.iptables.chain('nat', svcChain)?.length, 2);
  t.deepEqual(h.iptables.chain('nat', 'PREROUTING'), ['-m comment --comment "tsk service portals" -j TSK-SERVICES']);
  t.true(h.proxy.health().healthy);
  const metrics = await h.registry.metrics();
  t.regex(metrics, /kubeproxy_sync_proxy_rules_duration_seconds_count 1/);
  t.regex(metrics, new RegExp(`kubeproxy_sync_proxy_rules_last_timestamp_seconds ${h.clock.now() / 1000}`));
});

test('a burst of changes within the min sync period is applied in one sync, after the period', async (t) => {
  const h = await harness(t);
  for (const ips of [['10.244.1.2', '10.244.1.3'], ['10.244.1.3'], ['10.244.1.3', '10.244.1.4'], ['10.244.1.4']]) h.endpoints.upsert(webEndpoints(ips));
  await flushPromises();
  t.is(h.iptables.restores.length, 1, 'not before the min sync period');
  await h.clock.advance(999);
  t.is(h.iptables.restores.length, 1);
  await h.clock.advance(1);
  t.is(h.iptables.restores.length, 2, 'one sync for the whole burst');
  t.regex(h.iptables.restores[1] ?? '', /DNAT --to-destination 10\.244\.1\.4:8080/);
  t.notRegex(h.iptables.restores[1] ?? '', /10\.244\.1\.[23]:8080/);
  await h.clock.advance(5000);
  t.is(h.iptables.restores.length, 2, 'nothing more to do');
});

test('a change after a quiet period is applied at once; removing the last endpoint turns the service into a REJECT', async (t) => {
  const h = await harness(t);
  await h.clock.advance(10_000);
  h.endpoints.upsert(webEndpoints([]));
  await h.clock.advance(0);
  t.is(h.iptables.restores.length, 2);
  t.is(h.iptables.chain('nat', svcChain), undefined, 'the service chain is deleted');
  t.deepEqual(h.iptables.chain('filter', 'TSK-SERVICES'), [
    '-m comment --comment "default/web has no endpoints" -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable',
  ]);
  h.services.remove('default/web');
  await h.clock.advance(1000);
  t.deepEqual(h.iptables.chain('filter', 'TSK-SERVICES'), []);
});

test('the periodic resync reads iptables, rewrites nothing when nothing changed, and repairs what someone else flushed', async (t) => {
  const h = await harness(t);
  const saves = h.iptables.saves;
  await h.clock.advance(30_000);
  t.is(h.iptables.saves, saves + 1, 'a resync after the sync period');
  // The first restore inserted the jumps; the resync's input no longer does, so it is written once more, then no longer.
  await h.clock.advance(30_000);
  const restores = h.iptables.restores.length;
  await h.clock.advance(30_000);
  t.is(h.iptables.restores.length, restores, 'nothing rewritten when iptables already holds the rules');
  h.iptables.tables.get('nat')?.set(svcChain, []);
  await h.clock.advance(30_000);
  t.is(h.iptables.restores.length, restores + 1);
  t.is(h.iptables.chain('nat', svcChain)?.length, 1, 'repaired');
});

test('with a full sync period of an hour (a hollow node), the periodic syncs between are partial: iptables neither read nor rewritten', async (t) => {
  const h = await harness(t, ['10.244.1.2'], 3_600_000);
  const saves = h.iptables.saves;
  const restores = h.iptables.restores.length;
  for (let i = 0; i < 10; i++) await h.clock.advance(30_000);
  t.is(h.iptables.saves, saves, 'no iptables-save before the full sync period');
  t.is(h.iptables.restores.length, restores, 'nothing changed: nothing written');
  h.endpoints.upsert(webEndpoints(['10.244.1.3']));
  await h.clock.advance(1000);
  t.is(h.iptables.saves, saves, 'a change is a partial sync');
  t.is(h.iptables.restores.length, restores + 1);
  await h.clock.advance(3_600_000);
  t.is(h.iptables.saves, saves + 1, 'the full sync, once the hour has passed');
});

test('a failing restore is counted and retried with back-off; /healthz goes stale after two sync periods without success', async (t) => {
  const h = await harness(t);
  h.iptables.failWith = 'iptables-restore: line 3: RULE_APPEND failed';
  h.endpoints.upsert(webEndpoints(['10.244.1.3']));
  await h.clock.advance(1000);
  const failed = h.iptables.restores.length;
  await h.clock.advance(1000);
  t.is(h.iptables.restores.length, failed + 1, 'retried after 1 s');
  await h.clock.advance(2000);
  t.is(h.iptables.restores.length, failed + 2, 'then after 2 s');
  t.regex(await h.registry.metrics(), /kubeproxy_sync_proxy_rules_iptables_restore_failures_total 3/);
  await h.clock.advance(60_000);
  t.false(h.proxy.health().healthy);
  t.regex(h.proxy.health().reason ?? '', /no successful sync for \d+ s/);
  h.iptables.failWith = undefined;
  await h.clock.advance(30_000);
  t.true(h.proxy.health().healthy);
  t.regex(h.iptables.chain('nat', 'TSK-SEP-23NJSXDYUSXY5E7Q')?.join('\n') ?? '', /10\.244\.1\.3:8080/);
});

test('UDP: after the rules change, the flows to a removed endpoint are deleted; TCP flows are left alone', async (t) => {
  const h = await harness(t);
  const dns: Service = {
    metadata: { namespace: 'default', name: 'dns' },
    spec: { clusterIP: '10.96.0.53', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] },
  };
  const dnsEndpoints = (ips: string[]): Endpoints => ({
    metadata: { namespace: 'default', name: 'dns' },
    subsets: [{ addresses: ips.map((ip) => ({ ip })), ports: [{ name: 'dns', port: 5353, protocol: 'UDP' }] }],
  });
  h.services.upsert(dns);
  h.endpoints.upsert(dnsEndpoints(['10.244.1.5', '10.244.1.6']));
  await h.clock.advance(1000);
  t.deepEqual(h.flushed, [['-p', 'udp', '--orig-dst', '10.96.0.53']], 'the first endpoints of a UDP service');
  h.endpoints.upsert(dnsEndpoints(['10.244.1.6']));
  h.endpoints.upsert(webEndpoints([]));
  await h.clock.advance(1000);
  t.deepEqual(h.flushed.slice(1), [['-p', 'udp', '--orig-dst', '10.96.0.53', '--dst-nat', '10.244.1.5']]);
  // A partial sync: the service chain is rewritten, the kept endpoint's chain left as it was.
  const svcRules = h.iptables.chain('nat', 'TSK-SVC-2MBSHUE5GJKPO227') ?? [];
  t.is(svcRules.length, 1);
  const sep = /-j (TSK-SEP-\S+)/.exec(svcRules[0] ?? '')?.[1] ?? '';
  t.regex(h.iptables.chain('nat', sep)?.join('\n') ?? '', /DNAT --to-destination 10\.244\.1\.6:5353/);
  t.notRegex(h.iptables.restores.at(-1) ?? '', new RegExp(`:${sep} `));
});

test('network programming latency is measured from the Endpoints trigger time', async (t) => {
  const h = await harness(t);
  await h.clock.advance(5000);
  h.endpoints.upsert(webEndpoints(['10.244.1.3'], new Date(h.clock.now() - 2500).toISOString()));
  await h.clock.advance(0);
  const metrics = await h.registry.metrics();
  t.regex(metrics, /kubeproxy_network_programming_duration_seconds_sum 2\.5\n/);
  t.regex(metrics, /kubeproxy_network_programming_duration_seconds_count 1\n/);
  // An update keeping the trigger time, and a trigger time from before the proxy started, are not measured.
  const same = (await h.endpoints.list()).items?.[0];
  h.endpoints.upsert({ ...webEndpoints(['10.244.1.4']), metadata: same?.metadata });
  h.endpoints.upsert(webEndpoints(['10.244.1.5'], new Date(h.clock.now() - 3_600_000).toISOString()));
  await h.clock.advance(1000);
  t.regex(await h.registry.metrics(), /kubeproxy_network_programming_duration_seconds_count 1\n/);
});

test('stop() stops syncing and leaves the rules; cleanup removes every chain and jump of the proxy', async (t) => {
  const h = await harness(t);
  await h.proxy.stop();
  await h.proxy.stop();
  const restores = h.iptables.restores.length;
  h.endpoints.upsert(webEndpoints(['10.244.1.9']));
  await h.clock.advance(60_000);
  t.is(h.iptables.restores.length, restores);
  t.truthy(h.iptables.chain('nat', svcChain));
  t.is(await cleanupIptables(h.iptables), 9, '3 filter chains, 4 fixed nat chains, one service and one endpoint chain');
  for (const [, chains] of h.iptables.tables) {
    for (const [name, rules] of chains) {
      t.false(name.startsWith('TSK-'), name);
      t.deepEqual(rules, [], `${name} is empty again`);
    }
  }
  t.is(await cleanupIptables(h.iptables), 0, 'idempotent');
});

test('no sync before both informers have their first list', async (t) => {
  const clock = new FakeClock();
  const iptables = new FakeIptables();
  const services = new FakeApi<Service>();
  const endpoints = new FakeApi<Endpoints>();
  services.upsert(web);
  endpoints.down();
  const proxy = await startProxy({
    clientset: fakeClientset(services, endpoints),
    informers: new SharedInformerFactory(fakeClientset(services, endpoints), { clock, onError: () => undefined }),
    nodeName: 'n1',
    nodeIPs: [],
    iptables,
    conntrack: { deleteFlows: () => Promise.resolve() },
    clock,
    log: () => undefined,
  });
  t.teardown(() => proxy.stop());
  await clock.advance(5000);
  t.is(iptables.restores.length, 0, 'rules from half a picture would cut live services');
  t.false(proxy.health().healthy);
  endpoints.up();
  endpoints.upsert(webEndpoints(['10.244.1.2']));
  await clock.advance(15_000);
  await proxy.firstSync;
  t.is(iptables.restores.length, 1);
  t.truthy(iptables.chain('nat', svcChain));
});

test("nodeAddresses: the Node's IPv4 InternalIP addresses, then ExternalIP ones", (t) => {
  t.deepEqual(
    nodeAddresses({
      status: {
        addresses: [
          { type: 'Hostname', address: 'n1' },
          { type: 'ExternalIP', address: '192.0.2.1' },
          { type: 'InternalIP', address: '172.30.0.2' },
          { type: 'InternalIP', address: 'fd00::2' },
        ],
      },
    }),
    ['172.30.0.2', '192.0.2.1'],
  );
  t.deepEqual(nodeAddresses(undefined), []);
});
