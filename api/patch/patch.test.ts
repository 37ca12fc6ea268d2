import test from 'ava';
import { applyPatch, jsonMergePatch, jsonPatch, PatchError } from './patch';
import type { JsonMap } from './shape';

function pod(): JsonMap {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'resize-demo', labels: { app: 'demo', tier: 'x' } },
    spec: {
      containers: [
        { name: 'pause', image: 'pause:3.8', resources: { requests: { cpu: '700m', memory: '200Mi' }, limits: { cpu: '700m', memory: '200Mi' } } },
        { name: 'side', image: 'busybox', args: ['a', 'b'] },
      ],
    },
  };
}

test('strategic merge: containers merge by name, the other fields of the container stay (the docs resize patch)', (t) => {
  const out = applyPatch('strategic', 'tsk.v1.Pod', pod(), {
    spec: { containers: [{ name: 'pause', resources: { requests: { cpu: '800m' }, limits: { cpu: '800m' } } }] },
  });
  t.deepEqual(out['spec'], {
    containers: [
      { name: 'pause', image: 'pause:3.8', resources: { requests: { cpu: '800m', memory: '200Mi' }, limits: { cpu: '800m', memory: '200Mi' } } },
      { name: 'side', image: 'busybox', args: ['a', 'b'] },
    ],
  });
});

test('strategic merge: null deletes, lists without a merge key are replaced', (t) => {
  const out = applyPatch('strategic', 'tsk.v1.Pod', pod(), { metadata: { labels: { tier: null } }, spec: { containers: [{ name: 'side', args: ['c'] }] } });
  t.deepEqual((out['metadata'] as JsonMap)['labels'], { app: 'demo' });
  t.deepEqual(((out['spec'] as JsonMap)['containers'] as JsonMap[])[1]!['args'], ['c']);
});

test('JSON merge patch (RFC 7386): lists are replaced whole, null deletes', (t) => {
  const out = applyPatch('merge', 'tsk.v1.Pod', pod(), { metadata: { labels: { app: null, new: 'y' } }, spec: { containers: [{ name: 'only' }] } });
  t.deepEqual((out['metadata'] as JsonMap)['labels'], { tier: 'x', new: 'y' });
  t.deepEqual((out['spec'] as JsonMap)['containers'], [{ name: 'only' }]);
  // RFC 7386's own example.
  t.deepEqual(jsonMergePatch({ a: 'b', c: { d: 'e', f: 'g' } }, { a: 'z', c: { f: null } }), { a: 'z', c: { d: 'e' } });
});

test('JSON patch (RFC 6902): add, remove, replace, move, copy, test', (t) => {
  const out = jsonPatch(pod(), [
    { op: 'replace', path: '/spec/containers/0/image', value: 'pause:3.9' },
    { op: 'add', path: '/spec/containers/1/args/-', value: 'z' },
    { op: 'remove', path: '/metadata/labels/tier' },
    { op: 'copy', from: '/metadata/labels/app', path: '/metadata/labels/copy' },
    { op: 'move', from: '/metadata/labels/copy', path: '/metadata/labels/moved' },
    { op: 'test', path: '/metadata/name', value: 'resize-demo' },
    { op: 'add', path: '/metadata/labels/a~1b', value: 'slash' },
  ]) as JsonMap;
  const spec = out['spec'] as { containers: JsonMap[] };
  t.is(spec.containers[0]!['image'], 'pause:3.9');
  t.deepEqual(spec.containers[1]!['args'], ['a', 'b', 'z']);
  t.deepEqual((out['metadata'] as JsonMap)['labels'], { app: 'demo', moved: 'demo', 'a/b': 'slash' });
});

test('JSON patch: a failed test, a missing path or a bad op fails the whole patch', (t) => {
  // Kubernetes answers these 422 Invalid with json-patch's messages; a body that is no list of operations is 400.
  const invalid = (message: string) => ({ instanceOf: PatchError, message });
  const failed = t.throws(
    () => jsonPatch(pod(), [{ op: 'test', path: '/metadata/name', value: 'other' }]),
    invalid('testing value /metadata/name failed: test failed'),
  );
  t.is(failed?.reason, 'Invalid');
  t.throws(() => jsonPatch(pod(), [{ op: 'remove', path: '/metadata/nothing' }]), invalid('Unable to remove nonexistent key: nothing: missing value'));
  t.throws(
    () => jsonPatch(pod(), [{ op: 'remove', path: '/nothing/at/all' }]),
    invalid('remove operation does not apply: doc is missing path: "/nothing/at/all": missing value'),
  );
  t.throws(
    () => jsonPatch(pod(), [{ op: 'replace', path: '/spec/containers/5/image', value: 'x' }]),
    invalid('Unable to access invalid index: 5: invalid index referenced'),
  );
  t.throws(
    () => jsonPatch(pod(), [{ op: 'replace', path: '/spec/nothing', value: 'x' }]),
    invalid('replace operation does not apply: doc is missing key: /spec/nothing: missing value'),
  );
  t.throws(() => jsonPatch(pod(), [{ op: 'frob', path: '/a' }]), invalid('Unexpected kind: frob'));
  const bad = t.throws(() => jsonPatch(pod(), { op: 'add' }), invalid('json: cannot unmarshal object into Go value of type jsonpatch.Patch'));
  t.is(bad?.reason, 'BadRequest');
  // A test of null passes on a missing key (json-patch); ~0 and ~1 escape "~" and "/".
  t.notThrows(() => jsonPatch(pod(), [{ op: 'test', path: '/metadata/nothing', value: null }]));
  const escaped = jsonPatch({ 'a/b': { 'c~d': 1 } }, [{ op: 'test', path: '/a~1b/c~0d', value: 1 }]);
  t.deepEqual(escaped, { 'a/b': { 'c~d': 1 } });
});

test('strategic merge directives: $patch delete removes a container by name, $patch replace replaces a map or a list', (t) => {
  const gone = applyPatch('strategic', 'tsk.v1.Pod', pod(), { spec: { containers: [{ name: 'side', $patch: 'delete' }] } });
  t.deepEqual(
    ((gone['spec'] as JsonMap)['containers'] as JsonMap[]).map((c) => c['name']),
    ['pause'],
  );
  const labels = applyPatch('strategic', 'tsk.v1.Pod', pod(), { metadata: { labels: { only: 'this', $patch: 'replace' } } });
  t.deepEqual((labels['metadata'] as JsonMap)['labels'], { only: 'this' });
  const list = applyPatch('strategic', 'tsk.v1.Pod', pod(), { spec: { containers: [{ $patch: 'replace' }, { name: 'solo', image: 'x' }] } });
  t.deepEqual((list['spec'] as JsonMap)['containers'], [{ name: 'solo', image: 'x' }]);
  const ordered = applyPatch('strategic', 'tsk.v1.Pod', pod(), { spec: { '$setElementOrder/containers': [{ name: 'pause' }], containers: [] } });
  t.false('$setElementOrder/containers' in (ordered['spec'] as JsonMap));
});
