// Golden tests of the nftables rule builder: the exact chains, sets and map
// elements of each kind of service, the full sync's input (stale objects
// deleted) and the partial sync's (only what changed, in a valid order).

import test from 'ava';
import type { Endpoints, Service, ServiceSpec } from '../api/gen/tsk/v1/core';
import {
  buildNftPiece,
  countElements,
  ElementCounts,
  ELEMENTS_PER_LINE,
  MAX_SHARED_PICK,
  NftRuleBuilder,
  nftRuleCount,
  parseNftList,
  renderNftFixed,
  renderNftFull,
  renderNftFullChunks,
  renderNftPartial,
  type NftRulesOptions,
} from './nft-rules';
import { describeNftError } from './nftables';
import { buildServicePorts, type ServicePortState } from './service-ports';

function svc(name: string, spec: ServiceSpec, ip = '10.96.0.10'): Service {
  return { metadata: { namespace: 'default', name }, spec: { clusterIP: ip, ...spec } };
}

function eps(name: string, ips: string[], port = 8080): Endpoints {
  return {
    metadata: { namespace: 'default', name },
    subsets: ips.length ? [{ addresses: ips.map((ip) => ({ ip })), ports: [{ port, protocol: 'TCP' }] }] : [],
  };
}

function ports(services: Service[], endpoints: Endpoints[]): ServicePortState[] {
  const byKey = new Map(endpoints.map((e) => [`default/${e.metadata?.name ?? ''}`, e]));
  return buildServicePorts(services, (k) => byKey.get(k));
}

function one(service: Service, endpoints?: Endpoints): ServicePortState {
  const [sp] = ports([service], endpoints ? [endpoints] : []);
  if (!sp) throw new Error('no service port');
  return sp;
}

const OPTS: NftRulesOptions = { nodeIPs: ['10.250.0.1'], clusterCIDR: '10.244.0.0/16' };
const T = 'ip tsk-proxy';

test('fixed part: base chains before and at DNAT, kube-proxy maps, hairpin and masquerade rules, node addresses', (t) => {
  const fixed = renderNftFixed(OPTS).split('\n');
  for (const line of [
    `add chain ${T} filter-input { type filter hook input priority -110 ; }`,
    `add chain ${T} nat-prerouting { type nat hook prerouting priority -100 ; }`,
    `add chain ${T} nat-postrouting { type nat hook postrouting priority 100 ; }`,
    `flush map ${T} service-ips`,
    `add element ${T} nodeport-ips { 10.250.0.1 }`,
    `add rule ${T} filter-forward ct state new jump endpoints-check`,
    `add rule ${T} services ip daddr . meta l4proto . th dport vmap @service-ips`,
    `add rule ${T} services ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports`,
    `add rule ${T} masquerading ct status dnat ip saddr . ip daddr @hairpin-endpoints jump mark-for-masquerade`,
    `add rule ${T} masquerading meta mark & 0x4000 == 0 return`,
    `add rule ${T} mark-for-masquerade meta mark set meta mark or 0x4000`,
    `add rule ${T} reject-chain reject`,
    `add map ${T} service-endpoints { typeof ip daddr . meta l4proto . th dport . numgen random mod 1 : ip daddr . th dport ; comment "service IP . protocol . port . index -> endpoint, for pick-N" ; }`,
    `delete map ${T} service-endpoints`,
    `add rule ${T} pick-3 ip saddr != 10.244.0.0/16 jump mark-for-masquerade`,
    `add rule ${T} pick-3 dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 3 map @service-endpoints`,
    `add rule ${T} pick-3 dnat ip to meta l4proto . th dport . numgen random mod 3 map @nodeport-endpoints`,
    `add rule ${T} external-pick-3 jump mark-for-masquerade`,
    `add rule ${T} external-pick-3 goto pick-3`,
    `add chain ${T} pick-${MAX_SHARED_PICK}`,
  ]) {
    t.true(fixed.includes(line), line);
  }
  // Without node IPs: every local address but loopback, and a nodeport-ips set of an earlier run goes.
  const local = renderNftFixed({ nodeIPs: [], masqueradeBit: 15 });
  t.regex(local, /services fib daddr type local ip daddr != 127\.0\.0\.0\/8 meta l4proto \. th dport vmap @service-nodeports/);
  t.regex(local, /delete set ip tsk-proxy nodeport-ips\n/);
  t.regex(local, /meta mark set meta mark or 0x8000/);
  t.throws(() => renderNftFixed({ nodeIPs: [], masqueradeBit: 32 }), { message: 'masquerade bit 32 is not between 0 and 31' });
});

test('cluster IP: no chain of its own, the shared pick-N DNATs to endpoint "numgen random mod N" of service-endpoints; hairpin pairs', (t) => {
  const piece = buildNftPiece(one(svc('web', { ports: [{ port: 80, protocol: 'TCP' }] }), eps('web', ['10.244.1.3', '10.244.1.2', '10.244.2.9'])), OPTS);
  t.is(piece.chains.size, 0);
  t.is(piece.sets.size, 0);
  t.deepEqual(piece.elements, [
    { set: 'hairpin-endpoints', key: '10.244.1.2 . 10.244.1.2' },
    { set: 'hairpin-endpoints', key: '10.244.1.3 . 10.244.1.3' },
    { set: 'hairpin-endpoints', key: '10.244.2.9 . 10.244.2.9' },
    { set: 'service-ips', key: '10.96.0.10 . tcp . 80', value: 'goto pick-3' },
    { set: 'service-endpoints', key: '10.96.0.10 . tcp . 80 . 0', value: '10.244.1.2 . 8080' },
    { set: 'service-endpoints', key: '10.96.0.10 . tcp . 80 . 1', value: '10.244.1.3 . 8080' },
    { set: 'service-endpoints', key: '10.96.0.10 . tcp . 80 . 2', value: '10.244.2.9 . 8080' },
  ]);
});

test("hairpin pairs only for the node's own endpoints and those of no known node: hairpin traffic is DNATed on the client's node", (t) => {
  const endpoints: Endpoints = {
    metadata: { namespace: 'default', name: 'web' },
    subsets: [
      {
        addresses: [
          { ip: '10.244.1.2', nodeName: 'node-1' },
          { ip: '10.244.2.3', nodeName: 'node-2' },
          { ip: '10.244.3.4', nodeName: '' },
          { ip: '10.244.4.5' },
        ],
        ports: [{ port: 8080, protocol: 'TCP' }],
      },
    ],
  };
  const sp = one(svc('web', { ports: [{ port: 80, protocol: 'TCP' }] }), endpoints);
  const hairpin = (options: NftRulesOptions): string[] =>
    buildNftPiece(sp, options)
      .elements.filter((e) => e.set === 'hairpin-endpoints')
      .map((e) => e.key);
  t.deepEqual(hairpin({ ...OPTS, nodeName: 'node-1' }), ['10.244.1.2 . 10.244.1.2', '10.244.3.4 . 10.244.3.4', '10.244.4.5 . 10.244.4.5']);
  t.deepEqual(hairpin({ ...OPTS, nodeName: 'node-9' }), ['10.244.3.4 . 10.244.3.4', '10.244.4.5 . 10.244.4.5']);
  // No node name given to the builder: every endpoint may be local.
  t.is(hairpin(OPTS).length, 4);
  // Every endpoint is still picked, wherever it runs.
  t.is(buildNftPiece(sp, { ...OPTS, nodeName: 'node-1' }).elements.filter((e) => e.set === 'service-endpoints').length, 4);
});

test('more endpoints than the pick chains serve: one chain picking among them as iptables does (1/n, 1/(n-1), ... rest), masquerade from outside the cluster CIDR', (t) => {
  const ips = Array.from({ length: MAX_SHARED_PICK + 1 }, (_, i) => `10.244.1.${10 + i}`);
  const piece = buildNftPiece(one(svc('web', { ports: [{ port: 80, protocol: 'TCP' }] }), eps('web', ips)), OPTS);
  const n = MAX_SHARED_PICK + 1;
  t.deepEqual(
    [...piece.chains],
    [
      [
        'service-PFISGYVC-default/web/tcp/',
        [
          'ip daddr 10.96.0.10 tcp dport 80 ip saddr != 10.244.0.0/16 jump mark-for-masquerade',
          ...ips.map((ip, i) => `meta l4proto tcp${n - i > 1 ? ` numgen random mod ${n - i} == 0` : ''} dnat to ${ip}:8080`),
        ],
      ],
    ],
  );
  t.deepEqual(
    piece.elements.filter((e) => e.set !== 'hairpin-endpoints'),
    [{ set: 'service-ips', key: '10.96.0.10 . tcp . 80', value: 'goto service-PFISGYVC-default/web/tcp/' }],
  );
});

test('NodePort and external IP: external-pick-N marks for masquerade, then pick-N; NodePorts pick from nodeport-endpoints; UDP', (t) => {
  const service = svc('dns', { type: 'NodePort', externalIPs: ['192.0.2.7'], ports: [{ name: 'dns', port: 53, protocol: 'UDP', nodePort: 30053 }] });
  const endpoints: Endpoints = {
    metadata: { namespace: 'default', name: 'dns' },
    subsets: [{ addresses: [{ ip: '10.244.0.5' }], ports: [{ name: 'dns', port: 5353, protocol: 'UDP' }] }],
  };
  const piece = buildNftPiece(one(service, endpoints), { nodeIPs: [] });
  t.is(piece.chains.size, 0);
  t.deepEqual(
    piece.elements.filter((e) => e.set !== 'hairpin-endpoints'),
    [
      { set: 'service-ips', key: '10.96.0.10 . udp . 53', value: 'goto pick-1' },
      { set: 'service-ips', key: '192.0.2.7 . udp . 53', value: 'goto external-pick-1' },
      { set: 'service-endpoints', key: '10.96.0.10 . udp . 53 . 0', value: '10.244.0.5 . 5353' },
      { set: 'service-endpoints', key: '192.0.2.7 . udp . 53 . 0', value: '10.244.0.5 . 5353' },
      { set: 'service-nodeports', key: 'udp . 30053', value: 'goto external-pick-1' },
      { set: 'nodeport-endpoints', key: 'udp . 30053 . 0', value: '10.244.0.5 . 5353' },
    ],
  );
});

test('NodePort and external IP with ClientIP affinity: an external chain marks for masquerade, then the service chain', (t) => {
  const service = svc('dns', {
    type: 'NodePort',
    sessionAffinity: 'ClientIP',
    externalIPs: ['192.0.2.7'],
    ports: [{ name: 'dns', port: 53, protocol: 'UDP', nodePort: 30053 }],
  });
  const endpoints: Endpoints = {
    metadata: { namespace: 'default', name: 'dns' },
    subsets: [{ addresses: [{ ip: '10.244.0.5' }], ports: [{ name: 'dns', port: 5353, protocol: 'UDP' }] }],
  };
  const piece = buildNftPiece(one(service, endpoints), { nodeIPs: [] });
  const [svcChain, ext] = [...piece.chains.keys()];
  t.regex(svcChain ?? '', /^service-[A-Z2-7]{8}-default\/dns\/udp\/dns$/);
  t.deepEqual(piece.chains.get(ext ?? ''), ['jump mark-for-masquerade', `goto ${svcChain}`]);
  t.deepEqual(
    piece.elements.filter((e) => e.set !== 'hairpin-endpoints'),
    [
      { set: 'service-ips', key: '10.96.0.10 . udp . 53', value: `goto ${svcChain}` },
      { set: 'service-ips', key: '192.0.2.7 . udp . 53', value: `goto ${ext}` },
      { set: 'service-nodeports', key: 'udp . 30053', value: `goto ${ext}` },
    ],
  );
});

test('no endpoints: no chain, the cluster IP, external IPs and NodePort go to reject-chain', (t) => {
  const piece = buildNftPiece(
    one(svc('empty', { type: 'NodePort', externalIPs: ['192.0.2.7'], ports: [{ port: 80, protocol: 'TCP', nodePort: 30080 }] })),
    OPTS,
  );
  t.is(piece.chains.size, 0);
  t.deepEqual(piece.elements, [
    { set: 'no-endpoint-services', key: '10.96.0.10 . tcp . 80', value: 'goto reject-chain' },
    { set: 'no-endpoint-services', key: '192.0.2.7 . tcp . 80', value: 'goto reject-chain' },
    { set: 'no-endpoint-nodeports', key: 'tcp . 30080', value: 'goto reject-chain' },
  ]);
});

test('ClientIP affinity: a timeout set per endpoint, checked first and refreshed on every pick', (t) => {
  const service = svc('sticky', {
    sessionAffinity: 'ClientIP',
    sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
    ports: [{ port: 80, protocol: 'TCP' }],
  });
  const piece = buildNftPiece(one(service, eps('sticky', ['10.244.0.2', '10.244.0.3'])), { nodeIPs: [] });
  const sets = [...piece.sets];
  t.is(sets.length, 2);
  const [a, b] = sets.map(([name]) => name);
  t.regex(a ?? '', /^affinity-[A-Z2-7]{8}-default\/sticky\/tcp\/__10\.244\.0\.2\/8080$/);
  t.deepEqual(
    sets.map(([, timeout]) => timeout),
    [60, 60],
  );
  t.deepEqual([...piece.chains.values()][0], [
    `ip saddr @${a} meta l4proto tcp update @${a} { ip saddr } dnat to 10.244.0.2:8080`,
    `ip saddr @${b} meta l4proto tcp update @${b} { ip saddr } dnat to 10.244.0.3:8080`,
    `meta l4proto tcp numgen random mod 2 == 0 update @${a} { ip saddr } dnat to 10.244.0.2:8080`,
    `meta l4proto tcp update @${b} { ip saddr } dnat to 10.244.0.3:8080`,
  ]);
  // A new timeout is a new set (nft cannot change one): the old one goes as stale.
  const longer = buildNftPiece(
    one({ ...service, spec: { ...service.spec, sessionAffinityConfig: { clientIP: { timeoutSeconds: 120 } } } }, eps('sticky', ['10.244.0.2'])),
    { nodeIPs: [] },
  );
  t.not([...longer.sets.keys()][0], a);
});

test('loadBalancerSourceRanges: the load balancer IP goes through a firewall chain dropping other sources', (t) => {
  const service: Service = {
    ...svc('lb', {
      type: 'LoadBalancer',
      loadBalancerSourceRanges: ['10.0.0.0/8', '192.168.0.0/16'],
      ports: [{ port: 443, protocol: 'TCP', nodePort: 30443 }],
    }),
    status: { loadBalancer: { ingress: [{ ip: '203.0.113.5' }] } },
  };
  const piece = buildNftPiece(one(service, eps('lb', ['10.244.0.9'], 8443)), { nodeIPs: [] });
  const fw = [...piece.chains.keys()].find((c) => c.startsWith('firewall-')) ?? '';
  t.deepEqual(piece.chains.get(fw), ['ip saddr != { 10.0.0.0/8, 192.168.0.0/16 } drop']);
  t.deepEqual(
    piece.elements.find((e) => e.set === 'firewall-ips'),
    { set: 'firewall-ips', key: '203.0.113.5 . tcp . 443', value: `goto ${fw}` },
  );
});

test('full sync: table flushed, fixed part, every piece, then the stale per-service chains and sets the listing shows', (t) => {
  const builder = new NftRuleBuilder({ nodeIPs: [] });
  const rules = builder.build(
    ports(
      [
        svc('web', { ports: [{ port: 80, protocol: 'TCP' }] }),
        svc('sticky', { sessionAffinity: 'ClientIP', ports: [{ port: 80, protocol: 'TCP' }] }, '10.96.0.11'),
      ],
      [eps('web', ['10.244.0.2']), eps('sticky', ['10.244.0.3'])],
    ),
  );
  const sticky = [...([...rules.pieces.values()][0]?.sets.keys() ?? [])][0] ?? '';
  const listing = `table ip nat {
	chain POSTROUTING {
		type nat hook postrouting priority srcnat; policy accept;
	}
}
table ip tsk-proxy {
	chain services {
	}
	chain service-PFISGYVC-default/web/tcp/ {
	}
	chain service-AAAAAAAA-default/gone/tcp/ {
	}
	set affinity-BBBBBBBB-default/gone/tcp/__10.0.0.1/80 {
		type ipv4_addr
	}
	map service-ips {
		type ipv4_addr . inet_proto . inet_service : verdict
	}
}
`;
  const existing = parseNftList(listing);
  t.deepEqual([...existing.chains], ['services', 'service-PFISGYVC-default/web/tcp/', 'service-AAAAAAAA-default/gone/tcp/']);
  t.deepEqual([...existing.sets], ['affinity-BBBBBBBB-default/gone/tcp/__10.0.0.1/80', 'service-ips']);
  const input = renderNftFull(rules, builder.fixed(), existing);
  const lines = input.split('\n');
  t.deepEqual(lines.slice(0, 2), [`add table ${T} { comment "rules for the tsk service proxy" ; }`, `flush table ${T}`]);
  t.true(input.includes(builder.fixed()));
  t.deepEqual(lines.slice(-11), [
    `add set ${T} ${sticky} { type ipv4_addr ; flags dynamic,timeout ; timeout 10800s ; }`,
    `add chain ${T} service-EDE2N7RF-default/sticky/tcp/`,
    `add rule ${T} service-EDE2N7RF-default/sticky/tcp/ ip saddr @${sticky} meta l4proto tcp update @${sticky} { ip saddr } dnat to 10.244.0.3:8080`,
    `add rule ${T} service-EDE2N7RF-default/sticky/tcp/ meta l4proto tcp update @${sticky} { ip saddr } dnat to 10.244.0.3:8080`,
    `add element ${T} hairpin-endpoints { 10.244.0.3 . 10.244.0.3, 10.244.0.2 . 10.244.0.2 }`,
    `add element ${T} service-ips { 10.96.0.11 . tcp . 80 : goto service-EDE2N7RF-default/sticky/tcp/, 10.96.0.10 . tcp . 80 : goto pick-1 }`,
    `add element ${T} service-endpoints { 10.96.0.10 . tcp . 80 . 0 : 10.244.0.2 . 8080 }`,
    // The web service has no chain any more: the one the listing shows goes as stale.
    `delete chain ${T} service-AAAAAAAA-default/gone/tcp/`,
    `delete chain ${T} service-PFISGYVC-default/web/tcp/`,
    `delete set ${T} affinity-BBBBBBBB-default/gone/tcp/__10.0.0.1/80`,
    '',
  ]);
  t.is(nftRuleCount(rules, builder.fixed()), 2 + (builder.fixed().match(/^add rule /gm)?.length ?? 0));
});

test('full sync in chunks: made as asked for, joined the same text; elements in lines of ELEMENTS_PER_LINE, counted as they pass', (t) => {
  const n = Math.ceil(ELEMENTS_PER_LINE / 2) + 1;
  const services = Array.from({ length: n }, (_, i) => svc(`s${i}`, { ports: [{ port: 80, protocol: 'TCP' }] }, `10.96.${i >> 8}.${i & 255}`));
  // Two endpoints each, the first shared by every service: one hairpin pair for it, counted n times.
  const endpoints = services.map((_, i) => eps(`s${i}`, ['10.244.0.1', `10.244.1.${(i % 250) + 1}`]));
  const builder = new NftRuleBuilder({ nodeIPs: [] });
  const rules = builder.build(ports(services, endpoints));
  const counts = new ElementCounts();
  const chunks = renderNftFullChunks(rules, builder.fixed(), { chains: new Set(), sets: new Set() }, counts);
  const first = chunks.next();
  t.false(first.done);
  const order = [...rules.pieces.keys()];
  t.not(counts.get('service-ips', `${order[0]?.clusterIP ?? ''} . tcp . 80`), undefined);
  const last = `${order.at(-1)?.clusterIP ?? ''} . tcp . 80`;
  t.is(counts.get('service-ips', last), undefined, 'the last service is not rendered (nor counted) before the next chunk is asked for');
  const text = (first.value ?? '') + [...chunks].join('');
  t.is(text, renderNftFull(rules, builder.fixed(), { chains: new Set(), sets: new Set() }));
  const endpointLines = text.split('\n').filter((l) => l.startsWith(`add element ${T} service-endpoints `));
  t.is(endpointLines.length, 2, 'the 2n endpoint elements in a full line and the rest');
  t.is(endpointLines[0]?.split(' : ').length, ELEMENTS_PER_LINE + 1);
  t.deepEqual([...counts.values()], [...countElements(rules.pieces.values()).values()]);
  t.is(counts.get('hairpin-endpoints', '10.244.0.1 . 10.244.0.1')?.count, n);
});

test('partial sync: one endpoint added changes map elements only (the pick, the new index, its hairpin pair); nothing changed writes nothing', (t) => {
  const builder = new NftRuleBuilder({ nodeIPs: [] });
  const services = [svc('a', { ports: [{ port: 80, protocol: 'TCP' }] }, '10.96.0.1'), svc('b', { ports: [{ port: 80, protocol: 'TCP' }] }, '10.96.0.2')];
  const before = builder.build(ports(services, [eps('a', ['10.244.0.1']), eps('b', ['10.244.0.2'])]));
  const counts = countElements(before.pieces.values());
  const same = builder.build(ports(services, [eps('a', ['10.244.0.1']), eps('b', ['10.244.0.2'])]));
  t.is(renderNftPartial(before, same, countElements(before.pieces.values())), '', 'new but equal objects: nothing to write');
  const after = builder.build(ports(services, [eps('a', ['10.244.0.1']), eps('b', ['10.244.0.2', '10.244.0.3'])]));
  t.is(
    renderNftPartial(before, after, counts),
    [
      `delete element ${T} service-ips { 10.96.0.2 . tcp . 80 }`,
      `add element ${T} service-ips { 10.96.0.2 . tcp . 80 : goto pick-2 }`,
      `add element ${T} hairpin-endpoints { 10.244.0.3 . 10.244.0.3 }`,
      `add element ${T} service-endpoints { 10.96.0.2 . tcp . 80 . 1 : 10.244.0.3 . 8080 }`,
      '',
    ].join('\n'),
  );
  t.is(counts.get('hairpin-endpoints', '10.244.0.3 . 10.244.0.3')?.count, 1);
});

test('partial sync: a deleted service empties its chain before its elements, chain and affinity sets go; a shared endpoint keeps its hairpin pair', (t) => {
  const builder = new NftRuleBuilder({ nodeIPs: [] });
  const a = svc('a', { ports: [{ port: 80, protocol: 'TCP' }] }, '10.96.0.1');
  const sticky = svc('sticky', { sessionAffinity: 'ClientIP', ports: [{ port: 80, protocol: 'TCP' }] }, '10.96.0.2');
  const before = builder.build(ports([a, sticky], [eps('a', ['10.244.0.1']), eps('sticky', ['10.244.0.1', '10.244.0.2'])]));
  const counts = countElements(before.pieces.values());
  const [stickyPiece] = [...before.pieces.values()].slice(1);
  const chain = [...(stickyPiece?.chains.keys() ?? [])][0] ?? '';
  const sets = [...(stickyPiece?.sets.keys() ?? [])];
  const after = builder.build(ports([a], [eps('a', ['10.244.0.1'])]));
  t.is(
    renderNftPartial(before, after, counts),
    [
      `flush chain ${T} ${chain}`,
      `delete element ${T} hairpin-endpoints { 10.244.0.2 . 10.244.0.2 }`,
      `delete element ${T} service-ips { 10.96.0.2 . tcp . 80 }`,
      `delete chain ${T} ${chain}`,
      ...sets.map((s) => `delete set ${T} ${s}`),
      '',
    ].join('\n'),
  );
  t.is(counts.get('hairpin-endpoints', '10.244.0.2 . 10.244.0.2'), undefined);
  t.is(counts.get('hairpin-endpoints', '10.244.0.1 . 10.244.0.1')?.count, 1);
});

test('partial sync: losing the last endpoint moves the cluster IP from service-ips to the reject map', (t) => {
  const builder = new NftRuleBuilder({ nodeIPs: [] });
  const a = svc('a', { ports: [{ port: 80, protocol: 'TCP' }] });
  const before = builder.build(ports([a], [eps('a', ['10.244.0.1'])]));
  const input = renderNftPartial(before, builder.build(ports([a], [eps('a', [])])), countElements(before.pieces.values()));
  t.deepEqual(input.trimEnd().split('\n'), [
    `delete element ${T} hairpin-endpoints { 10.244.0.1 . 10.244.0.1 }`,
    `delete element ${T} service-ips { 10.96.0.10 . tcp . 80 }`,
    `delete element ${T} service-endpoints { 10.96.0.10 . tcp . 80 . 0 }`,
    `add element ${T} no-endpoint-services { 10.96.0.10 . tcp . 80 : goto reject-chain }`,
  ]);
});

test("nft's error names the line of the input", (t) => {
  const stderr = '/dev/stdin:2:30-35: Error: syntax error, unexpected junk\nadd rule ip tsk-proxy x junk\n                             ^^^^^\n';
  t.is(
    describeNftError(stderr, 'add table ip tsk-proxy\nadd rule ip tsk-proxy x junk\n'),
    '/dev/stdin:2:30-35: Error: syntax error, unexpected junk [line 2: add rule ip tsk-proxy x junk]',
  );
  t.is(describeNftError('Error: Could not process rule: No such file or directory\n', ''), 'Error: Could not process rule: No such file or directory');
});
