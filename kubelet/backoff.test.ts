// Kubernetes' restart back-off: 10 s doubling to 5 min, forgotten after a
// long enough run; and how durations print.

import test from 'ava';
import { BackoffTable, CRASH_BACKOFF, goDuration } from './backoff';

test('the first failure restarts at once, then 10 s, 20 s, 40 s ... capped at 5 min', (t) => {
  const b = new BackoffTable(CRASH_BACKOFF);
  let now = 0;
  t.is(b.remaining('k', now, now), 0, 'no entry: no wait');
  const waits: number[] = [];
  for (let i = 0; i < 8; i++) {
    waits.push(b.next('k', now));
    now += 1000; // ran 1 s, then crashed
    const left = b.remaining('k', now, now);
    t.is(left, b.duration('k'));
    now += left;
  }
  t.deepEqual(waits, [10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
});

test('a container that ran longer than the reset window starts over at 10 s', (t) => {
  const b = new BackoffTable(CRASH_BACKOFF);
  b.next('k', 0);
  b.next('k', 10_000);
  t.is(b.duration('k'), 20_000);
  const crashedAt = 10_000 + 11 * 60_000;
  t.is(b.remaining('k', crashedAt, crashedAt), 0, 'no wait after a long run');
  t.is(b.next('k', crashedAt), 10_000);
});

test('prune forgets keys', (t) => {
  const b = new BackoffTable(CRASH_BACKOFF);
  b.next('a/x', 0);
  b.next('b/x', 0);
  b.prune((k) => k.startsWith('a/'));
  t.is(b.duration('a/x'), 10_000);
  t.is(b.duration('b/x'), 0);
});

test('Go durations as Kubernetes prints them', (t) => {
  t.is(goDuration(10_000), '10s');
  t.is(goDuration(160_000), '2m40s');
  t.is(goDuration(300_000), '5m0s');
  t.is(goDuration(3_723_000), '1h2m3s');
});
