// Validation of ReplicationController, Service, Endpoints, Node, Namespace,
// Event, and the metadata every kind shares.

import test from 'ava';
import type { Endpoints, Event, Namespace, Node, ReplicationController, Service } from '../../api/gen/tsk/v1/core';
import type { ApiObject, KindName } from '../../api/kinds';
import { assertCauses, type Expected, valid } from './fixtures';
import { validate } from './index';

const KINDS: KindName[] = ['Pod', 'ReplicationController', 'Service', 'Endpoints', 'Node', 'Namespace', 'Event'];

for (const kind of KINDS) {
  test(`the fixture ${kind} is valid`, (t) => {
    assertCauses(t, validate(kind, valid(kind)), [], kind);
  });
}

// ---------------------------------------------------------------- metadata

const SUBDOMAIN_MSG = 'a lowercase RFC 1123 subdomain must consist of';
const LABEL_MSG = 'a lowercase RFC 1123 label must consist of';
const DNS1035_MSG = 'a DNS-1035 label must consist of';

// [kind, name, valid?, message when invalid]
const NAMES: Array<[KindName, string, boolean, string]> = [
  ['Pod', 'web.v1-a', true, ''],
  ['Pod', 'Web', false, SUBDOMAIN_MSG],
  ['Pod', 'a'.repeat(254), false, 'must be no more than 253 characters'],
  ['ReplicationController', 'web.v1', true, ''],
  ['Endpoints', 'web.v1', true, ''],
  ['Node', 'node-1.example.com', true, ''],
  ['Node', 'node_1', false, SUBDOMAIN_MSG],
  ['Event', 'web-1.17a2b3c4d5e6f', true, ''],
  ['Service', 'web-1', true, ''],
  ['Service', '1web', false, DNS1035_MSG],
  ['Service', 'web.v1', false, DNS1035_MSG],
  ['Namespace', 'team-a', true, ''],
  ['Namespace', 'team.a', false, LABEL_MSG],
  ['Namespace', 'a'.repeat(64), false, 'must be no more than 63 characters'],
];

for (const [kind, name, ok, message] of NAMES) {
  test(`${kind} name ${JSON.stringify(name.length > 20 ? `${name.slice(0, 8)}…(${name.length})` : name)} is ${ok ? 'valid' : 'invalid'}`, (t) => {
    const obj = valid(kind) as ApiObject;
    obj.metadata!.name = name;
    if (kind === 'Namespace') obj.metadata!.labels = {};
    assertCauses(t, validate(kind, obj as never), ok ? [] : [['metadata.name', 'FieldValueInvalid', message]]);
  });
}

// [name, mutation of a valid pod's metadata, expected]
const META: Array<[string, (o: ApiObject) => void, Expected[]]> = [
  ['no name', (o) => (o.metadata!.name = ''), [['metadata.name', 'FieldValueRequired', 'Required value: name or generateName is required']]],
  ['generateName with trailing dash', (o) => (o.metadata!.generateName = 'web-'), []],
  ['generateName invalid', (o) => (o.metadata!.generateName = 'Web-'), [['metadata.generateName', 'FieldValueInvalid', SUBDOMAIN_MSG]]],
  ['namespace invalid', (o) => (o.metadata!.namespace = 'Prod'), [['metadata.namespace', 'FieldValueInvalid', LABEL_MSG]]],
  [
    'label key and value invalid',
    (o) => (o.metadata!.labels = { 'app/x/y': 'ok', ok: '-bad' }),
    [
      ['metadata.labels', 'FieldValueInvalid', 'Invalid value: "app/x/y": a qualified name must consist of'],
      ['metadata.labels', 'FieldValueInvalid', 'Invalid value: "-bad": a valid label must be an empty string'],
    ],
  ],
  [
    'label value too long',
    (o) => (o.metadata!.labels = { a: 'x'.repeat(64) }),
    [['metadata.labels', 'FieldValueInvalid', 'must be no more than 63 characters']],
  ],
  [
    'annotation key invalid',
    (o) => (o.metadata!.annotations = { 'a b': 'x' }),
    [['metadata.annotations', 'FieldValueInvalid', 'Invalid value: "a b": name part must consist of']],
  ],
  ['annotation key uppercase is fine', (o) => (o.metadata!.annotations = { 'Example.COM/Note': 'x' }), []],
  [
    'annotations too large',
    (o) => (o.metadata!.annotations = { a: 'x'.repeat(256 * 1024) }),
    [['metadata.annotations', 'FieldValueTooLong', 'Too long: must have at most 262144 bytes']],
  ],
  ['annotations just under the limit', (o) => (o.metadata!.annotations = { a: 'x'.repeat(256 * 1024 - 1) }), []],
  [
    'owner reference incomplete',
    (o) => (o.metadata!.ownerReferences = [{ kind: 'ReplicationController' }]),
    [
      ['metadata.ownerReferences.apiVersion', 'FieldValueInvalid', 'version must not be empty'],
      ['metadata.ownerReferences.name', 'FieldValueInvalid', 'name must not be empty'],
      ['metadata.ownerReferences.uid', 'FieldValueInvalid', 'uid must not be empty'],
    ],
  ],
  [
    'two controllers',
    (o) =>
      (o.metadata!.ownerReferences = [
        { apiVersion: 'v1', kind: 'ReplicationController', name: 'a', uid: '1', controller: true },
        { apiVersion: 'v1', kind: 'ReplicationController', name: 'b', uid: '2', controller: true },
      ]),
    [
      [
        'metadata.ownerReferences',
        'FieldValueInvalid',
        'Only one reference can have Controller set to true. Found "true" in references for ReplicationController/a and ReplicationController/b',
      ],
    ],
  ],
  ['finalizer invalid', (o) => (o.metadata!.finalizers = ['bad finalizer']), [['metadata.finalizers', 'FieldValueInvalid', 'name part must consist of']]],
];

for (const [name, mutate, expected] of META) {
  test(`metadata: ${name}`, (t) => {
    const pod = valid('Pod');
    mutate(pod);
    assertCauses(t, validate('Pod', pod), expected, name);
  });
}

test('cluster-scoped kinds refuse a namespace', (t) => {
  const node = valid('Node');
  node.metadata!.namespace = 'default';
  assertCauses(t, validate('Node', node), [['metadata.namespace', 'FieldValueForbidden', 'Forbidden: not allowed on this type']]);
});

// ---------------------------------------------------------------- ReplicationController

const RC: Array<[string, (rc: ReplicationController) => void, Expected[]]> = [
  ['negative replicas', (rc) => (rc.spec!.replicas = -1), [['spec.replicas', 'FieldValueInvalid', 'Invalid value: -1: must be greater than or equal to 0']]],
  ['zero replicas', (rc) => (rc.spec!.replicas = 0), []],
  ['empty selector', (rc) => (rc.spec!.selector = {}), [['spec.selector', 'FieldValueRequired', 'Required value']]],
  [
    'selector not matching the template',
    (rc) => (rc.spec!.selector = { app: 'db' }),
    [['spec.template.metadata.labels', 'FieldValueInvalid', 'Invalid value: {"app":"web","tier":"fe"}: selector does not match template labels']],
  ],
  ['template missing', (rc) => delete rc.spec!.template, [['spec.template', 'FieldValueRequired', 'Required value']]],
  [
    'template restart policy Never',
    (rc) => (rc.spec!.template!.spec!.restartPolicy = 'Never'),
    [['spec.template.spec.restartPolicy', 'FieldValueNotSupported', 'Unsupported value: "Never": supported values: "Always"']],
  ],
  [
    'template pod spec errors carry the template path',
    (rc) => (rc.spec!.template!.spec!.containers![0]!.ports![0]!.containerPort = 99999),
    [['spec.template.spec.containers[0].ports[0].containerPort', 'FieldValueInvalid', 'must be between 1 and 65535, inclusive']],
  ],
  [
    'template labels invalid',
    (rc) => {
      rc.spec!.template!.metadata!.labels!['bad key'] = 'x';
    },
    [['spec.template.labels', 'FieldValueInvalid', 'Invalid value: "bad key"']],
  ],
  [
    'activeDeadlineSeconds in the template',
    (rc) => (rc.spec!.template!.spec!.activeDeadlineSeconds = 10),
    [['spec.template.spec.activeDeadlineSeconds', 'FieldValueInvalid', 'activeDeadlineSeconds in ReplicationController is not Supported']],
  ],
  [
    'status counts beyond replicas',
    (rc) => (rc.status = { replicas: 1, readyReplicas: 2, availableReplicas: 2 }),
    [
      ['status.readyReplicas', 'FieldValueInvalid', 'cannot be greater than status.replicas'],
      ['status.availableReplicas', 'FieldValueInvalid', 'cannot be greater than status.replicas'],
    ],
  ],
];

for (const [name, mutate, expected] of RC) {
  test(`rc: ${name}`, (t) => {
    const rc = valid('ReplicationController');
    mutate(rc);
    assertCauses(t, validate('ReplicationController', rc), expected, name);
  });
}

// ---------------------------------------------------------------- Service

const SVC: Array<[string, (s: Service) => void, Expected[]]> = [
  ['no ports', (s) => (s.spec!.ports = []), [['spec.ports', 'FieldValueRequired', 'Required value']]],
  ['headless without ports', (s) => Object.assign(s.spec!, { ports: [], clusterIP: 'None' }), []],
  [
    'type LoadBalancer unsupported',
    (s) => (s.spec!.type = 'LoadBalancer'),
    [['spec.type', 'FieldValueNotSupported', 'Unsupported value: "LoadBalancer": supported values: "ClusterIP", "NodePort", "ExternalName"']],
  ],
  [
    'ExternalName: a DNS alias, no ports needed',
    (s) => Object.assign(s.spec!, { type: 'ExternalName', externalName: 'db.example.com.', ports: [], clusterIP: '' }),
    [],
  ],
  [
    'ExternalName: the name is required, a cluster IP forbidden',
    (s) => Object.assign(s.spec!, { type: 'ExternalName', clusterIP: '10.96.0.5' }),
    [
      ['spec.externalName', 'FieldValueRequired', 'Required value'],
      ['spec.clusterIPs', 'FieldValueForbidden', 'may not be set for ExternalName services'],
    ],
  ],
  [
    'ExternalName: not a DNS name',
    (s) => Object.assign(s.spec!, { type: 'ExternalName', externalName: 'Not A Name' }),
    [['spec.externalName', 'FieldValueInvalid', 'Invalid value: "Not A Name": a lowercase RFC 1123 subdomain']],
  ],
  ['port 0', (s) => (s.spec!.ports![0]!.port = 0), [['spec.ports[0].port', 'FieldValueInvalid', 'Invalid value: 0: must be between 1 and 65535, inclusive']]],
  ['duplicate port names', (s) => (s.spec!.ports![1]!.name = 'http'), [['spec.ports[1].name', 'FieldValueDuplicate', 'Duplicate value: "http"']]],
  ['port names required with several ports', (s) => (s.spec!.ports![1]!.name = ''), [['spec.ports[1].name', 'FieldValueRequired', 'Required value']]],
  ['single port needs no name', (s) => (s.spec!.ports = [{ port: 80, protocol: 'TCP', targetPort: { type: 0, intVal: 8080 } }]), []],
  ['port name invalid', (s) => (s.spec!.ports![0]!.name = 'HTTP'), [['spec.ports[0].name', 'FieldValueInvalid', LABEL_MSG]]],
  [
    'duplicate port and protocol',
    (s) => (s.spec!.ports![1]!.port = 80),
    [['spec.ports[1]', 'FieldValueDuplicate', 'Duplicate value: {"port":80,"protocol":"TCP"}']],
  ],
  ['same port, other protocol', (s) => Object.assign(s.spec!.ports![1]!, { port: 80, protocol: 'UDP' }), []],
  [
    'targetPort out of range',
    (s) => (s.spec!.ports![1]!.targetPort = { type: 0, intVal: 65536 }),
    [['spec.ports[1].targetPort', 'FieldValueInvalid', 'Invalid value: 65536: must be between 1 and 65535, inclusive']],
  ],
  [
    'targetPort name invalid',
    (s) => (s.spec!.ports![0]!.targetPort = { type: 1, strVal: '8080' }),
    [['spec.ports[0].targetPort', 'FieldValueInvalid', 'must contain at least one letter (a-z)']],
  ],
  [
    'nodePort on a ClusterIP service',
    (s) => (s.spec!.ports![0]!.nodePort = 30080),
    [['spec.ports[0].nodePort', 'FieldValueForbidden', "Forbidden: may not be used when `type` is 'ClusterIP'"]],
  ],
  ['nodePort on a NodePort service', (s) => Object.assign(s.spec!, { type: 'NodePort' }) && (s.spec!.ports![0]!.nodePort = 30080), []],
  [
    'nodePort out of range',
    (s) => {
      s.spec!.type = 'NodePort';
      s.spec!.ports![0]!.nodePort = 8080;
    },
    [['spec.ports[0].nodePort', 'FieldValueInvalid', 'Invalid value: 8080: provided port is not in the valid range. The range of valid ports is 30000-32767']],
  ],
  [
    'duplicate nodePorts',
    (s) => {
      s.spec!.type = 'NodePort';
      s.spec!.ports![0]!.nodePort = 30080;
      s.spec!.ports![1]!.nodePort = 30080;
    },
    [['spec.ports[1].nodePort', 'FieldValueDuplicate', 'Duplicate value: 30080']],
  ],
  ['clusterIP valid', (s) => (s.spec!.clusterIP = '10.96.0.10'), []],
  ['clusterIP IPv6', (s) => (s.spec!.clusterIP = 'fd00::10'), []],
  [
    'clusterIP invalid',
    (s) => (s.spec!.clusterIP = '10.96.0.256'),
    [['spec.clusterIP', 'FieldValueInvalid', 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)']],
  ],
  [
    'headless NodePort',
    (s) => Object.assign(s.spec!, { clusterIP: 'None', type: 'NodePort' }),
    [['spec.clusterIP', 'FieldValueInvalid', "may not be set to 'None' for NodePort services"]],
  ],
  [
    'clusterIPs disagree with clusterIP',
    (s) => Object.assign(s.spec!, { clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.11'] }),
    [['spec.clusterIPs', 'FieldValueInvalid', 'first value must match `clusterIP`']],
  ],
  [
    'session affinity unknown',
    (s) => (s.spec!.sessionAffinity = 'Sticky'),
    [['spec.sessionAffinity', 'FieldValueNotSupported', 'supported values: "ClientIP", "None"']],
  ],
  [
    'ClientIP affinity timeout too long',
    (s) => Object.assign(s.spec!, { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 100000 } } }),
    [['spec.sessionAffinityConfig.clientIP.timeoutSeconds', 'FieldValueInvalid', 'must be greater than 0 and less than 86400']],
  ],
  ['selector label invalid', (s) => (s.spec!.selector = { app: 'a b' }), [['spec.selector', 'FieldValueInvalid', 'Invalid value: "a b"']]],
  [
    'external IP loopback',
    (s) => (s.spec!.externalIPs = ['127.0.0.1']),
    [['spec.externalIPs[0]', 'FieldValueInvalid', 'may not be in the loopback range (127.0.0.0/8, ::1/128)']],
  ],
  [
    'port protocol unsupported',
    (s) => (s.spec!.ports![0]!.protocol = 'HTTP'),
    [['spec.ports[0].protocol', 'FieldValueNotSupported', 'Unsupported value: "HTTP"']],
  ],
];

for (const [name, mutate, expected] of SVC) {
  test(`service: ${name}`, (t) => {
    const svc = valid('Service');
    mutate(svc);
    assertCauses(t, validate('Service', svc), expected, name);
  });
}

// ---------------------------------------------------------------- Endpoints

const EP: Array<[string, (e: Endpoints) => void, Expected[]]> = [
  [
    'IP invalid',
    (e) => (e.subsets![0]!.addresses![0]!.ip = 'ten'),
    [['subsets[0].addresses[0].ip', 'FieldValueInvalid', 'Invalid value: "ten": must be a valid IP address']],
  ],
  [
    'IP loopback',
    (e) => (e.subsets![0]!.addresses![0]!.ip = '127.0.0.1'),
    [['subsets[0].addresses[0].ip', 'FieldValueInvalid', 'may not be in the loopback range']],
  ],
  [
    'IP link-local',
    (e) => (e.subsets![0]!.addresses![0]!.ip = '169.254.1.1'),
    [['subsets[0].addresses[0].ip', 'FieldValueInvalid', 'may not be in the link-local range']],
  ],
  [
    'IP unspecified',
    (e) => (e.subsets![0]!.addresses![0]!.ip = '0.0.0.0'),
    [['subsets[0].addresses[0].ip', 'FieldValueInvalid', 'may not be unspecified (0.0.0.0)']],
  ],
  ['IPv6 address', (e) => (e.subsets![0]!.addresses![0]!.ip = 'fd00::5'), []],
  ['not-ready address only', (e) => (e.subsets![0] = { notReadyAddresses: [{ ip: '10.244.1.6' }], ports: [{ port: 80, protocol: 'TCP' }] }), []],
  [
    'subset without addresses',
    (e) => (e.subsets![0]!.addresses = []),
    [['subsets[0]', 'FieldValueRequired', 'must specify `addresses` or `notReadyAddresses`']],
  ],
  ['port 0', (e) => (e.subsets![0]!.ports![0]!.port = 0), [['subsets[0].ports[0].port', 'FieldValueInvalid', 'must be between 1 and 65535, inclusive']]],
  [
    'port name required with several ports',
    (e) => (e.subsets![0]!.ports![1]!.name = ''),
    [['subsets[0].ports[1].name', 'FieldValueRequired', 'Required value']],
  ],
  [
    'port protocol unsupported',
    (e) => (e.subsets![0]!.ports![0]!.protocol = 'ICMP'),
    [['subsets[0].ports[0].protocol', 'FieldValueNotSupported', 'supported values: "SCTP", "TCP", "UDP"']],
  ],
  ['nodeName invalid', (e) => (e.subsets![0]!.addresses![0]!.nodeName = 'Node_1'), [['subsets[0].addresses[0].nodeName', 'FieldValueInvalid', SUBDOMAIN_MSG]]],
];

for (const [name, mutate, expected] of EP) {
  test(`endpoints: ${name}`, (t) => {
    const ep = valid('Endpoints');
    mutate(ep);
    assertCauses(t, validate('Endpoints', ep), expected, name);
  });
}

// ---------------------------------------------------------------- Node

const NODE: Array<[string, (n: Node) => void, Expected[]]> = [
  [
    'podCIDR invalid',
    (n) => (n.spec!.podCIDR = '10.244.1.0'),
    [['spec.podCIDR', 'FieldValueInvalid', 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)']],
  ],
  ['podCIDR prefix too long', (n) => (n.spec!.podCIDR = '10.244.1.0/33'), [['spec.podCIDR', 'FieldValueInvalid', 'must be a valid CIDR value']]],
  ['podCIDR IPv6', (n) => (n.spec!.podCIDR = 'fd00:10:244:1::/64'), []],
  [
    'taint effect unknown',
    (n) => (n.spec!.taints![0]!.effect = 'NoRun'),
    [['spec.taints[0].effect', 'FieldValueNotSupported', 'supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"']],
  ],
  ['taint effect missing', (n) => (n.spec!.taints![0]!.effect = ''), [['spec.taints[0].effect', 'FieldValueRequired', 'Required value']]],
  [
    'taint key invalid',
    (n) => (n.spec!.taints![0]!.key = 'a b'),
    [['spec.taints[0].key', 'FieldValueInvalid', 'Invalid value: "a b": name part must consist of']],
  ],
  [
    'duplicate taint',
    (n) => n.spec!.taints!.push({ key: 'dedicated', value: 'db', effect: 'NoSchedule' }),
    [['spec.taints[1]', 'FieldValueDuplicate', 'taints must be unique by key and effect pair']],
  ],
  ['same taint key, other effect', (n) => n.spec!.taints!.push({ key: 'dedicated', value: 'db', effect: 'NoExecute' }), []],
  [
    'capacity quantity invalid',
    (n) => (n.status!.capacity!['memory'] = '24 GiB'),
    [['status.capacity.memory', 'FieldValueInvalid', 'quantities must match the regular expression']],
  ],
  [
    'capacity negative',
    (n) => (n.status!.allocatable = { cpu: '-1' }),
    [['status.allocatable.cpu', 'FieldValueInvalid', 'must be greater than or equal to 0']],
  ],
  [
    'capacity resource name unknown',
    (n) => (n.status!.capacity!['gpu'] = '1'),
    [['status.capacity.gpu', 'FieldValueInvalid', 'must be a standard resource type or fully qualified']],
  ],
  ['extended capacity', (n) => (n.status!.capacity!['example.com/gpu'] = '2'), []],
];

for (const [name, mutate, expected] of NODE) {
  test(`node: ${name}`, (t) => {
    const node = valid('Node');
    mutate(node);
    assertCauses(t, validate('Node', node), expected, name);
  });
}

// ---------------------------------------------------------------- Namespace and Event

const NS: Array<[string, (n: Namespace) => void, Expected[]]> = [
  ['finalizer kubernetes', (n) => (n.spec = { finalizers: ['kubernetes'] }), []],
  [
    'finalizer unqualified',
    (n) => (n.spec = { finalizers: ['mine'] }),
    [['spec.finalizers', 'FieldValueInvalid', 'name is neither a standard finalizer name nor is it fully qualified']],
  ],
  ['phase unknown', (n) => (n.status = { phase: 'Gone' }), [['status.phase', 'FieldValueNotSupported', 'supported values: "Active", "Terminating"']]],
];

for (const [name, mutate, expected] of NS) {
  test(`namespace: ${name}`, (t) => {
    const ns = valid('Namespace');
    mutate(ns);
    assertCauses(t, validate('Namespace', ns), expected, name);
  });
}

const EV: Array<[string, (e: Event) => void, Expected[]]> = [
  ['involvedObject missing', (e) => delete e.involvedObject, [['involvedObject', 'FieldValueRequired', 'Required value']]],
  ['involvedObject empty', (e) => (e.involvedObject = {}), [['involvedObject', 'FieldValueRequired', 'Required value']]],
  [
    'namespace mismatch',
    (e) => (e.involvedObject!.namespace = 'prod'),
    [['involvedObject.namespace', 'FieldValueInvalid', 'Invalid value: "prod": does not match event.namespace']],
  ],
  ['cluster-scoped object in default', (e) => (e.involvedObject = { kind: 'Node', name: 'node-1' }), []],
  [
    'cluster-scoped object elsewhere',
    (e) => {
      e.involvedObject = { kind: 'Node', name: 'node-1' };
      e.metadata!.namespace = 'prod';
    },
    [['involvedObject.namespace', 'FieldValueInvalid', 'does not match event.namespace']],
  ],
  ['type unknown', (e) => (e.type = 'Error'), [['type', 'FieldValueNotSupported', 'supported values: "Normal", "Warning"']]],
];

for (const [name, mutate, expected] of EV) {
  test(`event: ${name}`, (t) => {
    const ev = valid('Event');
    mutate(ev);
    assertCauses(t, validate('Event', ev), expected, name);
  });
}
