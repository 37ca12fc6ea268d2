// Valid objects of every kind for the validation tests, built fresh on each
// call (tests mutate them), and an assertion helper for causes.

import type { ExecutionContext } from 'ava';
import type { Cause } from '../../api/errors';
import type { KindName, KindObjects } from '../../api/kinds';
import { applyDefaults } from '../defaults';

type Fixtures = { readonly [K in KindName]: () => KindObjects[K] };

const RAW: Fixtures = {
  Pod: () => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-1', namespace: 'default', labels: { app: 'web' } },
    spec: {
      volumes: [
        { name: 'data', emptyDir: {} },
        { name: 'host', hostPath: { path: '/var/log' } },
      ],
      initContainers: [{ name: 'init', image: 'busybox:1.36', command: ['true'] }],
      containers: [
        {
          name: 'web',
          image: 'nginx:1.25',
          ports: [{ name: 'http', containerPort: 80 }],
          env: [
            { name: 'MODE', value: 'prod' },
            { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          ],
          resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '500m', memory: '128Mi' } },
          volumeMounts: [{ name: 'data', mountPath: '/data' }],
          livenessProbe: { httpGet: { port: { type: 1, strVal: 'http' } } },
          readinessProbe: { tcpSocket: { port: { type: 0, intVal: 80 } } },
        },
        { name: 'sidecar', image: 'busybox', command: ['sleep', '3600'], volumeMounts: [{ name: 'host', mountPath: '/logs', readOnly: true }] },
      ],
      nodeSelector: { disktype: 'ssd' },
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'web', effect: 'NoSchedule' }],
    },
  }),
  ReplicationController: () => ({
    apiVersion: 'v1',
    kind: 'ReplicationController',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      replicas: 3,
      selector: { app: 'web' },
      template: {
        metadata: { labels: { app: 'web', tier: 'fe' } },
        spec: { containers: [{ name: 'web', image: 'nginx:1.25', ports: [{ containerPort: 80 }] }] },
      },
    },
  }),
  Service: () => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      selector: { app: 'web' },
      ports: [
        { name: 'http', port: 80, targetPort: { type: 1, strVal: 'http' } },
        { name: 'metrics', port: 9090 },
      ],
    },
  }),
  Endpoints: () => ({
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'web', namespace: 'default' },
    subsets: [
      {
        addresses: [{ ip: '10.244.1.5', nodeName: 'node-1' }],
        ports: [
          { name: 'http', port: 80 },
          { name: 'metrics', port: 9090 },
        ],
      },
    ],
  }),
  Node: () => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'node-1', labels: { 'kubernetes.io/hostname': 'node-1' } },
    spec: { podCIDR: '10.244.1.0/24', taints: [{ key: 'dedicated', value: 'web', effect: 'NoSchedule' }] },
    status: { capacity: { cpu: '2', memory: '24Gi', pods: '110' }, addresses: [{ type: 'InternalIP', address: '10.0.0.5' }] },
  }),
  Namespace: () => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'prod' } }),
  Event: () => ({
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'web-1.17a2b3c4d5e6f', namespace: 'default' },
    involvedObject: { kind: 'Pod', name: 'web-1', namespace: 'default', apiVersion: 'v1' },
    reason: 'Scheduled',
    message: 'Successfully assigned default/web-1 to node-1',
    source: { component: 'default-scheduler' },
  }),
  ConfigMap: () => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'game-config', namespace: 'default' },
    data: { 'game.properties': 'enemies=aliens\nlives=3\n', player_initial_lives: '3' },
  }),
  Secret: () => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'db-user-pass', namespace: 'default' },
    type: 'Opaque',
    data: { username: Buffer.from('admin'), password: Buffer.from('S!B\\*d$zDsb=') },
  }),
  Lease: () => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'kube-scheduler', namespace: 'kube-system' },
    spec: {
      holderIdentity: 'host-1_0b0e5c1e-7e8a-4d2e-9f3b-2c1d0e9f8a7b',
      leaseDurationSeconds: 15,
      acquireTime: '2024-05-01T12:00:00.000000Z',
      renewTime: '2024-05-01T12:00:10.000000Z',
      leaseTransitions: 0,
    },
  }),
};

/** A valid object of the kind, defaulted as the server stores it. */
export function valid<K extends KindName>(kind: K): KindObjects[K] {
  const obj = (RAW[kind] as () => KindObjects[K])();
  applyDefaults(kind, obj);
  return obj;
}

/** The raw (not defaulted) fixture. */
export function raw<K extends KindName>(kind: K): KindObjects[K] {
  return (RAW[kind] as () => KindObjects[K])();
}

/** [field, reason, a substring of the message] */
export type Expected = readonly [string, string, string];

/** Asserts the causes are exactly the expected ones (order-free). */
export function assertCauses(t: ExecutionContext, causes: readonly Cause[], expected: readonly Expected[], label = ''): void {
  const show = causes.map((c) => `${c.field} [${c.reason}] ${c.message}`).join('\n');
  t.is(causes.length, expected.length, `${label}: got\n${show}`);
  for (const [field, reason, message] of expected) {
    const hit = causes.find((c) => c.field === field && c.reason === reason && c.message.includes(message));
    t.truthy(hit, `${label}: expected ${field} [${reason}] ~ ${message}; got\n${show}`);
  }
}
