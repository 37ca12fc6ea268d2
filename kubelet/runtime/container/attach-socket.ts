// The runtime's side of a container's attach socket: the shim of a
// container made with stdin or tty listens on <state dir>/attach.sock and
// holds the main process's stdin there (native/tsk-attach.h has the
// protocol and its rules). Frames both ways: a type byte, the payload's
// length (4 bytes, big-endian), the payload. The codec is pure; connectAttach
// turns one connection into the runtime's AttachStreams.

import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { RuntimeError } from '../errors';
import type { AttachStreams } from '../runtime';
import { FILES } from './state';

/** Largest payload of one frame (the shim drops a client that sends more). */
export const FRAME_MAX = 65536;

/** Client to shim: attach (first), stdin bytes, stdin closed, terminal size. Shim to client: stdout, stderr. */
export type FrameType = 'a' | 'i' | 'c' | 'r' | 'o' | 'e';

export interface Frame {
  type: FrameType;
  payload: Buffer;
}

const TYPES = new Set<string>(['a', 'i', 'c', 'r', 'o', 'e']);

export function encodeFrame(type: FrameType, payload: Buffer | string = Buffer.alloc(0)): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  if (body.length > FRAME_MAX) throw new RangeError(`attach frame of ${body.length} bytes: at most ${FRAME_MAX}`);
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

/** stdin bytes as frames of at most FRAME_MAX bytes each. */
export function stdinFrames(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < data.length; off += FRAME_MAX) out.push(encodeFrame('i', data.subarray(off, off + FRAME_MAX)));
  return out;
}

/** Splits a byte stream into frames, whatever the chunking; throws on a frame no shim sends. */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const frames: Frame[] = [];
    let off = 0;
    while (this.buf.length - off >= 5) {
      const type = String.fromCharCode(this.buf[off]!);
      const len = this.buf.readUInt32BE(off + 1);
      if (!TYPES.has(type) || len > FRAME_MAX) throw new RuntimeError(`attach socket: a bad frame (type ${JSON.stringify(type)}, ${len} bytes)`);
      if (this.buf.length - off < 5 + len) break;
      frames.push({ type: type as FrameType, payload: this.buf.subarray(off + 5, off + 5 + len) });
      off += 5 + len;
    }
    this.buf = this.buf.subarray(off);
    return frames;
  }
}

/**
 * Connects to the socket in a container's state dir (through /proc/self/fd,
 * so a long data dir does not run into sun_path's 108 bytes).
 */
function connect(dir: string): Promise<net.Socket> {
  const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  return new Promise<net.Socket>((resolve, reject) => {
    const sock = net.connect({ path: `/proc/self/fd/${fd}/${FILES.attachSocket}` });
    const done = (err?: Error): void => {
      fs.closeSync(fd);
      if (!err) return resolve(sock);
      const code = (err as NodeJS.ErrnoException).code ?? err.message;
      reject(new RuntimeError(`attach: connect to the container's shim (${path.join(dir, FILES.attachSocket)}): ${code}`));
    };
    sock.once('connect', () => {
      sock.removeAllListeners('error');
      done();
    });
    sock.once('error', (err) => done(err));
  });
}

/** Attaches to the shim in `dir`: with stdin, this client's input goes into the container's stdin; with tty, resizes go to its terminal. */
export async function connectAttach(dir: string, opts: { stdin: boolean; tty: boolean }): Promise<AttachStreams> {
  const sock = await connect(dir);
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const decoder = new FrameDecoder();
  const endAll = (): void => {
    stdout.end();
    stderr.end();
  };
  sock.on('data', (chunk: Buffer) => {
    let frames: Frame[];
    try {
      frames = decoder.push(chunk);
    } catch {
      sock.destroy();
      return;
    }
    for (const f of frames) {
      const to = f.type === 'e' ? stderr : f.type === 'o' ? stdout : undefined;
      // Output waits for the reader: the shim buffers (and drops a client too far behind), the container is never slowed.
      if (to && !to.write(f.payload)) {
        sock.pause();
        to.once('drain', () => sock.resume());
      }
    }
  });
  sock.on('close', endAll);
  sock.on('error', () => undefined);
  sock.write(encodeFrame('a', opts.stdin ? '1' : '0'));
  const stdin = opts.stdin
    ? new Writable({
        write(chunk: Buffer, _enc, cb): void {
          const frames = stdinFrames(chunk);
          frames.forEach((f, i) => (i === frames.length - 1 ? sock.write(f, () => cb()) : sock.write(f)));
          if (frames.length === 0) cb();
        },
        final(cb): void {
          sock.write(encodeFrame('c'), () => cb());
        },
      })
    : null;
  // A write after the socket is gone is the session's end, reported by the output's end.
  stdin?.on('error', () => undefined);
  return {
    stdin,
    stdout,
    stderr,
    kill: () => {
      sock.destroy();
      endAll();
    },
    ...(opts.tty ? { resize: (width: number, height: number) => void sock.write(encodeFrame('r', `${width} ${height}`)) } : {}),
  };
}
