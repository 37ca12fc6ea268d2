// The content-addressable part of the image store: verified blobs and
// unpacked layers, each written under a temporary name and renamed into
// place only when complete and verified. Anything in tmp/ is garbage after a
// crash; nothing outside it is ever partial.
//
//   <root>/blobs/sha256/<hex>        blob bytes, sha256 == name
//   <root>/layers/sha256/<hex>/      layer contents in overlayfs form, keyed by diff-id
//   <root>/tmp/                      in-progress downloads and unpacks

import { randomBytes } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { processAlive } from '../../../util/process';
import { digestHex, hashDigest, newHash, requireDigest } from './digest';
import { DigestMismatchError, InvalidLayerError } from './errors';
import { unpackLayer } from './unpack';
import { errorMessage } from '../../../util/errors';

/** Everything one pull or import wrote, so a failed one can take it back. */
export interface WriteTrace {
  blobs: Set<string>;
  layers: Set<string>;
}

export interface WriteProgress {
  (bytesDone: number): void;
}

async function exists(p: string): Promise<boolean> {
  return fs.lstat(p).then(
    () => true,
    () => false,
  );
}

export class ContentStore {
  readonly blobsDir: string;
  readonly layersDir: string;
  readonly tmpDir: string;
  /** In-process dedupe: one download or unpack per digest at a time. */
  private readonly inflight = new Map<string, Promise<unknown>>();

  constructor(readonly root: string) {
    this.blobsDir = path.join(root, 'blobs', 'sha256');
    this.layersDir = path.join(root, 'layers', 'sha256');
    this.tmpDir = path.join(root, 'tmp');
  }

  /** Creates the directories and drops what dead processes left in tmp/ (see cleanTmp). */
  async init(): Promise<void> {
    for (const d of [this.blobsDir, this.layersDir, this.tmpDir]) await fs.mkdir(d, { recursive: true, mode: 0o700 });
    await this.cleanTmp(Infinity);
  }

  blobPath(digest: string): string {
    return path.join(this.blobsDir, digestHex(requireDigest(digest, 'blob digest')));
  }

  layerPath(diffId: string): string {
    return path.join(this.layersDir, digestHex(requireDigest(diffId, 'layer diff_id')));
  }

  hasBlob(digest: string): Promise<boolean> {
    return exists(this.blobPath(digest));
  }

  hasLayer(diffId: string): Promise<boolean> {
    return exists(this.layerPath(diffId));
  }

  /** Digests currently being written or unpacked by this process (roots for prune). */
  busy(): string[] {
    return [...this.inflight.keys()].map((k) => k.slice(k.indexOf(':') + 1));
  }

  /** A fresh name under tmp/ (same filesystem as the store, so rename is atomic). */
  tmpName(kind: string): string {
    return path.join(this.tmpDir, `${kind}-${process.pid}-${randomBytes(6).toString('hex')}`);
  }

  readBlob(digest: string): Promise<Buffer> {
    return fs.readFile(this.blobPath(digest));
  }

  /** Runs fn once per key among concurrent callers in this process. */
  dedupe<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const running = this.inflight.get(key);
    if (running) return running as Promise<T>;
    const p = fn().finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  /**
   * Stores bytes from `source` as blob `digest`, verifying sha256 (and size
   * when known) before the rename. Idempotent; concurrent calls for one
   * digest share one write, so `source` is only consumed by the first: pass
   * a factory. Resolves true if this call wrote it, false if it was present.
   */
  putStream(digest: string, open: () => Promise<AsyncIterable<Buffer>>, what: string, size?: number, progress?: WriteProgress): Promise<boolean> {
    const dest = this.blobPath(digest);
    return this.dedupe(`blob:${digest}`, async () => {
      if (await exists(dest)) return false;
      const tmp = this.tmpName('blob');
      const hash = newHash();
      let n = 0;
      try {
        const source = await open();
        const out = createWriteStream(tmp, { flags: 'wx', mode: 0o600 });
        const closed = new Promise<void>((resolve, reject) => {
          out.on('close', resolve);
          out.on('error', reject);
        });
        try {
          for await (const chunk of source) {
            hash.update(chunk);
            n += chunk.length;
            if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', r));
            progress?.(n);
          }
        } finally {
          out.end();
          await closed;
        }
        const actual = hashDigest(hash);
        if (actual !== digest) throw new DigestMismatchError(digest, actual, what);
        if (size !== undefined && n !== size) throw new DigestMismatchError(digest, `${n} bytes instead of ${size}`, what);
        await fs.rename(tmp, dest);
        return true;
      } finally {
        await fs.rm(tmp, { force: true });
      }
    });
  }

  putBuffer(digest: string, data: Buffer, what: string): Promise<boolean> {
    return this.putStream(
      digest,
      async () =>
        (async function* () {
          yield data;
        })(),
      what,
      data.length,
    );
  }

  /** Moves an already-hashed temporary file into place as blob `digest`. */
  async adoptFile(file: string, digest: string): Promise<void> {
    const dest = this.blobPath(digest);
    if (await exists(dest)) {
      await fs.rm(file, { force: true });
      return;
    }
    await fs.rename(file, dest);
  }

  /**
   * Unpacks blob `blobDigest` as layer `diffId` unless that layer exists.
   * The uncompressed stream must hash to diffId (else DigestMismatchError
   * and nothing is left behind). Returns the layer directory.
   */
  ensureLayer(blobDigest: string, diffId: string): Promise<string> {
    const dest = this.layerPath(diffId);
    return this.dedupe(`layer:${diffId}`, async () => {
      if (await exists(dest)) return dest;
      const tmp = this.tmpName('layer');
      await fs.mkdir(tmp, { mode: 0o755 });
      try {
        const { diffId: actual } = await unpackLayer(this.blobPath(blobDigest), tmp, blobDigest);
        if (actual !== diffId) throw new DigestMismatchError(diffId, actual, `uncompressed content (diff_id) of layer ${blobDigest}`);
        try {
          await fs.rename(tmp, dest);
        } catch (e) {
          // Another process finished the same layer first: theirs is as good as ours.
          const code = (e as NodeJS.ErrnoException).code;
          if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || !(await exists(dest))) throw e;
        }
        return dest;
      } catch (e) {
        if (e instanceof InvalidLayerError || e instanceof DigestMismatchError) throw e;
        throw new InvalidLayerError(blobDigest, errorMessage(e));
      } finally {
        await removeTree(tmp);
      }
    });
  }

  async listBlobs(): Promise<string[]> {
    return (await fs.readdir(this.blobsDir)).filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => `sha256:${n}`);
  }

  async listLayers(): Promise<string[]> {
    return (await fs.readdir(this.layersDir)).filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => `sha256:${n}`);
  }

  async removeBlob(digest: string): Promise<void> {
    await fs.rm(this.blobPath(digest), { force: true });
  }

  /** Renames the layer away first so a crash mid-delete never leaves a partial layer under its real name. */
  async removeLayer(diffId: string): Promise<void> {
    const src = this.layerPath(diffId);
    const tmp = this.tmpName('rmlayer');
    try {
      await fs.rename(src, tmp);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    await removeTree(tmp);
  }

  /**
   * Marks an operation (pull, import) of this process as running, so that a
   * prune in another process spares what it writes before recording it.
   * Returns the function that clears the mark.
   */
  async markOperation(): Promise<() => Promise<void>> {
    const marker = path.join(this.tmpDir, `${OP_MARKER}${process.pid}-${randomBytes(6).toString('hex')}`);
    await fs.writeFile(marker, '', { mode: 0o600 });
    return () => fs.rm(marker, { force: true });
  }

  /** Start time (ms) of the oldest operation running in another live process, if any. */
  async otherOperationsSince(): Promise<number | undefined> {
    let oldest: number | undefined;
    for (const name of await fs.readdir(this.tmpDir)) {
      const pid = markerPid(name);
      if (pid === undefined || pid === process.pid || !processAlive(pid)) continue;
      const st = await fs.lstat(path.join(this.tmpDir, name)).catch(() => undefined);
      if (st) oldest = Math.min(oldest ?? Infinity, st.mtimeMs);
    }
    return oldest;
  }

  /** When a blob or layer last changed place (ctime moves on rename), ms. */
  async changedAt(kind: 'blob' | 'layer', digest: string): Promise<number> {
    const st = await fs.lstat(kind === 'blob' ? this.blobPath(digest) : this.layerPath(digest)).catch(() => undefined);
    return st?.ctimeMs ?? 0;
  }

  /**
   * Removes what crashed processes left in tmp/: every entry names the pid
   * that made it, so entries of dead processes go at once; entries without
   * a pid (or of a reused, live pid) go when older than maxAgeMs. Entries
   * of live processes, this one included, stay.
   */
  async cleanTmp(maxAgeMs: number, now = Date.now()): Promise<string[]> {
    const removed: string[] = [];
    for (const name of await fs.readdir(this.tmpDir)) {
      const pid = tmpPid(name);
      const p = path.join(this.tmpDir, name);
      if (pid !== undefined && processAlive(pid)) {
        if (pid === process.pid) continue;
        const st = await fs.lstat(p).catch(() => undefined);
        if (!st || now - st.mtimeMs <= maxAgeMs || name.startsWith(OP_MARKER)) continue;
      } else if (pid === undefined) {
        const st = await fs.lstat(p).catch(() => undefined);
        if (!st || now - st.mtimeMs <= maxAgeMs) continue;
      }
      await removeTree(p);
      removed.push(p);
    }
    return removed;
  }
}

const OP_MARKER = 'op-';

function markerPid(name: string): number | undefined {
  return name.startsWith(OP_MARKER) ? tmpPid(name) : undefined;
}

/** tmp/ entries are named KIND-PID-RANDOM (see tmpName, markOperation). */
function tmpPid(name: string): number | undefined {
  const m = /^[a-z]+-(\d+)-[0-9a-f]+$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** rm -rf that also copes with read-only directories inside a layer. */
export async function removeTree(p: string): Promise<void> {
  try {
    await fs.rm(p, { recursive: true, force: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EACCES' && (e as NodeJS.ErrnoException).code !== 'EPERM') throw e;
    await makeWritable(p);
    await fs.rm(p, { recursive: true, force: true });
  }
}

async function makeWritable(p: string): Promise<void> {
  const st = await fs.lstat(p).catch(() => undefined);
  if (!st?.isDirectory()) return;
  await fs.chmod(p, 0o700);
  for (const name of await fs.readdir(p)) await makeWritable(path.join(p, name));
}
