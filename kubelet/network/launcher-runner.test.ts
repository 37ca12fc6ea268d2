// LauncherRunner through the real tsk-launcher (build/native, made by
// scripts/build-native.sh before the tests): exit codes, stdout and stderr
// apart, input, a program that does not exist, and no files left behind.

import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Launcher } from '../runtime/launcher';
import { defaultNativeDir } from '../runtime/native-runtime';
import { LauncherRunner } from './launcher-runner';

function runner(t: { teardown(fn: () => void): void }): { r: LauncherRunner; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-launcher-runner-'));
  const launcher = new Launcher(defaultNativeDir());
  t.teardown(() => {
    launcher.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { r: new LauncherRunner(launcher, path.join(dir, 'io')), dir };
}

test('exit code, stdout and stderr apart, stdin from the input', async (t) => {
  const { r, dir } = runner(t);
  t.deepEqual(await r.run(['sh', '-c', 'cat; echo to-err >&2; exit 3'], 'line 1\nline 2\n'), { code: 3, stdout: 'line 1\nline 2\n', stderr: 'to-err\n' });
  t.deepEqual(await r.run(['sh', '-c', 'cat']), { code: 0, stdout: '', stderr: '' }, 'no input: /dev/null');
  t.deepEqual(fs.readdirSync(path.join(dir, 'io')), [], 'every file removed');
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
