// etcd snapshots and restore, with the real `tsk` binary: a server takes
// scheduled snapshots and keeps --etcd-snapshot-retention of them;
// `tsk etcd-snapshot save|ls|delete`; `tsk server --cluster-reset
// --cluster-reset-restore-path FILE` brings back exactly the objects of the
// snapshot; a file that is not a snapshot, or a running server, is refused
// with a clear error and the data is unchanged.

import test from 'ava';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTskServer } from './support/tsk-server';
import { runTsctl, runTsk, type Run } from './support/run';

const configMap = (name: string): string =>
  JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: { k: name } });

async function configMapNames(config: string): Promise<string> {
  const r = await runTsctl(['get', 'configmaps', '-o', 'name'], { env: { TSK_CONFIG: config, TSCTL_SERVER: '' }, timeoutMs: 30_000 });
  return r.stdout.trim();
}

function tsk(args: string[]): Promise<Run> {
  return runTsk(args, { timeoutMs: 60_000 });
}

test('scheduled snapshots keep the retention; save, ls, delete; a restore brings back exactly the snapshot; bad restores change nothing', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tsk-snapshot-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const data = join(dir, 'data');
  const config = join(dir, 'config');
  const apply = async (obj: string): Promise<void> => {
    const r = await runTsctl(['apply', '-f', '-'], { env: { TSK_CONFIG: config, TSCTL_SERVER: '' }, stdin: obj, timeoutMs: 30_000 });
    t.is(r.code, 0, r.stderr);
  };

  // Every 2 seconds (croner's six-field form), keep 2.
  let server = await startTskServer(t, data, config, ['--etcd-snapshot-schedule-cron', '*/2 * * * * *', '--etcd-snapshot-retention', '2']);
  await apply(configMap('before'));
  const snapshots = join(data, 'snapshots');
  const deadline = Date.now() + 30_000;
  while ((server.output().match(/saved etcd snapshot/g) ?? []).length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 300));
  t.true((server.output().match(/saved etcd snapshot/g) ?? []).length >= 3, server.output());
  await new Promise((r) => setTimeout(r, 300));
  const scheduled = (await readdir(snapshots)).filter((n) => n.startsWith('etcd-snapshot-') && !n.endsWith('.part'));
  t.is(scheduled.length, 2, `retention 2: ${scheduled.join(', ')}`);

  // On demand.
  const saved = await tsk(['etcd-snapshot', 'save', '--data-dir', data, '--name', 'before-change']);
  t.is(saved.code, 0, saved.stderr);
  const name = /Snapshot (before-change-\S+) saved/.exec(saved.stdout)?.[1] ?? '';
  t.truthy(name, saved.stdout);
  const ls = await tsk(['etcd-snapshot', 'ls', '--data-dir', data]);
  t.regex(ls.stdout, /^Name\s+Location\s+Size\s+Created$/m);
  t.true(ls.stdout.includes(name));

  await apply(configMap('after'));
  t.is(await configMapNames(config), 'configmap/after\nconfigmap/before');

  // --cluster-reset while the server runs: refused.
  const busy = await tsk(['server', '--data-dir', data, '--cluster-reset', '--cluster-reset-restore-path', join(snapshots, name)]);
  t.is(busy.code, 1);
  t.regex(busy.stderr, /a server is running on .*stop it before --cluster-reset/);
  await server.stop();

  // A file that is not a snapshot: a clear error, and the cluster is unchanged.
  const junk = join(dir, 'junk.db');
  await writeFile(junk, Buffer.alloc(4096 + 32, 7));
  const bad = await tsk(['server', '--data-dir', data, '--cluster-reset', '--cluster-reset-restore-path', junk]);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /junk\.db is not an etcd snapshot: its SHA-256 does not match/);
  server = await startTskServer(t, data, config, ['--etcd-disable-snapshots']);
  t.is(await configMapNames(config), 'configmap/after\nconfigmap/before', 'nothing changed');
  await server.stop();

  // The restore: exactly the objects of the snapshot.
  const reset = await tsk(['server', '--data-dir', data, '--cluster-reset', '--cluster-reset-restore-path', join(snapshots, name)]);
  t.is(reset.code, 0, reset.stderr + reset.stdout);
  t.regex(reset.stdout + reset.stderr, /restored etcd from .*; the previous data is kept in .*etcd-old-\d+/);
  t.regex(reset.stdout + reset.stderr, /restart without --cluster-reset now/);
  server = await startTskServer(t, data, config, ['--etcd-disable-snapshots']);
  t.is(await configMapNames(config), 'configmap/before');
  await apply(configMap('later'));
  t.is(await configMapNames(config), 'configmap/before\nconfigmap/later', 'the restored cluster takes writes');
  await server.stop();

  const del = await tsk(['etcd-snapshot', 'delete', '--data-dir', data, name, 'no-such-snapshot']);
  t.is(del.code, 1);
  t.regex(del.stderr, /no snapshot named "no-such-snapshot"/);
  t.true((await readdir(snapshots)).includes(name), 'nothing deleted when one name is wrong');
  t.is((await tsk(['etcd-snapshot', 'delete', '--data-dir', data, name])).code, 0);
  t.false((await readdir(snapshots)).includes(name));
});
