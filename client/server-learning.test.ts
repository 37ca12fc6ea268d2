import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadServerList, readLearnedServers, writeLearnedServers } from './server-learning';

test('learned servers survive a restart and join the seeds', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tsk-servers-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'agent', 'servers.json');
  t.deepEqual(await readLearnedServers(file), [], 'none yet');
  await writeLearnedServers(file, ['10.0.0.2:6443', '10.0.0.3:6443']);
  const list = await loadServerList(['10.0.0.1:6443'], file);
  t.deepEqual(list.all(), ['10.0.0.1:6443', '10.0.0.2:6443', '10.0.0.3:6443']);
});

test('a damaged servers.json is named', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tsk-servers-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'servers.json');
  await writeFile(file, '{');
  await t.throwsAsync(readLearnedServers(file), { message: /servers\.json: not JSON/ });
  await writeFile(file, '{"servers": [1]}');
  await t.throwsAsync(readLearnedServers(file), { message: /"servers" must be a list/ });
});
