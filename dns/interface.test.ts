// The tsk-dns interface's commands: idempotent at restart, a bridge where
// the kernel has no dummy links, removal tolerant of a missing link.

import test from 'ava';
import { ensureDnsInterface, removeDnsInterface, type Run } from './interface';

/** A fake `ip`: records argv, fails the commands `fail` maps to an error message. */
function fakeRun(fail: Record<string, string> = {}): { run: Run; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    run: (argv) => {
      const line = argv.join(' ');
      calls.push(line);
      const why = fail[line];
      return why === undefined ? Promise.resolve() : Promise.reject(new Error(`${line}: ${why}`));
    },
  };
}

test('a dummy link with the address as a /32, up', async (t) => {
  const f = fakeRun();
  await ensureDnsInterface('10.96.0.10', f.run);
  t.deepEqual(f.calls, ['ip link add tsk-dns type dummy', 'ip addr replace 10.96.0.10/32 dev tsk-dns', 'ip link set tsk-dns up']);
});

test('a restart finds the link there and keeps it', async (t) => {
  const f = fakeRun({ 'ip link add tsk-dns type dummy': 'RTNETLINK answers: File exists' });
  await ensureDnsInterface('10.96.0.10', f.run);
  t.is(f.calls.length, 3);
});

test('without the dummy module, a bridge without ports', async (t) => {
  const f = fakeRun({ 'ip link add tsk-dns type dummy': 'Error: Unknown device type.' });
  await ensureDnsInterface('10.96.0.10', f.run);
  t.deepEqual(f.calls.slice(0, 2), ['ip link add tsk-dns type dummy', 'ip link add tsk-dns type bridge']);
});

test('another failure names the interface', async (t) => {
  const f = fakeRun({ 'ip link add tsk-dns type dummy': 'Operation not permitted' });
  await t.throwsAsync(ensureDnsInterface('10.96.0.10', f.run), { message: /^cluster DNS: add interface tsk-dns: .*Operation not permitted/ });
});

test('removal: gone already is fine', async (t) => {
  await removeDnsInterface(fakeRun({ 'ip link del tsk-dns': 'Cannot find device "tsk-dns"' }).run);
  await t.throwsAsync(removeDnsInterface(fakeRun({ 'ip link del tsk-dns': 'Operation not permitted' }).run));
  t.pass();
});
