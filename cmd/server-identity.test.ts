import test from 'ava';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serverLeaderIdentity } from './server-identity';

async function withDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tsk-server-id-'));
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('with an embedded etcd the identity survives a restart, kept in DATA_DIR/server-id (0600)', async (t) => {
  await withDir(async (dir) => {
    const first = await serverLeaderIdentity(dir, true, 'host-a');
    t.regex(first, /^host-a_[0-9a-f-]{36}$/);
    t.is(await serverLeaderIdentity(dir, true, 'host-a'), first);
    t.is((await stat(join(dir, 'server-id'))).mode & 0o777, 0o600);
    t.is((await readFile(join(dir, 'server-id'), 'utf8')).trim(), first.slice('host-a_'.length));
  });
});

test('another data directory is another identity; a damaged file is replaced', async (t) => {
  await withDir(async (a) => {
    await withDir(async (b) => {
      t.not(await serverLeaderIdentity(a, true, 'h'), await serverLeaderIdentity(b, true, 'h'));
      await writeFile(join(b, 'server-id'), 'garbage\n');
      t.regex(await serverLeaderIdentity(b, true, 'h'), /^h_[0-9a-f]{8}-/);
    });
  });
});

test('with --etcd-servers every start campaigns as a fresh HOST_UUID and writes nothing', async (t) => {
  await withDir(async (dir) => {
    const one = await serverLeaderIdentity(dir, false, 'host-a');
    t.not(one, await serverLeaderIdentity(dir, false, 'host-a'));
    await t.throwsAsync(stat(join(dir, 'server-id')));
  });
});
