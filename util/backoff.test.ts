import test from 'ava';
import { Backoff, exponentialDelay } from './backoff';

const take = (b: Backoff, n: number): number[] => Array.from({ length: n }, () => b.next());

test('waits double from initialMs and stop at maxMs', (t) => {
  t.deepEqual(take(new Backoff({ initialMs: 500, maxMs: 10_000 }), 8), [500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
});

test('reset starts over at initialMs', (t) => {
  const b = new Backoff({ initialMs: 250, maxMs: 10_000 });
  take(b, 5);
  b.reset();
  t.deepEqual(take(b, 2), [250, 500]);
});

test('jitter lengthens a wait by up to its fraction, from the injected random source', (t) => {
  t.deepEqual(take(new Backoff({ initialMs: 100, maxMs: 800, jitter: 0.1, random: () => 0 }), 5), [100, 200, 400, 800, 800]);
  t.deepEqual(take(new Backoff({ initialMs: 100, maxMs: 800, jitter: 0.1, random: () => 0.5 }), 5), [105, 210, 420, 840, 840]);
});

test('many failures never overflow the cap', (t) => {
  const b = new Backoff({ initialMs: 1, maxMs: 60_000 });
  take(b, 2000);
  t.is(b.next(), 60_000);
});

test('unusable settings are refused', (t) => {
  t.throws(() => new Backoff({ initialMs: 0, maxMs: 10 }), { instanceOf: RangeError, message: /initialMs \(0\) must be positive/ });
  t.throws(() => new Backoff({ initialMs: 100, maxMs: 10 }), { instanceOf: RangeError });
});

test('exponentialDelay: the same waits from a failure count', (t) => {
  const o = { initialMs: 5, maxMs: 60_000 };
  t.deepEqual(
    [0, 1, 2, 3].map((n) => exponentialDelay(o, n)),
    [5, 10, 20, 40],
  );
  t.is(exponentialDelay(o, 14), 60_000);
  t.is(exponentialDelay(o, 5000), 60_000, 'no overflow');
  const b = new Backoff(o);
  t.deepEqual(
    take(b, 16),
    Array.from({ length: 16 }, (_, n) => exponentialDelay(o, n)),
  );
});
