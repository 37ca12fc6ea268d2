// Writable cgroups (securityContext.cgroupOptions.mountMode, KEP-5474) in
// the built-in runtime against the real kernel (run as root).
//
// On a cgroup v2 hierarchy every container has a cgroup namespace rooted at
// the cgroup its processes run in and cgroup2 at /sys/fs/cgroup: read-only
// by default, read-write with ReadWrite, where the processes run in a leaf
// below the cgroup holding the kubelet's limits. These tests run on the
// node's cgroup2 hierarchy when it is the runtime's (a cgroup v2 node), else
// on the empty cgroup2 hierarchy of a hybrid node (/sys/fs/cgroup/unified,
// no controllers: the namespace, the mount and the delegation are checked,
// not limits), under a parent cgroup of their own. On a cgroup v2 node a
// pids limit is checked too: the container cannot raise it or run past it.
// On a cgroup v1 node the runtime refuses ReadWrite, and that is checked.
//
// Every container, sandbox, cgroup and data dir is removed by the teardown.

import test from 'ava';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CgroupManager, detectCgroupLayout, type CgroupLayout } from '../kubelet/runtime/cgroups/cgroups';
import { NativeRuntime } from '../kubelet/runtime/native-runtime';
import type { ContainerConfig } from '../kubelet/runtime/runtime';
import { cleanupRuntime, makeRuntimeEnv, type RuntimeEnv } from './support/runtime-env';

const NODE_LAYOUT = detectCgroupLayout();

/** The cgroup2 mount to test on: the node's when it is v2, else a hybrid node's empty one; undefined without either. */
function v2Root(): string | undefined {
  if (NODE_LAYOUT.version === 2) return NODE_LAYOUT.v2Root;
  const line = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .find((l) => l.split(' - ')[1]?.startsWith('cgroup2 '));
  return line?.split(' ')[4];
}

interface Env extends RuntimeEnv {
  v2: CgroupLayout;
  parent: string;
}

/** A runtime whose cgroups live under a parent of their own on the v2 hierarchy to test on. */
async function setup(t: { teardown(fn: () => Promise<void>): void }, root: string): Promise<Env> {
  const base = await makeRuntimeEnv('tsk-cgw-');
  const v2: CgroupLayout = { version: 2, v1: {}, v2Root: root };
  const parent = `tsk-cgw-${randomBytes(4).toString('hex')}`;
  const runtime = new NativeRuntime({ dataDir: base.dataDir, images: base.store, cgroups: new CgroupManager(v2, parent) });
  t.teardown(async () => {
    await cleanupRuntime(runtime, base.dataDir);
    // The test's own parent only (remove refuses the hierarchy's root).
    await new CgroupManager(v2, parent).remove(parent);
  });
  return { ...base, runtime, v2, parent };
}

let podSeq = 0;

/** Runs a container to its end; returns its exit code, output, ID and the cgroup (relative) the runtime made for it. */
async function run(env: Env, config: Omit<ContainerConfig, 'image'>): Promise<{ code: number | undefined; out: string; cgroupDir: string }> {
  const uid = `${process.pid}-cgw-${++podSeq}`;
  const sb = await env.runtime.createSandbox({ name: config.name, namespace: 'test', uid });
  const id = await env.runtime.createContainer(sb, { image: env.image, ...config });
  await env.runtime.startContainer(id);
  const st = await env.runtime.waitContainer(id);
  let out = st.message ? `${st.message}\n` : '';
  for await (const e of env.runtime.logs(id)) out += e.text + (e.partial ? '' : '\n');
  return { code: st.exitCode, out, cgroupDir: path.join(env.v2.v2Root, env.runtime.cgroups.containerPath(uid, id)) };
}

const PROBE = [
  'echo "cgroup=$(cat /proc/self/cgroup | grep ^0::)"',
  'echo "mount=$(grep " /sys/fs/cgroup " /proc/self/mounts | cut -d" " -f3,4)"',
  'if mkdir /sys/fs/cgroup/child 2>/dev/null && echo $$ > /sys/fs/cgroup/child/cgroup.procs; then echo moved=yes; else echo moved=no; fi',
  'echo "after=$(cat /proc/self/cgroup | grep ^0::)"',
].join('; ');

const root = v2Root();

if (root === undefined) {
  test('no cgroup2 hierarchy on this node: nothing to check', (t) => t.pass());
} else {
  test.serial('ReadWrite: the container sees its own cgroup as "/", makes a child cgroup and moves itself into it, below its limits', async (t) => {
    const env = await setup(t, root);
    const r = await run(env, {
      name: 'rw',
      command: ['sh', '-c', PROBE],
      security: { cgroupMountMode: 'ReadWrite', noNewPrivileges: true },
    });
    t.is(r.code, 0, r.out);
    const lines = r.out.trim().split('\n');
    t.is(lines[0], 'cgroup=0::/');
    t.regex(lines[1] ?? '', /^mount=cgroup2 rw,nosuid,nodev,noexec/);
    t.is(lines[2], 'moved=yes');
    t.is(lines[3], 'after=0::/child');
    // On the node: the child is under the delegated leaf, below the cgroup the runtime writes the limits to.
    t.true(fs.existsSync(path.join(r.cgroupDir, 'container', 'child')), 'the child cgroup is in the delegated leaf');
  });

  test.serial('ReadOnly (the default): the same container cannot make a cgroup', async (t) => {
    const env = await setup(t, root);
    const r = await run(env, { name: 'ro', command: ['sh', '-c', PROBE] });
    t.is(r.code, 0, r.out);
    const lines = r.out.trim().split('\n');
    t.is(lines[0], 'cgroup=0::/');
    t.regex(lines[1] ?? '', /^mount=cgroup2 ro,nosuid,nodev,noexec/);
    t.is(lines[2], 'moved=no');
    t.is(lines[3], 'after=0::/');
    t.false(fs.existsSync(path.join(r.cgroupDir, 'container')), 'no delegated leaf');
  });

  test.serial('the runtime removes a container cgroup with the cgroups the container made in it', async (t) => {
    const env = await setup(t, root);
    const uid = `${process.pid}-cgw-rm`;
    const sb = await env.runtime.createSandbox({ name: 'rm', namespace: 'test', uid });
    const id = await env.runtime.createContainer(sb, {
      image: env.image,
      name: 'rm',
      command: ['sh', '-c', 'mkdir -p /sys/fs/cgroup/a/b && echo $$ > /sys/fs/cgroup/a/b/cgroup.procs && sleep 3600'],
      security: { cgroupMountMode: 'ReadWrite', noNewPrivileges: true },
    });
    await env.runtime.startContainer(id);
    const dir = path.join(root, env.runtime.cgroups.containerPath(uid, id));
    for (let i = 0; i < 100 && !fs.existsSync(path.join(dir, 'container', 'a', 'b')); i++) await new Promise((r) => setTimeout(r, 50));
    t.true(fs.existsSync(path.join(dir, 'container', 'a', 'b')));
    await env.runtime.stopContainer(id, 0);
    await env.runtime.removeContainer(id);
    t.false(fs.existsSync(dir), 'the container cgroup and everything under it are gone');
  });
}

if (NODE_LAYOUT.version === 2) {
  test.serial('cgroup v2 node: a pids limit set for the container holds under ReadWrite; its own root shows no limit it could raise', async (t) => {
    const base = await makeRuntimeEnv('tsk-cgw-');
    t.teardown(() => base.cleanup());
    const sb = await base.runtime.createSandbox({ name: 'limit', namespace: 'test', uid: `${process.pid}-cgw-limit` });
    const id = await base.runtime.createContainer(sb, {
      image: base.image,
      name: 'limit',
      resources: { pidsLimit: 8 },
      security: { cgroupMountMode: 'ReadWrite', noNewPrivileges: true },
      command: [
        'sh',
        '-c',
        'echo max > /sys/fs/cgroup/pids.max 2>/dev/null; mkdir /sys/fs/cgroup/c; echo $$ > /sys/fs/cgroup/c/cgroup.procs; ' +
          'n=0; for i in $(seq 1 20); do sleep 30 & [ $? -eq 0 ] && n=$((n+1)); done 2>/dev/null; echo started=$(jobs -p | wc -l)',
      ],
    });
    await base.runtime.startContainer(id);
    const st = await base.runtime.waitContainer(id);
    let out = '';
    for await (const e of base.runtime.logs(id)) out += e.text + (e.partial ? '' : '\n');
    const started = Number(/started=(\d+)/.exec(out)?.[1] ?? NaN);
    t.true(started < 8, `at most the limit's processes run (got ${started}; exit ${st.exitCode ?? '?'}):\n${out}`);
  });
} else {
  test.serial('cgroup v1 node: ReadWrite is refused, naming the field and why', async (t) => {
    const env = await makeRuntimeEnv('tsk-cgw-');
    t.teardown(() => env.cleanup());
    const sb = await env.runtime.createSandbox({ name: 'v1', namespace: 'test', uid: `${process.pid}-cgw-v1` });
    await t.throwsAsync(env.runtime.createContainer(sb, { image: env.image, name: 'v1', command: ['true'], security: { cgroupMountMode: 'ReadWrite' } }), {
      message: /container "v1": securityContext\.cgroupOptions\.mountMode ReadWrite needs cgroup v2 .*this node runs cgroup v1/,
    });
  });
}
