import test from 'ava';
import { Duplex, PassThrough } from 'node:stream';
import * as zlib from 'node:zlib';
import {
  SPDY_DICTIONARY,
  SpdyServerConnection,
  controlFrame,
  dataFrame,
  decodeHeaderBlock,
  encodeHeaderBlock,
  parseFrames,
  type SpdyFrame,
  type SpdyStream,
} from './spdy';

/** zlib's Adler-32, which a zlib stream primed with a dictionary names it by (RFC 1950 DICTID). */
function adler32(b: Buffer): number {
  let a = 1;
  let s = 0;
  for (const x of b) {
    a = (a + x) % 65521;
    s = (s + a) % 65521;
  }
  return ((s << 16) | a) >>> 0;
}

test('the dictionary is SPDY/3 header compression dictionary', (t) => {
  t.is(SPDY_DICTIONARY.length, 1423);
  // The DICTID spdystream's (Go's compress/zlib) streams carry.
  t.is(adler32(SPDY_DICTIONARY), 3821447106);
});

test('header blocks: count, then length-prefixed names and values; names lower-cased, multiple values joined', (t) => {
  const block = encodeHeaderBlock(
    new Map([
      ['streamType', 'data'],
      ['port', '80'],
    ]),
  );
  t.deepEqual(
    decodeHeaderBlock(block),
    new Map([
      ['streamtype', 'data'],
      ['port', '80'],
    ]),
  );
  const multi = Buffer.concat([Buffer.from([0, 0, 0, 1, 0, 0, 0, 1]), Buffer.from('a'), Buffer.from([0, 0, 0, 3]), Buffer.from('x\0y')]);
  t.deepEqual(decodeHeaderBlock(multi), new Map([['a', 'x, y']]));
  t.throws(() => decodeHeaderBlock(Buffer.from([0, 0, 0, 2, 0, 0, 0, 9])), { message: 'SPDY header block truncated' });
});

test('frames are split whole off the input; a partial frame waits', (t) => {
  const input = Buffer.concat([controlFrame(6, 0, Buffer.from([0, 0, 0, 1])), dataFrame(3, 1, Buffer.from('abc'))]);
  const { frames, rest } = parseFrames(input.subarray(0, input.length - 1));
  t.is(frames.length, 1);
  t.like(frames[0], { control: true, type: 6, flags: 0 });
  const all = parseFrames(Buffer.concat([rest, input.subarray(input.length - 1)]));
  t.is(all.rest.length, 0);
  t.like(all.frames[0] as SpdyFrame, { control: false, streamId: 3, flags: 1 });
  t.is((all.frames[0] as { data: Buffer }).data.toString(), 'abc');
  t.throws(() => parseFrames(Buffer.from([0x80, 0x02, 0, 1, 0, 0, 0, 0])), { message: 'SPDY version 2 is not supported (3 is)' });
});

/** A client as spdystream is one: one zlib stream per direction, primed with the dictionary, sync-flushed per block. */
class Client {
  readonly deflate = zlib.createDeflate({ dictionary: SPDY_DICTIONARY });
  readonly inflate = zlib.createInflate({ dictionary: SPDY_DICTIONARY });
  received = Buffer.alloc(0);

  constructor(readonly wire: { toServer: PassThrough; fromServer: PassThrough }) {
    wire.fromServer.on('data', (d: Buffer) => (this.received = Buffer.concat([this.received, d])));
  }

  private zip(z: zlib.Deflate | zlib.Inflate, b: Buffer): Promise<Buffer> {
    return new Promise((resolve) => {
      const out: Buffer[] = [];
      const on = (d: Buffer): number => out.push(d);
      z.on('data', on);
      z.write(b);
      z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        z.off('data', on);
        resolve(Buffer.concat(out));
      });
    });
  }

  async synStream(id: number, headers: Record<string, string>, fin = false): Promise<void> {
    const block = await this.zip(this.deflate, encodeHeaderBlock(new Map(Object.entries(headers))));
    const head = Buffer.alloc(10);
    head.writeUInt32BE(id, 0);
    this.wire.toServer.write(controlFrame(1, fin ? 1 : 0, Buffer.concat([head, block])));
  }

  /** The frames received so far, reply header blocks inflated. */
  async frames(): Promise<Array<SpdyFrame & { headers?: Map<string, string> }>> {
    const { frames } = parseFrames(this.received);
    const out: Array<SpdyFrame & { headers?: Map<string, string> }> = [];
    for (const f of frames) {
      if (f.control && f.type === 2) out.push({ ...f, headers: decodeHeaderBlock(await this.zip(this.inflate, f.payload.subarray(4))) });
      else out.push(f);
    }
    this.received = Buffer.alloc(0);
    return out;
  }
}

function pair(): { server: Duplex; client: Client } {
  const toServer = new PassThrough();
  const fromServer = new PassThrough();
  const server = Duplex.from({ readable: toServer, writable: fromServer });
  return { server, client: new Client({ toServer, fromServer }) };
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

/** Waits (polling) until cond holds; fails after 5 s. */
async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 250 && !cond(); i++) await tick();
  if (!cond()) throw new Error(`never: ${what}`);
}

test('a connection answers each stream, passes its data and FIN, writes back, and echoes pings', async (t) => {
  const { server, client } = pair();
  const streams: SpdyStream[] = [];
  const got: string[] = [];
  new SpdyServerConnection(
    server,
    (s) => {
      streams.push(s);
      s.onData = async (d) => void got.push(`${s.id}:${d.toString()}`);
      s.onEnd = () => got.push(`${s.id}:FIN`);
    },
    () => undefined,
  );
  await client.synStream(1, { streamtype: 'error', port: '80', requestid: '0' }, true);
  await client.synStream(3, { streamtype: 'data', port: '80', requestid: '0' });
  client.wire.toServer.write(dataFrame(3, 0, Buffer.from('GET /')));
  client.wire.toServer.write(dataFrame(3, 1, Buffer.alloc(0)));
  client.wire.toServer.write(controlFrame(6, 0, Buffer.from([0, 0, 0, 7])));
  await until('both streams and their data', () => got.length === 3);
  t.deepEqual(
    streams.map((s) => [s.id, s.headers.get('streamtype'), s.headers.get('port'), s.headers.get('requestid')]),
    [
      [1, 'error', '80', '0'],
      [3, 'data', '80', '0'],
    ],
  );
  t.deepEqual(got, ['1:FIN', '3:GET /', '3:FIN']);
  await streams[1]!.write(Buffer.from('HTTP/1.0 200 OK'));
  streams[1]!.end();
  streams[0]!.end();
  await until('the last FIN', () => client.received.length > 0 && parseFrames(client.received).frames.filter((f) => !f.control && f.flags === 1).length === 2);
  const frames = await client.frames();
  // Two replies whose header blocks continue one zlib stream, the ping, the data, the FINs.
  t.deepEqual(
    frames.filter((f) => f.control && f.type === 2).map((f) => [(f as { payload: Buffer }).payload.readUInt32BE(0), f.headers?.size]),
    [
      [1, 0],
      [3, 0],
    ],
  );
  const ping = frames.find((f) => f.control && f.type === 6) as { payload: Buffer } | undefined;
  t.deepEqual([...(ping?.payload ?? [])], [0, 0, 0, 7]);
  const data = frames.filter((f): f is Extract<SpdyFrame, { control: false }> => !f.control);
  t.deepEqual(
    data.map((f) => [f.streamId, f.flags, f.data.toString()]),
    [
      [3, 0, 'HTTP/1.0 200 OK'],
      [3, 1, ''],
      [1, 1, ''],
    ],
  );
});

test('data for an unknown stream is answered with RST_STREAM; a reset reaches the stream', async (t) => {
  const { server, client } = pair();
  let reset = false;
  new SpdyServerConnection(
    server,
    (s) => {
      s.onReset = () => (reset = true);
    },
    () => undefined,
  );
  client.wire.toServer.write(dataFrame(9, 0, Buffer.from('x')));
  await client.synStream(1, { streamtype: 'data', port: '80', requestid: '1' });
  client.wire.toServer.write(controlFrame(3, 0, Buffer.from([0, 0, 0, 1, 0, 0, 0, 5])));
  await until('the reset', () => reset);
  t.true(reset);
  const rst = (await client.frames()).find((f) => f.control && f.type === 3) as { payload: Buffer } | undefined;
  t.deepEqual([rst?.payload.readUInt32BE(0), rst?.payload.readUInt32BE(4)], [9, 2]);
});
