import test from 'ava';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultEncryptionConfigPath, ensureDefaultEncryptionConfig, loadEncryptionConfig } from './encryption-file';

function scratch(t: { teardown(f: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsk-enc-unit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const KEY = '/registry/secrets/default/db';

test('the first start makes DIR/encryption-config.yaml (0600) with a new key; later starts keep it', async (t) => {
  const dir = scratch(t);
  const file = defaultEncryptionConfigPath(join(dir, 'data'));
  t.is(file, join(dir, 'data', 'encryption-config.yaml'));
  const logs: string[] = [];
  const first = await ensureDefaultEncryptionConfig(file, (m) => logs.push(m));
  t.is(statSync(file).mode & 0o777, 0o600);
  t.is(logs.length, 1);
  const text = await readFile(file, 'utf8');
  const second = await ensureDefaultEncryptionConfig(file, (m) => logs.push(m));
  t.is(await readFile(file, 'utf8'), text, 'not replaced');
  t.is(logs.length, 1, 'only the start that made it says so');
  t.deepEqual(first.resources, ['secrets']);
  const stored = first.toStorage(KEY, Buffer.from('v'));
  t.deepEqual(second.fromStorage(KEY, stored), Buffer.from('v'));
  t.false(logs[0]!.includes(text.split('secret: ')[1]!.trim()), 'the key is never logged');
});

test('--encryption-provider-config: a missing file names the flag; a bad one names the file', async (t) => {
  const dir = scratch(t);
  await t.throwsAsync(loadEncryptionConfig(join(dir, 'nope.yaml')), { message: `--encryption-provider-config: ${join(dir, 'nope.yaml')} does not exist` });
  const bad = join(dir, 'bad.yaml');
  writeFileSync(
    bad,
    'apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources: [widgets]\n    providers: [{identity: {}}]\n',
  );
  await t.throwsAsync(loadEncryptionConfig(bad), { message: new RegExp(`^${bad}: resources\\[0\\]\\.resources\\[0\\]: Invalid value: "widgets"`) });
});
