// Update rules: immutable metadata, the immutable pod spec, a service's
// cluster IP, a node's pod CIDR, a namespace's phase.

import test from 'ava';
import type { Pod } from '../../api/gen/tsk/v1/core';
import type { ApiObject, KindName } from '../../api/kinds';
import { assertCauses, type Expected, valid } from './fixtures';
import { validateUpdate } from './index';
import { UPDATABLE_POD_SPEC_FIELDS } from './pod';

/** A stored object: with the fields the server set on create. */
function stored<K extends KindName>(kind: K): ReturnType<typeof valid<K>> {
  const obj = valid(kind);
  Object.assign((obj as ApiObject).metadata!, { uid: 'uid-1', creationTimestamp: '2024-01-01T00:00:00Z', resourceVersion: '5', generation: 1 });
  return obj;
}

for (const kind of ['Pod', 'ReplicationController', 'Service', 'Endpoints', 'Node', 'Namespace', 'Event'] as const) {
  test(`an unchanged ${kind} may be updated`, (t) => {
    assertCauses(t, validateUpdate(kind, stored(kind), stored(kind)), [], kind);
  });

  test(`${kind}: name, namespace, uid and creationTimestamp are immutable`, (t) => {
    const next = stored(kind) as ApiObject;
    Object.assign(next.metadata!, { name: 'other', uid: 'uid-2', creationTimestamp: '2025-01-01T00:00:00Z' });
    const expected: Expected[] = [
      ['metadata.name', 'FieldValueInvalid', 'Invalid value: "other": field is immutable'],
      ['metadata.uid', 'FieldValueInvalid', 'Invalid value: "uid-2": field is immutable'],
      ['metadata.creationTimestamp', 'FieldValueInvalid', 'field is immutable'],
    ];
    if (kind !== 'Node' && kind !== 'Namespace') {
      next.metadata!.namespace = 'other';
      expected.push(['metadata.namespace', 'FieldValueInvalid', 'Invalid value: "other": field is immutable']);
    }
    if (kind === 'Event') expected.push(['involvedObject.namespace', 'FieldValueInvalid', 'does not match event.namespace']);
    assertCauses(t, validateUpdate(kind, next as never, stored(kind) as never), expected, kind);
  });
}

test('an update without uid and creationTimestamp keeps them (the server copies them)', (t) => {
  const next = stored('Pod');
  delete next.metadata!.uid;
  next.metadata!.creationTimestamp = '';
  assertCauses(t, validateUpdate('Pod', next, stored('Pod')), []);
});

test('labels, annotations and the image of a pod may change', (t) => {
  const next = stored('Pod');
  next.metadata!.labels = { app: 'web', version: 'v2' };
  next.metadata!.annotations = { note: 'x' };
  next.spec!.containers![0]!.image = 'nginx:1.26';
  next.spec!.initContainers![0]!.image = 'busybox:1.37';
  assertCauses(t, validateUpdate('Pod', next, stored('Pod')), []);
});

// [name, mutation of the stored pod, expected]
const POD: Array<[string, (p: Pod) => void, Expected[]]> = [
  ['add a toleration', (p) => p.spec!.tolerations!.push({ key: 'gpu', operator: 'Exists', effect: 'NoSchedule' }), []],
  ['change tolerationSeconds only', (p) => p.spec!.tolerations!.push({ key: 'x', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 5 }), []],
  [
    'remove a toleration',
    (p) => (p.spec!.tolerations = []),
    [['spec.tolerations', 'FieldValueForbidden', 'existing toleration can not be modified except its tolerationSeconds']],
  ],
  ['set activeDeadlineSeconds', (p) => (p.spec!.activeDeadlineSeconds = 60), []],
  [
    'change the restart policy',
    (p) => (p.spec!.restartPolicy = 'Never'),
    [['spec', 'FieldValueForbidden', 'pod updates may not change fields other than `spec.containers[*].image`']],
  ],
  ['set nodeName through an update', (p) => (p.spec!.nodeName = 'node-1'), [['spec', 'FieldValueForbidden', 'changed: spec.nodeName']]],
  [
    'change a container port',
    (p) => (p.spec!.containers![0]!.ports![0]!.containerPort = 8080),
    [['spec', 'FieldValueForbidden', 'changed: spec.containers[0].ports[0].containerPort']],
  ],
  [
    'add a container',
    (p) => p.spec!.containers!.push({ name: 'third', image: 'x:1', imagePullPolicy: 'IfNotPresent', terminationMessagePath: '/dev/termination-log' }),
    [['spec', 'FieldValueForbidden', 'changed: spec.containers']],
  ],
  ['an invalid new image', (p) => (p.spec!.containers![0]!.image = ''), [['spec.containers[0].image', 'FieldValueRequired', 'Required value']]],
];

for (const [name, mutate, expected] of POD) {
  test(`pod update: ${name}`, (t) => {
    const next = stored('Pod');
    mutate(next);
    assertCauses(t, validateUpdate('Pod', next, stored('Pod')), expected, name);
  });
}

test('the forbidden pod update message lists what may change', (t) => {
  const next = stored('Pod');
  next.spec!.dnsPolicy = 'Default';
  const [cause] = validateUpdate('Pod', next, stored('Pod'));
  t.is(cause?.message, `Forbidden: pod updates may not change fields other than ${UPDATABLE_POD_SPEC_FIELDS.join(',')}\nchanged: spec.dnsPolicy`);
  t.true(cause!.message.includes('`spec.tolerations` (only additions to existing tolerations)'));
});

test('a bound pod keeps its node; a status update on a bound pod is valid', (t) => {
  const old = stored('Pod');
  old.spec!.nodeName = 'node-1';
  const moved = structuredClone(old);
  moved.spec!.nodeName = 'node-2';
  assertCauses(t, validateUpdate('Pod', moved, old), [['spec', 'FieldValueForbidden', 'changed: spec.nodeName']]);
  const unbound = structuredClone(old);
  unbound.spec!.nodeName = '';
  assertCauses(t, validateUpdate('Pod', unbound, old), [['spec', 'FieldValueForbidden', 'changed: spec.nodeName']]);
  const status = structuredClone(old);
  status.status = { phase: 'Running', podIP: '10.244.1.7', conditions: [{ type: 'Ready', status: 'True' }] };
  assertCauses(t, validateUpdate('Pod', status, old), []);
});

test('pod spec equality ignores unset versus zero values', (t) => {
  const old = stored('Pod');
  const next = structuredClone(old);
  Object.assign(next.spec!, { nodeName: '', hostNetwork: false, hostname: '', priority: undefined });
  next.spec!.containers![1]!.ports = [];
  next.spec!.containers![1]!.env = [];
  assertCauses(t, validateUpdate('Pod', next, old), []);
});

test('activeDeadlineSeconds may only shrink and not be removed', (t) => {
  const old = stored('Pod');
  old.spec!.activeDeadlineSeconds = 60;
  const longer = structuredClone(old);
  longer.spec!.activeDeadlineSeconds = 120;
  assertCauses(t, validateUpdate('Pod', longer, old), [['spec.activeDeadlineSeconds', 'FieldValueInvalid', 'must be less than or equal to previous value']]);
  const shorter = structuredClone(old);
  shorter.spec!.activeDeadlineSeconds = 30;
  assertCauses(t, validateUpdate('Pod', shorter, old), []);
  const removed = structuredClone(old);
  delete removed.spec!.activeDeadlineSeconds;
  assertCauses(t, validateUpdate('Pod', removed, old), [
    ['spec.activeDeadlineSeconds', 'FieldValueInvalid', 'must not update from a positive integer to nil value'],
  ]);
});

test('a deleted object may lose finalizers but not gain them, and keeps its deletionTimestamp', (t) => {
  const old = stored('Pod');
  old.metadata!.deletionTimestamp = '2024-01-02T00:00:00Z';
  old.metadata!.finalizers = ['example.com/a'];
  const next = structuredClone(old);
  next.metadata!.finalizers = ['example.com/b'];
  assertCauses(t, validateUpdate('Pod', next, old), [
    ['metadata.finalizers', 'FieldValueForbidden', 'no new finalizers can be added if the object is being deleted'],
  ]);
  const cleared = structuredClone(old);
  cleared.metadata!.finalizers = [];
  assertCauses(t, validateUpdate('Pod', cleared, old), []);
  const undeleted = structuredClone(old);
  delete undeleted.metadata!.deletionTimestamp;
  assertCauses(t, validateUpdate('Pod', undeleted, old), [['metadata.deletionTimestamp', 'FieldValueInvalid', 'field is immutable']]);
});

test('an RC may be scaled and get a new template, but stays valid', (t) => {
  const old = stored('ReplicationController');
  const next = structuredClone(old);
  next.spec!.replicas = 10;
  next.spec!.template!.spec!.containers![0]!.image = 'nginx:1.26';
  assertCauses(t, validateUpdate('ReplicationController', next, old), []);
  next.spec!.replicas = -2;
  assertCauses(t, validateUpdate('ReplicationController', next, old), [['spec.replicas', 'FieldValueInvalid', 'must be greater than or equal to 0']]);
});

test('a service cluster IP is immutable once set', (t) => {
  const old = stored('Service');
  old.spec!.clusterIP = '10.96.0.10';
  old.spec!.clusterIPs = ['10.96.0.10'];
  const next = structuredClone(old);
  next.spec!.clusterIP = '10.96.0.11';
  next.spec!.clusterIPs = ['10.96.0.11'];
  assertCauses(t, validateUpdate('Service', next, old), [
    ['spec.clusterIP', 'FieldValueInvalid', 'Invalid value: "10.96.0.11": field is immutable'],
    ['spec.clusterIPs[0]', 'FieldValueInvalid', 'may not change once set'],
  ]);
  const same = structuredClone(old);
  same.spec!.ports![0]!.port = 8080;
  same.spec!.type = 'NodePort';
  same.spec!.externalTrafficPolicy = 'Cluster';
  assertCauses(t, validateUpdate('Service', same, old), []);
  const unset = stored('Service');
  const setNow = structuredClone(unset);
  setNow.spec!.clusterIP = '10.96.0.12';
  assertCauses(t, validateUpdate('Service', setNow, unset), []);
});

test('a service may drop its cluster IP only by becoming ExternalName, and keep its loadBalancerClass', (t) => {
  const old = stored('Service');
  Object.assign(old.spec!, { clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'] });
  const ext = structuredClone(old);
  Object.assign(ext.spec!, { type: 'ExternalName', externalName: 'db.example.com', clusterIP: '', clusterIPs: [] });
  assertCauses(t, validateUpdate('Service', ext, old), []);
  const back = structuredClone(old);
  back.spec!.clusterIP = '10.96.0.11';
  back.spec!.clusterIPs = ['10.96.0.11'];
  assertCauses(t, validateUpdate('Service', back, ext), []);
  const lb = structuredClone(old);
  Object.assign(lb.spec!, { type: 'LoadBalancer', allocateLoadBalancerNodePorts: true, loadBalancerClass: 'example.com/a' });
  const other = structuredClone(lb);
  other.spec!.loadBalancerClass = 'example.com/b';
  assertCauses(t, validateUpdate('Service', other, lb), [['spec.loadBalancerClass', 'FieldValueInvalid', 'may not change once set']]);
});

test('a service status lists load balancer ingress IPs only for a LoadBalancer', (t) => {
  const old = stored('Service');
  Object.assign(old.spec!, { type: 'LoadBalancer', allocateLoadBalancerNodePorts: true });
  const next = structuredClone(old);
  next.status = { loadBalancer: { ingress: [{ ip: '172.30.0.2', ipMode: 'VIP' }, { hostname: 'lb.example.com' }] } };
  assertCauses(t, validateUpdate('Service', next, old), []);
  next.status = { loadBalancer: { ingress: [{ ip: 'nope' }, { ip: '172.30.0.3', ipMode: 'Tunnel' }, { hostname: '10.0.0.1' }] } };
  assertCauses(t, validateUpdate('Service', next, old), [
    ['status.loadBalancer.ingress[0].ip', 'FieldValueInvalid', 'must be a valid IP address'],
    ['status.loadBalancer.ingress[1].ipMode', 'FieldValueNotSupported', 'supported values: "VIP", "Proxy"'],
    ['status.loadBalancer.ingress[2].hostname', 'FieldValueInvalid', 'must be a DNS name, not an IP address'],
  ]);
  const plain = stored('Service');
  const withIngress = structuredClone(plain);
  withIngress.status = { loadBalancer: { ingress: [{ ip: '172.30.0.2' }] } };
  assertCauses(t, validateUpdate('Service', withIngress, plain), [
    ['status.loadBalancer.ingress', 'FieldValueForbidden', "may only be used when `spec.type` is 'LoadBalancer'"],
  ]);
});

test('a node pod CIDR may be set once, never changed', (t) => {
  const fresh = stored('Node');
  delete fresh.spec!.podCIDR;
  const assigned = structuredClone(fresh);
  assigned.spec!.podCIDR = '10.244.2.0/24';
  assertCauses(t, validateUpdate('Node', assigned, fresh), []);
  const changed = structuredClone(assigned);
  changed.spec!.podCIDR = '10.244.3.0/24';
  assertCauses(t, validateUpdate('Node', changed, assigned), [
    ['spec.podCIDRs', 'FieldValueForbidden', 'node updates may not change podCIDR except from "" to valid'],
  ]);
  const cordoned = structuredClone(assigned);
  cordoned.spec!.unschedulable = true;
  cordoned.spec!.taints = [];
  assertCauses(t, validateUpdate('Node', cordoned, assigned), []);
});

test('a namespace is Active until deleted, then Terminating', (t) => {
  const old = stored('Namespace');
  const term = structuredClone(old);
  term.status = { phase: 'Terminating' };
  assertCauses(t, validateUpdate('Namespace', term, old), [['status.phase', 'FieldValueInvalid', "may only be 'Active' if `deletionTimestamp` is empty"]]);
  const deleted = structuredClone(old);
  deleted.metadata!.deletionTimestamp = '2024-01-02T00:00:00Z';
  old.metadata!.deletionTimestamp = '2024-01-02T00:00:00Z';
  assertCauses(t, validateUpdate('Namespace', deleted, old), [
    ['status.phase', 'FieldValueInvalid', "may only be 'Terminating' if `deletionTimestamp` is not empty"],
  ]);
  deleted.status = { phase: 'Terminating' };
  assertCauses(t, validateUpdate('Namespace', deleted, old), []);
});

test('an event count and timestamps may be updated', (t) => {
  const old = stored('Event');
  const next = structuredClone(old);
  next.count = 7;
  next.lastTimestamp = '2024-01-01T00:05:00Z';
  assertCauses(t, validateUpdate('Event', next, old), []);
});
