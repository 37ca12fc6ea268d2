import test from 'ava';
import { schema } from '../gen/schema';
import { PatchError } from './errors';
import { LIST_TYPES } from './list-types';
import { jsonMergePatch } from './merge-patch';
import type { JsonMap } from './shape';
import { strategicMergePatch } from './strategic';

// The examples of Kubernetes' "Update API Objects in Place Using kubectl
// patch" task, on a ReplicationController (tsk has no Deployment; the pod
// template is the same PodTemplateSpec).
function rc(podSpec: JsonMap): JsonMap {
  return { apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'patch-demo' }, spec: { replicas: 2, template: { spec: podSpec } } };
}
const podSpecOf = (o: JsonMap): JsonMap => ((o['spec'] as JsonMap)['template'] as JsonMap)['spec'] as JsonMap;

test('docs: a strategic merge patch adds a container by name; the new one comes first', (t) => {
  const live = rc({ containers: [{ name: 'patch-demo-ctr', image: 'nginx' }], tolerations: [{ effect: 'NoSchedule', key: 'dedicated', value: 'test-team' }] });
  const out = strategicMergePatch('tsk.v1.ReplicationController', live, {
    spec: { template: { spec: { containers: [{ name: 'patch-demo-ctr-2', image: 'redis' }] } } },
  });
  t.deepEqual(podSpecOf(out)['containers'], [
    { name: 'patch-demo-ctr-2', image: 'redis' },
    { name: 'patch-demo-ctr', image: 'nginx' },
  ]);
  t.is((out['spec'] as JsonMap)['replicas'], 2);
});

test('docs: tolerations have no patch strategy, so the patch replaces the list', (t) => {
  const live = rc({ containers: [{ name: 'patch-demo-ctr', image: 'nginx' }], tolerations: [{ effect: 'NoSchedule', key: 'dedicated', value: 'test-team' }] });
  const out = strategicMergePatch('tsk.v1.ReplicationController', live, {
    spec: { template: { spec: { tolerations: [{ effect: 'NoSchedule', key: 'disktype', value: 'ssd' }] } } },
  });
  t.deepEqual(podSpecOf(out)['tolerations'], [{ effect: 'NoSchedule', key: 'disktype', value: 'ssd' }]);
});

test('docs: a JSON merge patch replaces the containers list', (t) => {
  const live = rc({
    containers: [
      { name: 'patch-demo-ctr', image: 'nginx' },
      { name: 'patch-demo-ctr-2', image: 'redis' },
    ],
  });
  const out = jsonMergePatch(live, {
    spec: { template: { spec: { containers: [{ name: 'patch-demo-ctr-3', image: 'gcr.io/google-samples/hello-app:2.0' }] } } },
  }) as JsonMap;
  t.deepEqual(podSpecOf(out)['containers'], [{ name: 'patch-demo-ctr-3', image: 'gcr.io/google-samples/hello-app:2.0' }]);
});

test('$retainKeys: a volume changes its source (volumes are merge,retainKeys)', (t) => {
  const live: JsonMap = {
    metadata: { name: 'p' },
    spec: {
      volumes: [
        { name: 'data', emptyDir: { medium: 'Memory' } },
        { name: 'other', emptyDir: {} },
      ],
    },
  };
  const out = strategicMergePatch('tsk.v1.Pod', live, { spec: { volumes: [{ name: 'data', $retainKeys: ['name', 'hostPath'], hostPath: { path: '/srv' } }] } });
  t.deepEqual((out['spec'] as JsonMap)['volumes'], [
    { name: 'data', hostPath: { path: '/srv' } },
    { name: 'other', emptyDir: {} },
  ]);
  t.throws(() => strategicMergePatch('tsk.v1.Pod', live, { spec: { $retainKeys: ['volumes'], containers: [] } }), {
    instanceOf: PatchError,
    message: 'invalid patch format of retainKeys',
  });
});

test('$setElementOrder orders a merged list; server-only items keep their places', (t) => {
  const live = { metadata: { name: 'p' }, spec: { containers: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] } };
  const out = strategicMergePatch('tsk.v1.Pod', live, {
    spec: { '$setElementOrder/containers': [{ name: 'c' }, { name: 'a' }], containers: [{ name: 'a', image: 'x' }] },
  });
  t.deepEqual((out['spec'] as JsonMap)['containers'], [{ name: 'b' }, { name: 'c' }, { name: 'a', image: 'x' }]);
  // Without one, the patch's own order is the order (Kubernetes' normalizeElementOrder): b stays ahead of c as on the server.
  const kept = strategicMergePatch('tsk.v1.Pod', live, {
    spec: {
      containers: [
        { name: 'c', image: 'z' },
        { name: 'a', image: 'x' },
      ],
    },
  });
  t.deepEqual(
    ((kept['spec'] as JsonMap)['containers'] as JsonMap[]).map((c) => c['name']),
    ['b', 'c', 'a'],
  );
});

test('primitive lists with patchStrategy merge (finalizers) are a union; $deleteFromPrimitiveList removes values', (t) => {
  const live = { metadata: { name: 'p', finalizers: ['a', 'b'] } };
  const added = strategicMergePatch('tsk.v1.Pod', live, { metadata: { finalizers: ['b', 'c'] } });
  t.deepEqual((added['metadata'] as JsonMap)['finalizers'], ['a', 'b', 'c']);
  const removed = strategicMergePatch('tsk.v1.Pod', live, { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } });
  t.deepEqual((removed['metadata'] as JsonMap)['finalizers'], ['b']);
  // Lists without a strategy (args) are replaced.
  const args = strategicMergePatch(
    'tsk.v1.Pod',
    { spec: { containers: [{ name: 'c', args: ['1', '2'] }] } },
    { spec: { containers: [{ name: 'c', args: ['3'] }] } },
  );
  t.deepEqual(((args['spec'] as JsonMap)['containers'] as JsonMap[])[0]!['args'], ['3']);
});

test('$patch: delete removes a map or a list item, replace replaces, merge is the default; null deletes a key', (t) => {
  const live = {
    metadata: { name: 'p', labels: { a: '1', b: '2' } },
    spec: {
      nodeSelector: { disk: 'ssd' },
      containers: [
        {
          name: 'a',
          env: [
            { name: 'X', value: '1' },
            { name: 'Y', value: '2' },
          ],
        },
      ],
    },
  };
  const out = strategicMergePatch('tsk.v1.Pod', live, {
    metadata: { labels: { $patch: 'merge', a: null, c: '3' } },
    spec: { nodeSelector: { $patch: 'delete' }, containers: [{ name: 'a', env: [{ name: 'X', $patch: 'delete' }] }] },
  });
  t.deepEqual((out['metadata'] as JsonMap)['labels'], { b: '2', c: '3' });
  t.deepEqual((out['spec'] as JsonMap)['nodeSelector'], {});
  t.deepEqual(((out['spec'] as JsonMap)['containers'] as JsonMap[])[0]!['env'], [{ name: 'Y', value: '2' }]);
  const replaced = strategicMergePatch('tsk.v1.Pod', live, { spec: { containers: [{ name: 'a', env: [{ $patch: 'replace' }, { name: 'Z', value: '3' }] }] } });
  t.deepEqual(((replaced['spec'] as JsonMap)['containers'] as JsonMap[])[0]!['env'], [{ name: 'Z', value: '3' }]);
  // A map the live object lacks still has its directives honoured, never stored.
  const fresh = strategicMergePatch('tsk.v1.Pod', { metadata: { name: 'p' } }, { metadata: { annotations: { $patch: 'replace', x: 'y' } } });
  t.deepEqual((fresh['metadata'] as JsonMap)['annotations'], { x: 'y' });
});

test('ports merge by containerPort, service ports by port, conditions by type', (t) => {
  const svc: JsonMap = { spec: { ports: [{ port: 80, targetPort: 8080 }, { port: 443 }] } };
  const out = strategicMergePatch('tsk.v1.Service', svc, { spec: { ports: [{ port: 443, name: 'https' }] } });
  t.deepEqual((out['spec'] as JsonMap)['ports'], [
    { port: 80, targetPort: 8080 },
    { port: 443, name: 'https' },
  ]);
  const pod = {
    status: {
      conditions: [
        { type: 'Ready', status: 'False' },
        { type: 'PodScheduled', status: 'True' },
      ],
    },
  };
  const ready = strategicMergePatch('tsk.v1.Pod', pod, { status: { conditions: [{ type: 'Ready', status: 'True' }] } });
  t.deepEqual((ready['status'] as JsonMap)['conditions'], [
    { type: 'Ready', status: 'True' },
    { type: 'PodScheduled', status: 'True' },
  ]);
});

test('bad patches fail with Kubernetes messages, as BadRequest', (t) => {
  const live = { spec: { containers: [{ name: 'a' }] } };
  const e1 = t.throws(() => strategicMergePatch('tsk.v1.Pod', live, { spec: { containers: [{ image: 'x' }] } }), { instanceOf: PatchError });
  t.is(e1?.message, 'map: map[image:x] does not contain declared merge key: name');
  t.is(e1?.reason, 'BadRequest');
  t.throws(() => strategicMergePatch('tsk.v1.Pod', live, { spec: { $patch: 'frob' } }), { message: 'unknown patch type: frob in map: map[$patch:frob]' });
  t.throws(() => strategicMergePatch('tsk.v1.Pod', live, [] as never), {
    message: 'json: cannot unmarshal array into Go value of type map[string]interface {}',
  });
  t.throws(() => strategicMergePatch('tsk.v1.Pod', live, { spec: { containers: [{ name: 'a', args: [['x']] }] } }), {
    message: 'lists of lists are not supported',
  });
});

test('every list type names a repeated field of the schema', (t) => {
  for (const key of Object.keys(LIST_TYPES)) {
    const at = key.lastIndexOf('.');
    const field = schema[key.slice(0, at)]?.[key.slice(at + 1)];
    t.true(field?.repeated === true, key);
  }
});
