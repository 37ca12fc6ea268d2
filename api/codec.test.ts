import test from 'ava';
import { decodeJson, encodeJson, DecodeError } from './codec';
import { ConfigMap, Pod, Secret, Service } from './gen/tsk/v1/core';

const podJson = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', labels: { app: 'web' } },
  spec: {
    containers: [
      {
        name: 'nginx',
        image: 'nginx:1.25',
        ports: [{ containerPort: 80, name: 'http' }],
        resources: { limits: { cpu: 1, memory: '128Mi' }, requests: { cpu: '100m' } },
        livenessProbe: { httpGet: { path: '/', port: 'http' } },
      },
    ],
  },
};

test('decodes a Kubernetes pod manifest into the proto type', (t) => {
  const { value, unknownFields } = decodeJson<Pod>('tsk.v1.Pod', podJson);
  t.deepEqual(unknownFields, []);
  const c = value.spec?.containers?.[0];
  t.is(c?.name, 'nginx');
  t.is(c?.ports?.[0]?.containerPort, 80);
  t.deepEqual(c?.resources?.limits, { cpu: '1', memory: '128Mi' }, 'a bare number quantity becomes its string form');
  t.deepEqual(c?.livenessProbe?.httpGet?.port, { type: 1, strVal: 'http' });
});

test('round-trips through the binary codec and back to the same JSON', (t) => {
  const { value } = decodeJson<Pod>('tsk.v1.Pod', podJson);
  const again = Pod.decode(Pod.encode(value).finish());
  const json = encodeJson('tsk.v1.Pod', again);
  t.deepEqual(json, {
    ...podJson,
    spec: { containers: [{ ...podJson.spec.containers[0], resources: { limits: { cpu: '1', memory: '128Mi' }, requests: { cpu: '100m' } } }] },
  });
});

test('int-or-string target ports keep their JSON form', (t) => {
  const svc = {
    spec: {
      ports: [
        { port: 80, targetPort: 8080 },
        { port: 443, targetPort: 'https' },
      ],
    },
  };
  const { value } = decodeJson<Service>('tsk.v1.Service', svc);
  t.deepEqual(encodeJson('tsk.v1.Service', Service.decode(Service.encode(value).finish())), svc);
});

test('reports every mistyped field with its path', (t) => {
  const err = t.throws(
    () =>
      decodeJson('tsk.v1.Pod', {
        metadata: { labels: { version: 1 } },
        spec: { containers: [{ name: 'a', ports: [{ containerPort: '80' }] }], hostNetwork: 'yes' },
      }),
    { instanceOf: DecodeError },
  );
  t.deepEqual(
    err?.problems.map((p) => p.field),
    ['metadata.labels.version', 'spec.containers[0].ports[0].containerPort', 'spec.hostNetwork'],
  );
  t.regex(err?.message ?? '', /spec\.containers\[0\]\.ports\[0\]\.containerPort: expected integer, got string/);
});

test('collects unknown fields instead of failing', (t) => {
  const { unknownFields } = decodeJson('tsk.v1.Pod', {
    spec: { containers: [{ name: 'a', bogusField: { privileged: true } }] },
    extra: 1,
  });
  t.deepEqual(unknownFields, ['spec.containers[0].bogusField', 'extra']);
});

test('keeps zero values Kubernetes always prints and proto3-optional zeros', (t) => {
  const json = encodeJson('tsk.v1.ReplicationController', { spec: { replicas: 0 }, status: { replicas: 0 } });
  t.deepEqual(json, { spec: { replicas: 0 }, status: { replicas: 0 } });
});

test("hostPID, hostIPC and sysctls keep Kubernetes' spelling, both ways", (t) => {
  const json = {
    spec: { hostPID: true, hostIPC: true, containers: [], securityContext: { sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }] } },
  };
  const { value, unknownFields } = decodeJson<Pod>('tsk.v1.Pod', json);
  t.deepEqual(unknownFields, []);
  t.true(value.spec?.hostPID);
  t.true(value.spec?.hostIPC);
  t.is(value.spec?.securityContext?.sysctls?.[0]?.value, '0');
  const back = encodeJson('tsk.v1.Pod', Pod.decode(Pod.encode(value).finish())) as { spec: Record<string, unknown> };
  t.is(back.spec['hostPID'], true);
  t.is(back.spec['hostIPC'], true);
});

test('Secret data is base64 both ways; stringData and ConfigMap data are plain strings', (t) => {
  const json = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'db' },
    type: 'Opaque',
    data: { password: Buffer.from('S!B\\*d$zDsb=').toString('base64'), empty: '' },
    stringData: { username: 'admin' },
  };
  const { value, unknownFields } = decodeJson<Secret>('tsk.v1.Secret', json);
  t.deepEqual(unknownFields, []);
  t.deepEqual(Buffer.from(value.data?.['password'] ?? []).toString(), 'S!B\\*d$zDsb=');
  t.is(value.stringData?.['username'], 'admin');
  const back = encodeJson('tsk.v1.Secret', Secret.decode(Secret.encode(value).finish()));
  t.deepEqual(back['data'], { password: json.data.password, empty: '' });
  const cm = decodeJson<ConfigMap>('tsk.v1.ConfigMap', { metadata: { name: 'c' }, data: { 'a.conf': 'x=1\n' }, binaryData: { b: 'AAEC' } }).value;
  t.deepEqual(cm.data, { 'a.conf': 'x=1\n' });
  t.deepEqual([...(cm.binaryData?.['b'] ?? [])], [0, 1, 2]);
  t.deepEqual(encodeJson('tsk.v1.ConfigMap', cm)['binaryData'], { b: 'AAEC' });
});

test('data that is not base64 is refused with its field, as Go decodes []byte', (t) => {
  for (const [bad, byte] of [
    ['hunter2!', 7],
    ['abc', 0],
    ['ab=c', 2],
  ] as const) {
    const err = t.throws(() => decodeJson('tsk.v1.Secret', { metadata: { name: 'db' }, data: { password: bad } }), { instanceOf: DecodeError });
    t.regex(err?.message ?? '', new RegExp(`data\\.password: illegal base64 data at input byte ${byte}`), bad);
  }
  // Go's decoder skips line breaks (a folded YAML block).
  const folded = decodeJson<Secret>('tsk.v1.Secret', { metadata: { name: 'db' }, data: { k: 'aGVs\nbG8=' } }).value;
  t.is(Buffer.from(folded.data?.['k'] ?? []).toString(), 'hello');
});

test('managedFields: fieldsV1 is an object in Kubernetes JSON and JSON text in proto', (t) => {
  const fieldsV1 = { 'f:metadata': { 'f:labels': { 'f:app': {} } }, 'f:spec': { 'f:containers': { 'k:{"name":"nginx"}': { '.': {}, 'f:image': {} } } } };
  const entry = { manager: 'kubectl', operation: 'Apply', apiVersion: 'v1', time: '2026-12-07T07:00:00Z', fieldsType: 'FieldsV1', fieldsV1 };
  const { value } = decodeJson<Pod>('tsk.v1.Pod', { metadata: { name: 'web', managedFields: [entry] } });
  t.is(value.metadata?.managedFields?.[0]?.fieldsV1, JSON.stringify(fieldsV1));
  const again = Pod.decode(Pod.encode(value).finish());
  t.deepEqual(encodeJson('tsk.v1.Pod', again), { metadata: { name: 'web', managedFields: [entry] } });
  t.throws(() => decodeJson<Pod>('tsk.v1.Pod', { metadata: { managedFields: [{ fieldsV1: 'x' }] } }), {
    instanceOf: DecodeError,
    message: 'metadata.managedFields[0].fieldsV1: expected an object, got string',
  });
});
