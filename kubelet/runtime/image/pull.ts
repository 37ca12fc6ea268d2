// Pulling an image: resolve the reference to a linux/amd64 manifest, fetch
// the config and every missing layer (in parallel, each blob once), unpack
// them, and only then record the image. Progress is reported per layer.

import { InvalidManifestError } from './errors';
import type { ContentStore, WriteTrace } from './content-store';
import { Descriptor, ImageManifest, parseImageConfig, parseManifestOrIndex, selectManifest } from './manifest';
import type { StoredImage } from './metadata';
import { formatReference, Reference, repositoryName } from './reference';
import { Credentials, RegistryClient } from './registry-client';

export interface PullOptions {
  /** Registries (host or host:port) reached over plain HTTP. localhost and 127.0.0.0/8 always are. */
  insecureRegistries?: string[];
  auth?: Credentials;
  onProgress?: (p: PullProgress) => void;
}

export type PullPhase = 'waiting' | 'downloading' | 'verifying' | 'extracting' | 'done';

/** One event per layer phase change, plus byte updates while downloading. */
export interface PullProgress {
  /** Compressed layer digest (as in the manifest). */
  digest: string;
  phase: PullPhase;
  bytesDone: number;
  bytesTotal: number;
  /** True on 'done' when the layer was already in the store. */
  cached?: boolean;
}

const PARALLEL_LAYERS = 3;

interface Resolved {
  manifest: ImageManifest;
  manifestDigest: string;
  /** Digest the reference itself resolved to (the index when there is one). */
  topDigest: string;
  blobs: Array<{ digest: string; body: Buffer }>;
}

async function resolve(client: RegistryClient, ref: Reference, display: string): Promise<Resolved> {
  const repo = ref.path;
  const first = await client.getManifest(repo, ref.digest ?? ref.tag ?? 'latest', display);
  const parsed = parseManifestOrIndex(first.body, first.contentType, `manifest of ${display}`);
  const blobs = [{ digest: first.digest, body: first.body }];
  if (parsed.kind === 'manifest') return { manifest: parsed, manifestDigest: first.digest, topDigest: first.digest, blobs };
  const chosen = selectManifest(parsed, undefined, `index of ${display}`);
  const second = await client.getManifest(repo, chosen.digest, display);
  const inner = parseManifestOrIndex(second.body, second.contentType, `manifest ${chosen.digest} of ${display}`);
  if (inner.kind !== 'manifest') throw new InvalidManifestError(`manifest ${chosen.digest} of ${display}`, 'nested index');
  blobs.push({ digest: second.digest, body: second.body });
  return { manifest: inner, manifestDigest: second.digest, topDigest: first.digest, blobs };
}

/** Runs tasks with at most `limit` in flight; rejects with the first failure after all settle. */
async function parallel<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (e) {
        errors.push(e);
        next = items.length; // start nothing new
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length > 0) throw errors[0];
}

/**
 * Pulls `ref` into `content`, recording into `trace` everything it wrote.
 * Returns the image to record; the caller writes metadata.
 */
export async function pullImage(content: ContentStore, ref: Reference, opts: PullOptions, trace: WriteTrace): Promise<StoredImage> {
  const display = formatReference(ref);
  const client = new RegistryClient(ref.domain, {
    ...(opts.insecureRegistries ? { insecureRegistries: opts.insecureRegistries } : {}),
    ...(opts.auth ? { auth: opts.auth } : {}),
  });
  const repo = ref.path;
  const r = await resolve(client, ref, display);
  for (const b of r.blobs) {
    if (await content.putBuffer(b.digest, b.body, `manifest of ${display}`)) trace.blobs.add(b.digest);
  }
  const cfgDesc = r.manifest.config;
  if (!(await content.hasBlob(cfgDesc.digest))) {
    const wrote = await content.putStream(
      cfgDesc.digest,
      async () => (await client.openBlob(repo, cfgDesc.digest, display)).stream,
      `config of ${display}`,
      cfgDesc.size,
    );
    if (wrote) trace.blobs.add(cfgDesc.digest);
  }
  const cfg = parseImageConfig(await content.readBlob(cfgDesc.digest), `config ${cfgDesc.digest} of ${display}`);
  const layers = r.manifest.layers;
  if (cfg.diffIds.length !== layers.length) {
    throw new InvalidManifestError(`image ${display}`, `manifest has ${layers.length} layers but config lists ${cfg.diffIds.length} diff_ids`);
  }
  const emit = (d: Descriptor, phase: PullPhase, done: number, cached?: boolean): void =>
    opts.onProgress?.({ digest: d.digest, phase, bytesDone: done, bytesTotal: d.size, ...(cached ? { cached } : {}) });
  layers.forEach((d) => emit(d, 'waiting', 0));
  await parallel(
    layers.map((d, i) => ({ d, diffId: cfg.diffIds[i] as string })),
    PARALLEL_LAYERS,
    async ({ d, diffId }) => {
      if (await content.hasLayer(diffId)) {
        emit(d, 'done', d.size, true);
        return;
      }
      if (!(await content.hasBlob(d.digest))) {
        emit(d, 'downloading', 0);
        const wrote = await content.putStream(
          d.digest,
          async () => (await client.openBlob(repo, d.digest, display)).stream,
          `layer ${d.digest} of ${display}`,
          d.size,
          (n) => {
            emit(d, n >= d.size ? 'verifying' : 'downloading', n);
          },
        );
        if (wrote) trace.blobs.add(d.digest);
      }
      emit(d, 'extracting', d.size);
      const existed = await content.hasLayer(diffId);
      await content.ensureLayer(d.digest, diffId);
      if (!existed) trace.layers.add(diffId);
      emit(d, 'done', d.size);
    },
  );
  return {
    id: cfgDesc.digest,
    manifestDigest: r.topDigest,
    extraBlobs: [...new Set(r.blobs.map((b) => b.digest))],
    layers: layers.map((d, i) => ({ digest: d.digest, diffId: cfg.diffIds[i] as string, size: d.size, mediaType: d.mediaType })),
    config: cfg.config,
    size: layers.reduce((s, d) => s + d.size, 0),
    created: cfg.created,
  };
}

/** The reference a pull records: name:tag, or name@digest when pulled by digest. */
export function pulledReference(ref: Reference): string {
  return ref.digest ? `${repositoryName(ref)}@${ref.digest}` : formatReference(ref);
}
