import test from 'ava';
import type { Endpoints, Service } from '../api/gen/tsk/v1/core';
import { IptablesBackend } from './iptables-backend';
import { FakeIptables } from './fake-iptables';
import { NftablesBackend } from './nft-backend';
import { nftText, type NftInput, type Nftables } from './nftables';
import { allPorts, buildServicePorts, ServicePortCache, type ServicePortState } from './service-ports';

/** Records what it is asked to run; fails while failWith is set. */
class RecordingNftables implements Nftables {
  readonly runs: string[] = [];
  lists = 0;
  failWith: string | undefined;

  run(input: NftInput): Promise<void> {
    this.runs.push(nftText(input));
    return this.failWith ? Promise.reject(new Error(this.failWith)) : Promise.resolve();
  }

  list(): Promise<string> {
    this.lists++;
    return Promise.resolve('table ip tsk-proxy {\n\tchain service-AAAAAAAA-default/old/tcp/ {\n\t}\n}\n');
  }
}

function service(name: string, ip: string): Service {
  return { metadata: { namespace: 'default', name }, spec: { clusterIP: ip, ports: [{ port: 80, protocol: 'TCP' }] } };
}

test('nftables backend: full first (listing the table, removing the other mode once), partial next, full again after a failure', async (t) => {
  const nft = new RecordingNftables();
  let removed = 0;
  const backend = new NftablesBackend(nft, { nodeIPs: [] }, async () => {
    removed++;
  });
  t.false(backend.synced);
  const one = allPorts(buildServicePorts([service('a', '10.96.0.1')], () => undefined));
  const full = await backend.sync(one, false);
  t.is(removed, 1);
  t.is(nft.lists, 1);
  t.regex(full.input, /^add table ip tsk-proxy .*\nflush table ip tsk-proxy\n/);
  t.regex(full.input, /delete chain ip tsk-proxy service-AAAAAAAA-default\/old\/tcp\/\n$/);
  t.true(backend.synced);
  t.is(backend.ruleCounts()['nftables'], (full.input.match(/^add rule /gm) ?? []).length);

  t.is((await backend.sync(one, false)).input, '', 'nothing changed: nothing written');
  const two = allPorts(buildServicePorts([service('a', '10.96.0.1'), service('b', '10.96.0.2')], () => undefined));
  const partial = await backend.sync(two, false);
  t.is(partial.input, 'add element ip tsk-proxy no-endpoint-services { 10.96.0.2 . tcp . 80 : goto reject-chain }\n');
  t.is(nft.lists, 1, 'a partial sync does not list the table');

  nft.failWith = 'nft -f failed';
  await t.throwsAsync(backend.sync(allPorts(buildServicePorts([service('a', '10.96.0.1')], () => undefined)), false), { message: 'nft -f failed' });
  t.false(backend.synced, 'after a failure only a full sync is valid');
  nft.failWith = undefined;
  await backend.sync(one, false);
  t.is(nft.lists, 2);
  t.is(removed, 1, 'the other mode is removed once');
});

test('iptables backend: the first full sync removes the nftables mode first, once', async (t) => {
  const iptables = new FakeIptables();
  const order: string[] = [];
  const backend = new IptablesBackend(iptables, { nodeIPs: [] }, async () => {
    order.push(`remove other (restores so far: ${iptables.restores.length})`);
  });
  const ports = allPorts(buildServicePorts([service('a', '10.96.0.1')], () => undefined));
  await backend.sync(ports, true);
  await backend.sync(ports, true);
  t.deepEqual(order, ['remove other (restores so far: 0)']);
  t.deepEqual(backend.ruleCounts(), { filter: 3, nat: 5 }, 'filter: REJECT and two forward rules; nat: the fixed four and the NodePorts jump');
});

test('nftables backend: a restarted helper (a new generation) makes the next sync full', async (t) => {
  const nft = new (class extends RecordingNftables {
    generation = 1;
  })();
  const backend = new NftablesBackend(nft, { nodeIPs: [] });
  await backend.sync(allPorts(buildServicePorts([service('a', '10.96.0.1')], () => undefined)), true);
  t.true(backend.synced);
  nft.generation = 2;
  t.false(backend.synced, 'what the kernel holds is unknown: the proxier makes the next sync full');
  await backend.sync(allPorts(buildServicePorts([service('a', '10.96.0.1')], () => undefined)), true);
  t.true(backend.synced);
});

/** The element and rule lines of an nft input, one element a line, sorted: inputs compared whatever order they list things in. */
function normalized(input: string): string[] {
  const out: string[] = [];
  for (const line of input.split('\n').filter((l) => l !== '')) {
    const m = /^(add|delete) element (\S+ \S+ \S+) \{ (.*) \}$/.exec(line);
    if (m) for (const e of m[3]?.split(', ') ?? []) out.push(`${m[1]} element ${m[2]} ${e}`);
    else out.push(line);
  }
  return out.sort();
}

test('nftables backend: a partial sync from the changed ports writes what comparing every port writes, and counts the same rules', async (t) => {
  const services = new Map<string, Service>();
  const eps = new Map<string, Endpoints>();
  const withEps = (name: string, ips: string[]): void => {
    eps.set(`default/${name}`, {
      metadata: { namespace: 'default', name },
      subsets: [{ addresses: ips.map((ip) => ({ ip })), ports: [{ port: 8080, protocol: 'TCP' }] }],
    });
  };
  for (let i = 0; i < 20; i++) {
    services.set(`default/s${i}`, service(`s${i}`, `10.96.0.${i + 1}`));
    withEps(`s${i}`, [`10.244.${i}.1`, `10.244.${i}.2`]);
  }
  const cache = new ServicePortCache();
  const incremental = new NftablesBackend(new RecordingNftables(), { nodeIPs: [], clusterCIDR: '10.244.0.0/16' });
  const comparing = new NftablesBackend(new RecordingNftables(), { nodeIPs: [], clusterCIDR: '10.244.0.0/16' });
  const all = (): ServicePortState[] => buildServicePorts([...services.values()], (k) => eps.get(k));
  const first = cache.rebuildAll([...services.values()], (k) => eps.get(k));
  await incremental.sync({ all: () => cache.list(), changes: first }, true);
  await comparing.sync(allPorts(all()), true);
  const steps: [string, string[], () => void][] = [
    ['an endpoint added', ['default/s3'], () => withEps('s3', ['10.244.3.1', '10.244.3.2', '10.244.3.9'])],
    ['every endpoint gone', ['default/s4'], () => withEps('s4', [])],
    [
      'a service added, one removed',
      ['default/new', 'default/s5'],
      () => {
        services.set('default/new', service('new', '10.96.1.1'));
        withEps('new', ['10.244.50.1']);
        services.delete('default/s5');
      },
    ],
    [
      'ClientIP affinity (a chain of its own)',
      ['default/s6'],
      () => {
        services.set('default/s6', { ...service('s6', '10.96.0.7'), spec: { ...service('s6', '10.96.0.7').spec, sessionAffinity: 'ClientIP' } });
      },
    ],
    ['an endpoint shared with another service', ['default/s7'], () => withEps('s7', ['10.244.8.1'])],
  ];
  for (const [what, keys, change] of steps) {
    change();
    const changes = cache.apply(
      keys,
      (k) => services.get(k),
      (k) => eps.get(k),
    );
    const a = await incremental.sync({ all: () => t.fail('a partial sync from changes needs no list of every port') as never, changes }, false);
    const b = await comparing.sync(allPorts(all()), false);
    t.not(a.input, '', what);
    t.deepEqual(normalized(a.input), normalized(b.input), what);
    t.deepEqual(incremental.ruleCounts(), comparing.ruleCounts(), what);
  }
});
