import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdNotFoundError, EtcdProcess } from './etcd-process';

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
