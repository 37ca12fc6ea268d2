import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NotFoundError } from '../api/errors';
import type { Endpoints } from '../api/gen/tsk/v1/core';
import { loadServerList, readLearnedServers, startServerLearning, writeLearnedServers } from './server-learning';
import { ServerList } from './server-list';

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

test('the servers published in default/kubernetes are learned, saved, and survive their absence', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tsk-servers-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'servers.json');
  let published: Endpoints | undefined = {
    metadata: { name: 'kubernetes', namespace: 'default' },
    subsets: [{ addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }], ports: [{ name: 'https', port: 6443 }] }],
  };
  const asked: string[] = [];
  const endpoints = {
    get: async (name: string, namespace?: string): Promise<Endpoints> => {
      asked.push(`${namespace ?? ''}/${name}`);
      if (published === undefined) throw new NotFoundError('Endpoints', name);
      return published;
    },
  };
  const list = new ServerList(['10.0.0.1:6443']);
  const lines: string[] = [];
  const learning = startServerLearning({ endpoints }, list, file, (l) => lines.push(l), 60_000);
  t.teardown(() => learning.stop());
  await learning.refresh();
  t.deepEqual(asked, ['default/kubernetes']);
  t.deepEqual(list.all(), ['10.0.0.1:6443', '10.0.0.2:6443']);
  t.deepEqual(await readLearnedServers(file), ['10.0.0.1:6443', '10.0.0.2:6443']);
  t.regex(lines.join('\n'), /API servers: 10\.0\.0\.1:6443, 10\.0\.0\.2:6443/);
  published = undefined;
  await learning.refresh();
  t.deepEqual(list.all(), ['10.0.0.1:6443', '10.0.0.2:6443'], 'a server that does not publish the Endpoints changes nothing');
  t.is(lines.length, 1, 'and logs nothing');
});
