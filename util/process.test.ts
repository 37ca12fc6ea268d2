import test from 'ava';
import { processAlive } from './process';

test('this process is alive', (t) => {
  t.true(processAlive(process.pid));
});

test('a PID above the kernel limit (PID_MAX_LIMIT, 2^22) is no process', (t) => {
  t.false(processAlive(2 ** 22 + 1));
});
