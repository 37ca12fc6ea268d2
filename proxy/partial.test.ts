// Partial syncs (rules.ts renderPartialInput, service-ports.ts
// ServicePortCache): what they write, and that a full sync followed by any
// number of partial ones leaves iptables exactly as a full sync of the last
// state would.

import test from 'ava';
import type { Endpoints, Service } from '../api/gen/tsk/v1/core';
import { FakeIptables } from './fake-iptables';
import { parseIptablesSave } from './iptables';
import { partialTableChanges, renderFullInput, renderPartialInput, RuleBuilder, type RuleSet } from './rules';
import { buildServicePorts, mergeChanges, ServicePortCache } from './service-ports';

const OPTIONS = { nodeIPs: ['172.30.0.2'], clusterCIDR: '10.244.0.0/16' };

function service(name: string, ip: string, extra: Partial<NonNullable<Service['spec']>> = {}): Service {
  return { metadata: { namespace: 'default', name }, spec: { clusterIP: ip, ports: [{ name: 'p', port: 80, protocol: 'TCP' }], ...extra } };
}

function endpoints(name: string, ips: string[]): Endpoints {
  return { metadata: { namespace: 'default', name }, subsets: [{ addresses: ips.map((ip) => ({ ip })), ports: [{ name: 'p', port: 8080, protocol: 'TCP' }] }] };
}

/** A proxier's view: the informer caches (objects replaced on change) and the builders it keeps between syncs. */
class World {
  readonly services = new Map<string, Service>();
  readonly endpoints = new Map<string, Endpoints>();
  private readonly cache = new ServicePortCache();
  private readonly builder = new RuleBuilder(OPTIONS);

  build(): RuleSet {
    return this.builder.build(this.cache.build([...this.services.values()], (k) => this.endpoints.get(k)));
  }
}

/** The owned chains and their rules, whatever order the chains were created in. */
async function ownedState(ipt: FakeIptables): Promise<string> {
  const saved = parseIptablesSave(await ipt.save());
  const out: string[] = [];
  for (const [table, t] of saved) {
    for (const chain of [...t.chains.keys()].sort()) {
      out.push(
        `${table} ${chain}: ${t.rules
          .filter((r) => r.chain === chain)
          .map((r) => r.spec)
          .join(' | ')}`,
      );
    }
  }
  return out.join('\n');
}

async function fullSync(ipt: FakeIptables, rules: RuleSet): Promise<void> {
  await ipt.restore(renderFullInput(rules, parseIptablesSave(await ipt.save())));
}

test('one endpoint added: only the service chain and the new endpoint chain are written', async (t) => {
  const w = new World();
  for (let i = 0; i < 50; i++) {
    w.services.set(`default/s${i}`, service(`s${i}`, `10.96.0.${i + 1}`));
    w.endpoints.set(`default/s${i}`, endpoints(`s${i}`, [`10.244.${i}.1`, `10.244.${i}.2`]));
  }
  const before = w.build();
  w.endpoints.set('default/s7', endpoints('s7', ['10.244.7.1', '10.244.7.2', '10.244.7.3']));
  const after = w.build();
  t.is(after.nat.filter((p) => !before.nat.includes(p)).length, 1, 'one piece rebuilt, the others reused');
  const input = renderPartialInput(before, after);
  const declared = input.split('\n').filter((l) => l.startsWith(':'));
  t.is(declared.length, 2, input);
  t.true(declared.some((l) => l.startsWith(':TSK-SVC-')));
  t.true(declared.some((l) => l.startsWith(':TSK-SEP-')));
  t.regex(input, /DNAT --to-destination 10\.244\.7\.3:8080/);
  t.notRegex(input, /TSK-SERVICES|\*filter|-X /, 'neither the fixed chains nor the filter table');
});

test('nothing changed: the partial input is empty', (t) => {
  const w = new World();
  w.services.set('default/a', service('a', '10.96.0.1'));
  w.endpoints.set('default/a', endpoints('a', ['10.244.0.1']));
  const first = w.build();
  // New objects with the same content, as a resync or an unchanged update would deliver, still compare equal chain by chain.
  w.endpoints.set('default/a', endpoints('a', ['10.244.0.1']));
  t.is(renderPartialInput(first, w.build()), '');
  t.is(renderPartialInput(first, first), '');
});

test('a service losing its endpoints: its chains are deleted, TSK-SERVICES rewritten, the REJECT added in filter', (t) => {
  const w = new World();
  w.services.set('default/a', service('a', '10.96.0.1'));
  w.services.set('default/b', service('b', '10.96.0.2'));
  w.endpoints.set('default/a', endpoints('a', ['10.244.0.1']));
  w.endpoints.set('default/b', endpoints('b', ['10.244.0.2']));
  const before = w.build();
  w.endpoints.delete('default/a');
  const after = w.build();
  const nat = partialTableChanges(before.nat, after.nat);
  t.deepEqual(nat.deleted.map((c) => c.slice(0, 8)).sort(), ['TSK-SEP-', 'TSK-SVC-']);
  t.true(nat.chains.includes('TSK-SERVICES'));
  t.is(nat.rules.filter((r) => r.startsWith('-A TSK-SERVICES ')).length, 2, 'b and the NodePorts jump');
  const filter = partialTableChanges(before.filter, after.filter);
  t.deepEqual(filter.chains, ['TSK-SERVICES']);
  t.regex(filter.rules.join('\n'), /default\/a:p has no endpoints/);
});

test('a full sync then partial syncs through many changes leave iptables as a full sync of the last state does', async (t) => {
  const w = new World();
  const partial = new FakeIptables();
  const steps: [string, () => void][] = [
    [
      'two services',
      () => {
        w.services.set('default/a', service('a', '10.96.0.1'));
        w.services.set('default/b', service('b', '10.96.0.2', { type: 'NodePort', ports: [{ name: 'p', port: 80, nodePort: 30080, protocol: 'TCP' }] }));
        w.endpoints.set('default/a', endpoints('a', ['10.244.0.1', '10.244.0.2']));
      },
    ],
    ['b gets endpoints', () => w.endpoints.set('default/b', endpoints('b', ['10.244.1.1']))],
    ['a loses one, gains two', () => w.endpoints.set('default/a', endpoints('a', ['10.244.0.2', '10.244.0.3', '10.244.0.4']))],
    ['b turns ClientIP affine', () => w.services.set('default/b', service('b', '10.96.0.2', { sessionAffinity: 'ClientIP' }))],
    ['c with external IPs, no endpoints', () => w.services.set('default/c', service('c', '10.96.0.3', { externalIPs: ['192.0.2.1'] }))],
    [
      'a deleted',
      () => {
        w.services.delete('default/a');
        w.endpoints.delete('default/a');
      },
    ],
    [
      'c gets endpoints, b loses them',
      () => {
        w.endpoints.set('default/c', endpoints('c', ['10.244.2.1']));
        w.endpoints.set('default/b', endpoints('b', []));
      },
    ],
    [
      'everything deleted',
      () => {
        w.services.clear();
        w.endpoints.clear();
      },
    ],
  ];
  let last: RuleSet | undefined;
  for (const [what, change] of steps) {
    change();
    const rules = w.build();
    if (last) await partial.restore(renderPartialInput(last, rules));
    else await fullSync(partial, rules);
    last = rules;
    const full = new FakeIptables();
    await fullSync(full, new RuleBuilder(OPTIONS).build(new ServicePortCache().build([...w.services.values()], (k) => w.endpoints.get(k))));
    // The built-in jumps are inserted by the first (full) sync and left alone by partial ones.
    t.is(await ownedState(partial), await ownedState(full), what);
  }
});

test('ServicePortCache hands out the same objects while the Service and Endpoints objects are the same', (t) => {
  const cache = new ServicePortCache();
  const a = service('a', '10.96.0.1');
  const b = service('b', '10.96.0.2');
  const eb = endpoints('b', ['10.244.0.1']);
  const first = cache.build([b, a], (k) => (k === 'default/b' ? eb : undefined));
  t.deepEqual(
    first.map((p) => p.name),
    ['a', 'b'],
    'sorted',
  );
  const second = cache.build([a, b], (k) => (k === 'default/b' ? endpoints('b', ['10.244.0.1']) : undefined));
  t.is(second[0], first[0], 'a: unchanged');
  t.not(second[1], first[1], 'b: a new Endpoints object');
  t.deepEqual(second[1], first[1]);
});

test('ServicePortCache.apply: only the keys given are rebuilt; the list stays sorted and equal to a rebuild; each call reports what it replaced', (t) => {
  const services = new Map<string, Service>();
  const eps = new Map<string, Endpoints>();
  const put = (ns: string, name: string, ip: string): void => {
    services.set(`${ns}/${name}`, { metadata: { namespace: ns, name }, spec: { clusterIP: ip, ports: [{ name: 'p', port: 80, protocol: 'TCP' }] } });
  };
  for (const [ns, name, ip] of [
    ['default', 'b', '10.96.0.2'],
    ['a-x', 'c', '10.96.0.3'],
    ['default', 'a', '10.96.0.1'],
  ] as const)
    put(ns, name, ip);
  const cache = new ServicePortCache();
  const first = cache.rebuildAll([...services.values()], (k) => eps.get(k));
  t.is(first.removed.length, 0);
  t.is(first.added.length, 3);
  const [a, b] = [cache.list()[1], cache.list()[2]];
  // One endpoint for default/a, a new service a/z (the string "a/z" sorts after "a-x/c"; namespace "a" before "a-x"), default/b gone.
  eps.set('default/a', endpoints('a', ['10.244.0.1']));
  put('a', 'z', '10.96.0.4');
  services.delete('default/b');
  const changes = cache.apply(
    ['default/a', 'a/z', 'default/b', 'a-x/c'],
    (k) => services.get(k),
    (k) => eps.get(k),
  );
  t.deepEqual(
    changes.removed.map((p) => p.name),
    ['a', 'b'],
  );
  t.deepEqual(
    changes.added.map((p) => `${p.namespace}/${p.name}:${p.endpoints.length}`),
    ['default/a:1', 'a/z:0'],
  );
  t.true(changes.removed[0] === a && changes.removed[1] === b, 'the very objects handed out before');
  const rebuilt = buildServicePorts([...services.values()], (k) => eps.get(k));
  t.deepEqual(cache.list(), rebuilt);
  t.deepEqual(
    cache.list().map((p) => `${p.namespace}/${p.name}`),
    ['a/z', 'a-x/c', 'default/a'],
  );
  t.deepEqual(
    cache.apply(
      ['default/a', 'nothing/here'],
      (k) => services.get(k),
      (k) => eps.get(k),
    ),
    { removed: [], added: [] },
    'nothing changed',
  );
});

test('mergeChanges: the net change of two syncs (a port added then removed in between is in neither list)', (t) => {
  const cache = new ServicePortCache();
  const svc = service('a', '10.96.0.1');
  const [p1] = cache.build([svc], () => endpoints('a', ['10.244.0.1']));
  const [p2] = cache.build([svc], () => endpoints('a', ['10.244.0.2']));
  const [p3] = cache.build([svc], () => endpoints('a', ['10.244.0.3']));
  if (!p1 || !p2 || !p3) return t.fail('no ports');
  const merged = mergeChanges({ removed: [p1], added: [p2] }, { removed: [p2], added: [p3] });
  t.deepEqual(merged, { removed: [p1], added: [p3] });
  t.is(mergeChanges(undefined, { removed: [p1], added: [p2] }).added[0], p2);
});

test('proxies over the same informer objects share the service ports and their rule pieces; node-specific pieces stay apart', (t) => {
  const a = service('a', '10.96.0.1');
  const ea = endpoints('a', ['10.244.0.1', '10.244.0.2']);
  const np = service('np', '10.96.0.3', { type: 'NodePort', ports: [{ name: 'p', port: 80, protocol: 'TCP', nodePort: 30080 }] });
  const byKey = (k: string): Endpoints | undefined => (k === 'default/a' ? ea : undefined);
  const [p1, p2] = [new ServicePortCache().build([a, np], byKey), new ServicePortCache().build([np, a], byKey)];
  t.is(p1[0], p2[0], 'one ServicePortState for both proxies');
  const r1 = new RuleBuilder({ ...OPTIONS, nodeIPs: ['198.18.0.1'] }).build(p1);
  const r2 = new RuleBuilder({ ...OPTIONS, nodeIPs: ['198.18.0.2'] }).build(p2);
  t.is(r1.nat[1], r2.nat[1], "a's nat piece shared");
  t.is(r1.filter[1], r2.filter[1], "a's filter piece shared");
  // np has no endpoints: its filter piece REJECTs the NodePort on each node's own address.
  t.not(r1.filter[2], r2.filter[2]);
  t.true(r1.filter[2]?.rules.some((l) => l.includes('-d 198.18.0.1/32')));
  t.true(r2.filter[2]?.rules.some((l) => l.includes('-d 198.18.0.2/32')));
  const r3 = new RuleBuilder({ nodeIPs: ['198.18.0.1'] }).build(p1);
  t.not(r3.nat[1], r1.nat[1], 'another cluster CIDR: its own pieces');
});
