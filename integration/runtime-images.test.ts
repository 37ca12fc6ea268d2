// Integration tests of the image store against a real registry (Debian's
// docker-registry on 127.0.0.1, started here) with images tsk builds itself
// from busybox-static. Root: layers keep ownership, device nodes and
// trusted.* xattrs, and the whiteout test mounts an overlay.

import test, { ExecutionContext } from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { promises as fs, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { runImageCommand } from '../kubelet/runtime/cli/image-commands';
import { sha256Of } from '../kubelet/runtime/image/digest';
import { DigestMismatchError, ImageNotFoundError, InvalidArchiveError, InvalidLayerError, RegistryAuthError } from '../kubelet/runtime/image/errors';
import { ImageStore, PullProgress } from '../kubelet/runtime/image/store';
import { startCountingProxy, startRegistry, startTokenAuthProxy, TestRegistry } from './support/registry';
import { tempDir } from './support/temp';
import {
  buildImage,
  buildLayer,
  BuiltImage,
  BuiltLayer,
  busyboxImage,
  busyboxRootfs,
  dockerSaveArchive,
  ociLayoutArchive,
  pushImage,
  pushIndex,
} from '../kubelet/runtime/image/builder';

const USER = 'alice';
const PASS = 'correct horse';

let open: TestRegistry;
let secured: TestRegistry;
let busybox: BuiltImage;

test.before(async () => {
  busybox = await busyboxImage({ Labels: { 'org.tsk.test': 'yes' }, ExposedPorts: { '8080/tcp': {} }, WorkingDir: '/tmp' });
  open = await startRegistry();
  secured = await startRegistry({ users: { [USER]: PASS } });
  await pushImage(open.host, 'tsk/busybox', 'v1', busybox);
  await pushImage(secured.host, 'tsk/busybox', 'v1', busybox, { username: USER, password: PASS });
});

test.after.always(async () => {
  await open?.stop();
  await secured?.stop();
});

function newStore(t: ExecutionContext): { store: ImageStore; dataDir: string } {
  const dataDir = tempDir(t, 'tsk-images-');
  return { store: new ImageStore(dataDir), dataDir };
}

/** Every path under the store with its size, to prove a failed operation changed nothing. */
async function snapshot(dataDir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
      const p = path.join(dir, name);
      const st = await fs.lstat(p);
      out.push(`${path.relative(dataDir, p)} ${st.isDirectory() ? 'dir' : st.size}`);
      // Layer contents are covered by their directory's presence.
      if (st.isDirectory() && depth < 4) await walk(p, depth + 1);
    }
  };
  await walk(dataDir, 0);
  return out.sort();
}

function collector(): { events: PullProgress[]; onProgress: (p: PullProgress) => void } {
  const events: PullProgress[] = [];
  return { events, onProgress: (p) => events.push(p) };
}

test('pulls the busybox test image anonymously and unpacks a working rootfs', async (t) => {
  const { store } = newStore(t);
  const ref = `${open.host}/tsk/busybox:v1`;
  const progress = collector();
  const rec = await store.pull(ref, progress);
  t.is(rec.id, busybox.configDigest);
  t.deepEqual(rec.references, [ref]);
  t.is(rec.manifestDigest, busybox.manifestDigest);
  t.deepEqual(rec.config.cmd, ['sh']);
  t.is(rec.config.workingDir, '/tmp');
  t.deepEqual(rec.config.exposedPorts, ['8080/tcp']);
  t.deepEqual(rec.config.labels, { 'org.tsk.test': 'yes' });
  t.is(rec.layerDirs.length, 1);
  const root = rec.layerDirs[0] as string;
  const bb = await fs.stat(path.join(root, 'bin/busybox'));
  t.true(bb.isFile());
  t.is(bb.mode & 0o7777, 0o755);
  t.is(await fs.readlink(path.join(root, 'bin/sh')), '/bin/busybox');
  t.is((await fs.stat(path.join(root, 'tmp'))).mode & 0o7777, 0o1777);
  t.is(execFileSync('chroot', [root, '/bin/sh', '-c', 'echo $((6*7))'], { encoding: 'utf8' }).trim(), '42');
  const phases = progress.events.map((e) => e.phase).filter((p, i, a) => p !== a[i - 1]);
  t.deepEqual(phases, ['waiting', 'downloading', 'verifying', 'extracting', 'done']);
  // The same reference resolves by name, by ID and by ID prefix.
  t.is((await store.get(ref))?.id, rec.id);
  t.is((await store.get(rec.id))?.id, rec.id);
  t.is((await store.get(rec.id.slice(7, 19)))?.id, rec.id);
  t.is(await store.get(`${open.host}/tsk/busybox:v2`), undefined);
});

test('pull with basic auth (htpasswd): refused without or with wrong credentials, store untouched', async (t) => {
  const { store, dataDir } = newStore(t);
  const ref = `${secured.host}/tsk/busybox:v1`;
  await store.list();
  const before = await snapshot(dataDir);
  const e1 = await t.throwsAsync(store.pull(ref), { instanceOf: RegistryAuthError });
  t.regex(e1?.message ?? '', /requires credentials/);
  const e2 = await t.throwsAsync(store.pull(ref, { auth: { username: USER, password: 'wrong' } }), { instanceOf: RegistryAuthError });
  t.regex(e2?.message ?? '', new RegExp(`registry ${secured.host.replace(/\./g, '\\.')}`));
  t.deepEqual(await snapshot(dataDir), before);
  const rec = await store.pull(ref, { auth: { username: USER, password: PASS } });
  t.is(rec.id, busybox.configDigest);
  t.true((await fs.stat(path.join(rec.layerDirs[0] as string, 'bin/busybox'))).isFile());
});

test('an index resolves to linux/amd64; pull by digest records a digest reference', async (t) => {
  const decoy = buildImage([await buildLayer({ entries: [{ name: 'arm64-only', type: 'file', data: Buffer.from('no') }] })], {}, { docker: true });
  const indexDigest = await pushIndex(open.host, 'tsk/multi', 'latest', busybox, decoy);
  const { store } = newStore(t);
  const rec = await store.pull(`${open.host}/tsk/multi`);
  t.is(rec.id, busybox.configDigest);
  t.is(rec.manifestDigest, indexDigest);
  const byDigest = await store.pull(`${open.host}/tsk/multi@${decoy.manifestDigest}`);
  t.is(byDigest.id, decoy.configDigest);
  t.deepEqual(byDigest.references, [`${open.host}/tsk/multi@${decoy.manifestDigest}`]);
  t.true((await fs.stat(path.join(byDigest.layerDirs[0] as string, 'arm64-only'))).isFile());
});

test('whiteouts, opaque dirs, hardlinks, devices, ownership and modes survive into an overlay', async (t) => {
  const lower = await buildLayer({
    entries: [
      { name: 'a/', type: 'dir' },
      { name: 'a/keep', type: 'file', data: Buffer.from('k') },
      { name: 'a/gone', type: 'file', data: Buffer.from('g') },
      { name: 'o/', type: 'dir' },
      { name: 'o/x', type: 'file', data: Buffer.from('x') },
      { name: 'o/sub/', type: 'dir' },
      { name: 'gonedir/', type: 'dir' },
      { name: 'gonedir/f', type: 'file', data: Buffer.from('f') },
    ],
  });
  const upper = await buildLayer({
    compression: 'none',
    entries: [
      { name: 'a/.wh.gone', type: 'file' },
      { name: '.wh.gonedir', type: 'file' },
      { name: 'o/', type: 'dir', mode: 0o750, uid: 7, gid: 8 },
      { name: 'o/.wh..wh..opq', type: 'file' },
      { name: 'o/new', type: 'file', data: Buffer.from('new'), mode: 0o4711, uid: 1000, gid: 1001, mtime: 1_600_000_000 },
      { name: 'o/newlink', type: 'hardlink', linkname: 'o/new' },
      { name: 'o/sym', type: 'symlink', linkname: '../a/keep', uid: 1000, gid: 1000 },
      { name: 'dev/', type: 'dir' },
      { name: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666 },
      { name: 'dev/loop9', type: 'block', devmajor: 7, devminor: 9, mode: 0o660, gid: 6 },
      { name: 'fifo', type: 'fifo', mode: 0o600 },
      { name: 'caps', type: 'file', data: Buffer.from('c'), xattrs: { 'user.tsk': 'kept' } },
      // Later entries of a path replace earlier ones, whatever their types.
      { name: 'dup/', type: 'dir', mode: 0o700 },
      { name: 'dup/child', type: 'file', data: Buffer.from('c') },
      { name: 'dup', type: 'file', data: Buffer.from('now a file') },
      { name: 'dev/zero', type: 'char', devmajor: 1, devminor: 5 },
      { name: 'dev/zero', type: 'file', data: Buffer.from('file wins') },
    ],
  });
  const image = buildImage([lower, upper]);
  await pushImage(open.host, 'tsk/whiteouts', 'v1', image);
  const { store } = newStore(t);
  const rec = await store.pull(`${open.host}/tsk/whiteouts:v1`);
  const [l1, l2] = rec.layerDirs as [string, string];
  const wh = await fs.lstat(path.join(l2, 'a/gone'));
  t.true(wh.isCharacterDevice());
  t.is(wh.rdev, 0);
  t.false(
    await fs.access(path.join(l2, 'a/.wh.gone')).then(
      () => true,
      () => false,
    ),
  );
  const o = await fs.stat(path.join(l2, 'o'));
  t.deepEqual([o.mode & 0o7777, o.uid, o.gid], [0o750, 7, 8]);
  const n = await fs.stat(path.join(l2, 'o/new'));
  t.deepEqual([n.mode & 0o7777, n.uid, n.gid, n.mtimeMs], [0o4711, 1000, 1001, 1_600_000_000_000]);
  t.is((await fs.stat(path.join(l2, 'o/newlink'))).ino, n.ino);
  const sym = await fs.lstat(path.join(l2, 'o/sym'));
  t.deepEqual([sym.uid, await fs.readlink(path.join(l2, 'o/sym'))], [1000, '../a/keep']);
  const dn = await fs.lstat(path.join(l2, 'dev/null'));
  t.true(dn.isCharacterDevice());
  t.deepEqual([dn.rdev, dn.mode & 0o7777], [(1 << 8) | 3, 0o666]);
  const bd = await fs.lstat(path.join(l2, 'dev/loop9'));
  t.true(bd.isBlockDevice());
  t.deepEqual([bd.rdev, bd.gid], [(7 << 8) | 9, 6]);
  t.true((await fs.lstat(path.join(l2, 'fifo'))).isFIFO());
  t.is(await fs.readFile(path.join(l2, 'dup'), 'utf8'), 'now a file');
  t.is((await fs.stat(path.join(l2, 'dup'))).mode & 0o7777, 0o644);
  t.is(await fs.readFile(path.join(l2, 'dev/zero'), 'utf8'), 'file wins');

  // The merged view is what a container sees.
  const mnt = tempDir(t, 'tsk-overlay-');
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${l2}:${l1}`, mnt]);
  t.teardown(() => {
    execFileSync('umount', [mnt]);
  });
  const ls = async (p: string): Promise<string[]> => (await fs.readdir(path.join(mnt, p))).sort();
  t.deepEqual(await ls('a'), ['keep']);
  t.deepEqual(await ls('o'), ['new', 'newlink', 'sym']);
  t.false((await ls('')).includes('gonedir'));
  t.is(await fs.readFile(path.join(mnt, 'o/sym'), 'utf8'), 'k');
});

test('concurrent pulls fetch every blob once', async (t) => {
  // Two images sharing the busybox layer, pulled twice each at the same time through a counting proxy.
  const other = buildImage([busybox.layers[0] as BuiltLayer, await buildLayer({ entries: [{ name: 'extra', type: 'file', data: Buffer.from('e') }] })]);
  await pushImage(open.host, 'tsk/other', 'v1', other);
  const proxy = await startCountingProxy(open.host);
  t.teardown(() => proxy.stop());
  const { store } = newStore(t);
  const a = `${proxy.host}/tsk/busybox:v1`;
  const b = `${proxy.host}/tsk/other:v1`;
  const recs = await Promise.all([store.pull(a), store.pull(b), store.pull(a), store.pull(b)]);
  t.deepEqual(
    recs.map((r) => r.id),
    [busybox.configDigest, other.configDigest, busybox.configDigest, other.configDigest],
  );
  const blobGets = proxy.requests.filter((r) => r.startsWith('GET ') && r.includes('/blobs/'));
  const perDigest = new Map<string, number>();
  for (const r of blobGets) {
    const d = r.slice(r.lastIndexOf('/') + 1);
    perDigest.set(d, (perDigest.get(d) ?? 0) + 1);
  }
  t.is(perDigest.get(busybox.layers[0]?.digest ?? ''), 1, proxy.requests.join('\n'));
  t.true(
    [...perDigest.values()].every((n) => n === 1),
    proxy.requests.join('\n'),
  );
  t.is(perDigest.size, 4); // two configs, shared busybox layer, extra layer
  t.deepEqual(recs[0]?.layerDirs[0], recs[1]?.layerDirs[0]);
});

test('a missing image is a clear not-found error and changes nothing', async (t) => {
  const { store, dataDir } = newStore(t);
  await store.importArchive(await writeArchive(t, await dockerSaveArchive([{ image: busybox, repoTags: ['busybox:latest'] }])));
  const before = await snapshot(dataDir);
  const e = await t.throwsAsync(store.pull(`${open.host}/tsk/nope:v1`), { instanceOf: ImageNotFoundError });
  t.regex(e?.message ?? '', /image ".*\/tsk\/nope:v1" not found in the registry/);
  await t.throwsAsync(store.pull(`${open.host}/tsk/busybox:nope`), { instanceOf: ImageNotFoundError });
  t.deepEqual(await snapshot(dataDir), before);
  t.is(await store.get('nope'), undefined);
  await t.throwsAsync(store.remove('nope'), { instanceOf: ImageNotFoundError, message: /image "nope" not found in the local store/ });
});

async function writeArchive(t: ExecutionContext, data: Buffer, name = 'archive.tar'): Promise<string> {
  const dir = tempDir(t, 'tsk-archive-');
  const file = path.join(dir, name);
  writeFileSync(file, data);
  return file;
}

test('a blob with the wrong digest is refused and leaves the store as it was', async (t) => {
  const image = buildImage([await buildLayer({ entries: [...busyboxRootfs(), { name: 'marker-wrong-digest', type: 'file', data: Buffer.from('w') }] })]);
  const reg = await startRegistry();
  t.teardown(() => reg.stop());
  await pushImage(reg.host, 'tsk/tampered', 'v1', image);
  // Flip bytes of the stored layer in the registry's own storage: same size, different sha256.
  const data = reg.blobDataPath(image.layers[0]?.digest ?? '');
  const bytes = await fs.readFile(data);
  bytes[bytes.length - 100] = (bytes[bytes.length - 100] ?? 0) ^ 0xff;
  await fs.writeFile(data, bytes);
  const { store, dataDir } = newStore(t);
  await store.pull(`${open.host}/tsk/busybox:v1`);
  const before = await snapshot(dataDir);
  const e = await t.throwsAsync(store.pull(`${reg.host}/tsk/tampered:v1`), { instanceOf: DigestMismatchError });
  t.true(e?.message.includes(`expected ${image.layers[0]?.digest ?? ''}`));
  t.deepEqual(await snapshot(dataDir), before);
  t.is((await store.list()).length, 1);
});

test('a corrupt layer (bad gzip, or a diff_id that does not match) leaves the store as it was', async (t) => {
  const garbage = Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]), Buffer.alloc(5000, 0x5a)]);
  const good = await buildLayer({ entries: [{ name: 'ok', type: 'file', data: Buffer.from('ok') }] });
  const badGzip = buildImage([good, { blob: garbage, digest: sha256Of(garbage), diffId: sha256Of('whatever'), mediaType: good.mediaType }]);
  const layer = await buildLayer({ entries: [{ name: 'liar', type: 'file', data: Buffer.from('l') }] });
  const badDiffId = buildImage([{ ...layer, diffId: sha256Of('not the tar') }]);
  await pushImage(open.host, 'tsk/corrupt', 'gzip', badGzip);
  await pushImage(open.host, 'tsk/corrupt', 'diffid', badDiffId);
  const { store, dataDir } = newStore(t);
  await store.pull(`${open.host}/tsk/busybox:v1`);
  const before = await snapshot(dataDir);
  const e1 = await t.throwsAsync(store.pull(`${open.host}/tsk/corrupt:gzip`), { instanceOf: InvalidLayerError });
  t.true(e1?.message.startsWith(`layer ${sha256Of(garbage)}:`), e1?.message);
  t.deepEqual(await snapshot(dataDir), before);
  const e2 = await t.throwsAsync(store.pull(`${open.host}/tsk/corrupt:diffid`), { instanceOf: DigestMismatchError });
  t.regex(e2?.message ?? '', /diff_id/);
  t.deepEqual(await snapshot(dataDir), before);
});

test('import a docker save tarball (gzip too) through the CLI; rmi deletes unused layers, keeps those of containers', async (t) => {
  const dataDir = tempDir(t, 'tsk-images-');
  const app = buildImage(
    [busybox.layers[0] as BuiltLayer, await buildLayer({ entries: [{ name: 'app', type: 'file', data: Buffer.from('#!/bin/sh\necho app\n'), mode: 0o755 }] })],
    { Entrypoint: ['/app'] },
    { docker: true },
  );
  const file = await writeArchive(
    t,
    gzipSync(
      await dockerSaveArchive([
        { image: busybox, repoTags: ['busybox:latest', 'busybox:1'] },
        { image: app, repoTags: ['example.com/team/app:2.0'] },
      ]),
    ),
    'save.tar.gz',
  );
  const out: string[] = [];
  const io = {
    out: (s: string) => {
      out.push(s);
    },
    err: (s: string) => {
      out.push(s);
    },
    tty: false,
    now: () => Date.parse('2026-01-01T00:00:00Z'),
  };
  t.is(await runImageCommand('import', [file], dataDir, io), 0, out.join(''));
  t.deepEqual(out.join('').trim().split('\n'), ['Loaded image: busybox:1', 'Loaded image: busybox:latest', 'Loaded image: example.com/team/app:2.0']);
  out.length = 0;
  t.is(await runImageCommand('images', [], dataDir, io), 0);
  const table = out.join('').trim().split('\n');
  t.regex(table[0] ?? '', /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
  t.regex(table[1] ?? '', new RegExp(`^busybox\\s+1\\s+${busybox.configDigest.slice(7, 19)}\\s+2 years ago\\s+\\d`));
  t.is(table.length, 4);

  const store = new ImageStore(dataDir);
  const appRec = await store.get('example.com/team/app:2.0');
  t.deepEqual(appRec?.config.entrypoint, ['/app']);
  t.is(appRec?.layerDirs[0], (await store.get('busybox'))?.layerDirs[0]); // shared, unpacked once
  t.is((await fs.readdir(path.join(dataDir, 'images/layers/sha256'))).length, 2);

  out.length = 0;
  t.is(await runImageCommand('rmi', ['example.com/team/app:2.0', 'busybox:1'], dataDir, io), 0, out.join(''));
  // As docker rmi: the image, then the layers nothing uses any more (app's own layer, not the shared busybox one).
  t.deepEqual(out.join('').trim().split('\n'), [
    'Untagged: example.com/team/app:2.0',
    `Deleted: ${app.configDigest}`,
    'Untagged: busybox:1',
    `Deleted: ${app.layers[1]?.diffId ?? ''}`,
  ]);
  t.deepEqual(await fs.readdir(path.join(dataDir, 'images/layers/sha256')), [(busybox.layers[0]?.diffId ?? '').slice(7)]);
  t.deepEqual(await store.prune(), [], 'rmi pruned the blobs too');
  t.is(
    execFileSync('chroot', [(await store.get('busybox'))?.layerDirs[0] ?? '/nonexistent', '/bin/busybox', 'echo', 'still here'], { encoding: 'utf8' }).trim(),
    'still here',
  );

  // Containers (here described by an injected usage) hold their image and layers.
  const busyboxLayer = (await store.get('busybox'))?.layerDirs[0] ?? '';
  const stopped = { id: 'c'.repeat(64), name: 'old', imageId: busybox.configDigest, running: false };
  const usage = { imageUsers: async () => [stopped], usedLayerDirs: async () => [busyboxLayer] };
  out.length = 0;
  t.is(await runImageCommand('rmi', [busybox.configDigest.slice(7, 19)], dataDir, io, usage), 1);
  t.is(
    out.join(''),
    `Error: conflict: unable to delete ${busybox.configDigest.slice(7, 19)} (must be forced) - image is being used by stopped container cccccccccccc\n`,
  );
  out.length = 0;
  t.is(await runImageCommand('rmi', ['-f', busybox.configDigest.slice(7, 19)], dataDir, io, usage), 0, out.join(''));
  t.deepEqual(
    out.join('').trim().split('\n'),
    ['Untagged: busybox:latest', `Deleted: ${busybox.configDigest}`],
    'forced: the image goes, the layer a container uses stays',
  );
  t.true((await fs.stat(path.join(busyboxLayer, 'bin/busybox'))).isFile());
  await store.prune();
  t.deepEqual(await fs.readdir(path.join(dataDir, 'images/blobs/sha256')), []);
  t.deepEqual(await fs.readdir(path.join(dataDir, 'images/layers/sha256')), []);
  t.deepEqual(await fs.readdir(path.join(dataDir, 'images/tmp')), []);
});

test('import an OCI image layout archive; refs from ref.name annotations; untagged by ID', async (t) => {
  const dataDir = tempDir(t, 'tsk-images-');
  const untagged = buildImage([await buildLayer({ entries: [{ name: 'u', type: 'file', data: Buffer.from('u') }] })]);
  const file = await writeArchive(
    t,
    await ociLayoutArchive([
      { image: busybox, refName: '127.0.0.1:5000/tsk/busybox:oci' },
      { image: untagged, refName: 'v1' },
    ]),
  );
  const out: string[] = [];
  const io = {
    out: (s: string) => {
      out.push(s);
    },
    err: (s: string) => {
      out.push(s);
    },
    tty: false,
    now: () => Date.now(),
  };
  t.is(await runImageCommand('import', [file], dataDir, io), 0, out.join(''));
  t.deepEqual(out.join('').trim().split('\n'), ['Loaded image: 127.0.0.1:5000/tsk/busybox:oci', `Loaded image ID: ${untagged.configDigest}`]);
  const store = new ImageStore(dataDir);
  const rec = await store.get('127.0.0.1:5000/tsk/busybox:oci');
  t.is(rec?.manifestDigest, busybox.manifestDigest);
  t.true((await fs.stat(path.join(rec?.layerDirs[0] ?? '', 'bin/busybox'))).isFile());
  t.is((await store.get(untagged.configDigest))?.references.length, 0);
  // Bad input: a clear error, exit code 1, nothing changed.
  const before = await snapshot(dataDir);
  const junk = await writeArchive(t, Buffer.from('not a tar at all'.repeat(64)), 'junk.tar');
  out.length = 0;
  t.is(await runImageCommand('import', [junk], dataDir, io), 1);
  t.regex(out.join(''), /cannot import .*junk\.tar/);
  out.length = 0;
  t.is(await runImageCommand('import', ['/nonexistent.tar'], dataDir, io), 1);
  t.regex(out.join(''), /cannot import \/nonexistent\.tar: no such file/);
  t.deepEqual(await snapshot(dataDir), before);
});

test('tsk runtime pull prints a line per layer phase change when not on a TTY', async (t) => {
  const dataDir = tempDir(t, 'tsk-images-');
  const err: string[] = [];
  const out: string[] = [];
  const io = {
    out: (s: string) => {
      out.push(s);
    },
    err: (s: string) => {
      err.push(s);
    },
    tty: false,
    now: () => Date.now(),
  };
  const ref = `${secured.host}/tsk/busybox:v1`;
  t.is(await runImageCommand('pull', ['--username', USER, '--password', PASS, ref], dataDir, io), 0, err.join(''));
  const id = busybox.layers[0]?.digest.slice(7, 19) ?? '';
  const lines = err.join('').trim().split('\n');
  t.deepEqual(lines, [
    `v1: Pulling from ${secured.host}/tsk/busybox`,
    `${id}: Waiting`,
    `${id}: Downloading`,
    `${id}: Verifying Checksum`,
    `${id}: Extracting`,
    `${id}: Pull complete`,
    `Digest: ${busybox.manifestDigest}`,
    `Status: Downloaded newer image for ${ref}`,
  ]);
  t.deepEqual(out, [`${ref}\n`]);
  err.length = 0;
  t.is(await runImageCommand('pull', [ref], dataDir, io), 1);
  t.regex(err.join(''), /tsk runtime pull: authentication with registry .* failed: the registry requires credentials/);
});

test('bearer-token challenge (as Docker Hub): anonymous token, token with basic credentials, refused credentials', async (t) => {
  const anon = await startTokenAuthProxy(open.host);
  t.teardown(() => anon.stop());
  const { store } = newStore(t);
  const rec = await store.pull(`${anon.host}/tsk/busybox:v1`);
  t.is(rec.id, busybox.configDigest);
  t.deepEqual(anon.tokenRequests, [{ scope: 'repository:tsk/busybox:pull', service: 'tsk-test-registry' }]);

  const priv = await startTokenAuthProxy(open.host, { [USER]: PASS });
  t.teardown(() => priv.stop());
  const ref = `${priv.host}/tsk/busybox:v1`;
  const s2 = newStore(t);
  await t.throwsAsync(s2.store.pull(ref), { instanceOf: RegistryAuthError, message: /refused anonymous access/ });
  await t.throwsAsync(s2.store.pull(ref, { auth: { username: USER, password: 'nope' } }), {
    instanceOf: RegistryAuthError,
    message: /refused the credentials/,
  });
  t.deepEqual(await s2.store.list(), []);
  const ok = await s2.store.pull(ref, { auth: { username: USER, password: PASS } });
  t.is(ok.id, busybox.configDigest);
  t.is(priv.tokenRequests.at(-1)?.user, USER);
});

// zstd layers: runtime-skopeo.test.ts imports images whose layers skopeo recompressed with zstd.
test('uncompressed layers unpack like gzip ones', async (t) => {
  const gz = await buildLayer({
    entries: [
      { name: 'z/', type: 'dir' },
      { name: 'z/data', type: 'file', data: Buffer.from('gzip!') },
    ],
  });
  const plain = await buildLayer({ compression: 'none', entries: [{ name: 'plain', type: 'file', data: Buffer.from('p') }] });
  const image = buildImage([gz, plain]);
  const { store } = newStore(t);
  const [rec] = await store.importArchive(await writeArchive(t, await ociLayoutArchive([{ image, refName: 'example.com/plain:1' }])));
  t.deepEqual(rec?.references, ['example.com/plain:1']);
  t.is(await fs.readFile(path.join(rec?.layerDirs[0] ?? '', 'z/data'), 'utf8'), 'gzip!');
  t.is(await fs.readFile(path.join(rec?.layerDirs[1] ?? '', 'plain'), 'utf8'), 'p');
});

test('layers that escape their root (.., symlinked parents, hardlinks out) are refused and write nothing outside', async (t) => {
  const outside = tempDir(t, 'tsk-outside-');
  const victim = path.join(outside, 'victim');
  writeFileSync(victim, 'untouched');
  const cases: Array<[string, Parameters<typeof buildLayer>[0]['entries']]> = [
    ['dotdot', [{ name: `../../../../../../../../${victim.slice(1)}`, type: 'file', data: Buffer.from('pwned') }]],
    [
      'symlink parent',
      [
        { name: 'evil', type: 'symlink', linkname: outside },
        { name: 'evil/victim', type: 'file', data: Buffer.from('pwned') },
      ],
    ],
    ['hardlink out', [{ name: 'h', type: 'hardlink', linkname: `../../../../../../../..${victim}` }]],
    [
      'whiteout via symlink',
      [
        { name: 'evil', type: 'symlink', linkname: outside },
        { name: 'evil/.wh.victim', type: 'file' },
      ],
    ],
  ];
  for (const [name, entries] of cases) {
    const image = buildImage([await buildLayer({ entries })]);
    const { store, dataDir } = newStore(t);
    const file = await writeArchive(t, await ociLayoutArchive([{ image, refName: `example.com/evil:${name.replace(/ /g, '-')}` }]));
    await t.throwsAsync(store.importArchive(file), { instanceOf: InvalidLayerError }, name);
    t.is(await fs.readFile(victim, 'utf8'), 'untouched', name);
    t.deepEqual(await store.list(), [], name);
    t.deepEqual(await fs.readdir(path.join(dataDir, 'images/layers/sha256')), [], name);
    t.deepEqual(await fs.readdir(path.join(dataDir, 'images/tmp')), [], name);
  }
  const { store } = newStore(t);
  await t.throwsAsync(store.importArchive(await writeArchive(t, Buffer.from('x'))), { instanceOf: InvalidArchiveError });
});

test('prune spares what a pull in another live process wrote since it began', async (t) => {
  const { store, dataDir } = newStore(t);
  await store.list();
  // Stand-in for another tsk process in the middle of a pull: a live pid with an operation marker.
  const other = spawn('sleep', ['60'], { stdio: 'ignore' });
  t.teardown(() => {
    other.kill('SIGKILL');
  });
  await fs.writeFile(path.join(dataDir, 'images/tmp', `op-${other.pid ?? 0}-abcdef`), '');
  await new Promise((r) => setTimeout(r, 1100));
  const [rec] = await store.importArchive(await writeArchive(t, await dockerSaveArchive([{ image: busybox, repoTags: ['busybox:latest'] }])));
  await store.remove(rec?.id ?? '');
  t.deepEqual(await store.prune(), []);
  other.kill('SIGKILL');
  await new Promise((r) => other.once('exit', r));
  const removed = await store.prune();
  t.true(removed.includes(`layer ${busybox.layers[0]?.diffId ?? ''}`), removed.join('\n'));
  t.deepEqual(await fs.readdir(path.join(dataDir, 'images/tmp')), []);
});

test('a pull killed with SIGKILL mid-download leaves no image and no leftovers; the next pull works', async (t) => {
  const proxy = await startCountingProxy(open.host, { stallBlobs: true });
  t.teardown(() => proxy.stop());
  const { dataDir } = newStore(t);
  const cli = path.resolve(__dirname, '../kubelet/runtime/cli/image-commands.js');
  const ref = `${proxy.host}/tsk/busybox:v1`;
  const child = spawn(
    process.execPath,
    ['-e', `require(${JSON.stringify(cli)}).runImageCommand('pull', [${JSON.stringify(ref)}], ${JSON.stringify(dataDir)})`],
    { stdio: 'ignore' },
  );
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  const tmp = path.join(dataDir, 'images/tmp');
  const layerGet = `GET /v2/tsk/busybox/blobs/${busybox.layers[0]?.digest ?? ''}`;
  const partial = (): Promise<string[]> =>
    fs.readdir(tmp).then(
      (n) => n.filter((x) => x.startsWith(`blob-${child.pid ?? 0}-`)),
      () => [],
    );
  // The layer download stalls after its first chunk, so its temp file stays until the kill.
  const deadline = Date.now() + 20_000;
  while (!(proxy.requests.includes(layerGet) && (await partial()).length > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.is((await partial()).length, 1, `the child never started downloading the layer: requests ${proxy.requests.join(', ')}`);
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const store = new ImageStore(dataDir);
  t.deepEqual(await store.list(), []);
  t.is(await store.get(ref), undefined);
  t.deepEqual(await fs.readdir(tmp), [], 'leftovers of the dead process are removed on start-up');
  const rec = await store.pull(`${open.host}/tsk/busybox:v1`);
  t.true((await fs.stat(path.join(rec.layerDirs[0] ?? '', 'bin/busybox'))).isFile());
});
