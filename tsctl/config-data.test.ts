import test from 'ava';
import { CliError } from './errors';
import { collectData, dockerConfigJson, splitText, type SourceFiles } from './config-data';

/** A fake file system: paths to contents; directories as lists of names. */
function fakeFiles(files: Record<string, string | Buffer>, dirs: Record<string, string[]> = {}): SourceFiles {
  const missing = (path: string): Error => Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' });
  return {
    listIfDirectory(path) {
      if (dirs[path]) return dirs[path];
      if (path in files) return undefined;
      throw missing(path);
    },
    isRegularFile: (path) => path in files,
    read(path) {
      const v = files[path];
      if (v === undefined) throw missing(path);
      return Buffer.from(v);
    },
  };
}

const none = { literals: [], files: [], envFiles: [] };
const text = (m: Map<string, Buffer>): Record<string, string> => Object.fromEntries([...m].map(([k, v]) => [k, v.toString()]));

test('literals: split at the first "=", values kept as they are', (t) => {
  const data = collectData({ ...none, literals: ['user=admin', 'dsn=a=b', 'empty='] }, 'Secret', fakeFiles({}));
  t.deepEqual(text(data), { user: 'admin', dsn: 'a=b', empty: '' });
});

test('files: the base name or the given key; a directory gives each regular file', (t) => {
  const fs = fakeFiles(
    { '/cfg/game.properties': 'lives=3\n', '/cfg/ui.properties': 'color=purple\n', '/tmp/pw.txt': 'S3cr3t' },
    { '/cfg': ['game.properties', 'sub', 'ui.properties'] },
  );
  t.deepEqual(text(collectData({ ...none, files: ['/tmp/pw.txt', 'password=/tmp/pw.txt'] }, 'Secret', fs)), { 'pw.txt': 'S3cr3t', password: 'S3cr3t' });
  t.deepEqual(text(collectData({ ...none, files: ['/cfg'] }, 'ConfigMap', fs)), { 'game.properties': 'lives=3\n', 'ui.properties': 'color=purple\n' });
});

test('env files: KEY=VALUE lines, comments, blank lines and a BOM skipped', (t) => {
  const fs = fakeFiles({ '/app.env': '\uFEFF# settings\nLEVEL=debug\n\n  PORT=8080\r\nURL=http://x/?a=b\n' });
  t.deepEqual(text(collectData({ ...none, envFiles: ['/app.env'] }, 'ConfigMap', fs)), { LEVEL: 'debug', PORT: '8080', URL: 'http://x/?a=b' });
});

test('bad input: each is an error naming the flag', (t) => {
  const fs = fakeFiles({ '/a/x': '1', '/bad.env': 'OK=1\nnot a pair\n' }, { '/a': ['x'] });
  const cases: [Parameters<typeof collectData>[0], string][] = [
    [{ ...none, literals: ['novalue'] }, '--from-literal: invalid literal source "novalue", expected key=value'],
    [{ ...none, literals: ['=v'] }, '--from-literal: invalid literal source "=v", expected key=value'],
    [{ ...none, literals: ['a/b=v'] }, '--from-literal: "a/b" is not a valid key name for a Secret: a valid config key must consist of'],
    [{ ...none, literals: ['..data=v'] }, `--from-literal: "..data" is not a valid key name for a Secret: must not start with '..'`],
    [{ ...none, literals: ['k=1', 'k=2'] }, '--from-literal: cannot add key "k", another key by that name already exists in the data of the Secret'],
    [{ ...none, literals: ['x=1'], files: ['/a/x'] }, '--from-file: cannot add key "x", another key by that name already exists'],
    [{ ...none, files: ['/nope.txt'] }, '--from-file: error reading /nope.txt: no such file or directory'],
    [{ ...none, files: ['k=/nope.txt'] }, '--from-file: error reading /nope.txt: no such file or directory'],
    [{ ...none, files: ['=/a/x'] }, '--from-file: "=/a/x" must be [key=]path'],
    [{ ...none, files: ['k=/a'] }, '--from-file: cannot give a key for the directory /a'],
    [{ ...none, files: ['bad key=/a/x'] }, '--from-file: "bad key" is not a valid key name'],
    [{ ...none, envFiles: ['/nope.env'] }, '--from-env-file: error reading /nope.env: no such file or directory'],
    [{ ...none, envFiles: ['/bad.env'] }, '--from-env-file: /bad.env:2: "not a pair" is not KEY=VALUE'],
  ];
  for (const [sources, message] of cases) {
    const err = t.throws(() => collectData(sources, 'Secret', fs), { instanceOf: CliError });
    t.true(err?.message.startsWith(message), `${err?.message} should start with ${message}`);
  }
});

test('ConfigMap data: UTF-8 text in data, other bytes in binaryData', (t) => {
  const split = splitText(
    new Map([
      ['a.txt', Buffer.from('héllo\n')],
      ['logo.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0xff])],
    ]),
  );
  t.deepEqual(split.data, { 'a.txt': 'héllo\n' });
  t.deepEqual(Object.keys(split.binaryData), ['logo.png']);
});

test('.dockerconfigjson exactly as kubectl writes it: auths.SERVER.{username,password,email,auth}', (t) => {
  t.is(
    dockerConfigJson({ server: 'registry.example.com', username: 'ci', password: 's3cr3t', email: 'ci@example.com' }),
    '{"auths":{"registry.example.com":{"username":"ci","password":"s3cr3t","email":"ci@example.com","auth":"Y2k6czNjcjN0"}}}',
  );
  t.is(
    dockerConfigJson({ server: 'https://index.docker.io/v1/', username: 'u', password: 'p' }),
    '{"auths":{"https://index.docker.io/v1/":{"username":"u","password":"p","auth":"dTpw"}}}',
  );
});
