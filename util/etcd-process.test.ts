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
