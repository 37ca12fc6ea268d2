import test from 'ava';
import { CliError, UsageError } from '../errors';
import { fieldValue, naturalLess, parseSortField, sortByField } from './sort-by';

test("field paths: kubectl's relaxed forms, indexes, quoted and escaped keys", (t) => {
  for (const form of ['.metadata.name', '{.metadata.name}', 'metadata.name', '{metadata.name}']) {
    t.deepEqual(parseSortField(form), { expression: '{.metadata.name}', steps: ['metadata', 'name'] }, form);
  }
  t.deepEqual(parseSortField('.status.containerStatuses[0].restartCount').steps, ['status', 'containerStatuses', 0, 'restartCount']);
  t.deepEqual(parseSortField(".metadata.labels['app.kubernetes.io/name']").steps, ['metadata', 'labels', 'app.kubernetes.io/name']);
  t.deepEqual(parseSortField('.metadata.labels.app\\.kubernetes\\.io/name').steps, ['metadata', 'labels', 'app.kubernetes.io/name']);
  t.throws(() => parseSortField('{.a}{.b}'), { instanceOf: UsageError, message: /--sort-by: unexpected path string/ });
  for (const bad of ['.items[*].x', '.a..b', '.a.', '.'])
    t.throws(() => parseSortField(bad), { instanceOf: UsageError, message: /--sort-by: ".*" is not a field path/ }, bad);
  t.is(fieldValue({ a: [{ b: 3 }] }, ['a', 0, 'b']), 3);
  t.is(fieldValue({ a: [] }, ['a', 0, 'b']), undefined);
  t.is(fieldValue({ a: 'x' }, ['a', 'b']), undefined);
});

test('natural order as fvbommel/sortorder: digit runs by value, digits first', (t) => {
  const sorted = ['web-10', 'web-9', 'web-1', 'web-01', 'web', 'web-a', 'Web-2'].sort((a, b) => (naturalLess(a, b) ? -1 : naturalLess(b, a) ? 1 : 0));
  t.deepEqual(sorted, ['Web-2', 'web', 'web-1', 'web-01', 'web-9', 'web-10', 'web-a']);
  t.true(naturalLess('1', 'a'));
  t.false(naturalLess('a', 'a'));
});

const obj = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ metadata: { name, ...extra } });
const names = (objs: Record<string, unknown>[]): string[] => objs.map((o) => (o['metadata'] as { name: string }).name);
const by = (objs: Record<string, unknown>[], expr: string): string[] => names(sortByField(objs, parseSortField(expr), (o) => o));

test('sorting numbers, quantities, times and strings as kubectl', (t) => {
  const counts = [obj('a', { n: 10 }), obj('b', { n: 9 }), obj('c', { n: 100 })];
  t.deepEqual(by(counts, '.metadata.n'), ['b', 'a', 'c']);
  const sizes = [obj('a', { q: '1Gi' }), obj('b', { q: '500Mi' }), obj('c', { q: '2' })];
  t.deepEqual(by(sizes, '.metadata.q'), ['c', 'b', 'a'], 'quantities by value');
  const times = [obj('a', { t: '2024-05-01T12:00:10Z' }), obj('b', { t: '2024-05-01T09:59:59Z' }), obj('c', { t: '2023-12-31T23:00:00Z' })];
  t.deepEqual(by(times, '{.metadata.t}'), ['c', 'b', 'a']);
  t.deepEqual(by([obj('web-10'), obj('web-9'), obj('db')], '.metadata.name'), ['db', 'web-9', 'web-10']);
  t.deepEqual(by([obj('a', { s: 'x' }), obj('b'), obj('c', { s: 'w' })], '.metadata.s'), ['b', 'c', 'a'], 'a missing field sorts first');
});

test('sorting errors are kubectl', (t) => {
  t.throws(() => by([obj('a'), obj('b')], '.spec.nope'), {
    instanceOf: CliError,
    message: 'couldn\'t find any field with path "{.spec.nope}" in the list of objects',
  });
  t.deepEqual(by([obj('a')], '.spec.nope'), ['a'], 'one object is not sorted, so not checked');
  t.throws(() => by([obj('a', { m: {} }), obj('b', { m: {} })], '.metadata.m'), { instanceOf: CliError, message: /unsortable type: map/ });
  t.throws(() => by([obj('a', { m: 1 }), obj('b', { m: 'x' })], '.metadata.m'), { instanceOf: CliError, message: /unsortable type: number and string/ });
});
