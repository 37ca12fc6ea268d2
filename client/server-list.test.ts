import test from 'ava';
import { ServerList } from './server-list';

test('seeds first, then learned ones; duplicates once', (t) => {
  const l = new ServerList(['a:6443', 'b:6443'], ['b:6443', 'c:6443']);
  t.deepEqual(l.all(), ['a:6443', 'b:6443', 'c:6443']);
  t.is(l.current, 'a:6443');
  t.is(l.size, 3);
});

test('a failure moves to the next server and wraps around', (t) => {
  const l = new ServerList(['a', 'b', 'c']);
  t.is(l.failed('a'), 'b');
  t.is(l.failed('b'), 'c');
  t.is(l.failed('c'), 'a');
});

test('failures reported for a server that is no longer current move nothing (calls failing together)', (t) => {
  const l = new ServerList(['a', 'b', 'c']);
  l.failed('a');
  t.is(l.failed('a'), 'b', 'the second call that failed on a does not skip b');
});

test('learning keeps the seeds and the current server', (t) => {
  const l = new ServerList(['a']);
  t.true(l.learn(['x', 'y']));
  t.deepEqual(l.all(), ['a', 'x', 'y']);
  l.failed('a');
  t.is(l.current, 'x');
  t.true(l.learn(['y', 'x', 'z']));
  t.is(l.current, 'x', 'still listed: still current');
  t.false(l.learn(['z', 'x', 'y']), 'the same set in another order is no change');
  t.true(l.learn(['z']));
  t.is(l.current, 'a', 'the current one left the list: back to the first');
  t.deepEqual(l.learnedAddresses(), ['z']);
});

test('an empty list is an invariant error', (t) => {
  t.throws(() => new ServerList([]), { message: /at least one address/ });
  t.is(new ServerList([], ['k']).current, 'k', 'learned servers alone are enough (every seed unknown)');
});
