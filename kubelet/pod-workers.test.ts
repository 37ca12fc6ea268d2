// One serialized worker per pod: no overlapping syncs of a pod, updates
// during a sync collapse into one more pass, pods run concurrently,
// requeues and retries follow the clock.

import test from 'ava';
import { FakeClock } from '../client';
import { PodWorkers } from './pod-workers';
import { errorMessage } from '../util/errors';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

test('updates during a sync collapse into one follow-up pass; never two passes of a pod at once', async (t) => {
  const clock = new FakeClock();
  const gate = deferred();
  let running = 0;
  let maxRunning = 0;
  const passes: string[] = [];
  const w = new PodWorkers(
    async (uid) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      passes.push(uid);
      if (passes.length === 1) await gate.promise;
      running--;
      return undefined;
    },
    { clock, onError: () => undefined },
  );
  w.enqueue('a');
  await clock.advance(0);
  t.true(w.busy('a'));
  w.enqueue('a');
  w.enqueue('a');
  w.enqueue('a');
  gate.resolve();
  await clock.advance(0);
  t.deepEqual(passes, ['a', 'a']);
  t.is(maxRunning, 1);
  t.deepEqual(w.active, [], 'an idle worker is dropped');
});

test('different pods sync concurrently', async (t) => {
  const clock = new FakeClock();
  const gate = deferred();
  const started: string[] = [];
  const w = new PodWorkers(
    async (uid) => {
      started.push(uid);
      if (uid === 'slow') await gate.promise;
      return undefined;
    },
    { clock, onError: () => undefined },
  );
  w.enqueue('slow');
  w.enqueue('fast');
  await clock.advance(0);
  t.deepEqual(started.sort(), ['fast', 'slow']);
  gate.resolve();
  await w.stop();
});

test('a requested requeue and an error retry run when the clock says so', async (t) => {
  const clock = new FakeClock();
  const passes: number[] = [];
  let fail = true;
  const errors: string[] = [];
  const w = new PodWorkers(
    async () => {
      passes.push(clock.now());
      if (passes.length === 1) return 7000;
      if (fail) {
        fail = false;
        throw new Error('boom');
      }
      return undefined;
    },
    { clock, retryMs: 3000, onError: (uid, err) => errors.push(`${uid}: ${errorMessage(err)}`) },
  );
  const t0 = clock.now();
  w.enqueue('p');
  await clock.advance(6999);
  t.is(passes.length, 1);
  await clock.advance(1);
  t.deepEqual(
    passes.map((p) => p - t0),
    [0, 7000],
  );
  t.deepEqual(errors, ['p: boom']);
  await clock.advance(3000);
  t.deepEqual(
    passes.map((p) => p - t0),
    [0, 7000, 10_000],
  );
});

test('stop waits for running passes and takes no more work', async (t) => {
  const clock = new FakeClock();
  const gate = deferred();
  let done = false;
  const w = new PodWorkers(
    async () => {
      await gate.promise;
      done = true;
      return 1000;
    },
    { clock, onError: () => undefined },
  );
  w.enqueue('a');
  await clock.advance(0);
  const stopped = w.stop();
  gate.resolve();
  await stopped;
  t.true(done);
  w.enqueue('a');
  await clock.advance(5000);
  t.false(w.busy('a'));
});
