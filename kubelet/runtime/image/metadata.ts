// Image records and references on disk, one small JSON file each, written
// by temp-file + rename so that concurrent processes (the kubelet and a
// `tsk runtime` command) never see half a file.
//
//   <root>/meta/images/<config hex>.json   StoredImage
//   <root>/meta/refs/<sha256(ref) hex>.json { reference, id }

import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { digestHex } from './digest';
import type { ImageConfig } from './types';
import { errorMessage } from '../../../util/errors';

export interface StoredLayer {
  /** Digest of the blob as stored (compressed or not). */
  digest: string;
  /** Uncompressed digest: names the unpacked layer directory. */
  diffId: string;
  size: number;
  mediaType: string;
}

export interface StoredImage {
  /** Config digest, the image ID. */
  id: string;
  manifestDigest?: string;
  /** Every other blob the image keeps alive (manifest, index), for prune. */
  extraBlobs: string[];
  layers: StoredLayer[];
  config: ImageConfig;
  size: number;
  created: string;
}

interface StoredRef {
  reference: string;
  id: string;
}

async function writeAtomic(file: string, data: string): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await fs.writeFile(tmp, data, { mode: 0o600 });
  await fs.rename(tmp, file);
}

async function readJson<T>(file: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new Error(`corrupt image metadata ${file}: ${errorMessage(e)}`, { cause: e });
  }
}

export class MetadataStore {
  private readonly imagesDir: string;
  private readonly refsDir: string;

  constructor(root: string) {
    this.imagesDir = path.join(root, 'meta', 'images');
    this.refsDir = path.join(root, 'meta', 'refs');
  }

  async init(): Promise<void> {
    await fs.mkdir(this.imagesDir, { recursive: true, mode: 0o700 });
    await fs.mkdir(this.refsDir, { recursive: true, mode: 0o700 });
  }

  private imageFile(id: string): string {
    return path.join(this.imagesDir, `${digestHex(id)}.json`);
  }

  private refFile(ref: string): string {
    return path.join(this.refsDir, `${createHash('sha256').update(ref).digest('hex')}.json`);
  }

  getImage(id: string): Promise<StoredImage | undefined> {
    return readJson<StoredImage>(this.imageFile(id));
  }

  putImage(img: StoredImage): Promise<void> {
    return writeAtomic(this.imageFile(img.id), JSON.stringify(img, null, 1));
  }

  async deleteImage(id: string): Promise<void> {
    await fs.rm(this.imageFile(id), { force: true });
  }

  async listImages(): Promise<StoredImage[]> {
    const out: StoredImage[] = [];
    for (const name of (await fs.readdir(this.imagesDir)).filter((n) => n.endsWith('.json')).sort()) {
      const img = await readJson<StoredImage>(path.join(this.imagesDir, name));
      if (img) out.push(img);
    }
    return out;
  }

  async resolveRef(ref: string): Promise<string | undefined> {
    const r = await readJson<StoredRef>(this.refFile(ref));
    return r?.reference === ref ? r.id : undefined;
  }

  putRef(ref: string, id: string): Promise<void> {
    return writeAtomic(this.refFile(ref), JSON.stringify({ reference: ref, id } satisfies StoredRef));
  }

  async deleteRef(ref: string): Promise<void> {
    await fs.rm(this.refFile(ref), { force: true });
  }

  /** reference -> image id, for every reference. */
  async listRefs(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const name of (await fs.readdir(this.refsDir)).filter((n) => n.endsWith('.json'))) {
      const r = await readJson<StoredRef>(path.join(this.refsDir, name));
      if (r) out.set(r.reference, r.id);
    }
    return out;
  }
}
