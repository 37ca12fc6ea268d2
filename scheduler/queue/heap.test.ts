import test from 'ava';
import { KeyedHeap } from './heap';

interface Item {
  key: string;
  v: number;
}

function heap(): KeyedHeap<Item> {
  return new KeyedHeap<Item>(
    (i) => i.key,
    (a, b) => a.v < b.v,
  );
}

function drain(h: KeyedHeap<Item>): string[] {
  const out: string[] = [];
  for (let i = h.pop(); i; i = h.pop()) out.push(i.key);
  return out;
}

test('pops in order', (t) => {
  const h = heap();
  for (const [key, v] of [
    ['c', 3],
    ['a', 1],
    ['e', 5],
    ['b', 2],
    ['d', 4],
  ] as const)
    h.push({ key, v });
  t.is(h.size, 5);
  t.is(h.peek()?.key, 'a');
  t.deepEqual(drain(h), ['a', 'b', 'c', 'd', 'e']);
});

test('push of a known key replaces and reorders', (t) => {
  const h = heap();
  for (const [key, v] of [
    ['a', 1],
    ['b', 2],
    ['c', 3],
  ] as const)
    h.push({ key, v });
  h.push({ key: 'a', v: 10 });
  h.push({ key: 'c', v: 0 });
  t.is(h.size, 3);
  t.deepEqual(drain(h), ['c', 'b', 'a']);
});

test('delete by key keeps the order of the rest', (t) => {
  const h = heap();
  for (let i = 0; i < 50; i++) h.push({ key: `k${i}`, v: (i * 37) % 50 });
  for (let i = 0; i < 50; i += 3) t.truthy(h.delete(`k${i}`));
  t.is(h.delete('k0'), undefined);
  t.false(h.has('k3'));
  t.true(h.has('k4'));
  const values = drain(h).map((k) => (Number(k.slice(1)) * 37) % 50);
  t.deepEqual(
    values,
    [...values].sort((a, b) => a - b),
  );
  t.is(values.length, 50 - 17);
});
