import test from 'ava';
import { every, FakeClock } from './clock';

test('every: calls now, then each period after the last call, until stopped', async (t) => {
  const clock = new FakeClock(0);
  const calls: number[] = [];
  const ticker = every(clock, 1000, () => calls.push(clock.now()));
  t.deepEqual(calls, [0], 'the first call is immediate');
  await clock.advance(2500);
  t.deepEqual(calls, [0, 1000, 2000]);
  ticker.stop();
  t.is(clock.pending, 0, 'stop clears the timer');
  await clock.advance(5000);
  t.deepEqual(calls, [0, 1000, 2000]);
  ticker.stop();
});

test('every: a call that stops the ticker is the last one', async (t) => {
  const clock = new FakeClock(0);
  let n = 0;
  const ticker = every(clock, 10, () => {
    if (++n === 3) ticker.stop();
  });
  await clock.advance(100);
  t.is(n, 3);
  t.is(clock.pending, 0);
});
