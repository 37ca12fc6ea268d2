// The server side of SPDY/3.1 as Kubernetes' port-forward uses it (moby's
// spdystream under client-go): kubectl ≥1.31 tunnels it through a WebSocket
// ("SPDY/3.1+portforward.k8s.io"), older clients upgrade to it directly. No
// SPDY library fits: spdy-transport enforces SPDY/3.1 flow control, which
// spdystream never answers with window updates, so a sender there stalls
// after 64 KiB. This is the subset spdystream speaks: client-opened streams
// (SYN_STREAM), replies, data with FIN, resets, pings and GOAWAY; settings
// and window updates are read and ignored, as spdystream does.
//
// Frames (SPDY/3 §2.2): a control frame is 0x8003 (control bit, version 3),
// a 16-bit type, 8-bit flags and a 24-bit length; a data frame is a 31-bit
// stream id, flags (0x01 FIN) and a 24-bit length. Header blocks are one
// zlib stream per direction, primed with the SPDY/3 dictionary (§2.6.10.1),
// flushed (Z_SYNC_FLUSH) at the end of every block.

import type { Duplex } from 'node:stream';
import * as zlib from 'node:zlib';

const TYPE = { synStream: 1, synReply: 2, rstStream: 3, settings: 4, ping: 6, goAway: 7, headers: 8, windowUpdate: 9 } as const;
const FLAG_FIN = 0x01;
/** RST_STREAM status codes (§2.6.3). */
export const RST = { protocolError: 1, invalidStream: 2, refusedStream: 3, cancel: 5, internalError: 6 } as const;
/** Largest data payload of one frame written. */
const MAX_DATA = 32 * 1024;
/** Unprocessed input held before the connection stops reading (while a stream's consumer waits). */
const INPUT_HIGH_WATER = 1024 * 1024;

// The SPDY/3 header compression dictionary (§2.6.10.1): length-prefixed
// words, then a tail of plain text.
// prettier-ignore
const DICTIONARY_WORDS = [
  'options', 'head', 'post', 'put', 'delete', 'trace', 'accept', 'accept-charset', 'accept-encoding',
  'accept-language', 'accept-ranges', 'age', 'allow', 'authorization', 'cache-control', 'connection', 'content-base',
  'content-encoding', 'content-language', 'content-length', 'content-location', 'content-md5', 'content-range',
  'content-type', 'date', 'etag', 'expect', 'expires', 'from', 'host', 'if-match', 'if-modified-since',
  'if-none-match', 'if-range', 'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'pragma',
  'proxy-authenticate', 'proxy-authorization', 'range', 'referer', 'retry-after', 'server', 'te', 'trailer',
  'transfer-encoding', 'upgrade', 'user-agent', 'vary', 'via', 'warning', 'www-authenticate', 'method', 'get',
  'status', '200 OK', 'version', 'HTTP/1.1', 'url', 'public', 'set-cookie', 'keep-alive', 'origin',
];
const DICTIONARY_TAIL = [
  '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505203 Non-Au',
  'thoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized403 Forbidd',
  'en404 Not Found500 Internal Server Error501 Not Implemented503 Service UnavailableJan Feb Mar Apr Ma',
  'y Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,imag',
  'e/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,text/javascript,publicpri',
  'vatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.',
].join('');
export const SPDY_DICTIONARY: Buffer = Buffer.concat([
  ...DICTIONARY_WORDS.flatMap((w) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(w.length, 0);
    return [len, Buffer.from(w, 'latin1')];
  }),
  Buffer.from(DICTIONARY_TAIL, 'latin1'),
]);

/** A header block's bytes (§2.6.10): count, then length-prefixed names and values. Names are lower case. */
export function encodeHeaderBlock(headers: ReadonlyMap<string, string>): Buffer {
  const parts: Buffer[] = [];
  const u32 = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n, 0);
    return b;
  };
  parts.push(u32(headers.size));
  for (const [k, v] of headers) {
    const kb = Buffer.from(k.toLowerCase(), 'utf8');
    const vb = Buffer.from(v, 'utf8');
    parts.push(u32(kb.length), kb, u32(vb.length), vb);
  }
  return Buffer.concat(parts);
}

/** A decompressed header block; several values of one name (NUL-separated) are kept joined by ", ". */
export function decodeHeaderBlock(b: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let off = 0;
  const u32 = (): number => {
    if (off + 4 > b.length) throw new Error('SPDY header block truncated');
    const n = b.readUInt32BE(off);
    off += 4;
    return n;
  };
  const str = (): string => {
    const n = u32();
    if (off + n > b.length) throw new Error('SPDY header block truncated');
    const s = b.toString('utf8', off, off + n);
    off += n;
    return s;
  };
  const count = u32();
  for (let i = 0; i < count; i++) {
    const name = str().toLowerCase();
    out.set(name, str().split('\0').join(', '));
  }
  return out;
}

export function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(0x8003, 0);
  h.writeUInt16BE(type, 2);
  h.writeUInt32BE(payload.length, 4);
  h[4] = flags;
  return Buffer.concat([h, payload]);
}

export function dataFrame(streamId: number, flags: number, data: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(streamId & 0x7fffffff, 0);
  h.writeUInt32BE(data.length, 4);
  h[4] = flags;
  return Buffer.concat([h, data]);
}

/** One parsed frame. */
export type SpdyFrame = { control: true; type: number; flags: number; payload: Buffer } | { control: false; streamId: number; flags: number; data: Buffer };

/** Splits whole frames off the front of `buf`; the rest waits for more input. */
export function parseFrames(buf: Buffer): { frames: SpdyFrame[]; rest: Buffer } {
  const frames: SpdyFrame[] = [];
  let off = 0;
  while (buf.length - off >= 8) {
    const len = buf.readUInt32BE(off + 4) & 0xffffff;
    if (buf.length - off < 8 + len) break;
    const flags = buf[off + 4]!;
    const body = buf.subarray(off + 8, off + 8 + len);
    if (buf[off]! & 0x80) {
      const version = buf.readUInt16BE(off) & 0x7fff;
      if (version !== 3) throw new Error(`SPDY version ${version} is not supported (3 is)`);
      frames.push({ control: true, type: buf.readUInt16BE(off + 2), flags, payload: body });
    } else {
      frames.push({ control: false, streamId: buf.readUInt32BE(off) & 0x7fffffff, flags, data: body });
    }
    off += 8 + len;
  }
  return { frames, rest: buf.subarray(off) };
}

/** One stream a client opened. */
export interface SpdyStream {
  readonly id: number;
  readonly headers: ReadonlyMap<string, string>;
  /** Data from the client; the connection reads no further frames until the promise resolves. */
  onData: (data: Buffer) => Promise<void>;
  /** The client half-closed the stream (FIN). */
  onEnd: () => void;
  /** The stream was reset or the connection is gone: nothing more will arrive or can be sent. */
  onReset: () => void;
  /** Resolves when the connection has taken the data. */
  write(data: Buffer): Promise<void>;
  /** Half-closes our side (FIN). Idempotent. */
  end(): void;
  reset(status?: number): void;
}

/**
 * A server connection over `io`. `onStream` gets each stream the client
 * opens, already answered with an empty SYN_REPLY (as Kubernetes' SPDY
 * server replies to every stream it accepts), and sets its callbacks.
 */
export class SpdyServerConnection {
  private input: Buffer = Buffer.alloc(0);
  private processing = false;
  private closed = false;
  private readonly streams = new Map<number, StreamState>();
  private readonly inflate = zlib.createInflate({ dictionary: SPDY_DICTIONARY });
  private deflatedBefore = false;
  private lastStreamId = 0;

  constructor(
    private readonly io: Duplex,
    private readonly onStream: (s: SpdyStream) => void,
    private readonly log: (msg: string) => void,
  ) {
    io.on('data', (chunk: Buffer) => {
      this.input = this.input.length === 0 ? chunk : Buffer.concat([this.input, chunk]);
      if (this.input.length > INPUT_HIGH_WATER) io.pause();
      void this.process();
    });
    io.on('end', () => this.close());
    io.on('close', () => this.close());
    io.on('error', () => this.close());
    this.inflate.on('error', (err) => this.fail(`header decompression: ${err.message}`));
  }

  /** Ends every stream and the connection. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const all = [...this.streams.values()];
    this.streams.clear();
    for (const s of all) s.gone();
    this.inflate.close();
    if (!this.io.destroyed) this.io.end();
  }

  private fail(why: string): void {
    this.log(`SPDY connection: ${why}`);
    if (!this.closed && !this.io.destroyed) {
      const p = Buffer.alloc(8);
      p.writeUInt32BE(this.lastStreamId, 0);
      p.writeUInt32BE(1, 4); // PROTOCOL_ERROR
      this.io.write(controlFrame(TYPE.goAway, 0, p));
    }
    this.close();
  }

  /** Writes a frame; resolves when the transport can take more. */
  send(frame: Buffer): Promise<void> {
    if (this.closed || this.io.destroyed) return Promise.resolve();
    if (this.io.write(frame)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.io.off('drain', done);
        this.io.off('close', done);
        resolve();
      };
      this.io.on('drain', done);
      this.io.on('close', done);
    });
  }

  /** The compressed form of a header block, continuing our one zlib stream. */
  private compress(block: Buffer): Buffer {
    // The first block starts the zlib stream (header and dictionary id); later
    // ones continue it as raw deflate blocks. Every block ends with a sync
    // flush and none is final, so the client's one inflater reads them in turn.
    const opts = { finishFlush: zlib.constants.Z_SYNC_FLUSH };
    const out = this.deflatedBefore ? zlib.deflateRawSync(block, opts) : zlib.deflateSync(block, { ...opts, dictionary: SPDY_DICTIONARY });
    this.deflatedBefore = true;
    return out;
  }

  private decompress(block: Buffer): Promise<Buffer> {
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      const onData = (d: Buffer): number => chunks.push(d);
      this.inflate.on('data', onData);
      this.inflate.write(block);
      this.inflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        this.inflate.off('data', onData);
        resolve(Buffer.concat(chunks));
      });
    });
  }

  /** Handles frames one at a time, in order (a header block must be inflated before the next). */
  private async process(): Promise<void> {
    if (this.processing) return;
    this.processing = true;
    try {
      while (!this.closed) {
        const { frames, rest } = parseFrames(this.input);
        this.input = rest;
        if (frames.length === 0) break;
        for (const f of frames) {
          if (this.closed) break;
          await this.handle(f);
        }
      }
    } catch (err) {
      this.fail(err instanceof Error ? err.message : String(err));
    } finally {
      this.processing = false;
      if (!this.closed && this.io.isPaused() && this.input.length <= INPUT_HIGH_WATER) this.io.resume();
    }
  }

  private async handle(f: SpdyFrame): Promise<void> {
    if (!f.control) {
      const s = this.streams.get(f.streamId);
      if (!s) {
        await this.sendReset(f.streamId, RST.invalidStream);
        return;
      }
      if (f.data.length > 0) await s.stream.onData(f.data);
      if (f.flags & FLAG_FIN) s.remoteEnded();
      return;
    }
    const p = f.payload;
    switch (f.type) {
      case TYPE.synStream: {
        const id = p.readUInt32BE(0) & 0x7fffffff;
        const headers = decodeHeaderBlock(await this.decompress(p.subarray(10)));
        this.lastStreamId = Math.max(this.lastStreamId, id);
        if (this.streams.has(id) || id % 2 === 0) {
          await this.sendReset(id, RST.protocolError);
          return;
        }
        const st = new StreamState(this, id, headers);
        this.streams.set(id, st);
        await this.send(controlFrame(TYPE.synReply, 0, Buffer.concat([u32(id), this.compress(encodeHeaderBlock(new Map()))])));
        this.onStream(st.stream);
        if (f.flags & FLAG_FIN) st.remoteEnded();
        return;
      }
      case TYPE.headers:
        // Read only to keep the header zlib stream in step.
        await this.decompress(p.subarray(4));
        return;
      case TYPE.rstStream: {
        const id = p.readUInt32BE(0) & 0x7fffffff;
        const s = this.streams.get(id);
        this.streams.delete(id);
        s?.gone();
        return;
      }
      case TYPE.ping:
        // Odd ids are the client's pings: echoed (§2.6.5).
        await this.send(controlFrame(TYPE.ping, 0, p.subarray(0, 4)));
        return;
      case TYPE.goAway:
        this.close();
        return;
      default:
        // SETTINGS, WINDOW_UPDATE and unknown types: ignored, as spdystream does.
        return;
    }
  }

  sendReset(id: number, status: number): Promise<void> {
    return this.send(controlFrame(TYPE.rstStream, 0, Buffer.concat([u32(id), u32(status)])));
  }

  /** Forgets a stream both sides have finished. */
  release(id: number): void {
    this.streams.delete(id);
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

/** A stream's two halves. */
class StreamState {
  readonly stream: SpdyStream;
  private localEnded = false;
  private remoteDone = false;
  private over = false;

  constructor(
    private readonly conn: SpdyServerConnection,
    readonly id: number,
    headers: ReadonlyMap<string, string>,
  ) {
    this.stream = {
      id,
      headers,
      onData: () => Promise.resolve(),
      onEnd: () => undefined,
      onReset: () => undefined,
      write: (data) => this.write(data),
      end: () => this.end(),
      reset: (status) => this.reset(status),
    };
  }

  private async write(data: Buffer): Promise<void> {
    for (let off = 0; off < data.length && !this.over && !this.localEnded; off += MAX_DATA) {
      await this.conn.send(dataFrame(this.id, 0, data.subarray(off, Math.min(off + MAX_DATA, data.length))));
    }
  }

  private end(): void {
    if (this.localEnded || this.over) return;
    this.localEnded = true;
    void this.conn.send(dataFrame(this.id, FLAG_FIN, Buffer.alloc(0)));
    this.maybeRelease();
  }

  private reset(status: number = RST.cancel): void {
    if (this.over) return;
    void this.conn.sendReset(this.id, status);
    this.gone();
    this.conn.release(this.id);
  }

  remoteEnded(): void {
    if (this.remoteDone) return;
    this.remoteDone = true;
    this.stream.onEnd();
    this.maybeRelease();
  }

  gone(): void {
    if (this.over) return;
    this.over = true;
    this.stream.onReset();
  }

  private maybeRelease(): void {
    if (this.localEnded && this.remoteDone) this.conn.release(this.id);
  }
}
