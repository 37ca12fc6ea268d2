// Tar archives through tar-stream (ustar, GNU long names, PAX headers): the
// image code's view of an entry, with tar-stream's names and PAX records
// turned into what unpacking needs (numeric ids, seconds, xattrs). Reading
// streams: the body of one entry at a time flows through, so memory stays
// bounded by tar-stream's buffer whatever the layer's size.

import { Readable } from 'node:stream';
import * as tarStream from 'tar-stream';
import { errorMessage } from '../../../util/errors';

export type TarEntryType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

export interface TarHeader {
  /** As in the archive (PAX/GNU long names applied), not cleaned. */
  name: string;
  type: TarEntryType;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch. */
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  /** Extended attributes from PAX SCHILY.xattr.* records. */
  xattrs: Map<string, Buffer>;
}

export interface TarEntry {
  header: TarHeader;
  /** The entry's content; empty for anything but files. Unread content is skipped. */
  body: AsyncIterable<Buffer>;
}

export class TarFormatError extends Error {
  constructor(message: string) {
    super(`corrupt tar stream: ${message}`);
    this.name = 'TarFormatError';
  }
}

type StreamType = tarStream.Header['type'];

const FROM_STREAM: Partial<Record<StreamType, TarEntryType>> = {
  file: 'file',
  'contiguous-file': 'file',
  link: 'hardlink',
  symlink: 'symlink',
  'character-device': 'char',
  'block-device': 'block',
  directory: 'dir',
  fifo: 'fifo',
};

const TO_STREAM: Record<TarEntryType, StreamType> = {
  file: 'file',
  hardlink: 'link',
  symlink: 'symlink',
  char: 'character-device',
  block: 'block-device',
  dir: 'directory',
  fifo: 'fifo',
};

const XATTR_PREFIX = 'SCHILY.xattr.';

/** tar-stream's PAX records of an entry (global ones merged in): strings by key. */
function paxRecords(h: tarStream.Header): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof h.pax !== 'object' || h.pax === null) return out;
  for (const [k, v] of Object.entries(h.pax)) if (typeof v === 'string') out[k] = v;
  return out;
}

function paxNumber(pax: Record<string, string>, key: string, name: string): number | undefined {
  const v = pax[key];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new TarFormatError(`entry "${name}": bad PAX ${key} "${v}"`);
  return n;
}

/** The image code's header from tar-stream's; PAX uid, gid and mtime win over the ustar fields (as Go's archive/tar). */
export function toTarHeader(h: tarStream.Header): TarHeader {
  // tar-stream gives null for a typeflag it does not know, whatever its typings say.
  const streamType = h.type as StreamType | null;
  const type = streamType === null ? undefined : FROM_STREAM[streamType];
  if (type === undefined) throw new TarFormatError(`entry "${h.name}" has an unsupported type (${streamType ?? 'unknown typeflag'})`);
  const pax = paxRecords(h);
  const xattrs = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(pax)) {
    if (!k.startsWith(XATTR_PREFIX)) continue;
    // tar-stream decodes PAX values as UTF-8; a binary value that is not UTF-8 cannot be recovered, so it is refused rather than set wrong.
    if (v.includes('\uFFFD')) throw new TarFormatError(`entry "${h.name}": xattr ${k.slice(XATTR_PREFIX.length)} is not UTF-8 text, which is not supported`);
    xattrs.set(k.slice(XATTR_PREFIX.length), Buffer.from(v, 'utf8'));
  }
  const mtime = paxNumber(pax, 'mtime', h.name) ?? (h.mtime ? h.mtime.getTime() / 1000 : 0);
  return {
    name: h.name,
    type,
    size: type === 'file' ? (h.size ?? 0) : 0,
    mode: (h.mode ?? 0) & 0o7777,
    uid: paxNumber(pax, 'uid', h.name) ?? h.uid ?? 0,
    gid: paxNumber(pax, 'gid', h.name) ?? h.gid ?? 0,
    mtime: Math.floor(mtime),
    linkname: h.linkname ?? '',
    devmajor: h.devmajor ?? 0,
    devminor: h.devminor ?? 0,
    xattrs,
  };
}

/** tar-stream's own errors (bad checksum, early end) as TarFormatError. */
function formatError(e: unknown): Error {
  if (e instanceof TarFormatError) return e;
  return new TarFormatError(errorMessage(e));
}

/** An entry's body; a failure of the source is reported as itself, not as a corrupt archive. */
async function* bodyOf(entry: AsyncIterable<unknown>, sourceError: () => Error | undefined): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of entry) yield chunk as Buffer;
  } catch (e) {
    throw sourceError() ?? formatError(e);
  }
}

/**
 * Reads tar entries from a chunk stream, in order. Each body must be read
 * (or abandoned) before the next entry is asked for; an unread rest is
 * skipped. The whole source is consumed, padding after the end-of-archive
 * marker included, so a hash over it covers every byte.
 */
export async function* readTar(source: AsyncIterable<Buffer>): AsyncGenerator<TarEntry> {
  // Old (pre-POSIX) headers without the ustar magic are accepted, as Go's archive/tar does.
  const extract = tarStream.extract({ allowUnknownFormat: true } as Parameters<typeof tarStream.extract>[0]);
  const input = Readable.from(source, { objectMode: false });
  let inputError: Error | undefined;
  input.on('error', (e: Error) => {
    inputError = e;
    extract.destroy(e);
  });
  input.pipe(extract);
  try {
    for await (const entry of extract) {
      const header = toTarHeader(entry.header);
      yield { header, body: bodyOf(entry, () => inputError) };
      // What the caller left unread is skipped (a finished or abandoned body is destroyed and yields nothing).
      if (!entry.destroyed)
        for await (const _ of entry) {
          /* skip */
        }
    }
  } catch (e) {
    throw inputError ?? formatError(e);
  } finally {
    input.destroy();
  }
  if (inputError !== undefined) throw inputError;
}

export interface TarWriteEntry {
  name: string;
  type: TarEntryType;
  data?: Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
  /** Seconds since the epoch; 0 unless given, so archives are reproducible. */
  mtime?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Written as PAX SCHILY.xattr.* records (text values, as tar-stream writes them). */
  xattrs?: Record<string, string>;
}

/** Serializes entries, in order, into a complete tar archive in memory (for building images, never for layers being pulled). */
export async function writeTar(entries: TarWriteEntry[]): Promise<Buffer> {
  for (const e of entries) {
    // tar-stream would wait for a symlink's target as its body.
    if ((e.type === 'symlink' || e.type === 'hardlink') && !e.linkname) throw new Error(`tar entry "${e.name}": a ${e.type} needs a linkname`);
  }
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  })();
  for (const e of entries) {
    const xattrs = Object.entries(e.xattrs ?? {});
    const header: Partial<tarStream.Header> & { name: string } = {
      name: e.name,
      type: TO_STREAM[e.type],
      mode: e.mode ?? (e.type === 'dir' ? 0o755 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      mtime: new Date((e.mtime ?? 0) * 1000),
      ...(e.linkname ? { linkname: e.linkname } : {}),
      devmajor: e.devmajor ?? 0,
      devminor: e.devminor ?? 0,
      ...(xattrs.length > 0 ? { pax: Object.fromEntries(xattrs.map(([k, v]) => [XATTR_PREFIX + k, v])) } : {}),
    };
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
      if (e.type === 'file') pack.entry(header, e.data ?? Buffer.alloc(0), cb);
      else pack.entry(header, cb);
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}
