// `tsk lab down` after the lab's server was killed with SIGKILL and its
// embedded etcd lived on (issue 9): down stops that etcd too (its pid file
// checked against its command line), before it removes the lab's directory.
// The lab here has a unique name and data dir, no network namespaces (down
// deletes namespaces that do not exist, which is fine) and no processes but
// the stale etcd, which is killed at teardown if the test fails.

import test from 'ava';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { downLab } from '../lab/lab';
import { planLab } from '../lab/topology';
import { etcdPidFile } from '../util/etcd-process';
import { freePort } from '../util/free-port';
import { eventually } from './support/client-harness';

function alive(pid: number): boolean {
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

test('tsk lab down stops the embedded etcd a killed lab server left running', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'tsk-labdown-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const input = { name: `sv${randomBytes(3).toString('hex')}`, nodes: 1, dataDir, network: '172.30.0.0/24' };
  const plan = planLab(input);
  await mkdir(plan.serverDataDir, { recursive: true });
  // The state of a lab whose server is gone (killed): no process records left to stop.
  await writeFile(
    join(plan.dir, 'state.json'),
    JSON.stringify({ input, address: '127.0.0.1:0', httpAddress: '127.0.0.1:0', agents: [], createdAt: new Date().toISOString() }),
  );

  const [client, peer] = [await freePort(), await freePort()];
  const url = (p: number): string => `http://127.0.0.1:${p}`;
  const etcd = spawn(
    'etcd',
    [
      '--data-dir',
      join(plan.serverDataDir, 'etcd'),
      '--listen-client-urls',
      url(client),
      '--advertise-client-urls',
      url(client),
      '--listen-peer-urls',
      url(peer),
      '--initial-advertise-peer-urls',
      url(peer),
      '--initial-cluster',
      `default=${url(peer)}`,
    ],
    { stdio: 'ignore', detached: true },
  );
  t.teardown(() => void etcd.kill('SIGKILL'));
  await writeFile(etcdPidFile(plan.serverDataDir), `${etcd.pid ?? 0}\n`);
  await eventually(async () => (await fetch(`${url(client)}/health`).catch(() => undefined))?.ok === true, 20_000, 'the etcd to serve');

  const lines: string[] = [];
  await downLab({ name: input.name, dataDir, log: (l) => lines.push(l), cleanupNode: async () => undefined });
  t.false(alive(etcd.pid ?? 0), 'the etcd is stopped');
  t.true(
    lines.some((l) => l.includes(`stopping etcd pid ${etcd.pid ?? 0}`)),
    lines.join('\n'),
  );
  t.false(existsSync(plan.dir), "the lab's directory is removed");
});
