import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HelperNftables } from './nft-helper';
import { nftText, type NftInput, type Nftables } from './nftables';

// A stand-in for tsk-nft speaking its protocol (no kernel touched: chunks,
// each a length and its bytes, until a length of 0): an input holding "bad" fails with an nft-style error naming its line 2, "die" kills
// it mid-request, anything else succeeds and is echoed back as output.
const FAKE = `
const out = (ok, o, e) => {
  const ob = Buffer.from(o), eb = Buffer.from(e), h = Buffer.alloc(12);
  h.writeUInt32BE(ok ? 0 : 1, 0); h.writeUInt32BE(ob.length, 4); h.writeUInt32BE(eb.length, 8);
  process.stdout.write(Buffer.concat([h, ob, eb]));
};
process.stdout.write('tsk-nft ready\\n');
let buf = Buffer.alloc(0);
let text = '';
process.stdin.on('data', (d) => {
  buf = Buffer.concat([buf, d]);
  while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
    const len = buf.readUInt32BE(0);
    text += buf.toString('utf8', 4, 4 + len);
    buf = buf.subarray(4 + len);
    if (len > 0) continue;
    const input = text;
    text = '';
    if (input.includes('die')) process.exit(3);
    if (input.includes('bad')) out(false, '', '/proc/self/fd/4:2:1-3: Error: syntax error\\nbad\\n^^^\\n');
    else out(true, 'pid ' + process.pid + ': ' + input, '');
  }
});
process.stdin.on('end', () => process.exit(0));
`;

function fakeHelper(t: { teardown(fn: () => void): void }, body = FAKE): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'tsk-nft-helper-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'tsk-nft');
  writeFileSync(file, `#!${process.execPath}\n${body}`, { mode: 0o755 });
  return file;
}

/** Counts what reaches it: where the helper sends requests it cannot take. */
class CountingNftables implements Nftables {
  runs: string[] = [];
  run(input: NftInput): Promise<void> {
    this.runs.push(nftText(input));
    return Promise.resolve();
  }
  list(): Promise<string> {
    return Promise.resolve('fallback list');
  }
}

test('nft helper: requests in order through one process; an nft error names the line of the input', async (t) => {
  const lines: string[] = [];
  const nft = new HelperNftables({ file: fakeHelper(t), log: (l) => lines.push(l) });
  t.teardown(() => nft.close());
  t.is(nft.generation, 0);
  const [a, b] = await Promise.all([nft.list(), nft.list()]);
  t.regex(a, /^pid (\d+): list chains ip\nlist sets ip\n$/);
  t.is(a, b, 'the same process answered both');
  t.is(nft.generation, 1);
  await nft.run('add table ip t\n');
  const err = await t.throwsAsync(nft.run('add table ip t\nbad line here\n'));
  t.regex(err?.message ?? '', /Error: syntax error \[line 2: bad line here\]/);
  t.is(await nft.list(), a, 'a failed transaction leaves the helper running');
  t.deepEqual(lines, []);
});

test('nft helper: an input in chunks is sent as it is made and arrives whole; an error names its line across chunks', async (t) => {
  const nft = new HelperNftables({ file: fakeHelper(t), log: () => undefined });
  t.teardown(() => nft.close());
  const made: string[] = [];
  function* chunks(): Generator<string> {
    for (const c of ['add table ip t\n', '', 'add chain ip t c\n']) {
      made.push(c);
      yield c;
    }
  }
  await nft.run(chunks());
  t.deepEqual(made, ['add table ip t\n', '', 'add chain ip t c\n']);
  t.regex(await nft.list(), /^pid \d+: list chains ip\nlist sets ip\n$/, 'the next request is read on its own');
  const err = await t.throwsAsync(nft.run(['add table ip t\nb', 'ad line here\n']));
  t.regex(err?.message ?? '', /Error: syntax error \[line 2: bad line here\]/);
});

test('nft helper: an input that fails while it is made is never applied: the helper is killed, the request fails with its error', async (t) => {
  const lines: string[] = [];
  const nft = new HelperNftables({ file: fakeHelper(t), log: (l) => lines.push(l) });
  t.teardown(() => nft.close());
  await nft.list();
  function* broken(): Generator<string> {
    yield 'add table ip t\n';
    throw new Error('render failed');
  }
  await t.throwsAsync(nft.run(broken()), { message: 'render failed' });
  t.regex(await nft.list(), /^pid \d+: list chains ip/);
  t.is(nft.generation, 2, 'a new helper answers, so the next sync is a full one');
});

test('nft helper: one that dies fails its request, is restarted for the next with a new generation, and says so once', async (t) => {
  const lines: string[] = [];
  const nft = new HelperNftables({ file: fakeHelper(t), log: (l) => lines.push(l) });
  t.teardown(() => nft.close());
  const before = await nft.list();
  const err = await t.throwsAsync(nft.run('die\n'));
  t.regex(err?.message ?? '', /ended mid-request.*status 3/);
  const after = await nft.list();
  t.not(after, before, 'a new process answers');
  t.is(nft.generation, 2);
  t.is(lines.length, 1);
  t.regex(lines[0] ?? '', /nftables helper ended .*restarted.*full/);
});

test('nft helper: one that cannot start sends every request to the fallback, said once', async (t) => {
  const lines: string[] = [];
  const fallback = new CountingNftables();
  const broken = fakeHelper(t, "process.stdout.write('tsk-nft: libnftables.so.1: cannot open shared object file\\n'); process.exit(2);");
  const nft = new HelperNftables({ file: broken, log: (l) => lines.push(l), fallback });
  t.teardown(() => nft.close());
  await nft.run('add table ip t\n');
  await nft.run('add table ip u\n');
  t.is(await nft.list(), 'fallback list');
  t.deepEqual(fallback.runs, ['add table ip t\n', 'add table ip u\n']);
  t.is(lines.length, 1);
  t.regex(lines[0] ?? '', /cannot start \(tsk-nft: libnftables\.so\.1: cannot open shared object file\); using nft -f/);
});

test('nft helper: closed, it refuses requests; its process has ended', async (t) => {
  const nft = new HelperNftables({ file: fakeHelper(t), log: () => undefined });
  const pid = Number(/^pid (\d+)/.exec(await nft.list())?.[1]);
  await nft.close();
  await t.throwsAsync(nft.run('add table ip t\n'), { message: /closed/ });
  t.throws(() => process.kill(pid, 0), { code: 'ESRCH' });
});
