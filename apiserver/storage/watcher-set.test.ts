import test from 'ava';
import { WatcherSet } from './watcher-set';

test('an event is offered to the unindexed watchers and to those of its old and new values, each once', (t) => {
  const set = new WatcherSet<string>();
  set.add('all', undefined);
  set.add('n1', 'node-1');
  set.add('n2', 'node-2');
  set.add('n2b', 'node-2');
  set.add('unassigned', '');
  t.is(set.size, 5);
  t.true(set.hasIndexed);
  t.deepEqual(set.candidates(['node-1']), ['all', 'n1']);
  t.deepEqual(set.candidates(['node-2', '']).sort(), ['all', 'n2', 'n2b', 'unassigned']);
  t.deepEqual(set.candidates(['node-1', 'node-1']), ['all', 'n1']);
  t.deepEqual(set.candidates(['node-9']), ['all']);
  t.deepEqual(set.candidates().sort(), ['all', 'n1', 'n2', 'n2b', 'unassigned']);
});

test('delete removes a watcher from its bucket, idempotently', (t) => {
  const set = new WatcherSet<string>();
  set.add('n1', 'node-1');
  set.add('all', undefined);
  set.delete('n1', 'node-1');
  set.delete('n1', 'node-1');
  set.delete('all', undefined);
  t.is(set.size, 0);
  t.false(set.hasIndexed);
  t.deepEqual(set.all(), []);
});
