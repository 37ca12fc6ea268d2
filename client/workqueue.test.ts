import test from 'ava';
import { FakeClock, flushPromises } from './clock';
import { BucketRateLimiter, ExponentialRateLimiter, MaxOfRateLimiter, WorkQueue, runWorker } from './workqueue';
import { errorMessage } from '../util/errors';

function queue(clock = new FakeClock()): { q: WorkQueue<string>; clock: FakeClock } {
  return { q: new WorkQueue<string>({ clock, rateLimiter: new ExponentialRateLimiter<string>(10, 80) }), clock };
}

test('a key added twice is queued once', async (t) => {
  const { q } = queue();
  q.add('a');
  q.add('a');
  q.add('b');
  t.is(q.len(), 2);
  t.deepEqual(await q.get(), { key: 'a', shutdown: false });
  t.deepEqual(await q.get(), { key: 'b', shutdown: false });
  t.is(q.len(), 0);
});

test('a key being processed is not handed out again until done, then it is', async (t) => {
  const { q } = queue();
  q.add('a');
  const first = await q.get();
  t.is(first.key, 'a');
  q.add('a');
  t.is(q.len(), 0, 'held by a worker: not queued yet');
  let second: string | undefined;
  void q.get().then((i) => (second = i.key));
  await flushPromises();
  t.is(second, undefined, 'second worker must wait');
  q.done('a');
  await flushPromises();
  t.is(second, 'a', 'processed again after done');
});

test('done for a key not being processed is an invariant error', (t) => {
  const { q } = queue();
  t.throws(() => q.done('x'), { message: /invariant/ });
});

test('waiting workers get keys in order', async (t) => {
  const { q } = queue();
  const got: string[] = [];
  const p1 = q.get().then((i) => got.push(`1:${i.key}`));
  const p2 = q.get().then((i) => got.push(`2:${i.key}`));
  q.add('a');
  q.add('b');
  await Promise.all([p1, p2]);
  t.deepEqual(got, ['1:a', '2:b']);
});

test('addRateLimited backs off exponentially per key up to the cap; forget resets', async (t) => {
  const { q, clock } = queue();
  const delays: number[] = [];
  for (let i = 0; i < 5; i++) {
    const start = clock.now();
    q.addRateLimited('k');
    let step = 0;
    while (q.len() === 0) {
      await clock.advance(1);
      step++;
      if (step > 1000) break;
    }
    delays.push(clock.now() - start);
    const item = await q.get();
    q.done(item.key as string);
  }
  t.deepEqual(delays, [10, 20, 40, 80, 80]);
  t.is(q.numRequeues('k'), 5);
  q.forget('k');
  t.is(q.numRequeues('k'), 0);
});

test('addAfter keeps the earliest pending time', async (t) => {
  const { q, clock } = queue();
  q.addAfter('k', 100);
  q.addAfter('k', 50);
  q.addAfter('k', 200);
  await clock.advance(49);
  t.is(q.len(), 0);
  await clock.advance(1);
  t.is(q.len(), 1);
  await clock.advance(500);
  t.is(q.len(), 1, 'no second add for the same key');
});

test('shutDown releases waiting workers and ignores later adds', async (t) => {
  const { q } = queue();
  const waiting = q.get();
  q.shutDown();
  t.deepEqual(await waiting, { key: undefined, shutdown: true });
  q.add('a');
  t.is(q.len(), 0);
  t.deepEqual(await q.get(), { key: undefined, shutdown: true });
});

test('runWorker retries a failing key with back-off and forgets it on success', async (t) => {
  const { q, clock } = queue();
  let calls = 0;
  const errors: string[] = [];
  const worker = runWorker(
    q,
    async (key) => {
      calls++;
      if (calls < 3) throw new Error(`boom ${key}`);
    },
    (_k, err) => errors.push(errorMessage(err)),
  );
  q.add('x');
  await flushPromises();
  t.is(calls, 1);
  await clock.advance(10);
  t.is(calls, 2);
  await clock.advance(20);
  t.is(calls, 3);
  t.is(q.numRequeues('x'), 0, 'forgotten after success');
  t.deepEqual(errors, ['boom x', 'boom x']);
  q.shutDown();
  await worker;
});

test('two workers never hold the same key at once', async (t) => {
  const { q } = queue();
  const active = new Set<string>();
  let overlap = false;
  let runs = 0;
  const sync = async (key: string): Promise<void> => {
    if (active.has(key)) overlap = true;
    active.add(key);
    runs++;
    await flushPromises();
    if (runs < 4) q.add(key);
    active.delete(key);
  };
  const workers = [runWorker(q, sync), runWorker(q, sync)];
  q.add('k');
  for (let i = 0; i < 10; i++) await flushPromises();
  t.false(overlap);
  t.is(runs, 4, 're-added while processing: processed again afterwards');
  q.shutDown();
  await Promise.all(workers);
});

test('bucket limiter: burst is free, then qps', (t) => {
  const clock = new FakeClock();
  const b = new BucketRateLimiter<string>(10, 2, clock);
  t.is(b.when('a'), 0);
  t.is(b.when('b'), 0);
  t.is(b.when('c'), 100);
  t.is(b.when('d'), 200);
  const m = new MaxOfRateLimiter<string>(new ExponentialRateLimiter<string>(1, 1000), new BucketRateLimiter<string>(1000, 1000, clock));
  t.is(m.when('x'), 1);
  t.is(m.when('x'), 2);
});
