import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdNotFoundError, EtcdProcess, etcdPidFile, isEtcdOf, isTskServer, stopStaleEtcd } from './etcd-process';
import { freePort } from './free-port';

test('a missing etcd binary says how to install it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tsk-etcd-missing-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const err = await t.throwsAsync(EtcdProcess.start({ dataDir: dir, binary: 'tsk-no-such-etcd' }), { instanceOf: EtcdNotFoundError });
  t.regex(err?.message ?? '', /apt-get install etcd-server/);
});

test('a port another process holds is a clear "address already in use" error', async (t) => {
  const { createServer } = await import('node:net');
  const dir = await mkdtemp(join(tmpdir(), 'tsk-etcd-busy-'));
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    busy.close();
    await rm(dir, { recursive: true, force: true });
  });
  const address = busy.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const err = await t.throwsAsync(EtcdProcess.start({ dataDir: dir, clientPort: port }));
  t.regex(err?.message ?? '', new RegExp(`127\\.0\\.0\\.1:${port}.*address already in use`));
});

test('with ports it picked itself, start-up succeeds and stop is idempotent', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tsk-etcd-ok-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const etcd = await EtcdProcess.start({ dataDir: dir });
  t.regex(etcd.clientUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
  await etcd.stop();
  await etcd.stop();
  t.pass();
});

test('etcd dies with the process that started it, even when that process is killed', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tsk-etcd-orphan-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  // A process that starts etcd, prints its pid, and is then SIGKILLed: it cannot stop etcd itself.
  const code = `require(${JSON.stringify(join(__dirname, 'etcd-process.js'))}).EtcdProcess.start({ dataDir: ${JSON.stringify(dir)} })
    .then((e) => console.log(e.pid), (err) => { console.error(err.message); process.exit(1); });`;
  const parent = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => parent.kill('SIGKILL'));
  const pid = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()))));
  t.true(pid > 0);
  t.teardown(() => {
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  });
  t.true(alive(pid), 'etcd runs');
  parent.kill('SIGKILL');
  const deadline = Date.now() + 10_000;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  t.false(alive(pid), 'etcd outlived the process that started it');
});

/** Whether the process exists and is not a zombie (an orphan is reaped by init). */
function alive(pid: number): boolean {
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

test('isEtcdOf: only an etcd whose --data-dir is DIR/etcd', (t) => {
  t.true(isEtcdOf(['etcd', '--name', 'tsk', '--data-dir', '/var/lib/tsk/etcd'], '/var/lib/tsk'));
  t.true(isEtcdOf(['/usr/bin/etcd', '--data-dir', '/var/lib/tsk/etcd'], '/var/lib/tsk/'));
  t.false(isEtcdOf(['etcd', '--data-dir', '/other/etcd'], '/var/lib/tsk'), 'another data directory');
  t.false(isEtcdOf(['sleep', '--data-dir', '/var/lib/tsk/etcd'], '/var/lib/tsk'), 'not an etcd (a reused pid)');
  t.false(isEtcdOf(['etcd'], '/var/lib/tsk'));
});

test('isTskServer: the parent that owns an etcd is a tsk server or API server', (t) => {
  t.true(isTskServer(['node', '/opt/tsk/dist/cmd/tsk.js', 'server', '--data-dir', '/d']));
  t.true(isTskServer(['/usr/bin/node', '/usr/local/bin/tsk', 'apiserver']));
  t.false(isTskServer(['/sbin/init']), 'an orphan reparented to init');
  t.false(isTskServer(['node', '/opt/tsk/dist/cmd/tsk.js', 'agent', '--server', 'https://x:6443']));
  t.false(isTskServer(['node', 'node_modules/ava/lib/worker/base.js']));
});

test('a second start on the data directory of a running server refuses to take its etcd', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tsk-etcd-owned-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  // A "server" that runs etcd: a process named tsk.js with the server command (this very node, running a script so named).
  const script = join(dir, 'tsk.js');
  writeFileSync(
    script,
    `require(${JSON.stringify(join(__dirname, 'etcd-process.js'))}).EtcdProcess.start({ dataDir: process.argv[3] })
      .then((e) => console.log(e.pid), (err) => { console.error(err.message); process.exit(1); });`,
  );
  const server = spawn(process.execPath, [script, 'server', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => void server.kill('SIGKILL'));
  const pid = Number(await new Promise<string>((resolve) => server.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()))));
  const err = await t.throwsAsync(stopStaleEtcd(dir));
  t.regex(err?.message ?? '', new RegExp(`etcd pid ${pid} on .*etcd belongs to a running tsk server \\(pid ${server.pid ?? 0}\\): stop that server first`));
  t.true(alive(pid), 'its etcd still runs');
});

test('a start stops a stale etcd left on its data directory (pid file and command line), not a process that reused the pid', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tsk-etcd-stale-'));
  const other = spawn('sleep', ['60'], { stdio: 'ignore' });
  t.teardown(async () => {
    other.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });
  // The pid file names a process that is no etcd: it is left alone.
  writeFileSync(etcdPidFile(dir), `${other.pid ?? 0}\n`);
  t.is(await stopStaleEtcd(dir), undefined);
  t.true(alive(other.pid ?? 0), 'a process that reused the pid is not killed');

  // An etcd of this data directory that outlived its server (started detached, outside any tsk process).
  const [client, peer] = [await freePort(), await freePort()];
  const url = (p: number): string => `http://127.0.0.1:${p}`;
  const stale = spawn(
    'etcd',
    [
      '--data-dir',
      join(dir, 'etcd'),
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
  t.teardown(() => void stale.kill('SIGKILL'));
  writeFileSync(etcdPidFile(dir), `${stale.pid ?? 0}\n`);
  const deadline = Date.now() + 20_000;
  while (
    !(await fetch(`${url(client)}/health`).then(
      (r) => r.ok,
      () => false,
    )) &&
    Date.now() < deadline
  )
    await new Promise((r) => setTimeout(r, 200));

  // Without stopping it, this start would wait for the data directory's lock and fail "did not become healthy".
  const lines: string[] = [];
  const etcd = await EtcdProcess.start({ dataDir: dir, startTimeoutMs: 15_000, log: (l) => lines.push(l) });
  t.teardown(() => etcd.stop());
  t.false(alive(stale.pid ?? 0), 'the stale etcd was stopped');
  t.regex(lines.join('\n'), new RegExp(`stopping etcd pid ${stale.pid ?? 0}, left running on .*etcd by an earlier start`));
  t.is(readFileSync(etcdPidFile(dir), 'utf8').trim(), String(etcd.pid), 'the pid file names the new etcd');
  await etcd.stop();
  t.false(existsSync(etcdPidFile(dir)), 'a stopped etcd leaves no pid file');
});
