// `tsk server` and its embedded etcd outliving each other's deaths (issue 9,
// "Nothing lost when anything dies"), with the real binary:
// - etcd killed with SIGKILL under a running server: the server restarts it
//   on the same ports and carries on; a client's informer sees the objects
//   written afterwards; /metrics counts the restart and /readyz says so;
// - the server killed with SIGKILL: its etcd dies with it, and an etcd still
//   holding the data directory (as one left by a server killed before etcd
//   set its parent-death signal) is stopped by the next start, which then
//   serves the same data.

import test from 'ava';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigMap } from '../api/gen/tsk/v1/core';
import { Clientset, SharedInformerFactory, resolveClient } from '../client';
import { etcdPidFile } from '../util/etcd-process';
import { freePort } from '../util/free-port';
import { eventually } from './support/client-harness';
import { runTsctl } from './support/run';
import { startTskServer, type TskServer } from './support/tsk-server';

const configMap = (name: string): string =>
  JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: { k: name } });

/** Whether the process exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function etcdPid(data: string): Promise<number> {
  return Number((await readFile(etcdPidFile(data), 'utf8')).trim());
}

async function apply(config: string, obj: string): Promise<{ code: number; stderr: string }> {
  return runTsctl(['apply', '-f', '-'], { env: { TSK_CONFIG: config, TSCTL_SERVER: '' }, stdin: obj, timeoutMs: 30_000 });
}

function httpAddress(server: TskServer): string {
  return /serving gRPC on .*, HTTP on ([^\s,]+)[ ,]/.exec(server.output())?.[1] ?? '';
}

async function scratch(t: { teardown(fn: () => Promise<void>): void }): Promise<{ data: string; config: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'tsk-survive-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return { data: join(dir, 'data'), config: join(dir, 'config') };
}

test('a killed embedded etcd is restarted by its server, which carries on; informers recover', async (t) => {
  const { data, config } = await scratch(t);
  const server = await startTskServer(t, data, config, ['--etcd-disable-snapshots']);
  t.is((await apply(config, configMap('before'))).code, 0);

  const target = await resolveClient({ kubeconfig: config, env: {} });
  const clientset = new Clientset(target.server, target.credentials);
  const informers = new SharedInformerFactory(clientset, { onError: () => undefined });
  const cms = informers.informerFor('ConfigMap');
  t.teardown(async () => {
    await informers.stop();
    clientset.close();
  });
  informers.start();
  await informers.waitForSync();
  t.truthy(cms.store.get('default/before'));

  const first = await etcdPid(data);
  process.kill(first, 'SIGKILL');
  await eventually(async () => /embedded etcd restarted at/.test(server.output()), 60_000, 'the server to restart its etcd').catch((err: Error) => {
    throw new Error(`${err.message}\n${server.output()}`);
  });
  t.is(server.child.exitCode, null, 'the server still runs');
  t.not(await etcdPid(data), first, 'a new etcd runs');
  t.regex(server.output(), /the embedded etcd exited unexpectedly \(SIGKILL\); restarting it in/);

  // Writes succeed again, and the informer (its watch broken by the kill) sees them.
  await eventually(async () => (await apply(config, configMap('after'))).code === 0, 30_000, 'a write after the restart');
  await eventually(
    async () => (cms.store.get('default/after') as ConfigMap | undefined)?.data?.['k'] === 'after',
    30_000,
    'the informer to see the new object',
  );

  const http = httpAddress(server);
  const metrics = await (await fetch(`http://${http}/metrics`)).text();
  t.regex(metrics, /^apiserver_embedded_etcd_restarts_total 1$/m);
  const readyz = await (await fetch(`http://${http}/readyz?verbose`)).text();
  t.regex(readyz, /embedded etcd: restarted 1 time\(s\), last at \S+ after it exited \(SIGKILL\)/);
  await server.stop();
  t.false(alive(await etcdPid(data).catch(() => first)), 'etcd stopped with its server');
});

test('a server killed with SIGKILL leaves no etcd; a stale etcd on its data directory is stopped by the next start', async (t) => {
  const { data, config } = await scratch(t);
  let server = await startTskServer(t, data, config, ['--etcd-disable-snapshots']);
  t.is((await apply(config, configMap('kept'))).code, 0);
  const pid = await etcdPid(data);
  server.child.kill('SIGKILL');
  await eventually(async () => !alive(pid), 15_000, 'etcd to die with its server');

  // An etcd on the same data directory that outlived its server (started here detached, outside any tsk process).
  const [client, peer] = [await freePort(), await freePort()];
  const url = (p: number): string => `http://127.0.0.1:${p}`;
  const stale = spawn(
    'etcd',
    [
      '--data-dir',
      join(data, 'etcd'),
      '--listen-client-urls',
      url(client),
      '--advertise-client-urls',
      url(client),
      '--listen-peer-urls',
      url(peer),
      '--initial-advertise-peer-urls',
      url(peer),
    ],
    { stdio: 'ignore', detached: true },
  );
  t.teardown(() => void stale.kill('SIGKILL'));
  await writeFile(etcdPidFile(data), `${stale.pid ?? 0}\n`);
  await eventually(async () => (await fetch(`${url(client)}/health`).catch(() => undefined))?.ok === true, 20_000, 'the stale etcd to serve');

  server = await startTskServer(t, data, config, ['--etcd-disable-snapshots']);
  t.regex(server.output(), new RegExp(`stopping etcd pid ${stale.pid ?? 0}, left running on \\S+ by an earlier start`));
  t.false(alive(stale.pid ?? 0));
  const r = await runTsctl(['get', 'configmaps', '-o', 'name'], { env: { TSK_CONFIG: config, TSCTL_SERVER: '' }, timeoutMs: 30_000 });
  t.is(r.stdout.trim(), 'configmap/kept', 'the same data is served');
  await server.stop();
});
