// The lab's CPU accounting against this process and a child it starts.

import test from 'ava';
import { spawn } from 'node:child_process';
import { childPids, commOf, cpuSnapshot, cpuSpent, processCpuMs } from './lab-cpu';

test('processCpuMs: this process spends CPU; a process that is gone has none', (t) => {
  const before = processCpuMs(process.pid, false) ?? NaN;
  const until = Date.now() + 150;
  while (Date.now() < until) Math.sqrt(Math.random());
  const after = processCpuMs(process.pid, false) ?? NaN;
  t.true(after > before, `${before} -> ${after}`);
  t.is(processCpuMs(2 ** 22 + 1, true), undefined, 'above pid_max: no such process');
});

test('cpuSnapshot names the process and its resident children by command', async (t) => {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  t.teardown(() => child.kill());
  await new Promise((r) => child.once('spawn', r));
  t.true(childPids(process.pid).includes(child.pid ?? -1));
  t.is(commOf(child.pid ?? -1), 'sleep');
  const snap = cpuSnapshot('me', process.pid);
  t.true((snap.get('me') ?? -1) >= 0);
  t.true(snap.has('me/sleep'));
});

test('cpuSpent: the difference per name, from 0 for a name that appeared', (t) => {
  const spent = cpuSpent(
    new Map([
      ['a', 100],
      ['a/x', 5],
    ]),
    new Map([
      ['a', 250],
      ['a/x', 5],
      ['a/y', 7],
    ]),
  );
  t.deepEqual(
    [...spent],
    [
      ['a', 150],
      ['a/x', 0],
      ['a/y', 7],
    ],
  );
});
