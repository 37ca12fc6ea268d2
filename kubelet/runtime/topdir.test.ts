import test from 'ava';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { markTopDir } from './topdir';

function attrs(dir: string): string | undefined {
  try {
    return execFileSync('lsattr', ['-d', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split(' ')[0];
  } catch {
    return undefined; // not ext2/3/4
  }
}

test('marks an ext4 directory +T; elsewhere reports false without throwing', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-topdir-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const before = attrs(dir);
  const applied = markTopDir(dir);
  if (before === undefined) {
    t.false(applied, 'no ext4 flags here: nothing applied');
  } else {
    t.true(applied);
    t.regex(attrs(dir) ?? '', /T/);
  }
  t.false(markTopDir(path.join(dir, 'missing')));
});
