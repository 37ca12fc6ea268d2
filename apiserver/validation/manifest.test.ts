// Kubernetes manifests as users write them, through the codec (JSON form and
// a protobuf round trip, which turns unset fields into zero values), then
// defaulting and validation: valid ones pass, broken ones name the field.

import test from 'ava';
import { decodeJson } from '../../api/codec';
import { KINDS, type KindName, type KindObjects } from '../../api/kinds';
import { applyDefaults } from '../defaults';
import { validate, validateUpdate } from './index';

function decode<K extends KindName>(kind: K, json: unknown): KindObjects[K] {
  return decodeJson<KindObjects[K]>(KINDS[kind].typeName, json).value;
}

function roundTrip<K extends KindName>(kind: K, obj: KindObjects[K]): KindObjects[K] {
  const codec = KINDS[kind].codec as { encode(m: KindObjects[K]): { finish(): Uint8Array }; decode(b: Uint8Array): KindObjects[K] };
  return codec.decode(codec.encode(obj).finish());
}

const POD = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } },
  spec: {
    containers: [
      {
        name: 'web',
        image: 'nginx:1.25',
        ports: [{ containerPort: 80, name: 'http' }],
        resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: 1, memory: '128Mi' } },
        livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, initialDelaySeconds: 3 },
        readinessProbe: { tcpSocket: { port: 80 } },
        volumeMounts: [{ name: 'cache', mountPath: '/cache' }],
      },
    ],
    volumes: [{ name: 'cache', emptyDir: { sizeLimit: '1Gi' } }],
    tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }],
  },
};

const RC = {
  apiVersion: 'v1',
  kind: 'ReplicationController',
  metadata: { name: 'web', namespace: 'default' },
  spec: {
    replicas: 3,
    template: {
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 80 }] }] },
    },
  },
};

const SVC = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'default' },
  spec: { type: 'NodePort', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 'http', nodePort: 30080 }] },
};

// Kubernetes' documentation examples: lifecycle-events.yaml and the subPathExpr pod of "Volumes".
const HOOKS_POD = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'lifecycle-demo', namespace: 'default' },
  spec: {
    containers: [
      {
        name: 'lifecycle-demo-container',
        image: 'nginx',
        env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } }],
        lifecycle: {
          postStart: { exec: { command: ['/bin/sh', '-c', 'echo Hello from the postStart handler > /usr/share/message'] } },
          preStop: { exec: { command: ['/bin/sh', '-c', 'nginx -s quit; while killall -0 nginx; do sleep 1; done'] } },
        },
        volumeMounts: [{ name: 'workdir1', mountPath: '/logs', subPathExpr: '$(POD_NAME)' }],
      },
      { name: 'sleeper', image: 'busybox', lifecycle: { preStop: { sleep: { seconds: 5 } }, postStart: { httpGet: { port: 80 } } } },
    ],
    restartPolicy: 'Never',
    volumes: [{ name: 'workdir1', hostPath: { path: '/var/log/pods' } }],
  },
};

for (const [kind, manifest] of [
  ['Pod', POD],
  ['Pod', HOOKS_POD],
  ['ReplicationController', RC],
  ['Service', SVC],
] as const) {
  test(`a ${kind} manifest (${manifest.metadata.name}) decodes, defaults and validates, also after a protobuf round trip`, (t) => {
    const obj = decode(kind, structuredClone(manifest));
    applyDefaults(kind, obj as never);
    t.deepEqual(validate(kind, obj as never), []);
    const wire = roundTrip(kind, obj as never);
    t.deepEqual(validate(kind, wire as never), []);
    // Stored (protobuf) versus request (JSON) forms of the same object are no change.
    t.deepEqual(validateUpdate(kind, obj as never, wire as never), []);
    // Defaulting the decoded form again changes nothing.
    const again = structuredClone(wire);
    applyDefaults(kind, again as never);
    t.deepEqual(again, wire);
  });
}

test('the RC selector comes from the template and the service targetPort stays a name', (t) => {
  const rc = decode('ReplicationController', structuredClone(RC));
  applyDefaults('ReplicationController', rc);
  t.deepEqual(rc.spec?.selector, { app: 'web' });
  const svc = decode('Service', structuredClone(SVC));
  applyDefaults('Service', svc);
  t.deepEqual(svc.spec?.ports?.[0]?.targetPort, { type: 1, strVal: 'http' });
});

test('a broken manifest names each field the Kubernetes way', (t) => {
  const bad = structuredClone(POD) as { spec: { containers: Array<Record<string, unknown>> } };
  bad.spec.containers.push({ name: 'web', image: 'busybox', ports: [{ containerPort: 70000 }] });
  const pod = decode('Pod', bad);
  applyDefaults('Pod', pod);
  const causes = validate('Pod', pod);
  t.deepEqual(
    causes.map((c) => `${c.field}: ${c.message}`),
    [
      'spec.containers[1].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
      'spec.containers[1].name: Duplicate value: "web"',
    ],
  );
});
