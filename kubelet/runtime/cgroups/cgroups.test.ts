import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CgroupManager } from './cgroups';

/** A directory tree shaped like a cgroup2 hierarchy (plain files, not cgroupfs). */
function fakeV2(t: { teardown(fn: () => void): void }): { root: string; cg: CgroupManager } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-cg-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  return { root, cg: new CgroupManager({ version: 2, v1: {}, v2Root: root }) };
}

test("remove, signalAll and procs refuse the hierarchy's root and paths leaving it", async (t) => {
  const { cg } = fakeV2(t);
  for (const rel of ['', '.', '/', './', '..', 'tsk/../..']) {
    await t.throwsAsync(cg.remove(rel), { message: /is not a cgroup below the hierarchy's root/ }, JSON.stringify(rel));
    t.throws(() => cg.signalAll(rel, 'SIGKILL'), { message: /is not a cgroup below the hierarchy's root/ }, JSON.stringify(rel));
    t.throws(() => cg.procs(rel), { message: /is not a cgroup below the hierarchy's root/ }, JSON.stringify(rel));
  }
});

test('procs counts the processes of the cgroups a container made under its own', (t) => {
  const { root, cg } = fakeV2(t);
  const c = path.join(root, 'tsk', 'podu1', 'c1');
  fs.mkdirSync(path.join(c, 'container', 'child'), { recursive: true });
  fs.writeFileSync(path.join(c, 'cgroup.procs'), '');
  fs.writeFileSync(path.join(c, 'container', 'cgroup.procs'), '10\n11\n');
  fs.writeFileSync(path.join(c, 'container', 'child', 'cgroup.procs'), '12\n');
  t.deepEqual(
    cg.procs('tsk/podu1/c1').sort((a, b) => a - b),
    [10, 11, 12],
  );
});
