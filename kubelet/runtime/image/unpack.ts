// Unpacks one layer tarball into a directory in overlayfs form: ownership,
// modes, times, hardlinks, symlinks, devices and xattrs preserved; whiteouts
// turned into 0:0 char devices and opaque xattrs (see whiteout.ts). The
// caller unpacks into a temporary directory and renames it into place only
// after this resolves, so a half-unpacked layer never looks whole.

import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import { hashDigest, newHash } from './digest';
import { InvalidLayerError } from './errors';
import { NativeOps, NodeType } from './native-ops';
import { readTar, TarHeader } from './tar';
import { classifyLayerPath, OPAQUE_XATTR } from './whiteout';
import { errorMessage } from '../../../util/errors';

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

export type Compression = 'gzip' | 'zstd' | 'none';

/** Sniffs the compression from the first bytes rather than trusting a media type. */
export async function detectCompression(file: string): Promise<Compression> {
  const fh = await fs.open(file, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await fh.read(head, 0, 4, 0);
    if (bytesRead >= 2 && head.subarray(0, 2).equals(GZIP_MAGIC)) return 'gzip';
    if (bytesRead >= 4 && head.equals(ZSTD_MAGIC)) return 'zstd';
    return 'none';
  } finally {
    await fh.close();
  }
}

/** The uncompressed bytes of a (possibly gzip or zstd compressed) file. */
export async function* decompressedChunks(file: string): AsyncGenerator<Buffer> {
  const kind = await detectCompression(file);
  if (kind === 'none') {
    yield* createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>;
  } else if (kind === 'gzip') {
    yield* createReadStream(file, { highWaterMark: 1 << 20 }).pipe(createGunzip()) as AsyncIterable<Buffer>;
  } else {
    yield* zstdChunks(file);
  }
}

// Node 20's zlib has no zstd; fzstd decodes it in JavaScript, one input chunk
// at a time, so a layer is never whole in memory (frames concatenated or
// skippable, as zstd -d accepts them).
async function* zstdChunks(file: string): AsyncGenerator<Buffer> {
  const out: Buffer[] = [];
  const zstd = new Decompress((data) => {
    if (data.length > 0) out.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  });
  const push = (chunk: Uint8Array, final: boolean): void => {
    try {
      zstd.push(chunk, final);
    } catch (e) {
      throw new Error(`zstd data in ${file} is corrupt: ${errorMessage(e)}`, { cause: e });
    }
  };
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    push(chunk, false);
    yield* out.splice(0);
  }
  push(new Uint8Array(0), true);
  yield* out.splice(0);
}

interface DirMeta {
  rel: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
}
interface NodeSpec {
  type: NodeType;
  mode: number;
  major: number;
  minor: number;
  uid: number;
  gid: number;
}

function under(p: string, rel: string): boolean {
  return p === rel || p.startsWith(`${rel}/`);
}

/** State of one extraction; one instance per layer. */
class Extractor {
  private readonly knownDirs = new Set<string>(['']);
  private readonly dirMeta = new Map<string, DirMeta>();
  /** Device nodes, fifos and whiteouts to make at the end (the helper does mknod); a later entry of the same path replaces one. */
  private readonly nodes = new Map<string, NodeSpec>();
  private readonly xattrOps: Array<{ rel: string; name: string; value: Buffer }> = [];
  private readonly isRoot = process.getuid?.() === 0;

  constructor(
    private readonly root: string,
    private readonly digest: string,
  ) {}

  private fail(detail: string): never {
    throw new InvalidLayerError(this.digest, detail);
  }

  private abs(rel: string): string {
    return rel === '' ? this.root : path.join(this.root, rel);
  }

  /** Makes every ancestor of rel a real directory, refusing symlinked or non-directory parents. */
  private async ensureParents(rel: string): Promise<void> {
    const parts = rel.split('/');
    let cur = '';
    for (let i = 0; i < parts.length - 1; i++) {
      cur = cur === '' ? (parts[i] ?? '') : `${cur}/${parts[i] ?? ''}`;
      if (this.knownDirs.has(cur)) continue;
      const st = await fs.lstat(this.abs(cur)).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return undefined;
        throw e;
      });
      if (st === undefined) await fs.mkdir(this.abs(cur), { mode: 0o755 });
      else if (!st.isDirectory()) this.fail(`"${rel}": parent "${cur}" is ${st.isSymbolicLink() ? 'a symlink' : 'not a directory'}`);
      this.knownDirs.add(cur);
    }
  }

  /** Clears whatever an earlier entry put at rel, unless both are directories. */
  private async clear(rel: string, keepDir: boolean): Promise<void> {
    for (const n of [...this.nodes.keys()]) if (under(n, rel)) this.nodes.delete(n);
    const st = await fs.lstat(this.abs(rel)).catch(() => undefined);
    if (st === undefined) return;
    if (keepDir && st.isDirectory()) return;
    await fs.rm(this.abs(rel), { recursive: true, force: true });
    // Whatever was recorded for the removed tree no longer applies.
    for (const d of [...this.knownDirs]) if (under(d, rel)) this.knownDirs.delete(d);
    for (const d of [...this.dirMeta.keys()]) if (under(d, rel)) this.dirMeta.delete(d);
    for (let i = this.xattrOps.length - 1; i >= 0; i--) if (under(this.xattrOps[i]?.rel ?? '', rel)) this.xattrOps.splice(i, 1);
  }

  private async own(rel: string, h: TarHeader, link: boolean): Promise<void> {
    const p = this.abs(rel);
    if (this.isRoot) await (link ? fs.lchown(p, h.uid, h.gid) : fs.chown(p, h.uid, h.gid));
    if (!link) await fs.chmod(p, h.mode); // after chown: chown clears set-id bits
    await (link ? fs.lutimes(p, h.mtime, h.mtime) : fs.utimes(p, h.mtime, h.mtime));
  }

  async entry(h: TarHeader, body: AsyncIterable<Buffer>): Promise<void> {
    let action;
    try {
      action = classifyLayerPath(h.name);
    } catch (e) {
      this.fail(errorMessage(e));
    }
    if (action.kind === 'ignore') return;
    if (action.kind === 'root') {
      if (h.type === 'dir') this.dirMeta.set('', { rel: '', mode: h.mode, uid: h.uid, gid: h.gid, mtime: h.mtime });
      return;
    }
    if (action.kind === 'opaque') {
      if (action.dir !== '') {
        await this.ensureParents(`${action.dir}/x`);
      }
      this.xattrOps.push({ rel: action.dir, name: OPAQUE_XATTR, value: Buffer.from('y') });
      return;
    }
    if (action.kind === 'whiteout') {
      await this.ensureParents(action.path);
      await this.clear(action.path, false);
      this.nodes.set(action.path, { type: 'c', mode: 0, major: 0, minor: 0, uid: 0, gid: 0 });
      return;
    }
    await this.write(action.path, h, body);
    for (const [name, value] of h.xattrs) this.xattrOps.push({ rel: action.path, name, value });
  }

  private async write(rel: string, h: TarHeader, body: AsyncIterable<Buffer>): Promise<void> {
    await this.ensureParents(rel);
    await this.clear(rel, h.type === 'dir');
    const p = this.abs(rel);
    switch (h.type) {
      case 'dir':
        await fs.mkdir(p, { mode: 0o700 }).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== 'EEXIST') throw e;
        });
        this.knownDirs.add(rel);
        this.dirMeta.set(rel, { rel, mode: h.mode, uid: h.uid, gid: h.gid, mtime: h.mtime });
        return;
      case 'file': {
        const fh = await fs.open(p, 'wx', 0o600);
        try {
          for await (const chunk of body) await fh.write(chunk);
        } finally {
          await fh.close();
        }
        await this.own(rel, h, false);
        return;
      }
      case 'symlink':
        await fs.symlink(h.linkname, p);
        await this.own(rel, h, true);
        return;
      case 'hardlink':
        return this.hardlink(rel, h);
      case 'char':
      case 'block':
      case 'fifo': {
        const type = h.type === 'char' ? 'c' : h.type === 'block' ? 'b' : 'p';
        this.nodes.set(rel, { type, mode: h.mode, major: h.devmajor, minor: h.devminor, uid: h.uid, gid: h.gid });
        return;
      }
    }
  }

  private async hardlink(rel: string, h: TarHeader): Promise<void> {
    const target = classifyLayerPath(h.linkname);
    if (target.kind !== 'entry') this.fail(`hardlink "${rel}" has an invalid target "${h.linkname}"`);
    const node = this.nodes.get(target.path);
    if (node !== undefined) {
      // Devices are made by the helper at the end; an identical node is equivalent.
      this.nodes.set(rel, { ...node });
      return;
    }
    await this.ensureParents(target.path);
    const st = await fs.lstat(this.abs(target.path)).catch(() => undefined);
    if (st === undefined || st.isDirectory()) this.fail(`hardlink "${rel}" points at "${h.linkname}", which is not in this layer`);
    await fs.link(this.abs(target.path), this.abs(rel));
  }

  /** Native ops, then xattrs, then directory metadata deepest first (writing into a dir changes its mtime). */
  async finish(): Promise<void> {
    const ops = new NativeOps();
    for (const [rel, n] of this.nodes) ops.mknod(rel, n.type, n.mode, n.major, n.minor, n.uid, n.gid);
    for (const x of this.xattrOps) ops.setxattr(x.rel, x.name, x.value);
    try {
      await ops.run(this.root);
    } catch (e) {
      this.fail(errorMessage(e));
    }
    if (!this.dirMeta.has('')) this.dirMeta.set('', { rel: '', mode: 0o755, uid: 0, gid: 0, mtime: Math.floor(Date.now() / 1000) });
    const dirs = [...this.dirMeta.values()].sort((a, b) => depth(b.rel) - depth(a.rel));
    for (const d of dirs) {
      const p = this.abs(d.rel);
      if (this.isRoot) await fs.chown(p, d.uid, d.gid);
      await fs.chmod(p, d.mode);
      await fs.utimes(p, d.mtime, d.mtime);
    }
  }
}

function depth(rel: string): number {
  return rel === '' ? 0 : rel.split('/').length;
}

async function* hashing(source: AsyncIterable<Buffer>, onChunk: (b: Buffer) => void): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    onChunk(chunk);
    yield chunk;
  }
}

export interface UnpackResult {
  /** sha256 of the uncompressed tar stream. */
  diffId: string;
  /** Uncompressed bytes. */
  size: number;
}

/**
 * Unpacks the layer blob `file` (gzip, zstd or plain tar) into the existing,
 * empty directory `dest`. `digest` names the layer in errors. Rejects with
 * InvalidLayerError on a corrupt or unsafe tarball; dest is then garbage for
 * the caller to remove.
 */
export async function unpackLayer(file: string, dest: string, digest: string): Promise<UnpackResult> {
  const ex = new Extractor(dest, digest);
  const hash = newHash();
  let size = 0;
  const source = hashing(decompressedChunks(file), (b) => {
    hash.update(b);
    size += b.length;
  });
  try {
    for await (const { header, body } of readTar(source)) await ex.entry(header, body);
    await ex.finish();
  } catch (e) {
    if (e instanceof InvalidLayerError) throw e;
    throw new InvalidLayerError(digest, errorMessage(e));
  }
  return { diffId: hashDigest(hash), size };
}
