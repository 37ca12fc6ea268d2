import test from 'ava';
import { readTar, TarHeader } from './tar-reader';
import { writeTar } from './tar-writer';

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
  const tar = writeTar([
    { name: 'dir/', type: 'dir', mode: 0o1777, uid: 5, gid: 6, mtime: 1234 },
    { name: 'dir/file', type: 'file', data: Buffer.from('hello'), mode: 0o4755, xattrs: { 'security.capability': Buffer.from([1, 0, 0, 2]) } },
    { name: 'dir/hard', type: 'hardlink', linkname: 'dir/file' },
    { name: 'dir/sym', type: 'symlink', linkname: `/${long}` },
    { name: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666 },
    { name: 'dev/sda', type: 'block', devmajor: 8, devminor: 0 },
    { name: 'fifo', type: 'fifo' },
    { name: long, type: 'file', data: Buffer.alloc(1000, 1) },
  ]);
  const got = await readAll(tar);
  t.deepEqual(got.map((e) => [e.h.name, e.h.type]), [
    ['dir/', 'dir'], ['dir/file', 'file'], ['dir/hard', 'hardlink'], ['dir/sym', 'symlink'],
    ['dev/null', 'char'], ['dev/sda', 'block'], ['fifo', 'fifo'], [long, 'file'],
  ]);
  t.is(got[0]?.h.mode, 0o1777);
  t.is(got[0]?.h.uid, 5);
  t.is(got[0]?.h.mtime, 1234);
  t.is(got[1]?.data.toString(), 'hello');
  t.is(got[1]?.h.mode, 0o4755);
  t.deepEqual(got[1]?.h.xattrs.get('security.capability'), Buffer.from([1, 0, 0, 2]));
  t.is(got[2]?.h.linkname, 'dir/file');
  t.is(got[3]?.h.linkname, `/${long}`);
  t.deepEqual([got[4]?.h.devmajor, got[4]?.h.devminor], [1, 3]);
  t.is(got[7]?.data.length, 1000);
});

test('unread bodies are skipped', async (t) => {
  const tar = writeTar([{ name: 'a', type: 'file', data: Buffer.alloc(3000, 2) }, { name: 'b', type: 'file', data: Buffer.from('x') }]);
  const names = [];
  for await (const { header } of readTar((async function* () { yield tar; })())) names.push(header.name);
  t.deepEqual(names, ['a', 'b']);
});

test('corrupt headers and truncated entries are errors', async (t) => {
  const tar = writeTar([{ name: 'a', type: 'file', data: Buffer.alloc(3000, 2) }]);
  const bad = Buffer.from(tar);
  bad[10] = 0x41;
  await t.throwsAsync(readAll(bad), { message: /checksum/ });
  await t.throwsAsync(readAll(tar.subarray(0, 1500)), { message: /unexpected end of stream/ });
  await t.throwsAsync(readAll(tar.subarray(0, 300)), { message: /truncated header/ });
});

test('GNU base-256 numbers', async (t) => {
  const tar = writeTar([{ name: 'big-uid', type: 'file', data: Buffer.alloc(0) }]);
  const b = Buffer.from(tar);
  b.fill(0, 108, 116);
  b[108] = 0x80;
  b.writeUInt32BE(4_000_000_000, 112);
  let sum = 0;
  b.fill(0x20, 148, 156);
  for (let i = 0; i < 512; i++) sum += b[i] ?? 0;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  const got = await readAll(b);
  t.is(got[0]?.h.uid, 4_000_000_000);
});
