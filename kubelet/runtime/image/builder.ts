// Builds images without the internet, from Debian's busybox-static
// (/bin/busybox): layers, configs and manifests in memory, then pushed to a
// registry through the distribution push API or written as `docker save`
// tarballs and OCI layout archives. The tests, the benchmarks and the demo
// (which loads busybox into a lab that has no way out) use it.
//
// Also a command for scripts:
//   node dist/kubelet/runtime/image/builder.js docker-save OUT.tar [REF]
//   node dist/kubelet/runtime/image/builder.js oci-layout OUT.tar [REF]

import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { sha256Of } from './digest';
import { MediaTypes } from './manifest';
import { Credentials, RegistryClient } from './registry-client';
import { ImageStore } from './store';
import { TarWriteEntry, writeTar } from './tar';

export const BUSYBOX = '/bin/busybox';
const MTIME = 1_700_000_000;

export interface LayerSpec {
  entries: TarWriteEntry[];
  compression?: 'gzip' | 'none';
}

export interface BuiltLayer {
  blob: Buffer;
  digest: string;
  diffId: string;
  mediaType: string;
}

export interface BuiltImage {
  config: Buffer;
  configDigest: string;
  layers: BuiltLayer[];
  manifest: Buffer;
  manifestDigest: string;
  manifestMediaType: string;
}

export interface ImageConfigSpec {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Labels?: Record<string, string>;
}

function dir(name: string, mode = 0o755): TarWriteEntry {
  return { name: `${name}/`, type: 'dir', mode, mtime: MTIME };
}

function file(name: string, data: string | Buffer, mode = 0o644): TarWriteEntry {
  return { name, type: 'file', data: Buffer.from(data), mode, mtime: MTIME };
}

/** The busybox root filesystem: /bin/busybox, one symlink per applet, /etc/passwd and /etc/group. */
export function busyboxRootfs(): TarWriteEntry[] {
  const applets = execFileSync(BUSYBOX, ['--list-full'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l !== '');
  const dirs = new Set<string>(['bin', 'sbin', 'usr', 'usr/bin', 'usr/sbin', 'etc', 'dev', 'proc', 'sys', 'root', 'tmp', 'home', 'var', 'var/tmp']);
  for (const a of applets) {
    const parts = a.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  const entries: TarWriteEntry[] = [...dirs].sort().map((d) => dir(d, d === 'tmp' || d === 'var/tmp' ? 0o1777 : d === 'root' ? 0o700 : 0o755));
  entries.push(file('bin/busybox', readFileSync(BUSYBOX), 0o755));
  for (const a of applets) {
    if (a !== 'bin/busybox') entries.push({ name: a, type: 'symlink', linkname: '/bin/busybox', mode: 0o777, mtime: MTIME });
  }
  entries.push(
    file('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n'),
    file('etc/group', 'root:x:0:\nnogroup:x:65534:\n'),
    file('etc/hostname', 'busybox\n'),
  );
  return entries;
}

export async function buildLayer(spec: LayerSpec): Promise<BuiltLayer> {
  const tar = await writeTar(spec.entries);
  const gz = (spec.compression ?? 'gzip') === 'gzip';
  const blob = gz ? gzipSync(tar) : tar;
  return { blob, digest: sha256Of(blob), diffId: sha256Of(tar), mediaType: gz ? MediaTypes.ociLayerGzip : MediaTypes.ociLayer };
}

/** Assembles config and manifest around built layers (OCI, or Docker schema 2 with `docker: true`). */
export function buildImage(layers: BuiltLayer[], cfg: ImageConfigSpec = {}, opts: { docker?: boolean; created?: string } = {}): BuiltImage {
  const config = Buffer.from(
    JSON.stringify({
      created: opts.created ?? '2024-01-01T00:00:00Z',
      architecture: 'amd64',
      os: 'linux',
      config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'], ...cfg },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: layers.map(() => ({ created_by: 'tsk image builder' })),
    }),
  );
  const docker = opts.docker ?? false;
  const manifestMediaType = docker ? MediaTypes.dockerManifest : MediaTypes.ociManifest;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: manifestMediaType,
      config: { mediaType: docker ? MediaTypes.dockerConfig : MediaTypes.ociConfig, digest: sha256Of(config), size: config.length },
      layers: layers.map((l) => ({
        mediaType: docker && l.mediaType === MediaTypes.ociLayerGzip ? MediaTypes.dockerLayerGzip : l.mediaType,
        digest: l.digest,
        size: l.blob.length,
      })),
    }),
  );
  return { config, configDigest: sha256Of(config), layers, manifest, manifestDigest: sha256Of(manifest), manifestMediaType };
}

/** The standard test image: one gzip layer of busybox. */
export async function busyboxImage(cfg: ImageConfigSpec = {}, opts: { docker?: boolean } = {}): Promise<BuiltImage> {
  return buildImage([await buildLayer({ entries: busyboxRootfs() })], cfg, opts);
}

/** An OCI index naming `image` for linux/amd64 next to a decoy arm64 entry. */
export function buildIndex(image: BuiltImage, decoy: BuiltImage): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociIndex,
      manifests: [
        {
          mediaType: decoy.manifestMediaType,
          digest: decoy.manifestDigest,
          size: decoy.manifest.length,
          platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
        },
        { mediaType: image.manifestMediaType, digest: image.manifestDigest, size: image.manifest.length, platform: { os: 'linux', architecture: 'amd64' } },
      ],
    }),
  );
}

/** Pushes blobs then the manifest under `tag` (blob upload: POST, then PUT ?digest=). */
export async function pushImage(registry: string, repo: string, tag: string, image: BuiltImage, auth?: Credentials): Promise<void> {
  const client = new RegistryClient(registry, auth ? { auth } : {});
  await client.pushBlob(repo, image.configDigest, image.config);
  for (const l of image.layers) await client.pushBlob(repo, l.digest, l.blob);
  await client.pushManifest(repo, tag, image.manifestMediaType, image.manifest);
}

/** Pushes both images and an index over them under `tag`. */
export async function pushIndex(registry: string, repo: string, tag: string, image: BuiltImage, decoy: BuiltImage, auth?: Credentials): Promise<string> {
  const client = new RegistryClient(registry, auth ? { auth } : {});
  for (const img of [image, decoy]) {
    await client.pushBlob(repo, img.configDigest, img.config);
    for (const l of img.layers) await client.pushBlob(repo, l.digest, l.blob);
    await client.pushManifest(repo, img.manifestDigest, img.manifestMediaType, img.manifest);
  }
  const index = buildIndex(image, decoy);
  await client.pushManifest(repo, tag, MediaTypes.ociIndex, index);
  return sha256Of(index);
}

/** A `docker save` tarball (legacy layout: <id>/layer.tar, <config hex>.json, manifest.json, repositories). */
export async function dockerSaveArchive(images: Array<{ image: BuiltImage; repoTags: string[] }>): Promise<Buffer> {
  const entries: TarWriteEntry[] = [];
  const manifest: unknown[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  const seen = new Set<string>();
  for (const { image, repoTags } of images) {
    const hex = image.configDigest.slice(7);
    const layerPaths: string[] = [];
    for (const l of image.layers) {
      const id = l.diffId.slice(7);
      layerPaths.push(`${id}/layer.tar`);
      if (seen.has(id)) continue;
      seen.add(id);
      // docker save writes layers uncompressed.
      const tar = l.mediaType === MediaTypes.ociLayer ? l.blob : gunzipSync(l.blob);
      entries.push(dir(id), file(`${id}/VERSION`, '1.0'), file(`${id}/json`, JSON.stringify({ id })), file(`${id}/layer.tar`, tar));
    }
    entries.push(file(`${hex}.json`, image.config));
    manifest.push({ Config: `${hex}.json`, RepoTags: repoTags.length ? repoTags : null, Layers: layerPaths });
    for (const t of repoTags) {
      const colon = t.lastIndexOf(':');
      const repo = t.slice(0, colon);
      repositories[repo] = { ...(repositories[repo] ?? {}), [t.slice(colon + 1)]: image.layers.at(-1)?.diffId.slice(7) ?? '' };
    }
  }
  entries.push(file('manifest.json', JSON.stringify(manifest)), file('repositories', JSON.stringify(repositories)));
  return await writeTar(entries);
}

/** An OCI image layout archive; each image's index entry carries its reference as ref.name. */
export async function ociLayoutArchive(images: Array<{ image: BuiltImage; refName?: string }>): Promise<Buffer> {
  const blobs = new Map<string, Buffer>();
  for (const { image } of images) {
    blobs.set(image.configDigest, image.config);
    blobs.set(image.manifestDigest, image.manifest);
    for (const l of image.layers) blobs.set(l.digest, l.blob);
  }
  const index = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociIndex,
    manifests: images.map(({ image, refName }) => ({
      mediaType: image.manifestMediaType,
      digest: image.manifestDigest,
      size: image.manifest.length,
      ...(refName ? { annotations: { 'org.opencontainers.image.ref.name': refName } } : {}),
    })),
  };
  const entries: TarWriteEntry[] = [
    file('oci-layout', JSON.stringify({ imageLayoutVersion: '1.0.0' })),
    file('index.json', JSON.stringify(index)),
    dir('blobs'),
    dir('blobs/sha256'),
    ...[...blobs].map(([d, b]) => file(`blobs/sha256/${d.slice(7)}`, b)),
  ];
  return await writeTar(entries);
}

/** Builds the busybox image and imports it into the image store of `dataDir` as `ref` (through a `docker save` archive, as a user would). */
export async function importBusybox(dataDir: string, ref: string): Promise<ImageStore> {
  const store = new ImageStore(dataDir);
  const tar = path.join(dataDir, 'busybox-image.tar');
  writeFileSync(tar, await dockerSaveArchive([{ image: await busyboxImage(), repoTags: [ref] }]));
  try {
    await store.importArchive(tar);
  } finally {
    rmSync(tar, { force: true });
  }
  return store;
}

async function cli(argv: string[]): Promise<number> {
  const [kind, out, ref = 'busybox:latest'] = argv;
  if ((kind !== 'docker-save' && kind !== 'oci-layout') || !out) {
    console.error('usage: builder.js docker-save|oci-layout OUT.tar [REF]');
    return 2;
  }
  const image = await busyboxImage();
  writeFileSync(out, kind === 'docker-save' ? await dockerSaveArchive([{ image, repoTags: [ref] }]) : await ociLayoutArchive([{ image, refName: ref }]));
  console.log(`${out}: ${ref} (${image.configDigest})`);
  return 0;
}

if (require.main === module) {
  cli(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: Error) => {
      console.error(`builder: ${e.message}`);
      process.exitCode = 1;
    },
  );
}
