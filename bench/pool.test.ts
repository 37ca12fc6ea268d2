import test from 'ava';
import { percentile, runPool } from './pool';

test('percentile: nearest rank of an ascending list', (t) => {
  const xs = Array.from({ length: 100 }, (_, i) => i + 1);
  t.is(percentile(xs, 50), 51);
  t.is(percentile(xs, 99), 100);
  t.is(percentile(xs, 100), 100);
  t.is(percentile([7], 99), 7);
  t.true(Number.isNaN(percentile([], 50)));
});

test('runPool runs every index once with at most `concurrency` in flight', async (t) => {
  const seen: number[] = [];
  let inFlight = 0;
  let most = 0;
  const secs = await runPool(50, 4, async (i) => {
    inFlight++;
    most = Math.max(most, inFlight);
    await new Promise((r) => setImmediate(r));
    seen.push(i);
    inFlight--;
  });
  t.deepEqual(
    [...seen].sort((a, b) => a - b),
    Array.from({ length: 50 }, (_, i) => i),
  );
  t.is(most, 4);
  t.true(secs >= 0);
});
