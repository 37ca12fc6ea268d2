// Kubernetes' AtomicWriter layout: a timestamped dir per version, the ..data
// symlink swapped by rename, user-visible entries as symlinks into ..data,
// the old version and keys gone removed, and nothing written when unchanged.

import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PayloadError, timestampedDirName, validatePayloadPath, writePayload, type Payload } from './atomic-writer';

function tmp(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-atomic-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'vol');
}

const payload = (files: Record<string, string | [string, number]>): Payload =>
  new Map(
    Object.entries(files).map(([p, v]) => {
      const [data, mode] = typeof v === 'string' ? [v, 0o644] : v;
      return [p, { data: Buffer.from(data), mode }];
    }),
  );

const versions = (dir: string): string[] => fs.readdirSync(dir).filter((e) => /^\.\.\d{4}_/.test(e));

test('the first write: a timestamped dir, ..data pointing at it, and symlinks for the top-level entries', (t) => {
  const dir = tmp(t);
  t.true(writePayload(dir, payload({ a: 'one', 'conf/b.yaml': ['two', 0o400] }), { now: () => new Date(Date.UTC(2026, 11, 7, 1, 58, 3)) }));
  const [v] = versions(dir);
  t.regex(v ?? '', /^\.\.2026_12_07_01_58_03\.\d{9}$/);
  t.is(fs.readlinkSync(path.join(dir, '..data')), v ?? '');
  t.is(fs.readlinkSync(path.join(dir, 'a')), '..data/a');
  t.is(fs.readlinkSync(path.join(dir, 'conf')), '..data/conf');
  t.is(fs.readFileSync(path.join(dir, 'a'), 'utf8'), 'one');
  t.is(fs.readFileSync(path.join(dir, 'conf', 'b.yaml'), 'utf8'), 'two');
  t.is(fs.statSync(path.join(dir, 'conf', 'b.yaml')).mode & 0o7777, 0o400);
  t.is(fs.statSync(path.join(dir, 'a')).mode & 0o7777, 0o644);
  t.deepEqual(fs.readdirSync(dir).sort(), ['..data', v, 'a', 'conf'].sort());
});

test('an update swaps ..data to a new version, removes the old one and the keys that are gone', (t) => {
  const dir = tmp(t);
  writePayload(dir, payload({ a: 'one', gone: 'x' }));
  const [old] = versions(dir);
  const before = fs.lstatSync(path.join(dir, 'a')).ino;
  t.true(writePayload(dir, payload({ a: 'ONE', added: 'new' })));
  const now = versions(dir);
  t.is(now.length, 1);
  t.not(now[0], old, 'a new timestamped dir');
  t.false(fs.existsSync(path.join(dir, old ?? '')), 'the old version is removed');
  t.is(fs.readlinkSync(path.join(dir, '..data')), now[0] ?? '');
  t.is(fs.readFileSync(path.join(dir, 'a'), 'utf8'), 'ONE');
  t.is(fs.lstatSync(path.join(dir, 'a')).ino, before, 'the user-visible symlink of a kept key stays');
  t.is(fs.readFileSync(path.join(dir, 'added'), 'utf8'), 'new');
  t.false(fs.existsSync(path.join(dir, 'gone')), 'a stale key is removed');
  t.false(fs.existsSync(path.join(dir, '..data_tmp')));
});

test('an unchanged payload writes nothing; a mode change alone is an update', (t) => {
  const dir = tmp(t);
  writePayload(dir, payload({ a: 'one' }));
  const [v] = versions(dir);
  t.false(writePayload(dir, payload({ a: 'one' })));
  t.deepEqual(versions(dir), [v]);
  t.true(writePayload(dir, payload({ a: ['one', 0o600] })));
  t.is(fs.statSync(path.join(dir, 'a')).mode & 0o7777, 0o600);
});

test('an empty payload (an optional object that is missing) is an empty volume', (t) => {
  const dir = tmp(t);
  t.true(writePayload(dir, new Map()));
  t.deepEqual(
    fs.readdirSync(dir).filter((e) => !e.startsWith('..')),
    [],
  );
  t.true(fs.existsSync(path.join(dir, '..data')));
  writePayload(dir, payload({ k: 'v' }));
  t.true(writePayload(dir, new Map()));
  t.false(fs.existsSync(path.join(dir, 'k')), 'keys disappear when the object does');
});

test('a version left by a write cut short is cleaned up by the next write', (t) => {
  const dir = tmp(t);
  writePayload(dir, payload({ a: 'one' }));
  fs.mkdirSync(path.join(dir, '..2020_01_01_00_00_00.000000001'));
  fs.symlinkSync('nowhere', path.join(dir, '..data_tmp'));
  writePayload(dir, payload({ a: 'two' }));
  t.is(versions(dir).length, 1);
  t.false(fs.existsSync(path.join(dir, '..data_tmp')));
});

test('paths that would escape the volume are refused', (t) => {
  for (const [p, msg] of [
    ['/etc/passwd', 'must be relative path'],
    ['a/../../x', "must not contain '..'"],
    ['..hidden', "must not start with '..'"],
    ['', 'must not be empty'],
  ] as const) {
    t.throws(() => validatePayloadPath(p), { instanceOf: PayloadError, message: new RegExp(msg) }, p);
  }
  const dir = tmp(t);
  t.throws(() => writePayload(dir, payload({ '../x': 'y' })), { instanceOf: PayloadError });
  t.false(fs.existsSync(dir), 'nothing is written for a bad payload');
  t.regex(timestampedDirName(new Date(Date.UTC(2026, 0, 2, 3, 4, 5))), /^\.\.2026_01_02_03_04_05\.\d{9}$/);
});

test('setPerms sees the new version before it is visible', (t) => {
  const dir = tmp(t);
  const seen: string[] = [];
  writePayload(dir, payload({ a: 'one' }), {
    setPerms: (v) => {
      seen.push(fs.readFileSync(path.join(v, 'a'), 'utf8'));
      t.false(fs.existsSync(path.join(dir, '..data')), 'not yet swapped in');
      fs.chmodSync(path.join(v, 'a'), 0o640);
    },
  });
  t.deepEqual(seen, ['one']);
  t.is(fs.statSync(path.join(dir, 'a')).mode & 0o7777, 0o640);
});
