import test from 'ava';
import { rfc3339 } from './time';

test('rfc3339: milliseconds since the epoch, to the second in UTC', (t) => {
  t.is(rfc3339(Date.UTC(2024, 4, 1, 12, 0, 5, 999)), '2024-05-01T12:00:05Z');
  t.is(rfc3339(0), '1970-01-01T00:00:00Z');
});

test('rfc3339: a Date gives the same text as its milliseconds', (t) => {
  const d = new Date(Date.UTC(2023, 11, 31, 23, 59, 59, 1));
  t.is(rfc3339(d), '2023-12-31T23:59:59Z');
  t.is(rfc3339(d), rfc3339(d.getTime()));
});

test('rfc3339: the same second twice, then the next, and an invalid time throws every time', (t) => {
  t.is(rfc3339(Date.UTC(2024, 4, 1, 12, 0, 5, 1)), '2024-05-01T12:00:05Z');
  t.is(rfc3339(Date.UTC(2024, 4, 1, 12, 0, 5, 998)), '2024-05-01T12:00:05Z');
  t.is(rfc3339(Date.UTC(2024, 4, 1, 12, 0, 6)), '2024-05-01T12:00:06Z');
  t.is(rfc3339(-500), '1969-12-31T23:59:59Z');
  t.throws(() => rfc3339(NaN), { instanceOf: RangeError });
  t.throws(() => rfc3339(NaN), { instanceOf: RangeError });
});
