import test from 'ava';
import { parseDeleteOptions, parseDryRun, parseListQuery } from './query';

const q = (s: string): URLSearchParams => new URLSearchParams(s);

test('a list: selectors, limit and continue', (t) => {
  const l = parseListQuery(q('labelSelector=app%3Dweb&fieldSelector=spec.nodeName%3Dn1&limit=500&continue=abc'), 'demo');
  t.false(l.watch);
  t.deepEqual(l.list, { namespace: 'demo', labelSelector: 'app=web', fieldSelector: 'spec.nodeName=n1', limit: 500, continue: 'abc' });
});

test('a watch: resourceVersion, bookmarks, timeout', (t) => {
  const w = parseListQuery(q('watch=true&resourceVersion=42&allowWatchBookmarks=true&timeoutSeconds=30'), '');
  t.true(w.watch);
  t.deepEqual(w.watchRequest, { namespace: '', labelSelector: '', fieldSelector: '', resourceVersion: '42', allowBookmarks: true });
  t.is(w.timeoutSeconds, 30);
  t.true(parseListQuery(q('watch=1'), '').watch);
});

test('bad list parameters name themselves', (t) => {
  t.throws(() => parseListQuery(q('limit=-1'), ''), { message: 'limit: "-1" must be a non-negative integer' });
  t.throws(() => parseListQuery(q('resourceVersion=abc'), ''), { message: 'resourceVersion: "abc" must be a decimal number' });
  t.throws(() => parseListQuery(q('watch=maybe'), ''), { message: 'watch: "maybe" must be true or false' });
  t.throws(() => parseListQuery(q('resourceVersionMatch=NotOlderThan'), ''), {
    message: /resourceVersionMatch is forbidden unless resourceVersion is provided/,
  });
  t.throws(() => parseListQuery(q('resourceVersion=5&resourceVersionMatch=Exact'), ''), { message: /Exact is not supported/ });
  t.notThrows(() => parseListQuery(q('resourceVersion=0&resourceVersionMatch=NotOlderThan'), ''));
});

test('dryRun takes only All', (t) => {
  t.true(parseDryRun(q('dryRun=All')));
  t.false(parseDryRun(q('')));
  t.throws(() => parseDryRun(q('dryRun=Some')), { message: 'dryRun: "Some" is not supported; the only value is All' });
});

test('DeleteOptions from the body, the query winning; orphanDependents as a policy', (t) => {
  const body = {
    kind: 'DeleteOptions',
    apiVersion: 'v1',
    propagationPolicy: 'Foreground',
    gracePeriodSeconds: 5,
    preconditions: { uid: 'u1', resourceVersion: '7' },
  };
  t.deepEqual(parseDeleteOptions(q(''), body, 'd', 'p'), {
    namespace: 'd',
    name: 'p',
    gracePeriodSeconds: 5,
    preconditions: { uid: 'u1', resourceVersion: '7' },
    propagationPolicy: 'Foreground',
    dryRun: false,
  });
  t.like(parseDeleteOptions(q('propagationPolicy=Orphan&gracePeriodSeconds=0'), body, 'd', 'p'), { propagationPolicy: 'Orphan', gracePeriodSeconds: 0 });
  t.like(parseDeleteOptions(q(''), { orphanDependents: true }, 'd', 'p'), { propagationPolicy: 'Orphan' });
  t.like(parseDeleteOptions(q(''), { dryRun: ['All'] }, 'd', 'p'), { dryRun: true });
  t.like(parseDeleteOptions(q(''), undefined, 'd', 'p'), { propagationPolicy: '', gracePeriodSeconds: undefined });
  t.throws(() => parseDeleteOptions(q(''), { gracePeriodSeconds: 'soon' }, 'd', 'p'), {
    message: 'DeleteOptions.gracePeriodSeconds: must be a non-negative integer',
  });
});
