import test from 'ava';
import * as tarStream from 'tar-stream';
import { readTar, TarHeader, writeTar } from './tar';

async function readAll(buf: Buffer, chunk = 7): Promise<Array<{ h: TarHeader; data: Buffer }>> {
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let i = 0; i < buf.length; i += chunk) yield buf.subarray(i, i + chunk);
  }
  const out = [];
  for await (const { header, body } of readTar(chunks())) {
    const parts: Buffer[] = [];
    for await (const b of body) parts.push(b);
    out.push({ h: header, data: Buffer.concat(parts) });
  }
  return out;
}

test('round-trips every entry type, long names and xattrs', async (t) => {
  const long = `${'d'.repeat(120)}/${'f'.repeat(120)}`;
  const tar = await writeTar([
    { name: 'dir/', type: 'dir', mode: 0o1777, uid: 5, gid: 6, mtime: 1234 },
    { name: 'dir/file', type: 'file', data: Buffer.from('hello'), mode: 0o4755, xattrs: { 'user.note': 'kept', 'security.capability': '\x01\x00\x00\x02' } },
    { name: 'dir/hard', type: 'hardlink', linkname: 'dir/file' },
    { name: 'dir/sym', type: 'symlink', linkname: `/${long}` },
    { name: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666 },
    { name: 'dev/sda', type: 'block', devmajor: 8, devminor: 0 },
    { name: 'fifo', type: 'fifo' },
    { name: long, type: 'file', data: Buffer.alloc(1000, 1) },
  ]);
  const got = await readAll(tar);
  t.deepEqual(
    got.map((e) => [e.h.name, e.h.type]),
    [
      ['dir/', 'dir'],
      ['dir/file', 'file'],
      ['dir/hard', 'hardlink'],
      ['dir/sym', 'symlink'],
      ['dev/null', 'char'],
      ['dev/sda', 'block'],
      ['fifo', 'fifo'],
      [long, 'file'],
    ],
  );
  t.deepEqual([got[0]?.h.mode, got[0]?.h.uid, got[0]?.h.gid, got[0]?.h.mtime], [0o1777, 5, 6, 1234]);
  t.is(got[1]?.data.toString(), 'hello');
  t.is(got[1]?.h.mode, 0o4755);
  t.deepEqual(got[1]?.h.xattrs.get('user.note'), Buffer.from('kept'));
  t.deepEqual(got[1]?.h.xattrs.get('security.capability'), Buffer.from([1, 0, 0, 2]));
  t.is(got[2]?.h.linkname, 'dir/file');
  t.is(got[3]?.h.linkname, `/${long}`);
  t.deepEqual([got[4]?.h.devmajor, got[4]?.h.devminor], [1, 3]);
  t.is(got[7]?.data.length, 1000);
});

test('unread and half-read bodies are skipped', async (t) => {
  const tar = await writeTar([
    { name: 'a', type: 'file', data: Buffer.alloc(300_000, 2) },
    { name: 'b', type: 'file', data: Buffer.alloc(300_000, 3) },
    { name: 'c', type: 'file', data: Buffer.from('x') },
  ]);
  const seen: Array<[string, number]> = [];
  for await (const { header, body } of readTar(
    (async function* () {
      yield tar;
    })(),
  )) {
    let n = 0;
    if (header.name === 'b') {
      for await (const chunk of body) {
        n += chunk.length;
        break;
      }
    }
    seen.push([header.name, n > 0 ? 1 : 0]);
  }
  t.deepEqual(seen, [
    ['a', 0],
    ['b', 1],
    ['c', 0],
  ]);
});

test('PAX uid, gid and mtime override the ustar fields', async (t) => {
  // GNU tar --format=posix writes them for ids beyond 7 octal digits and for sub-second times.
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  })();
  pack.entry({ name: 'big', type: 'file', uid: 1, gid: 2, pax: { uid: '4000000000', gid: '3000000000', mtime: '1658332097.833783244' } }, Buffer.from('b'));
  pack.finalize();
  await done;
  const h = (await readAll(Buffer.concat(chunks)))[0]?.h;
  t.deepEqual([h?.uid, h?.gid, h?.mtime], [4_000_000_000, 3_000_000_000, 1_658_332_097]);
});

test('corrupt headers and truncated entries are errors', async (t) => {
  const tar = await writeTar([{ name: 'a', type: 'file', data: Buffer.alloc(3000, 2) }]);
  const bad = Buffer.from(tar);
  bad[10] = 0x41;
  await t.throwsAsync(readAll(bad), { message: /corrupt tar stream: Invalid tar header/ });
  await t.throwsAsync(readAll(tar.subarray(0, 1500)), { message: /corrupt tar stream: Unexpected end of data/ });
  await t.throwsAsync(readAll(tar.subarray(0, 300)), { message: /corrupt tar stream/ });
});

test('errors of the source reach the reader', async (t) => {
  const tar = await writeTar([{ name: 'a', type: 'file', data: Buffer.alloc(3000, 2) }]);
  async function* failing(): AsyncGenerator<Buffer> {
    yield tar.subarray(0, 1024);
    throw new Error('disk on fire');
  }
  await t.throwsAsync(
    async () => {
      for await (const e of readTar(failing()))
        for await (const _ of e.body) {
          /* read */
        }
    },
    { message: 'disk on fire' },
  );
});

test('a symlink without a target is refused when writing', async (t) => {
  await t.throwsAsync(writeTar([{ name: 's', type: 'symlink' }]), { message: /"s": a symlink needs a linkname/ });
});

test('a binary xattr that is not UTF-8 is refused, not set wrong', async (t) => {
  const tar = await writeTar([{ name: 'ping', type: 'file', data: Buffer.from('p'), xattrs: { 'security.capability': 'ZZZZ' } }]);
  // PAX bodies carry no checksum: swap the value for bytes that are not UTF-8, as Go's archive/tar writes capabilities.
  const at = tar.indexOf('ZZZZ');
  Buffer.from([0x01, 0x80, 0xff, 0x02]).copy(tar, at);
  await t.throwsAsync(readAll(tar), { message: /entry "ping": xattr security\.capability is not UTF-8 text/ });
});
