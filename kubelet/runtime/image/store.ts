// The image store: the API the container side and the kubelet use. It ties
// together the content store (blobs, unpacked layers), the metadata (image
// records, references), pulling and importing.
//
// Invariants: an image record is written only after all its blobs and layer
// directories are in place; a reference is written only after its record.
// A failed pull or import removes what it wrote that no image uses, so the
// store looks exactly as before.

import * as path from 'node:path';
import { importImages } from './archive-import';
import { ContentStore, WriteTrace } from './content-store';
import { ImageConflictError, ImageError, ImageNotFoundError } from './errors';
import { MetadataStore, StoredImage } from './metadata';
import { parseReference } from './reference';
import { pulledReference, pullImage, PullOptions } from './pull';
import type { ImageRecord } from './types';

export type { PullOptions, PullProgress, PullPhase } from './pull';

export const DEFAULT_DATA_DIR = '/var/lib/tsk';
/** tmp/ entries older than this are leftovers of a crashed process. */
const STALE_TMP_MS = 60 * 60 * 1000;

const FULL_ID = /^(?:sha256:)?([a-f0-9]{64})$/;
const SHORT_ID = /^(?:sha256:)?([a-f0-9]{4,63})$/;

/** A container and the image it was created from (container/usage.ts reads them from the state dirs). */
export interface ImageUserInfo {
  id: string;
  imageId: string;
  running: boolean;
}

export interface RemoveOptions {
  /** Every container with its image: removing an image one of them uses is a conflict (below). */
  users?: readonly ImageUserInfo[];
  force?: boolean;
}

export interface PruneOptions {
  /** Layer directories still used by containers (whose image may be gone): kept. */
  keepLayerDirs?: Iterable<string>;
}

export class ImageStore {
  readonly root: string;
  private readonly content: ContentStore;
  private readonly meta: MetadataStore;
  private ready: Promise<void> | undefined;
  /** Traces of pulls/imports running in this process: their writes are not garbage yet. */
  private readonly active = new Set<WriteTrace>();

  constructor(readonly dataDir: string = DEFAULT_DATA_DIR) {
    // Absolute: layer directories leave the store in records (containers mount them; prune compares them).
    this.root = path.join(path.resolve(dataDir), 'images');
    this.content = new ContentStore(this.root);
    this.meta = new MetadataStore(this.root);
  }

  private init(): Promise<void> {
    this.ready ??= (async () => {
      await this.content.init();
      await this.meta.init();
    })();
    return this.ready;
  }

  private toRecord(img: StoredImage, refs: string[]): ImageRecord {
    return {
      id: img.id,
      references: [...refs].sort(),
      ...(img.manifestDigest ? { manifestDigest: img.manifestDigest } : {}),
      config: img.config,
      layerDirs: img.layers.map((l) => this.content.layerPath(l.diffId)),
      size: img.size,
      created: img.created,
    };
  }

  private async refsOf(id: string): Promise<string[]> {
    return [...(await this.meta.listRefs())].filter(([, i]) => i === id).map(([r]) => r);
  }

  /** Resolves a reference, a full image ID or a unique ID prefix (as Docker) to an image ID. */
  private async resolveId(ref: string): Promise<string | undefined> {
    const full = FULL_ID.exec(ref);
    if (full) return (await this.meta.getImage(`sha256:${full[1] ?? ''}`)) ? `sha256:${full[1] ?? ''}` : undefined;
    const short = SHORT_ID.exec(ref);
    if (!ref.startsWith('sha256:')) {
      const id = await this.meta.resolveRef(pulledReference(parseReference(ref)));
      if (id !== undefined || !short) return id;
    }
    const prefix = `sha256:${short?.[1] ?? ''}`;
    const matches = (await this.meta.listImages()).filter((i) => i.id.startsWith(prefix));
    if (matches.length > 1) throw new ImageError(`image ID prefix "${ref}" is ambiguous (${matches.length} images)`);
    return matches[0]?.id;
  }

  /**
   * The image for a reference ("busybox", "host:5000/a:b", "x@sha256:...")
   * or image ID; undefined when absent. Throws InvalidReferenceError for a
   * malformed reference and ImageError when the record's layers are missing.
   */
  async get(ref: string): Promise<ImageRecord | undefined> {
    await this.init();
    const id = await this.resolveId(ref);
    if (id === undefined) return undefined;
    const img = await this.meta.getImage(id);
    if (!img) return undefined;
    for (const l of img.layers) {
      if (!(await this.content.hasLayer(l.diffId))) {
        throw new ImageError(`image ${ref} (${id}) is damaged: layer ${l.diffId} is missing from the store; remove and pull it again`);
      }
    }
    return this.toRecord(img, await this.refsOf(id));
  }

  /** Every image, with its references; ordered by ID. */
  async list(): Promise<ImageRecord[]> {
    await this.init();
    const refs = await this.meta.listRefs();
    const byId = new Map<string, string[]>();
    for (const [r, id] of refs) byId.set(id, [...(byId.get(id) ?? []), r]);
    return (await this.meta.listImages()).map((img) => this.toRecord(img, byId.get(img.id) ?? []));
  }

  private async tracked<T>(fn: (trace: WriteTrace) => Promise<T>): Promise<T> {
    const trace: WriteTrace = { blobs: new Set(), layers: new Set() };
    this.active.add(trace);
    const unmark = await this.content.markOperation();
    try {
      return await fn(trace);
    } catch (e) {
      await this.rollback(trace).catch(() => {
        /* the original error matters more; prune finishes the job */
      });
      throw e;
    } finally {
      this.active.delete(trace);
      await unmark();
    }
  }

  /** Removes what a failed operation wrote, unless an image or another running operation uses it. */
  private async rollback(trace: WriteTrace): Promise<void> {
    this.active.delete(trace);
    const { blobs, layers } = await this.roots();
    for (const d of trace.blobs) if (!blobs.has(d)) await this.content.removeBlob(d);
    for (const d of trace.layers) if (!layers.has(d)) await this.content.removeLayer(d);
  }

  private async record(img: StoredImage, refs: string[]): Promise<ImageRecord> {
    await this.meta.putImage(img);
    for (const r of refs) await this.meta.putRef(r, img.id);
    return this.toRecord(img, await this.refsOf(img.id));
  }

  /**
   * Pulls `ref` from its registry (see PullOptions) and records it under
   * that reference. Layers already present are not fetched again; two
   * concurrent pulls in this process fetch each blob once. On failure the
   * store is left as it was.
   */
  async pull(ref: string, opts: PullOptions = {}): Promise<ImageRecord> {
    const parsed = parseReference(ref);
    await this.init();
    return this.tracked(async (trace) => {
      const img = await pullImage(this.content, parsed, opts, trace);
      return this.record(img, [pulledReference(parsed)]);
    });
  }

  /**
   * Imports a `docker save` tarball or an OCI image layout archive (plain,
   * gzip or zstd). Returns the images added, each with the references the
   * archive named (an image without any is stored untagged, by ID).
   */
  async importArchive(file: string): Promise<ImageRecord[]> {
    await this.init();
    return this.tracked(async (trace) => {
      const found = await importImages(file, this.content, trace);
      const out: ImageRecord[] = [];
      for (const { image, refs } of found) out.push(await this.record(image, refs));
      return out;
    });
  }

  /**
   * Removes a reference; the image record goes with its last reference. An
   * image ID removes the image and all its references. Blobs and layers stay
   * until prune(). Throws ImageNotFoundError when nothing matches, and
   * ImageConflictError, changing nothing, when the image would go while one
   * of opts.users uses it, as Docker's rmi: by reference unless forced, by ID
   * never for a running container and for a stopped one unless forced.
   * (Docker keeps a forced-away image of a running container as a dangling
   * <none> image; here the record goes and prune's keepLayerDirs keeps its
   * layers for as long as a container uses them.)
   */
  async remove(ref: string, opts: RemoveOptions = {}): Promise<void> {
    await this.init();
    const id = await this.resolveId(ref);
    if (id === undefined) throw new ImageNotFoundError(ref, 'local');
    const refs = await this.refsOf(id);
    const byId = FULL_ID.test(ref) || ref.startsWith('sha256:') || !refs.includes(pulledReference(parseReference(ref)));
    const drop = byId ? refs : [pulledReference(parseReference(ref))];
    if (drop.length === refs.length) removalConflict(ref, id, byId, opts);
    for (const r of drop) await this.meta.deleteRef(r);
    if (drop.length === refs.length) await this.meta.deleteImage(id);
  }

  /** Blobs and layers that some image record or running operation uses. */
  private async roots(keepLayerDirs: Iterable<string> = []): Promise<{ blobs: Set<string>; layers: Set<string> }> {
    const blobs = new Set<string>();
    const layers = new Set<string>();
    for (const img of await this.meta.listImages()) {
      blobs.add(img.id);
      img.extraBlobs.forEach((b) => blobs.add(b));
      for (const l of img.layers) {
        blobs.add(l.digest);
        layers.add(l.diffId);
      }
    }
    for (const t of this.active) {
      t.blobs.forEach((b) => blobs.add(b));
      t.layers.forEach((l) => layers.add(l));
    }
    for (const d of this.content.busy()) {
      blobs.add(d);
      layers.add(d);
    }
    for (const dir of keepLayerDirs) {
      const hex = path.basename(dir);
      if (path.resolve(path.dirname(dir)) === path.resolve(this.content.layersDir)) layers.add(`sha256:${hex}`);
    }
    return { blobs, layers };
  }

  /**
   * Removes blobs and unpacked layers that no image uses (and tmp/ leftovers
   * of crashed processes). Blobs and layers that appeared since a pull or
   * import in another live process began are spared until a later prune.
   * Returns what it removed, e.g. "layer sha256:...".
   */
  async prune(opts: PruneOptions = {}): Promise<string[]> {
    await this.init();
    const removed: string[] = [];
    // A pull or import running in another process (the kubelet, another
    // `tsk runtime`) has not recorded its image yet: spare what changed since it began.
    const since = await this.content.otherOperationsSince();
    const { blobs, layers } = await this.roots(opts.keepLayerDirs);
    const spared = async (kind: 'blob' | 'layer', d: string): Promise<boolean> =>
      since !== undefined && (await this.content.changedAt(kind, d)) >= since - 1000;
    for (const d of await this.content.listLayers()) {
      if (layers.has(d) || (await spared('layer', d))) continue;
      await this.content.removeLayer(d);
      removed.push(`layer ${d}`);
    }
    for (const d of await this.content.listBlobs()) {
      if (blobs.has(d) || (await spared('blob', d))) continue;
      await this.content.removeBlob(d);
      removed.push(`blob ${d}`);
    }
    for (const p of await this.content.cleanTmp(STALE_TMP_MS)) removed.push(`tmp ${p}`);
    return removed;
  }
}

const shortId = (id: string): string => id.replace(/^sha256:/, '').slice(0, 12);

/** Throws Docker's conflict when removing image `id` (via `ref`) would leave a container without its image. */
function removalConflict(ref: string, id: string, byId: boolean, opts: RemoveOptions): void {
  const users = (opts.users ?? []).filter((u) => u.imageId === id);
  const first = users[0];
  if (first === undefined) return;
  if (!byId) {
    if (opts.force) return;
    throw new ImageConflictError(
      `conflict: unable to remove repository reference "${ref}" (must force) - container ${shortId(first.id)} is using its referenced image ${shortId(id)}`,
    );
  }
  const running = users.find((u) => u.running);
  if (running)
    throw new ImageConflictError(
      `conflict: unable to delete ${shortId(id)} (cannot be forced) - image is being used by running container ${shortId(running.id)}`,
    );
  if (!opts.force)
    throw new ImageConflictError(`conflict: unable to delete ${shortId(id)} (must be forced) - image is being used by stopped container ${shortId(first.id)}`);
}
