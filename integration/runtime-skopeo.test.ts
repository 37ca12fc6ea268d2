// Image archives made by another tool: skopeo (containers/image, the library
// behind podman and CRI-O) copies a multi-layer image from a real registry
// into a `docker save` archive and OCI archives (gzip and zstd layers); the
// runtime imports each, and the stacked layers show files from every layer
// with a whiteout of an upper layer applied. Root: layers keep ownership
// and the check mounts an overlay.

import test, { ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { promises as fs, mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ImageRecord } from '../kubelet/runtime/image/types';
import { ImageStore } from '../kubelet/runtime/image/store';
import { startRegistry, TestRegistry } from './support/registry';
import { buildImage, buildLayer, BuiltImage, busyboxRootfs, pushImage } from '../kubelet/runtime/image/builder';

const run = promisify(execFile);
const SKOPEO = 'skopeo';

let registry: TestRegistry;
let image: BuiltImage;
let scratch: string;

test.before(async () => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'tsk-skopeo-'));
  registry = await startRegistry();
  image = buildImage([
    await buildLayer({ entries: busyboxRootfs() }),
    await buildLayer({
      entries: [
        { name: 'data/', type: 'dir' },
        { name: 'data/keep', type: 'file', data: Buffer.from('from layer 2\n') },
        { name: 'data/gone', type: 'file', data: Buffer.from('removed by layer 3\n') },
        { name: 'etc/layer2', type: 'file', data: Buffer.from('2\n'), uid: 1000, gid: 1000, mode: 0o600 },
      ],
    }),
    await buildLayer({
      compression: 'none',
      entries: [
        { name: 'data/.wh.gone', type: 'file' },
        { name: 'etc/layer3', type: 'symlink', linkname: 'layer2' },
      ],
    }),
  ]);
  await pushImage(registry.host, 'tsk/multi', 'v1', image);
});

test.after.always(async () => {
  await registry?.stop();
  if (scratch) await fs.rm(scratch, { recursive: true, force: true });
});

/** `skopeo copy` from the test registry (plain HTTP) to `dest`, e.g. "docker-archive:/x.tar:ref". */
async function skopeoCopy(dest: string, extra: string[] = []): Promise<void> {
  // --insecure-policy: no machine-wide /etc/containers/policy.json is needed; TMPDIR keeps skopeo's big-file staging in our scratch dir.
  await run(SKOPEO, ['--insecure-policy', 'copy', '--quiet', '--src-tls-verify=false', ...extra, `docker://${registry.host}/tsk/multi:v1`, dest], {
    env: { ...process.env, TMPDIR: scratch },
  });
}

function newStore(t: ExecutionContext): ImageStore {
  const dir = mkdtempSync(path.join(scratch, 'store-'));
  t.teardown(() => fs.rm(dir, { recursive: true, force: true }));
  return new ImageStore(dir);
}

/** Mounts the image's layers as a container's read-only rootfs would be, for the test's duration. */
async function mountRootfs(t: ExecutionContext, rec: ImageRecord): Promise<string> {
  const mnt = mkdtempSync(path.join(scratch, 'mnt-'));
  await run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${[...rec.layerDirs].reverse().join(':')}`, mnt]);
  t.teardown(async () => {
    await run('umount', [mnt]);
    await fs.rmdir(mnt);
  });
  return mnt;
}

async function checkImported(t: ExecutionContext, store: ImageStore, archive: string, ref: string): Promise<void> {
  const [rec, ...more] = await store.importArchive(archive);
  t.is(more.length, 0);
  if (rec === undefined) return void t.fail('no image imported');
  t.is(rec.id, image.configDigest, 'skopeo keeps the config, so the image ID is the one pushed');
  t.deepEqual(rec.references, [ref]);
  t.is(rec.layerDirs.length, 3);
  t.deepEqual(rec.config.cmd, ['sh']);
  const root = await mountRootfs(t, rec);
  t.true((await fs.stat(path.join(root, 'bin/busybox'))).isFile(), 'layer 1');
  t.is(await fs.readFile(path.join(root, 'data/keep'), 'utf8'), 'from layer 2\n');
  const l2 = await fs.stat(path.join(root, 'etc/layer2'));
  t.deepEqual([l2.uid, l2.gid, l2.mode & 0o7777], [1000, 1000, 0o600]);
  t.is(await fs.readlink(path.join(root, 'etc/layer3')), 'layer2', 'layer 3');
  t.deepEqual((await fs.readdir(path.join(root, 'data'))).sort(), ['keep'], 'the whiteout of layer 3 hides data/gone');
  t.is(await fs.readFile(path.join(rec.layerDirs[1] ?? '', 'data/gone'), 'utf8'), 'removed by layer 3\n', 'layer 2 itself still has it');
}

/** The layer media types of the single image in an OCI archive, as skopeo wrote them. */
async function ociLayerTypes(archive: string): Promise<string[]> {
  const { stdout } = await run(SKOPEO, ['--insecure-policy', 'inspect', '--raw', `oci-archive:${archive}`], { env: { ...process.env, TMPDIR: scratch } });
  const manifest = JSON.parse(stdout) as { layers: Array<{ mediaType: string }> };
  return manifest.layers.map((l) => l.mediaType);
}

test('a docker-archive written by skopeo imports with every layer and the whiteout', async (t) => {
  const file = path.join(scratch, 'docker.tar');
  await skopeoCopy(`docker-archive:${file}:example.com/tsk/multi:docker`);
  await checkImported(t, newStore(t), file, 'example.com/tsk/multi:docker');
});

test('an oci-archive written by skopeo imports with every layer and the whiteout', async (t) => {
  const file = path.join(scratch, 'oci.tar');
  await skopeoCopy(`oci-archive:${file}:example.com/tsk/multi:oci`);
  // skopeo compresses the uncompressed third layer on the way.
  t.deepEqual(await ociLayerTypes(file), Array(3).fill('application/vnd.oci.image.layer.v1.tar+gzip'));
  await checkImported(t, newStore(t), file, 'example.com/tsk/multi:oci');
});

test('an oci-archive with zstd layers recompressed by skopeo imports the same', async (t) => {
  const file = path.join(scratch, 'zstd.tar');
  await skopeoCopy(`oci-archive:${file}:example.com/tsk/multi:zstd`, ['--dest-compress-format', 'zstd', '--dest-compress']);
  const types = await ociLayerTypes(file);
  t.true(types.length === 3 && types.every((m) => m === 'application/vnd.oci.image.layer.v1.tar+zstd'), `layer types ${types.join(', ')}`);
  await checkImported(t, newStore(t), file, 'example.com/tsk/multi:zstd');
});
