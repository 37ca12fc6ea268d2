import test from 'ava';
import { FakeClock } from '../client';
import { SyncRunner } from './sync-runner';

test('never two syncs at once: requests during a slow sync become one sync after it, no sooner than the min interval', async (t) => {
  const clock = new FakeClock();
  const starts: number[] = [];
  let running = 0;
  let release: (() => void) | undefined;
  const runner = new SyncRunner(
    async () => {
      t.is(running++, 0, 'not concurrent');
      starts.push(clock.now());
      await new Promise<void>((r) => (release = r));
      running--;
    },
    { minIntervalMs: 1000, maxIntervalMs: 10_000, clock },
  );
  const t0 = clock.now();
  runner.start();
  await clock.advance(0);
  t.deepEqual(starts, [t0]);
  runner.run();
  runner.run();
  await clock.advance(5000);
  t.is(starts.length, 1, 'waits for the sync in flight');
  release?.();
  await clock.advance(0);
  t.deepEqual(starts, [t0, t0 + 5000], 'one sync for both requests, as soon as the first ended');
  release?.();
  await clock.advance(10_000);
  t.deepEqual(starts, [t0, t0 + 5000, t0 + 15_000], 'then the periodic one');
  release?.();
  await runner.stop();
  await clock.advance(60_000);
  t.is(starts.length, 3, 'no more after stop');
  t.throws(() => runner.start(), { message: /started while stopped/ });
});

test('a failed sync is retried with doubling back-off up to the max interval', async (t) => {
  const clock = new FakeClock();
  const starts: number[] = [];
  const errors: unknown[] = [];
  const runner = new SyncRunner(
    () => {
      starts.push(clock.now());
      return Promise.reject(new Error('boom'));
    },
    { minIntervalMs: 1000, maxIntervalMs: 5000, clock, onError: (e) => errors.push(e) },
  );
  const t0 = clock.now();
  runner.start();
  await clock.advance(20_000);
  t.deepEqual(
    starts.map((s) => s - t0),
    [0, 1000, 3000, 7000, 12_000, 17_000],
  );
  t.is(errors.length, 6);
  await runner.stop();
});
