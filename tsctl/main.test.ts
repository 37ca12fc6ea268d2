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

test('create configmap and secrets: built offline with --dry-run=client -o yaml, as kubectl', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsctl-create-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'game.properties'), 'lives=3\n');
  writeFileSync(join(dir, 'app.env'), 'LEVEL=debug\n');
  const cm = await tsctl([
    'create',
    'configmap',
    'game',
    '-n',
    'demo',
    `--from-file=${join(dir, 'game.properties')}`,
    '--from-literal=mode=easy',
    `--from-env-file=${join(dir, 'app.env')}`,
    '--dry-run=client',
    '-o',
    'yaml',
  ]);
  t.is(cm.code, 0, cm.stderr);
  t.is(
    cm.stdout,
    'apiVersion: v1\ndata:\n  LEVEL: debug\n  game.properties: |\n    lives=3\n  mode: easy\nkind: ConfigMap\nmetadata:\n  name: game\n  namespace: demo\n',
  );
  const generic = await tsctl([
    'create',
    'secret',
    'generic',
    'db',
    '--from-literal=password=hunter2',
    '--type=example.com/db',
    '--dry-run=client',
    '-o',
    'json',
  ]);
  t.is(generic.code, 0, generic.stderr);
  const json = JSON.parse(generic.stdout) as { type: string; data: Record<string, string> };
  t.is(json.type, 'example.com/db');
  t.deepEqual(json.data, { password: Buffer.from('hunter2').toString('base64') });
  const docker = await tsctl([
    'create',
    'secret',
    'docker-registry',
    'regcred',
    '--docker-server=r.example.com',
    '--docker-username=ci',
    '--docker-password=pw',
    '--dry-run=client',
    '-o',
    'json',
  ]);
  t.is(docker.code, 0, docker.stderr);
  const d = JSON.parse(docker.stdout) as { type: string; data: Record<string, string> };
  t.is(d.type, 'kubernetes.io/dockerconfigjson');
  t.is(Buffer.from(d.data['.dockerconfigjson'] ?? '', 'base64').toString(), '{"auths":{"r.example.com":{"username":"ci","password":"pw","auth":"Y2k6cHc="}}}');
  const plain = await tsctl(['create', 'cm', 'x', '--from-literal=a=b', '--dry-run=client']);
  t.is(plain.stdout, 'configmap/x created (dry run)\n');
});

test('create: bad input names the flag, and nothing is sent (no server is needed to refuse it)', async (t) => {
  const cases: [string[], number, RegExp][] = [
    [
      ['create', 'configmap', 'x', '--from-file=/nonexistent/file.txt'],
      1,
      /^error: --from-file: error reading \/nonexistent\/file\.txt: no such file or directory\n$/,
    ],
    [['create', 'secret', 'generic', 'x', '--from-literal=k=1', '--from-literal=k=2'], 1, /^error: --from-literal: cannot add key "k", another key/],
    [['create', 'configmap', 'x', '--from-literal=a/b=1'], 1, /^error: --from-literal: "a\/b" is not a valid key name for a ConfigMap/],
    [['create', 'secret', 'docker-registry', 'x', '--docker-username=u'], 2, /^error: --docker-password is required\n/],
    [
      ['create', 'secret', 'docker-registry', 'x', '--docker-username=u', '--docker-password=p', '--from-literal=a=b'],
      2,
      /^error: --from-literal does not apply to create secret docker-registry/,
    ],
    [['create', 'configmap', 'x', '--type=Opaque'], 2, /^error: --type does not apply to create configmap/],
    [['create', 'secret', 'tls', 'x'], 2, /^error: unknown secret type "tls"/],
    [['create', 'secret', 'generic'], 2, /^error: exactly one NAME is required, got none/],
    [['create', 'configmap', 'x', '--dry-run=maybe'], 2, /^error: --dry-run: "maybe" must be none, server or client/],
  ];
  for (const [argv, code, message] of cases) {
    // -s to a closed port: reaching the server would fail differently.
    const r = await tsctl(['-s', '127.0.0.1:1', ...argv]);
    t.is(r.code, code, `${argv.join(' ')}: ${r.stderr}`);
    t.regex(r.stderr, message, argv.join(' '));
  }
});

test('patch: bad input names the flag, and nothing is sent', async (t) => {
  const cases: [string[], number, RegExp][] = [
    [['patch', 'pod', 'web'], 2, /^error: must specify --patch or --patch-file containing the contents of the patch\n/],
    [['patch', 'pod', 'web', '-p', '{}', '--patch-file', 'x'], 2, /^error: --patch and --patch-file cannot be used together/],
    [['patch', 'pod', 'web', '-p', '{}', '--type', 'apply'], 2, /^error: --type: "apply" is not a patch type; allowed: strategic, merge, json/],
    [['patch', 'rc', 'web', '-p', '{}', '--subresource', 'resize'], 2, /^error: --subresource resize: only pods have it, not replicationcontrollers/],
    [['patch', 'cm', 'web', '-p', '{}', '--subresource', 'status'], 2, /^error: --subresource status: configmaps have no status subresource/],
    [['patch', 'pod', 'web', '-p', '{}', '--subresource', 'scale'], 2, /^error: --subresource: "scale" is not supported; allowed: status, resize/],
    [['patch', 'pod', 'web', '-p', '{"spec": ['], 1, /^error: --patch: the patch is not valid JSON or YAML: /],
    [['patch', 'pod', 'web', '--patch-file', '/nonexistent/p.json'], 1, /^error: --patch-file: cannot read \/nonexistent\/p\.json: /],
    [['patch', 'pod'], 2, /^error: a NAME is required: tsctl patch KIND NAME -p PATCH/],
    [['patch', 'pod', 'web', '-p', '{}', '-o', 'wide'], 2, /^error: --output: unable to match a printer suitable for the output format "wide"/],
  ];
  for (const [argv, code, message] of cases) {
    const r = await tsctl(['-s', '127.0.0.1:1', ...argv]);
    t.is(r.code, code, `${argv.join(' ')}: ${r.stderr}`);
    t.regex(r.stderr, message, argv.join(' '));
  }
});
