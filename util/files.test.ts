import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTextIfReadable, readTextOr } from './files';

test('readTextOr: the text of a file, the fallback when it cannot be read', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsk-files-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'pids.current'), '3\n');
  t.is(readTextOr(join(dir, 'pids.current')), '3\n');
  t.is(readTextOr(join(dir, 'missing')), '');
  t.is(readTextOr(join(dir, 'missing'), '0'), '0');
  t.is(readTextOr(dir, 'x'), 'x', 'a directory');
});

test('readTextIfReadable: an empty file is "", a missing one undefined', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsk-files-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'exit'), '');
  t.is(readTextIfReadable(join(dir, 'exit')), '');
  t.is(readTextIfReadable(join(dir, 'missing')), undefined);
  t.is(readTextIfReadable(dir), undefined, 'a directory');
});
