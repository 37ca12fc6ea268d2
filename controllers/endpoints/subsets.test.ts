import test from 'ava';
import type { EndpointSubset, Pod, Service } from '../../api/gen/tsk/v1/core';
import { computeSubsets, endpointsLabels, HEADLESS_LABEL, repackSubsets, resolveTargetPort, subsetsEqual } from './subsets';

interface PodOpts {
  ip?: string;
  ready?: boolean;
  labels?: Record<string, string>;
  ns?: string;
  ports?: { name: string; containerPort: number; protocol?: string }[];
  deleting?: boolean;
  phase?: string;
  hostname?: string;
  subdomain?: string;
}

function pod(name: string, o: PodOpts = {}): Pod {
  return {
    metadata: {
      name,
      namespace: o.ns ?? 'default',
      uid: `uid-${name}`,
      labels: o.labels ?? { app: 'web' },
      ...(o.deleting ? { deletionTimestamp: '2024-01-01T00:00:00Z' } : {}),
    },
    spec: {
      nodeName: 'n1',
      containers: [{ name: 'c', image: 'x', ports: o.ports ?? [] }],
      ...(o.hostname ? { hostname: o.hostname } : {}),
      ...(o.subdomain ? { subdomain: o.subdomain } : {}),
    },
    status: {
      phase: o.phase ?? 'Running',
      podIP: o.ip ?? '',
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }],
    },
  };
}

type ServicePort = NonNullable<NonNullable<Service['spec']>['ports']>[number];

function service(ports: ServicePort[], extra: Partial<NonNullable<Service['spec']>> = {}): Service {
  return { metadata: { name: 'svc', namespace: 'default', labels: { tier: 'front' } }, spec: { selector: { app: 'web' }, ports, ...extra } };
}

const num = (port: number, target: number, name = ''): ServicePort => ({
  name,
  port,
  protocol: 'TCP',
  targetPort: { type: 0, intVal: target },
});
const named = (port: number, target: string, name = ''): ServicePort => ({
  name,
  port,
  protocol: 'TCP',
  targetPort: { type: 1, strVal: target },
});

/** A compact view: "ports => ready ips / not ready ips" per subset. */
function view(subsets: EndpointSubset[]): string[] {
  return subsets.map(
    (s) =>
      `${(s.ports ?? []).map((p) => `${p.name}:${p.port}`).join(',')} => ${(s.addresses ?? []).map((a) => a.ip).join(',')} / ${(s.notReadyAddresses ?? []).map((a) => a.ip).join(',')}`,
  );
}

const cases: [string, Service, Pod[], string[]][] = [
  [
    'three ready pods, numeric target port',
    service([num(80, 8080)]),
    [pod('a', { ip: '10.0.0.3' }), pod('b', { ip: '10.0.0.1' }), pod('c', { ip: '10.0.0.2' })],
    [':8080 => 10.0.0.1,10.0.0.2,10.0.0.3 / '],
  ],
  [
    'not ready pods go to notReadyAddresses',
    service([num(80, 8080)]),
    [pod('a', { ip: '10.0.0.1' }), pod('b', { ip: '10.0.0.2', ready: false })],
    [':8080 => 10.0.0.1 / 10.0.0.2'],
  ],
  ['pods without an IP are left out', service([num(80, 8080)]), [pod('a', { ip: '10.0.0.1' }), pod('b')], [':8080 => 10.0.0.1 / ']],
  [
    'terminating pods are left out',
    service([num(80, 8080)]),
    [pod('a', { ip: '10.0.0.1' }), pod('b', { ip: '10.0.0.2', deleting: true })],
    [':8080 => 10.0.0.1 / '],
  ],
  [
    'finished pods are left out',
    service([num(80, 8080)]),
    [pod('a', { ip: '10.0.0.1', phase: 'Succeeded' }), pod('b', { ip: '10.0.0.2', phase: 'Failed' })],
    [],
  ],
  [
    'pods not selected are left out',
    service([num(80, 8080)]),
    [pod('a', { ip: '10.0.0.1', labels: { app: 'db' } }), pod('b', { ip: '10.0.0.2', ns: 'other' })],
    [],
  ],
  [
    'a named port resolving to different numbers splits the pods into subsets',
    service([named(80, 'http', 'web')]),
    [
      pod('a', { ip: '10.0.0.1', ports: [{ name: 'http', containerPort: 8080 }] }),
      pod('b', { ip: '10.0.0.2', ports: [{ name: 'http', containerPort: 9090 }] }),
      pod('c', { ip: '10.0.0.3', ports: [{ name: 'http', containerPort: 8080 }] }),
    ],
    ['web:8080 => 10.0.0.1,10.0.0.3 / ', 'web:9090 => 10.0.0.2 / '],
  ],
  [
    'a pod lacking the named port is left out',
    service([named(80, 'http')]),
    [pod('a', { ip: '10.0.0.1', ports: [{ name: 'http', containerPort: 8080 }] }), pod('b', { ip: '10.0.0.2' })],
    [':8080 => 10.0.0.1 / '],
  ],
  [
    'a pod with only one of two named ports sits in its own subset',
    service([named(80, 'http', 'http'), named(443, 'https', 'https')]),
    [
      pod('a', {
        ip: '10.0.0.1',
        ports: [
          { name: 'http', containerPort: 80 },
          { name: 'https', containerPort: 443 },
        ],
      }),
      pod('b', { ip: '10.0.0.2', ports: [{ name: 'http', containerPort: 80 }] }),
    ],
    ['http:80 => 10.0.0.2 / ', 'http:80,https:443 => 10.0.0.1 / '],
  ],
  [
    'a named port of another protocol does not match',
    service([named(53, 'dns')]),
    [pod('a', { ip: '10.0.0.1', ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }] })],
    [],
  ],
  ['a service without a selector gets nothing', service([num(80, 80)], { selector: {} }), [pod('a', { ip: '10.0.0.1' })], []],
  ['a headless service without ports lists its pods', service([], { clusterIP: 'None' }), [pod('a', { ip: '10.0.0.1' })], [' => 10.0.0.1 / ']],
  ['a service without ports that is not headless gets nothing', service([]), [pod('a', { ip: '10.0.0.1' })], []],
];

cases.push(
  [
    'publishNotReadyAddresses lists not-ready and terminating pods as ready',
    service([num(80, 8080)], { publishNotReadyAddresses: true }),
    [pod('a', { ip: '10.0.0.1', ready: false }), pod('b', { ip: '10.0.0.2', deleting: true }), pod('c', { ip: '10.0.0.3', phase: 'Failed' })],
    [':8080 => 10.0.0.1,10.0.0.2 / '],
  ],
  [
    'without publishNotReadyAddresses a terminating pod is left out',
    service([num(80, 8080)]),
    [pod('a', { ip: '10.0.0.1', ready: false }), pod('b', { ip: '10.0.0.2', deleting: true })],
    [':8080 =>  / 10.0.0.1'],
  ],
);

for (const [title, svc, pods, want] of cases) {
  test(`computeSubsets: ${title}`, (t) => {
    t.deepEqual(view(computeSubsets(svc, pods)), want);
  });
}

test('addresses carry ip, nodeName and a targetRef to the pod', (t) => {
  const [subset] = computeSubsets(service([num(80, 80)]), [pod('a', { ip: '10.0.0.1' })]);
  t.deepEqual(subset?.addresses, [{ ip: '10.0.0.1', nodeName: 'n1', targetRef: { kind: 'Pod', namespace: 'default', name: 'a', uid: 'uid-a' } }]);
  t.deepEqual(subset?.ports, [{ name: '', port: 80, protocol: 'TCP' }]);
});

test('a pod of a headless service with a matching subdomain gets its hostname', (t) => {
  const svc = service([num(80, 80)], { clusterIP: 'None' });
  const [subset] = computeSubsets(svc, [
    pod('a', { ip: '10.0.0.1', hostname: 'a0', subdomain: 'svc' }),
    pod('b', { ip: '10.0.0.2', hostname: 'b0', subdomain: 'other' }),
  ]);
  t.deepEqual(
    subset?.addresses?.map((a) => a.hostname),
    ['a0', undefined],
  );
});

test('resolveTargetPort: an unset target port means the service port', (t) => {
  t.is(resolveTargetPort(pod('a'), { port: 80 }), 80);
  t.is(resolveTargetPort(pod('a'), { port: 80, targetPort: { type: 0, intVal: 0 } }), 80);
});

test('subsetsEqual ignores order and unset-versus-empty fields', (t) => {
  const a = computeSubsets(service([num(80, 8080)]), [pod('a', { ip: '10.0.0.1' }), pod('b', { ip: '10.0.0.2', ready: false })]);
  const fromProto: EndpointSubset[] = [
    {
      addresses: [
        {
          ip: '10.0.0.1',
          hostname: '',
          nodeName: 'n1',
          targetRef: { kind: 'Pod', namespace: 'default', name: 'a', uid: 'uid-a', apiVersion: '', resourceVersion: '', fieldPath: '' },
        },
      ],
      notReadyAddresses: [{ ip: '10.0.0.2', hostname: '', nodeName: 'n1', targetRef: { kind: 'Pod', namespace: 'default', name: 'b', uid: 'uid-b' } }],
      ports: [{ name: '', port: 8080, protocol: 'TCP', appProtocol: '' }],
    },
  ];
  t.true(subsetsEqual(a, fromProto));
  t.true(subsetsEqual([], undefined));
  const moved = structuredClone(fromProto);
  moved[0]!.addresses = [];
  t.false(subsetsEqual(a, moved));
});

test('repackSubsets merges addresses with the same ports and keeps a duplicate as ready', (t) => {
  const addr = (ip: string) => ({ ip });
  const port = { name: 'p', port: 1, protocol: 'TCP' };
  const out = repackSubsets([
    { addresses: [addr('2')], ports: [port] },
    { addresses: [addr('1')], notReadyAddresses: [addr('2')], ports: [port] },
  ]);
  t.deepEqual(view(out), ['p:1 => 1,2 / ']);
});

test('endpointsLabels copies the service labels and marks headless services', (t) => {
  t.deepEqual(endpointsLabels(service([])), { tier: 'front' });
  t.deepEqual(endpointsLabels(service([], { clusterIP: 'None' })), { tier: 'front', [HEADLESS_LABEL]: '' });
});
