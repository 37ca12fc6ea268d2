import test from 'ava';
import type { Pod } from '../api/gen/tsk/v1/core';
import { NODE_NAME_INDEX, Store, nodeNameIndexFunc, objectKey, splitKey } from './store';

const pod = (ns: string, name: string, node = ''): Pod => ({ metadata: { namespace: ns, name }, spec: { nodeName: node } });

test('keys are namespace/name, or name for cluster-scoped objects', (t) => {
  t.is(objectKey(pod('default', 'web')), 'default/web');
  t.is(objectKey({ metadata: { name: 'node-1' } }), 'node-1');
  t.deepEqual(splitKey('default/web'), { namespace: 'default', name: 'web' });
  t.deepEqual(splitKey('node-1'), { namespace: '', name: 'node-1' });
});

test('indexes follow updates and deletes', (t) => {
  const s = new Store<Pod>({ [NODE_NAME_INDEX]: nodeNameIndexFunc });
  s.upsert(pod('default', 'a'));
  s.upsert(pod('default', 'b', 'n1'));
  t.deepEqual(s.byIndex(NODE_NAME_INDEX, '').map(objectKey), ['default/a']);
  s.upsert(pod('default', 'a', 'n1'));
  t.deepEqual(s.byIndex(NODE_NAME_INDEX, '').map(objectKey), []);
  t.deepEqual(s.byIndex(NODE_NAME_INDEX, 'n1').map(objectKey).sort(), ['default/a', 'default/b']);
  t.is(s.delete('default/b')?.spec?.nodeName, 'n1');
  t.deepEqual(s.byIndex(NODE_NAME_INDEX, 'n1').map(objectKey), ['default/a']);
  t.is(s.size, 1);
  t.throws(() => s.byIndex('nope', 'x'), { message: /no index/ });
});

test('addIndexers indexes the objects already cached and every later change; a taken name is an error', (t) => {
  const s = new Store<Pod>();
  s.upsert({ metadata: { name: 'a', namespace: 'x' }, spec: { nodeName: 'n1' } } as Pod);
  s.addIndexers({ node: (p) => [p.spec?.nodeName ?? ''] });
  t.deepEqual(
    s.byIndex('node', 'n1').map((p) => p.metadata?.name),
    ['a'],
  );
  s.upsert({ metadata: { name: 'a', namespace: 'x' }, spec: { nodeName: 'n2' } } as Pod);
  s.upsert({ metadata: { name: 'b', namespace: 'x' }, spec: { nodeName: 'n1' } } as Pod);
  t.deepEqual(
    s.byIndex('node', 'n1').map((p) => p.metadata?.name),
    ['b'],
  );
  t.deepEqual(
    s.byIndex('node', 'n2').map((p) => p.metadata?.name),
    ['a'],
  );
  t.throws(() => s.addIndexers({ node: () => [] }), { message: /index "node" already exists/ });
  t.true(s.hasIndex('node'));
});

test('an index value goes from one key to several and back, and an object under one value twice counts once', (t) => {
  const s = new Store<Pod>({ node: (p) => [p.spec?.nodeName ?? '', p.spec?.nodeName ?? ''] });
  const under = (v: string): string[] => s.byIndex('node', v).map(objectKey).sort();
  s.upsert(pod('x', 'a', 'n1'));
  s.upsert(pod('x', 'a', 'n1'));
  t.deepEqual(under('n1'), ['x/a']);
  s.upsert(pod('x', 'b', 'n1'));
  s.upsert(pod('x', 'c', 'n1'));
  t.deepEqual(under('n1'), ['x/a', 'x/b', 'x/c']);
  s.delete('x/a');
  s.upsert(pod('x', 'b', 'n2'));
  t.deepEqual(under('n1'), ['x/c']);
  t.deepEqual(under('n2'), ['x/b']);
  s.delete('x/c');
  s.delete('x/b');
  t.deepEqual(under('n1'), []);
  t.deepEqual(under('n2'), []);
  s.delete('x/b');
  t.is(s.size, 0);
});
