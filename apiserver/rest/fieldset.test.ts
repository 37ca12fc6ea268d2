import test from 'ava';
import { decodeFieldsV1, encodeFieldsV1, fieldSetOf, parsePathKey, pathKey, pathString, removeAt, valueAt } from './fieldset';
import type { JsonMap } from '../../api/patch/shape';

const pod: JsonMap = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace: 'default', uid: 'u1', labels: { app: 'web' }, finalizers: ['x'] },
  spec: { containers: [{ name: 'nginx', image: 'nginx:1.25', ports: [{ containerPort: 80, protocol: 'TCP' }], args: ['a'] }] },
};

test('a pod\'s field set in Kubernetes\' FieldsV1 form: f: fields, k: list items with ".", v: set values; server fields stripped', (t) => {
  t.deepEqual(encodeFieldsV1(fieldSetOf('tsk.v1.Pod', pod)), {
    'f:metadata': { 'f:finalizers': { 'v:"x"': {} }, 'f:labels': { 'f:app': {} } },
    'f:spec': {
      'f:containers': {
        'k:{"name":"nginx"}': {
          '.': {},
          'f:args': {},
          'f:image': {},
          'f:name': {},
          'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {}, 'f:protocol': {} } },
        },
      },
    },
  });
});

test('FieldsV1 decodes back to the same set', (t) => {
  const set = fieldSetOf('tsk.v1.Pod', pod);
  t.deepEqual([...decodeFieldsV1(encodeFieldsV1(set))].sort(), [...set].sort());
});

test('paths print as structured-merge-diff does and address values', (t) => {
  const image = ['f:spec', 'f:containers', 'k:{"name":"nginx"}', 'f:image'];
  t.is(pathString(image), '.spec.containers[name="nginx"].image');
  t.is(
    pathString(['f:spec', 'f:containers', 'k:{"name":"nginx"}', 'f:ports', 'k:{"containerPort":80,"protocol":"TCP"}']),
    '.spec.containers[name="nginx"].ports[containerPort=80,protocol="TCP"]',
  );
  t.is(pathString(['f:metadata', 'f:finalizers', 'v:"x"']), '.metadata.finalizers[="x"]');
  t.is(valueAt(pod, image), 'nginx:1.25');
  const copy = structuredClone(pod);
  removeAt(copy, parsePathKey(pathKey(['f:metadata', 'f:finalizers', 'v:"x"'])));
  removeAt(copy, ['f:spec', 'f:containers', 'k:{"name":"nginx"}']);
  t.deepEqual((copy['metadata'] as JsonMap)['finalizers'], []);
  t.deepEqual((copy['spec'] as JsonMap)['containers'], []);
});
