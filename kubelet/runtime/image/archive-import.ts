// Importing image archives: a `docker save` tarball (manifest.json +
// repositories) or an OCI image layout archive (oci-layout, index.json,
// blobs/sha256/...), optionally gzip/zstd compressed. The archive is read
// once, streaming: every file goes to a temporary file named by its own
// sha256, so nothing is unpacked twice and nothing large is held in memory.

import { createWriteStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { ContentStore, WriteTrace } from './content-store';
import { hashDigest, newHash, requireDigest } from './digest';
import { DigestMismatchError, ImageError, InvalidArchiveError, InvalidManifestError } from './errors';
import { Descriptor, MediaTypes, parseImageConfig, parseManifestOrIndex, selectManifest } from './manifest';
import type { StoredImage, StoredLayer } from './metadata';
import { normalizeReference } from './reference';
import { readTar } from './tar';
import { decompressedChunks, detectCompression } from './unpack';
import { cleanLayerPath } from './whiteout';
import { errorMessage } from '../../../util/errors';

const REF_NAME = 'org.opencontainers.image.ref.name';
const CONTAINERD_NAME = 'io.containerd.image.name';

interface ArchiveFile {
  tmp: string;
  digest: string;
  size: number;
}

/** The archive's regular files (by cleaned path) and symlinks, as temp files under the store's tmp/. */
class ArchiveFiles {
  readonly files = new Map<string, ArchiveFile>();
  readonly links = new Map<string, string>();

  constructor(readonly archive: string) {}

  resolve(name: string): ArchiveFile | undefined {
    let p = cleanLayerPath(name);
    for (let i = 0; i < 10 && p !== undefined; i++) {
      const f = this.files.get(p);
      if (f) return f;
      const target = this.links.get(p);
      if (target === undefined) return undefined;
      p = cleanLayerPath(target.startsWith('/') ? target : path.posix.join(path.posix.dirname(p), target));
    }
    return undefined;
  }

  need(name: string): ArchiveFile {
    const f = this.resolve(name);
    if (!f) throw new InvalidArchiveError(this.archive, `"${name}" is missing from the archive`);
    return f;
  }

  async json(name: string): Promise<unknown> {
    const f = this.need(name);
    if (f.size > 16 << 20) throw new InvalidArchiveError(this.archive, `"${name}" is too large for a JSON file`);
    try {
      return JSON.parse(await fs.readFile(f.tmp, 'utf8'));
    } catch (e) {
      throw new InvalidArchiveError(this.archive, `"${name}" is not valid JSON (${errorMessage(e)})`);
    }
  }
}

async function readArchive(file: string, dir: string): Promise<ArchiveFiles> {
  const out = new ArchiveFiles(file);
  let n = 0;
  for await (const { header, body } of readTar(decompressedChunks(file))) {
    const name = cleanLayerPath(header.name);
    if (name === undefined) throw new InvalidArchiveError(file, `entry "${header.name}" escapes the archive root`);
    if (header.type === 'symlink' || header.type === 'hardlink') {
      out.links.set(name, header.type === 'hardlink' ? `/${header.linkname}` : header.linkname);
      continue;
    }
    if (header.type !== 'file') continue;
    const tmp = path.join(dir, String(n++));
    const hash = newHash();
    const ws = createWriteStream(tmp, { flags: 'wx', mode: 0o600 });
    const closed = new Promise<void>((resolve, reject) => {
      ws.on('close', resolve);
      ws.on('error', reject);
    });
    try {
      for await (const chunk of body) {
        hash.update(chunk);
        if (!ws.write(chunk)) await new Promise<void>((r) => ws.once('drain', r));
      }
    } finally {
      ws.end();
      await closed;
    }
    out.files.set(name, { tmp, digest: hashDigest(hash), size: header.size });
  }
  return out;
}

/** One image found in an archive, before it is stored. */
interface Candidate {
  refs: string[];
  configFile: ArchiveFile;
  layerFiles: Array<{ file: ArchiveFile; mediaType?: string }>;
  manifestDigest?: string;
  extra: ArchiveFile[];
}

function dockerSaveCandidates(files: ArchiveFiles, manifest: unknown): Candidate[] {
  if (!Array.isArray(manifest)) throw new InvalidArchiveError(files.archive, 'manifest.json is not an array');
  return manifest.map((m: unknown, i) => {
    const e = m as { Config?: unknown; RepoTags?: unknown; Layers?: unknown };
    if (typeof e.Config !== 'string') throw new InvalidArchiveError(files.archive, `manifest.json[${i}].Config is missing`);
    if (!Array.isArray(e.Layers) || !e.Layers.every((l) => typeof l === 'string')) {
      throw new InvalidArchiveError(files.archive, `manifest.json[${i}].Layers is not an array of paths`);
    }
    const tags = e.RepoTags === null || e.RepoTags === undefined ? [] : e.RepoTags;
    if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) {
      throw new InvalidArchiveError(files.archive, `manifest.json[${i}].RepoTags is not an array of strings`);
    }
    return {
      refs: tags.map((t) => normalizeReference(t)),
      configFile: files.need(e.Config),
      layerFiles: (e.Layers as string[]).map((l) => ({ file: files.need(l) })),
      extra: [],
    };
  });
}

function blobPathOf(d: Descriptor): string {
  return `blobs/sha256/${d.digest.slice('sha256:'.length)}`;
}

/** A blob of the OCI layout, verified against the digest that names it. */
function ociBlob(files: ArchiveFiles, d: Descriptor, what: string): ArchiveFile {
  const f = files.need(blobPathOf(d));
  if (f.digest !== d.digest) throw new DigestMismatchError(d.digest, f.digest, `${what} in ${files.archive}`);
  return f;
}

/** A ref name annotation that is a full reference; a bare tag ("v1") names no repository. */
function annotatedRef(d: Descriptor): string | undefined {
  const name = d.annotations?.[CONTAINERD_NAME] ?? d.annotations?.[REF_NAME];
  if (name === undefined || !(name.includes('/') || name.includes(':'))) return undefined;
  return normalizeReference(name);
}

async function ociCandidates(files: ArchiveFiles): Promise<Candidate[]> {
  const layout = (await files.json('oci-layout')) as { imageLayoutVersion?: unknown };
  if (typeof layout.imageLayoutVersion !== 'string') throw new InvalidArchiveError(files.archive, 'oci-layout has no imageLayoutVersion');
  const indexFile = files.need('index.json');
  const index = parseManifestOrIndex(await fs.readFile(indexFile.tmp), MediaTypes.ociIndex, `index.json of ${files.archive}`);
  if (index.kind !== 'index') throw new InvalidArchiveError(files.archive, 'index.json is not an image index');
  const out = new Map<string, Candidate>();
  for (const top of index.manifests) {
    const ref = annotatedRef(top);
    let desc = top;
    const extra: ArchiveFile[] = [];
    let body = await fs.readFile(ociBlob(files, desc, `manifest ${desc.digest}`).tmp);
    let parsed = parseManifestOrIndex(body, desc.mediaType, `manifest ${desc.digest}`);
    if (parsed.kind === 'index') {
      extra.push(ociBlob(files, desc, 'index'));
      desc = selectManifest(parsed, undefined, `index ${desc.digest}`);
      body = await fs.readFile(ociBlob(files, desc, `manifest ${desc.digest}`).tmp);
      parsed = parseManifestOrIndex(body, desc.mediaType, `manifest ${desc.digest}`);
      if (parsed.kind !== 'manifest') throw new InvalidManifestError(`manifest ${desc.digest}`, 'nested index');
    }
    extra.push(ociBlob(files, desc, 'manifest'));
    const m = parsed;
    const prev = out.get(m.config.digest);
    if (prev) {
      if (ref) prev.refs.push(ref);
      continue;
    }
    out.set(m.config.digest, {
      refs: ref ? [ref] : [],
      configFile: ociBlob(files, m.config, 'image config'),
      layerFiles: m.layers.map((l) => ({ file: ociBlob(files, l, `layer ${l.digest}`), mediaType: l.mediaType })),
      manifestDigest: top.digest,
      extra,
    });
  }
  return [...out.values()];
}

async function layerMediaType(f: ArchiveFile): Promise<string> {
  const c = await detectCompression(f.tmp);
  return c === 'gzip' ? MediaTypes.ociLayerGzip : c === 'zstd' ? MediaTypes.ociLayerZstd : MediaTypes.ociLayer;
}

/** Moves a candidate's blobs into the store and unpacks its layers. */
async function storeCandidate(c: Candidate, content: ContentStore, archive: string, trace: WriteTrace): Promise<{ image: StoredImage; refs: string[] }> {
  const configBody = await fs.readFile(c.configFile.tmp);
  const cfg = parseImageConfig(configBody, `image config in ${archive}`);
  if (cfg.diffIds.length !== c.layerFiles.length) {
    throw new InvalidManifestError(`image in ${archive}`, `${c.layerFiles.length} layers but config lists ${cfg.diffIds.length} diff_ids`);
  }
  const layers: StoredLayer[] = [];
  for (const [i, l] of c.layerFiles.entries()) {
    layers.push({
      digest: l.file.digest,
      diffId: requireDigest(cfg.diffIds[i], 'diff_id'),
      size: l.file.size,
      mediaType: l.mediaType ?? (await layerMediaType(l.file)),
    });
  }
  // Blobs may be shared by several images of one archive: copy-free adoption of the first, the rest are no-ops.
  for (const f of [c.configFile, ...c.layerFiles.map((l) => l.file), ...c.extra]) {
    if (await adopt(content, f)) trace.blobs.add(f.digest);
  }
  for (const l of layers) {
    const existed = await content.hasLayer(l.diffId);
    await content.ensureLayer(l.digest, l.diffId);
    if (!existed) trace.layers.add(l.diffId);
  }
  return {
    image: {
      id: c.configFile.digest,
      ...(c.manifestDigest ? { manifestDigest: c.manifestDigest } : {}),
      extraBlobs: [...new Set(c.extra.map((f) => f.digest))],
      layers,
      config: cfg.config,
      size: layers.reduce((s, l) => s + l.size, 0),
      created: cfg.created,
    },
    refs: c.refs,
  };
}

/** Hard-links a temp file into place as its blob (it may back several candidates); true if it was new. */
async function adopt(content: ContentStore, f: ArchiveFile): Promise<boolean> {
  if (await content.hasBlob(f.digest)) return false;
  try {
    await fs.link(f.tmp, content.blobPath(f.digest));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

/**
 * Reads `file` and stores every image in it. Returns the images with the
 * references the archive gave them (possibly none). Nothing is recorded
 * unless every image of the archive stored cleanly; the caller writes the
 * metadata.
 */
export async function importImages(file: string, content: ContentStore, trace: WriteTrace): Promise<Array<{ image: StoredImage; refs: string[] }>> {
  await fs.access(file).catch(() => {
    throw new InvalidArchiveError(file, 'no such file');
  });
  const dir = content.tmpName('import');
  await fs.mkdir(dir, { mode: 0o700 });
  try {
    let files: ArchiveFiles;
    try {
      files = await readArchive(file, dir);
    } catch (e) {
      if (e instanceof ImageError) throw e;
      throw new InvalidArchiveError(file, errorMessage(e));
    }
    let candidates: Candidate[];
    if (files.resolve('manifest.json')) candidates = dockerSaveCandidates(files, await files.json('manifest.json'));
    else if (files.resolve('oci-layout')) candidates = await ociCandidates(files);
    else throw new InvalidArchiveError(file, 'neither a docker save tarball (manifest.json) nor an OCI image layout (oci-layout, index.json)');
    if (candidates.length === 0) throw new InvalidArchiveError(file, 'the archive holds no images');
    const out = [];
    for (const c of candidates) out.push(await storeCandidate(c, content, file, trace));
    return out;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
