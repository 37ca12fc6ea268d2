import test from 'ava';
import { age, humanDuration } from './age';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

const table: [number, string][] = [
  [0, '0s'],
  [-500, '0s'],
  [-5 * S, '<invalid>'],
  [45 * S, '45s'],
  [119 * S, '119s'],
  [2 * M, '2m'],
  [3 * M + 20 * S, '3m20s'],
  [9 * M + 59 * S, '9m59s'],
  [10 * M + 30 * S, '10m'],
  [179 * M, '179m'],
  [3 * H, '3h'],
  [5 * H + 30 * M, '5h30m'],
  [8 * H, '8h'],
  [47 * H, '47h'],
  [2 * D + 3 * H, '2d3h'],
  [7 * D, '7d'],
  [8 * D + 5 * H, '8d'],
  [400 * D, '400d'],
  [2 * 365 * D + 30 * D, '2y30d'],
  [3 * 365 * D, '3y'],
  [10 * 365 * D, '10y'],
];

for (const [ms, want] of table) {
  test(`humanDuration(${ms}) = ${want}`, (t) => t.is(humanDuration(ms), want));
}

test('age of a timestamp', (t) => {
  const now = Date.parse('2024-01-01T00:05:00Z');
  t.is(age('2024-01-01T00:00:00Z', now), '5m');
  t.is(age(undefined, now), '<unknown>');
  t.is(age('garbage', now), '<unknown>');
});
