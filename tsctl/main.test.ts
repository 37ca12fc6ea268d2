import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from './main';

async function tsctl(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: { write: (s: string | Uint8Array) => (stdout += String(s)) },
    stderr: { write: (s: string | Uint8Array) => (stderr += String(s)) },
    stdin: new PassThrough(),
  };
  const code = await main(argv, { io, env: {} });
  return { code, stdout, stderr };
}

test('no command: usage on stderr, exit 2; --help anywhere without a command: usage, exit 0', async (t) => {
  const none = await tsctl(['-s', '127.0.0.1:1']);
  t.is(none.code, 2);
  t.regex(none.stderr, /^tsctl controls a tsk cluster\./);
  for (const argv of [['--help'], ['-n', 'demo', '-h'], ['help']]) {
    const r = await tsctl(argv);
    t.is(r.code, 0, argv.join(' '));
    t.regex(r.stdout, /Global flags:/);
  }
});

test("a command's help, with global flags before it", async (t) => {
  const r = await tsctl(['-s', '127.0.0.1:1', '-n', 'demo', 'get', '--help']);
  t.is(r.code, 0);
  t.regex(r.stdout, /^Display one or many objects/);
  t.regex(r.stdout, /-L, --label-columns KEY\[,KEY\.\.\.\]/);
  t.regex(r.stdout, /--sort-by FIELD/);
});

test('bad command lines exit 2 with the command named', async (t) => {
  const unknown = await tsctl(['-n', 'demo', 'frobnicate']);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /^error: unknown command "frobnicate" for "tsctl"/);
  const flag = await tsctl(['get', 'pods', '--sort-by', '{.a}{.b}']);
  t.is(flag.code, 2);
  t.regex(flag.stderr, /^error: --sort-by: unexpected path string.*\nSee 'tsctl get --help' for usage\.\n$/);
  const value = await tsctl(['get', 'pods', '--no-headers=maybe']);
  t.is(value.code, 2);
  t.regex(value.stderr, /invalid argument "maybe" for "--no-headers" flag: must be true or false/);
});

test('a broken client config is one line and exit 1, with no hint to --help', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsctl-conf-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'config');
  writeFileSync(
    file,
    'current-context: c\ncontexts:\n- name: c\n  server: 127.0.0.1:1\n  client-certificate-data: bm90IGEgY2VydA==\n  client-key-data: bm90IGEga2V5\n',
  );
  const r = await tsctl(['--kubeconfig', file, 'get', 'pods']);
  t.is(r.code, 1);
  t.regex(r.stderr, /^error: .*config: .*client-certificate-data: must be base64 of a PEM block\n$/);
});
