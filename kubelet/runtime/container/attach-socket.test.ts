// The attach socket's frames (native/tsk-attach.h's other half): encoding,
// decoding across any chunking, stdin split at the frame limit, bad frames.

import test from 'ava';
import { encodeFrame, FRAME_MAX, FrameDecoder, stdinFrames } from './attach-socket';

test('a frame is its type, a big-endian length and the payload', (t) => {
  t.deepEqual([...encodeFrame('a', '1')], [0x61, 0, 0, 0, 1, 0x31]);
  t.deepEqual([...encodeFrame('c')], [0x63, 0, 0, 0, 0]);
  t.deepEqual([...encodeFrame('r', '80 24').subarray(0, 5)], [0x72, 0, 0, 0, 5]);
  t.throws(() => encodeFrame('i', Buffer.alloc(FRAME_MAX + 1)), { instanceOf: RangeError });
});

test('the decoder yields whole frames whatever the chunks, byte by byte included', (t) => {
  const wire = Buffer.concat([encodeFrame('o', 'hello\n'), encodeFrame('e', 'oops'), encodeFrame('o', '')]);
  for (const size of [1, 3, 7, wire.length]) {
    const d = new FrameDecoder();
    const got: string[] = [];
    for (let off = 0; off < wire.length; off += size) for (const f of d.push(wire.subarray(off, off + size))) got.push(`${f.type}:${f.payload.toString()}`);
    t.deepEqual(got, ['o:hello\n', 'e:oops', 'o:'], `chunks of ${size}`);
  }
});

test('the decoder refuses an unknown type or an oversized length', (t) => {
  t.throws(() => new FrameDecoder().push(Buffer.from([0x7a, 0, 0, 0, 0])), { message: /bad frame \(type "z", 0 bytes\)/ });
  t.throws(() => new FrameDecoder().push(Buffer.from([0x6f, 0, 1, 0, 1])), { message: /65537 bytes/ });
});

test('stdin is cut into frames of at most FRAME_MAX bytes, nothing for nothing', (t) => {
  const frames = stdinFrames(Buffer.alloc(FRAME_MAX * 2 + 10, 0x41));
  t.deepEqual(
    frames.map((f) => f.length - 5),
    [FRAME_MAX, FRAME_MAX, 10],
  );
  t.true(frames.every((f) => f[0] === 0x69));
  t.deepEqual(stdinFrames(Buffer.alloc(0)), []);
});
