// A streaming tar reader (ustar, GNU long names, PAX headers incl. xattrs),
// enough for image layers and image archives. Entries are yielded one at a
// time with a body stream; the body must be consumed (or it is skipped)
// before the next entry is read, so memory stays bounded by one chunk.

const BLOCK = 512;
const MAX_META_SIZE = 1 << 20; // PAX and GNU long-name bodies are small; refuse absurd ones.

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
  /** Extended attributes from PAX SCHILY.xattr.* records (binary-safe). */
  xattrs: Map<string, Buffer>;
}

export interface TarEntry {
  header: TarHeader;
  /** The entry's content; empty for anything but files. */
  body: AsyncIterable<Buffer>;
}

export class TarFormatError extends Error {
  constructor(message: string) {
    super(`corrupt tar stream: ${message}`);
    this.name = 'TarFormatError';
  }
}

/** Pulls exact byte counts out of an async chunk source. */
class ByteReader {
  private buf: Buffer = Buffer.alloc(0);
  private done = false;
  private readonly it: AsyncIterator<Buffer>;

  constructor(source: AsyncIterable<Buffer>) {
    this.it = source[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    if (this.done) return false;
    const r = await this.it.next();
    if (r.done) {
      this.done = true;
      return false;
    }
    const chunk = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as Uint8Array);
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    return true;
  }

  /** Exactly n bytes, or fewer only at end of stream. */
  async read(n: number): Promise<Buffer> {
    while (this.buf.length < n && (await this.fill()));
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(out.length);
    return out;
  }

  /** Yields exactly n bytes in chunks; throws on early end of stream. */
  async *stream(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.buf.length === 0 && !(await this.fill())) throw new TarFormatError('unexpected end of stream inside an entry');
      const take = this.buf.subarray(0, Math.min(left, this.buf.length));
      this.buf = this.buf.subarray(take.length);
      left -= take.length;
      yield take;
    }
  }

  async skip(n: number): Promise<void> {
    for await (const _ of this.stream(n)) { /* discard */ }
  }

  /** Lets the source finish (e.g. so a hash over it sees trailing padding). */
  async drain(): Promise<void> {
    this.buf = Buffer.alloc(0);
    while (await this.fill()) this.buf = Buffer.alloc(0);
  }
}

function cString(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.subarray(0, nul < 0 ? b.length : nul).toString('utf8');
}

/** Octal (possibly space/NUL padded) or GNU base-256 numeric field. */
export function parseNumeric(b: Buffer, field: string): number {
  if (b.length > 0 && ((b[0] ?? 0) & 0x80) !== 0) {
    if (((b[0] ?? 0) & 0x40) !== 0) throw new TarFormatError(`negative base-256 ${field}`);
    let v = (b[0] ?? 0) & 0x3f;
    for (let i = 1; i < b.length; i++) v = v * 256 + (b[i] ?? 0);
    if (!Number.isSafeInteger(v)) throw new TarFormatError(`${field} too large`);
    return v;
  }
  const s = cString(b).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new TarFormatError(`invalid octal ${field} "${s}"`);
  return parseInt(s, 8);
}

function checksumOk(block: Buffer): boolean {
  const stored = parseNumeric(block.subarray(148, 156), 'checksum');
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  return stored === unsigned || stored === signed;
}

/** Parses PAX "len key=value\n" records; values stay binary (xattrs may be). */
export function parsePax(body: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let pos = 0;
  while (pos < body.length) {
    const space = body.indexOf(0x20, pos);
    if (space < 0) throw new TarFormatError('bad PAX record');
    const len = Number(body.subarray(pos, space).toString('ascii'));
    if (!Number.isInteger(len) || len <= 0 || pos + len > body.length) throw new TarFormatError('bad PAX record length');
    const rec = body.subarray(space + 1, pos + len - 1); // drop trailing "\n"
    const eq = rec.indexOf(0x3d);
    if (eq < 0) throw new TarFormatError('PAX record without "="');
    out.set(rec.subarray(0, eq).toString('utf8'), Buffer.from(rec.subarray(eq + 1)));
    pos += len;
  }
  return out;
}

const TYPES: Record<string, TarEntryType> = {
  '0': 'file', '\0': 'file', '7': 'file', '1': 'hardlink', '2': 'symlink',
  '3': 'char', '4': 'block', '5': 'dir', '6': 'fifo',
};

interface Pending {
  longName?: string;
  longLink?: string;
  pax?: Map<string, Buffer>;
}

/** Reads tar entries from a chunk stream. Ends at the end-of-archive marker or at EOF. */
export async function* readTar(source: AsyncIterable<Buffer>): AsyncGenerator<TarEntry> {
  const r = new ByteReader(source);
  let global = new Map<string, Buffer>();
  let pending: Pending = {};
  for (;;) {
    const block = await r.read(BLOCK);
    if (block.length === 0) break; // EOF without end marker: tolerated like GNU tar
    if (block.length < BLOCK) throw new TarFormatError('truncated header block');
    if (block.every((b) => b === 0)) {
      await r.drain();
      break;
    }
    if (!checksumOk(block)) throw new TarFormatError('header checksum mismatch');
    const typeflag = String.fromCharCode(block[156] ?? 0);
    const size = parseNumeric(block.subarray(124, 136), 'size');
    if (typeflag === 'x' || typeflag === 'g' || typeflag === 'L' || typeflag === 'K') {
      if (size > MAX_META_SIZE) throw new TarFormatError(`metadata entry of ${size} bytes`);
      const padded = Math.ceil(size / BLOCK) * BLOCK;
      const data = await r.read(padded);
      if (data.length < padded) throw new TarFormatError('truncated metadata entry');
      const body = data.subarray(0, size);
      if (typeflag === 'x') pending.pax = parsePax(body);
      else if (typeflag === 'g') global = new Map([...global, ...parsePax(body)]);
      else if (typeflag === 'L') pending.longName = cString(body);
      else pending.longLink = cString(body);
      continue;
    }
    const type = TYPES[typeflag];
    if (type === undefined) throw new TarFormatError(`unsupported entry type "${typeflag}"`);
    const header = buildHeader(block, type, size, new Map([...global, ...(pending.pax ?? [])]), pending);
    pending = {};
    // Header-only types carry no data whatever their size field says (as Go's archive/tar).
    const dataSize = type === 'file' ? header.size : 0;
    let consumed = false;
    const body = (async function* () {
      consumed = true;
      yield* r.stream(dataSize);
    })();
    yield { header, body };
    if (!consumed) await r.skip(dataSize);
    else await drainGenerator(body);
    await r.skip(Math.ceil(dataSize / BLOCK) * BLOCK - dataSize);
  }
}

async function drainGenerator(g: AsyncGenerator<Buffer>): Promise<void> {
  for await (const _ of g) { /* rest of an unread body */ }
}

function buildHeader(block: Buffer, type: TarEntryType, size: number, pax: Map<string, Buffer>, p: Pending): TarHeader {
  const magic = block.subarray(257, 263).toString('latin1');
  const prefix = magic.startsWith('ustar') ? cString(block.subarray(345, 500)) : '';
  let name = cString(block.subarray(0, 100));
  if (prefix !== '') name = `${prefix}/${name}`;
  name = p.longName ?? name;
  let linkname = p.longLink ?? cString(block.subarray(157, 257));
  const paxStr = (k: string): string | undefined => pax.get(k)?.toString('utf8');
  name = paxStr('path') ?? name;
  linkname = paxStr('linkpath') ?? linkname;
  const paxNum = (k: string, dflt: number): number => {
    const v = paxStr(k);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new TarFormatError(`bad PAX ${k} "${v}"`);
    return n;
  };
  const xattrs = new Map<string, Buffer>();
  for (const [k, v] of pax) {
    if (k.startsWith('SCHILY.xattr.')) xattrs.set(k.slice('SCHILY.xattr.'.length), v);
  }
  return {
    name,
    type,
    size: paxNum('size', size),
    mode: parseNumeric(block.subarray(100, 108), 'mode') & 0o7777,
    uid: paxNum('uid', parseNumeric(block.subarray(108, 116), 'uid')),
    gid: paxNum('gid', parseNumeric(block.subarray(116, 124), 'gid')),
    mtime: Math.floor(paxNum('mtime', parseNumeric(block.subarray(136, 148), 'mtime'))),
    linkname,
    devmajor: parseNumeric(block.subarray(329, 337), 'devmajor'),
    devminor: parseNumeric(block.subarray(337, 345), 'devminor'),
    xattrs,
  };
}
