import test from 'ava';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { decompressedChunks, detectCompression } from './unpack';

// Made once with zstd 1.5 (`yes 'tsk layer' | head -c 100000 | zstd -19`, and
// `printf 'second frame\n' | zstd`): a compressed block and a raw one.
const ZSTD_LAYER = Buffer.from('28b52ffd04689500005074736b206c617965720a01009386cd0b12b461fe03', 'hex');
const ZSTD_LAYER_SHA256 = 'f9f8ab02bbd06b25159f10cbed45614cefc1810c48fc2e9ed4520cd16879ba68';
const ZSTD_SECOND = Buffer.from('28b52ffd04586900007365636f6e64206672616d650a9e3973ab', 'hex');

const dir = mkdtempSync(path.join(os.tmpdir(), 'tsk-unpack-test-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

function fileWith(name: string, data: Buffer): string {
  const p = path.join(dir, name);
  writeFileSync(p, data);
  return p;
}

async function all(file: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of decompressedChunks(file)) parts.push(c);
  return Buffer.concat(parts);
}

test('zstd is decoded without an external program', async (t) => {
  const f = fileWith('one.zst', ZSTD_LAYER);
  t.is(await detectCompression(f), 'zstd');
  const out = await all(f);
  t.is(out.length, 100_000);
  t.is(createHash('sha256').update(out).digest('hex'), ZSTD_LAYER_SHA256);
});

test('concatenated zstd frames decode to their concatenation', async (t) => {
  const out = await all(fileWith('two.zst', Buffer.concat([ZSTD_LAYER, ZSTD_SECOND])));
  t.is(out.subarray(100_000).toString(), 'second frame\n');
});

test('truncated or corrupt zstd is an error naming the file', async (t) => {
  const cut = fileWith('cut.zst', ZSTD_LAYER.subarray(0, ZSTD_LAYER.length - 6));
  await t.throwsAsync(all(cut), { message: /zstd data in .*cut\.zst is corrupt/ });
});

test('gzip and plain files pass through', async (t) => {
  const data = Buffer.from('plain tar bytes');
  t.deepEqual(await all(fileWith('g.gz', gzipSync(data))), data);
  t.deepEqual(await all(fileWith('p.tar', data)), data);
  t.is(await detectCompression(path.join(dir, 'p.tar')), 'none');
});
