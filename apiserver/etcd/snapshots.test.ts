import test from 'ava';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifySnapshotFile } from './snapshot-file';
import { createdFromName, deleteSnapshots, listSnapshots, pruneSnapshots, snapshotName } from './snapshots';
import { formatSnapshotTable, parseSnapshotCommand } from './snapshot-cli';

async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsk-snapshots-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A file shaped as etcd's Snapshot RPC sends it: pages, then their SHA-256. */
function fakeSnapshot(pages: number): Buffer {
  const db = Buffer.alloc(512 * pages, 3);
  return Buffer.concat([db, createHash('sha256').update(db).digest()]);
}

test('a database followed by its SHA-256 is a snapshot; anything else is refused with the reason', async (t) => {
  const dir = await tempDir(t);
  const good = join(dir, 'good');
  await writeFile(good, fakeSnapshot(4));
  t.deepEqual(await verifySnapshotFile(good), { sizeBytes: 512 * 4 + 32 });
  const corrupt = fakeSnapshot(4);
  corrupt[100] = 9;
  await writeFile(join(dir, 'corrupt'), corrupt);
  await t.throwsAsync(verifySnapshotFile(join(dir, 'corrupt')), { message: /corrupt is not an etcd snapshot: its SHA-256 does not match/ });
  await writeFile(join(dir, 'text'), 'hello\n');
  await t.throwsAsync(verifySnapshotFile(join(dir, 'text')), { message: /its size \(6 bytes\) is not a database plus a SHA-256/ });
  await t.throwsAsync(verifySnapshotFile(join(dir, 'missing')), { message: /missing is not an etcd snapshot: no such file/ });
  await t.throwsAsync(verifySnapshotFile(dir), { message: /not a regular file/ });
});

test("names as k3s's: PREFIX-NODE-UNIXSECONDS, the time read back from the name", (t) => {
  const at = new Date('2026-12-07T02:00:00Z');
  const name = snapshotName('etcd-snapshot', 'server-1', at);
  t.is(name, 'etcd-snapshot-server-1-1796608800');
  t.deepEqual(createdFromName(name), at);
  t.is(createdFromName('my-own-file'), undefined);
  t.throws(() => snapshotName('../x', 'n', at), { message: /must be letters, digits/ });
});

test('list is newest first and skips unfinished .part files; prune keeps the newest scheduled ones only', async (t) => {
  const dir = await tempDir(t);
  for (const n of [
    'etcd-snapshot-a-1700000001',
    'etcd-snapshot-a-1700000003',
    'etcd-snapshot-a-1700000002',
    'on-demand-a-1700000000',
    'etcd-snapshot-a-1700000004.part',
  ]) {
    await writeFile(join(dir, n), 'x');
  }
  t.deepEqual(
    (await listSnapshots(dir)).map((s) => s.name),
    ['etcd-snapshot-a-1700000003', 'etcd-snapshot-a-1700000002', 'etcd-snapshot-a-1700000001', 'on-demand-a-1700000000'],
  );
  t.deepEqual(await pruneSnapshots(dir, 'etcd-snapshot', 2), ['etcd-snapshot-a-1700000001']);
  t.deepEqual((await readdir(dir)).sort(), [
    'etcd-snapshot-a-1700000002',
    'etcd-snapshot-a-1700000003',
    'etcd-snapshot-a-1700000004.part',
    'on-demand-a-1700000000',
  ]);
  await t.throwsAsync(deleteSnapshots(dir, ['on-demand-a-1700000000', 'nope']), { message: /no snapshot named "nope"/ });
  t.true((await readdir(dir)).includes('on-demand-a-1700000000'), 'nothing deleted when a name is wrong');
  t.deepEqual(await listSnapshots(join(dir, 'absent')), []);
});

test('tsk etcd-snapshot command line', (t) => {
  const save = parseSnapshotCommand(['save', '--data-dir', '/d', '--name', 'pre-upgrade']);
  t.like(save, { verb: 'save', dataDir: '/d', dir: '/d/snapshots', name: 'pre-upgrade' });
  t.like(parseSnapshotCommand(['list']), { verb: 'ls', dir: '/var/lib/tsk/snapshots' });
  t.like(parseSnapshotCommand(['delete', 'a', 'b', '--etcd-snapshot-dir', '/s']), { verb: 'delete', names: ['a', 'b'], dir: '/s' });
  t.like(parseSnapshotCommand(['prune', '--snapshot-retention', '3']), { verb: 'prune', retention: 3 });
  t.throws(() => parseSnapshotCommand(['delete']), { message: /delete needs the names/ });
  t.throws(() => parseSnapshotCommand(['restore']), { message: /unknown command "restore"/ });
  t.throws(() => parseSnapshotCommand(['prune', '--snapshot-retention', '0']), { message: /--snapshot-retention: "0" must be/ });
  t.throws(() => parseSnapshotCommand(['save', '--name', 'a/b']), { message: /--name: "a\/b"/ });
});

test('ls prints k3s columns', (t) => {
  const text = formatSnapshotTable([
    { name: 'on-demand-n-1700000000', path: '/s/on-demand-n-1700000000', sizeBytes: 1234, createdAt: new Date(1700000000000) },
  ]);
  t.is(
    text,
    'Name                   Location                         Size Created\non-demand-n-1700000000 file:///s/on-demand-n-1700000000 1234 2023-11-14T22:13:20.000Z',
  );
});
