import test from 'ava';
import { mkdtemp, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BOOTSTRAP_FILES, bootstrapDataProblem, packBootstrapData, unpackBootstrapData } from './bootstrap-data';

async function tempDir(t: { teardown(f: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsk-bootstrap-data-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('pack and unpack: the bootstrap files travel whole and are written 0600', async (t) => {
  const from = await tempDir(t);
  const to = await tempDir(t);
  await mkdir(join(from, 'tls'));
  for (const f of BOOTSTRAP_FILES) await writeFile(join(from, f), `content of ${f}\n`);
  const packed = await packBootstrapData(from);
  t.deepEqual(Object.keys(packed).sort(), [...BOOTSTRAP_FILES].sort());
  await unpackBootstrapData(to, packed);
  for (const f of BOOTSTRAP_FILES) {
    t.is(await readFile(join(to, f), 'utf8'), `content of ${f}\n`);
    t.is((await stat(join(to, f))).mode & 0o777, 0o600);
  }
});

test('pack: a missing file is named', async (t) => {
  const from = await tempDir(t);
  await t.throwsAsync(packBootstrapData(from), { message: /tls\/ca\.crt: cannot read the cluster's bootstrap data \(ENOENT\)/ });
});

test('unpack: only the known files, none missing or empty (no path from the answer is trusted)', async (t) => {
  const whole = Object.fromEntries(BOOTSTRAP_FILES.map((f) => [f, 'x']));
  t.is(bootstrapDataProblem(whole), undefined);
  t.is(bootstrapDataProblem({ ...whole, '../../etc/passwd': 'x' }), 'unexpected file "../../etc/passwd" in the bootstrap data');
  t.is(bootstrapDataProblem({ ...whole, token: '' }), 'the bootstrap data lacks token');
  const to = await tempDir(t);
  await t.throwsAsync(unpackBootstrapData(to, { ...whole, '/etc/x': 'y' }), { message: /unexpected file "\/etc\/x"/ });
});
