import test from 'ava';
import type { ApiError } from '../../api/errors';
import { bindNodeKey, decideNodeKey, type NodeKeyBinding, type NodeKeyDecision, type NodeKeyState } from './node-keys';
import { MemoryNodeKeyStore } from './node-keys.testing';

const bound = (keyHash: string): NodeKeyBinding => ({ keyHash, bound: '2026-01-01T00:00:00.000Z' });
const REFUSED = 'node "n1" already joined with another key; if this is a new machine for that name, delete the Node first: tsctl delete node n1';
const now = new Date('2026-02-01T00:00:00Z');

const cases: { name: string; binding: NodeKeyBinding | undefined; nodeExists: boolean; want: NodeKeyDecision | 'refused' }[] = [
  { name: 'first join of a name', binding: undefined, nodeExists: false, want: 'bind' },
  { name: 'a Node made by hand before its kubelet joined', binding: undefined, nodeExists: true, want: 'bind' },
  { name: 'the same key again (re-join)', binding: bound('aa'), nodeExists: true, want: 'keep' },
  { name: 'the same key, Node not registered yet', binding: bound('aa'), nodeExists: false, want: 'keep' },
  { name: 'another key while the Node exists', binding: bound('bb'), nodeExists: true, want: 'refused' },
  { name: 'another key after the Node was deleted', binding: bound('bb'), nodeExists: false, want: 'rebind' },
];

for (const c of cases) {
  test(`decideNodeKey: ${c.name}`, (t) => {
    const state: Pick<NodeKeyState, 'binding' | 'nodeExists'> = { binding: c.binding, nodeExists: c.nodeExists };
    if (c.want === 'refused') {
      const err = t.throws<ApiError>(() => decideNodeKey('n1', 'aa', state));
      t.is(err?.reason, 'Forbidden');
      t.is(err?.message, REFUSED);
    } else t.is(decideNodeKey('n1', 'aa', state), c.want);
  });
}

test('bindNodeKey records the first key, keeps it, refuses another while the Node exists and moves once it is deleted', async (t) => {
  const store = new MemoryNodeKeyStore();
  t.is(await bindNodeKey(store, 'n1', 'aa', now), 'bind');
  t.deepEqual(store.bindings.get('n1')?.binding, { keyHash: 'aa', bound: now.toISOString() });
  store.nodes.add('n1');
  t.is(await bindNodeKey(store, 'n1', 'aa', now), 'keep');
  await t.throwsAsync(bindNodeKey(store, 'n1', 'bb', now), { message: REFUSED });
  t.is(store.bindings.get('n1')?.binding.keyHash, 'aa');
  store.nodes.delete('n1');
  t.is(await bindNodeKey(store, 'n1', 'bb', now), 'rebind');
  t.is(store.bindings.get('n1')?.binding.keyHash, 'bb');
  store.nodes.add('n1');
  await t.throwsAsync(bindNodeKey(store, 'n1', 'aa', now), { message: REFUSED });
});

test('bindNodeKey: of two joiners racing for a new name, the one that loses the write is refused', async (t) => {
  const store = new MemoryNodeKeyStore();
  // Both read "no binding" before either writes.
  const [a, b] = await Promise.allSettled([bindNodeKey(store, 'n1', 'aa', now), bindNodeKey(store, 'n1', 'bb', now)]);
  t.is(a.status, 'fulfilled');
  t.is(b.status, 'rejected');
  t.is(b.status === 'rejected' ? (b.reason as Error).message : '', REFUSED);
  t.is(store.bindings.get('n1')?.binding.keyHash, 'aa');
});
