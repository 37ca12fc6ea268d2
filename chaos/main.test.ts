import test from 'ava';
import { parseChaosFlags } from './main';

test('flags: defaults, explicit values, and bad input named by its flag', (t) => {
  t.deepEqual(
    parseChaosFlags([], () => 9),
    { rounds: 100, seed: 9 },
  );
  t.deepEqual(
    parseChaosFlags(['--rounds', '5', '--seed', '42'], () => 9),
    { rounds: 5, seed: 42 },
  );
  t.is(
    parseChaosFlags(['-h'], () => 9),
    'help',
  );
  t.throws(() => parseChaosFlags(['--rounds', '0'], () => 9), { message: '--rounds: "0" is not an integer of at least 1' });
  t.throws(() => parseChaosFlags(['--seed', 'x'], () => 9), { message: '--seed: "x" is not an integer of at least 0' });
  t.throws(() => parseChaosFlags(['--round', '3'], () => 9), { message: /unknown flag: --round/ });
});
