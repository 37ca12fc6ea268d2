import test from 'ava';
import type { Endpoints, Node, Service } from '../../api/gen/tsk/v1/core';
import { SERVICELB_CLASS, desiredIngress, ingressEqual, nodeIngressState, ownsService } from './ingress';

const node = (name: string, ready: string, addresses: [string, string][]): Node => ({
  metadata: { name },
  status: {
    conditions: [{ type: 'Ready', status: ready, lastHeartbeatTime: '2024-01-01T00:00:00Z' }],
    addresses: addresses.map(([type, address]) => ({ type, address })),
  },
});

const lb = (extra: Partial<NonNullable<Service['spec']>> = {}): Service => ({
  metadata: { name: 'web', namespace: 'default' },
  spec: { type: 'LoadBalancer', ports: [{ port: 80 }], ...extra },
});

const ips = (svc: Service, nodes: Node[], ep?: Endpoints): string[] => desiredIngress(svc, nodes, ep).map((i) => `${i.ip}/${i.ipMode}`);

const n1 = node('n1', 'True', [
  ['InternalIP', '172.30.0.12'],
  ['Hostname', 'n1'],
]);
const n2 = node('n2', 'True', [['InternalIP', '172.30.0.2']]);
const n3 = node('n3', 'False', [['InternalIP', '172.30.0.3']]);
const n4 = node('n4', 'Unknown', [['InternalIP', '172.30.0.4']]);

const cases: [string, Service, Node[], Endpoints | undefined, string[]][] = [
  ['ready nodes only, numerically sorted, ipMode VIP', lb(), [n1, n2, n3, n4], undefined, ['172.30.0.2/VIP', '172.30.0.12/VIP']],
  ['no ready node: no ingress', lb(), [n3, n4], undefined, []],
  ['no nodes at all', lb(), [], undefined, []],
  [
    'ExternalIPs win when a ready node has one (k3s)',
    lb(),
    [
      n1,
      node('n5', 'True', [
        ['InternalIP', '172.30.0.5'],
        ['ExternalIP', '203.0.113.5'],
      ]),
    ],
    undefined,
    ['203.0.113.5/VIP'],
  ],
  [
    'an ExternalIP of a node that is not ready does not count',
    lb(),
    [
      n1,
      node('n5', 'False', [
        ['InternalIP', '172.30.0.5'],
        ['ExternalIP', '203.0.113.5'],
      ]),
    ],
    undefined,
    ['172.30.0.12/VIP'],
  ],
  ['ipFamilies filter the addresses', lb({ ipFamilies: ['IPv6'] }), [n1, n2], undefined, []],
  [
    'externalTrafficPolicy Local: only nodes running a ready endpoint',
    lb({ externalTrafficPolicy: 'Local' }),
    [n1, n2],
    { subsets: [{ addresses: [{ ip: '10.244.1.5', nodeName: 'n1' }], notReadyAddresses: [{ ip: '10.244.2.5', nodeName: 'n2' }] }] },
    ['172.30.0.12/VIP'],
  ],
  ['externalTrafficPolicy Local without endpoints: none', lb({ externalTrafficPolicy: 'Local' }), [n1, n2], undefined, []],
];

for (const [name, svc, nodes, ep, want] of cases) {
  test(`desiredIngress: ${name}`, (t) => {
    t.deepEqual(ips(svc, nodes, ep), want);
  });
}

test('ServiceLB owns LoadBalancers of no class or its own class, nothing else', (t) => {
  t.true(ownsService(lb()));
  t.true(ownsService(lb({ loadBalancerClass: SERVICELB_CLASS })));
  t.false(ownsService(lb({ loadBalancerClass: 'example.com/metallb' })));
  t.false(ownsService({ spec: { type: 'NodePort' } }));
  t.false(ownsService({ spec: { type: 'ClusterIP' } }));
});

test('ingressEqual: order and content matter, unset equals empty', (t) => {
  t.true(ingressEqual(undefined, []));
  t.true(ingressEqual([{ ip: '10.0.0.1', ipMode: 'VIP' }], [{ ip: '10.0.0.1', ipMode: 'VIP', hostname: '' }]));
  t.false(ingressEqual([{ ip: '10.0.0.1' }], [{ ip: '10.0.0.1', ipMode: 'VIP' }]));
  t.false(ingressEqual([{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }], [{ ip: '10.0.0.2' }, { ip: '10.0.0.1' }]));
});

test('a heartbeat does not change a node ingress state; readiness and addresses do', (t) => {
  const beat = structuredClone(n1);
  beat.status!.conditions![0]!.lastHeartbeatTime = '2024-01-01T00:00:10Z';
  t.is(nodeIngressState(beat), nodeIngressState(n1));
  const down = structuredClone(n1);
  down.status!.conditions![0]!.status = 'Unknown';
  t.not(nodeIngressState(down), nodeIngressState(n1));
  const moved = structuredClone(n1);
  moved.status!.addresses![0]!.address = '172.30.0.99';
  t.not(nodeIngressState(moved), nodeIngressState(n1));
});
