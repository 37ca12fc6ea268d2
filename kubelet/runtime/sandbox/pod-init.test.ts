import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { podInitAlive } from './pod-init';

function sandboxDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-pod-init-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('the init is alive while init.pid names a process of the PID namespace held on DIR/pid', (t) => {
  const dir = sandboxDir(t);
  t.false(podInitAlive(dir), 'no init.pid: no init');
  fs.writeFileSync(path.join(dir, 'init.pid'), `${process.pid}\n`);
  t.false(podInitAlive(dir), 'no namespace file');
  // stat follows the link to the nsfs inode, as it does through the bind mount tsk-sandbox makes.
  fs.symlinkSync(`/proc/${process.pid}/ns/pid`, path.join(dir, 'pid'));
  t.true(podInitAlive(dir));
});

test('a PID that no longer is the init of that namespace does not count', (t) => {
  const dir = sandboxDir(t);
  fs.writeFileSync(path.join(dir, 'pid'), '');
  fs.writeFileSync(path.join(dir, 'init.pid'), `${process.pid}\n`);
  t.false(podInitAlive(dir), 'the held file is not that process namespace');
  fs.writeFileSync(path.join(dir, 'init.pid'), 'garbage\n');
  t.false(podInitAlive(dir));
});
