// LauncherRunner through the real tsk-launcher (build/native, made by
// scripts/build-native.sh before the tests): exit codes, stdout and stderr
// apart, input, output longer than one reply line, a program that does not
// exist, and nsenter --net done by the launcher.

import test from 'ava';
import * as fs from 'node:fs';
import { Launcher } from '../runtime/launcher';
import { defaultNativeDir } from '../runtime/native-runtime';
import { LauncherRunner } from './launcher-runner';

function runner(t: { teardown(fn: () => void): void }): { r: LauncherRunner } {
  const launcher = new Launcher(defaultNativeDir());
  t.teardown(() => launcher.close());
  return { r: new LauncherRunner(launcher) };
}

test('exit code, stdout and stderr apart, stdin from the input', async (t) => {
  const { r } = runner(t);
  t.deepEqual(await r.run(['sh', '-c', 'cat; echo to-err >&2; exit 3'], 'line 1\tx\nline 2\n'), { code: 3, stdout: 'line 1\tx\nline 2\n', stderr: 'to-err\n' });
  t.deepEqual(await r.run(['sh', '-c', 'cat']), { code: 0, stdout: '', stderr: '' }, 'no input: /dev/null');
});

test('output of many reply lines, UTF-8 split across them, comes back whole', async (t) => {
  const { r } = runner(t);
  const big = `${'ä'.repeat(5000)}\n${'x'.repeat(9001)}`;
  const got = await r.run(['cat'], big);
  t.is(got.code, 0);
  t.is(got.stdout, big);
});

test('nsenter --net=PATH: the launcher enters the namespace itself; a missing one is 127 naming it', async (t) => {
  const { r } = runner(t);
  const ours = fs.readlinkSync('/proc/self/ns/net');
  t.deepEqual(await r.run(['nsenter', `--net=/proc/${process.pid}/ns/net`, 'readlink', '/proc/self/ns/net']), { code: 0, stdout: `${ours}\n`, stderr: '' });
  const missing = await r.run(['nsenter', '--net=/nonexistent/net', 'true']);
  t.is(missing.code, 127);
  t.regex(missing.stderr, /open network namespace \/nonexistent\/net: No such file or directory/);
});

test('a program not found: 127 with the reason; an empty argument goes through execFile', async (t) => {
  const { r } = runner(t);
  const missing = await r.run(['tsk-no-such-program']);
  t.is(missing.code, 127);
  t.regex(missing.stderr, /tsk-no-such-program: No such file or directory/);
  t.deepEqual(await r.run(['printf', '%s|', 'a', '', 'b']), { code: 0, stdout: 'a||b|', stderr: '' });
});

test('commands run side by side', async (t) => {
  const { r } = runner(t);
  const started = Date.now();
  const results = await Promise.all([1, 2, 3, 4].map((i) => r.run(['sh', '-c', `sleep 0.5; echo ${i}`])));
  t.deepEqual(
    results.map((x) => x.stdout),
    ['1\n', '2\n', '3\n', '4\n'],
  );
  t.true(Date.now() - started < 1900, 'not one after another');
});
