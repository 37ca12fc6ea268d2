// Bind mounts of the built-in runtime (ContainerConfig.mounts, CRI Mount)
// against the real kernel, run as root: read-write and read-only mounts of
// directories and files, targets created when missing, two containers of
// one sandbox sharing an emptyDir-like directory, containerPaths that try to
// leave the rootfs through symlinks and "..", the clear errors for bad
// mounts, and `tsk runtime run -v`. Each test has its own data dir and host
// directories, removed with every container and sandbox by its teardown,
// also on failure.

import test from 'ava';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { ContainerConfig } from '../kubelet/runtime/runtime';
import { makeRuntimeEnv, RuntimeEnv } from './support/runtime-env';
import { buildImage, buildLayer, busyboxImage, dockerSaveArchive } from '../kubelet/runtime/image/builder';

const TSK = path.resolve(__dirname, '..', 'cmd', 'tsk.js');

interface Env extends RuntimeEnv {
  /** A host directory of this test, removed by its teardown. */
  host: string;
}

async function setup(t: { teardown(fn: () => Promise<void> | void): void }): Promise<Env> {
  const env = await makeRuntimeEnv('tsk-mounts-');
  t.teardown(() => env.cleanup());
  const host = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-mounts-host-'));
  t.teardown(() => fs.rmSync(host, { recursive: true, force: true }));
  return { ...env, host };
}

let podSeq = 0;
async function sandbox(env: RuntimeEnv, name = 'pod'): Promise<string> {
  return env.runtime.createSandbox({ name, namespace: 'test', uid: `mounts-${process.pid}-${++podSeq}-${Date.now()}` });
}

/** Runs one container to its end; returns its exit code and output (stdout and stderr). */
async function run(env: RuntimeEnv, sb: string, config: Omit<ContainerConfig, 'image'> & { image?: string }): Promise<{ code: number; out: string }> {
  const id = await env.runtime.createContainer(sb, { image: env.image, ...config });
  await env.runtime.startContainer(id);
  const st = await env.runtime.waitContainer(id);
  let out = '';
  for await (const e of env.runtime.logs(id)) out += e.text + (e.partial ? '' : '\n');
  return { code: st.exitCode ?? -1, out };
}

test('a read-write mount is written through, a read-only one refuses writes, missing targets are created', async (t) => {
  const env = await setup(t);
  const rw = path.join(env.host, 'rw');
  const ro = path.join(env.host, 'ro');
  const conf = path.join(env.host, 'app.conf');
  fs.mkdirSync(rw);
  fs.mkdirSync(ro);
  fs.writeFileSync(path.join(ro, 'given'), 'from-host\n');
  fs.writeFileSync(conf, 'key=value\n');
  const sb = await sandbox(env);
  const r = await run(env, sb, {
    name: 'writer',
    command: [
      'sh',
      '-c',
      [
        'echo written-inside > /data/out',
        'cat /ro/given',
        'touch /ro/new 2>&1',
        'cat /deep/new/dir/conf/app.conf',
        'echo x >> /deep/new/dir/conf/app.conf 2>&1',
        'test -d /deep/new/dir/conf && echo target-dir',
        'test -f /etc/app.conf && echo target-file',
        'cat /etc/app.conf',
        'grep -E " /(data|ro|etc/app.conf) " /proc/self/mountinfo | sed -E "s/^([^ ]+ ){4}//; s/ - .*//" | sort',
      ].join('; '),
    ],
    mounts: [
      { containerPath: '/data', hostPath: rw },
      { containerPath: '/ro', hostPath: ro, readOnly: true },
      { containerPath: '/deep/new/dir/conf', hostPath: env.host, readOnly: true },
      { containerPath: '/etc/app.conf', hostPath: conf },
    ],
  });
  t.is(r.code, 0, r.out);
  t.is(fs.readFileSync(path.join(rw, 'out'), 'utf8'), 'written-inside\n', 'the host sees the file');
  t.regex(r.out, /^from-host$/m);
  t.regex(r.out, /touch: \/ro\/new: Read-only file system/);
  t.false(fs.existsSync(path.join(ro, 'new')));
  t.regex(r.out, /Read-only file system/);
  t.regex(r.out, /^target-dir$/m);
  t.regex(r.out, /^target-file$/m);
  t.is(fs.readFileSync(conf, 'utf8'), 'key=value\n', 'the read-only view of the file was not appended to');
  // mountinfo: "MOUNTPOINT OPTIONS [optional fields]": ro/rw per mount, and no "shared:" (private propagation).
  t.regex(r.out, /^\/data rw\S*\s*$/m, r.out);
  t.regex(r.out, /^\/ro ro\S*\s*$/m, r.out);
  t.regex(r.out, /^\/etc\/app.conf rw\S*\s*$/m, r.out);
});

test('two containers of one sandbox share an emptyDir-like directory', async (t) => {
  const env = await setup(t);
  const shared = path.join(env.host, 'empty-dir');
  fs.mkdirSync(shared);
  const sb = await sandbox(env);
  const mounts = [{ containerPath: '/cache', hostPath: shared }];
  // The reader runs alongside and waits for the writer's file, as sidecars do.
  const reader = await env.runtime.createContainer(sb, {
    name: 'reader',
    image: env.image,
    command: [
      'sh',
      '-c',
      'i=0; while [ ! -f /cache/ready ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; cat /cache/msg; echo seen-by-reader >> /cache/msg',
    ],
    mounts,
  });
  await env.runtime.startContainer(reader);
  const w = await run(env, sb, { name: 'writer', command: ['sh', '-c', 'echo hello-from-writer > /cache/msg; touch /cache/ready'], mounts });
  t.is(w.code, 0, w.out);
  const st = await env.runtime.waitContainer(reader);
  let out = '';
  for await (const e of env.runtime.logs(reader)) out += `${e.text}\n`;
  t.is(st.exitCode, 0, out);
  t.is(out, 'hello-from-writer\n');
  t.is(fs.readFileSync(path.join(shared, 'msg'), 'utf8'), 'hello-from-writer\nseen-by-reader\n');
});

const HOSTILE_IMAGE = 'tsk.test/hostile-links:latest';

/** Busybox plus symlinks that point out of the rootfs, absolutely and relatively. */
async function importHostileImage(env: RuntimeEnv): Promise<void> {
  const layer = await buildLayer({
    entries: [
      { name: 'escape-rel', type: 'symlink', linkname: '../../../../../../../../..', mode: 0o777 },
      { name: 'escape-abs', type: 'symlink', linkname: '/', mode: 0o777 },
      { name: 'to-tmp', type: 'symlink', linkname: '/../../tmp', mode: 0o777 },
      { name: 'dangling', type: 'symlink', linkname: '/nonexistent/file', mode: 0o777 },
    ],
  });
  const base = (await busyboxImage()).layers[0];
  if (!base) throw new Error('busybox image without a layer');
  const tar = path.join(env.dataDir, 'hostile-image.tar');
  fs.writeFileSync(tar, await dockerSaveArchive([{ image: buildImage([base, layer]), repoTags: [HOSTILE_IMAGE] }]));
  await env.store.importArchive(tar);
  fs.rmSync(tar);
}

test('containerPaths that climb out through symlinks and .. stay inside the rootfs', async (t) => {
  const env = await setup(t);
  await importHostileImage(env);
  const src = path.join(env.host, 'src');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'marker'), 'mounted\n');
  // Names no host has: if resolution left the rootfs, these would appear on the host.
  const tag = `tsk-escape-${process.pid}-${Date.now()}`;
  const hostTargets = [`/${tag}-rel`, `/${tag}-abs`, `/tmp/${tag}-via`, `/${tag}-dots`, `/tmp/${tag}-dots2`];
  t.teardown(() => {
    for (const p of hostTargets) fs.rmSync(p, { recursive: true, force: true });
  });
  const sb = await sandbox(env);
  const r = await run(env, sb, {
    name: 'escape',
    image: HOSTILE_IMAGE,
    command: ['sh', '-c', `for d in /${tag}-rel /${tag}-abs /tmp/${tag}-via /${tag}-dots /tmp/${tag}-dots2; do echo "$d $(cat $d/marker)"; done`],
    mounts: [
      { containerPath: `/escape-rel/${tag}-rel`, hostPath: src },
      { containerPath: `/escape-abs/${tag}-abs`, hostPath: src },
      { containerPath: `/to-tmp/${tag}-via`, hostPath: src },
      { containerPath: `/../../../../${tag}-dots`, hostPath: src },
      { containerPath: `/bin/../../escape-rel/../tmp/./${tag}-dots2`, hostPath: src },
    ],
  });
  t.is(r.code, 0, r.out);
  for (const p of hostTargets) {
    t.regex(r.out, new RegExp(`^${p} mounted$`, 'm'), `mounted at ${p} inside the container`);
    t.false(fs.existsSync(p), `${p} was not created on the host`);
  }
});

test('bad mounts are clear errors naming the container and the mount, and leave nothing behind', async (t) => {
  const env = await setup(t);
  await importHostileImage(env);
  const sb = await sandbox(env);
  const missing = path.join(env.host, 'missing');
  const e1 = await t.throwsAsync(
    env.runtime.createContainer(sb, { name: 'app', image: env.image, command: ['true'], mounts: [{ containerPath: '/data', hostPath: missing }] }),
  );
  t.is(e1?.message, `container "app": mount 0 (containerPath "/data"): hostPath ${JSON.stringify(missing)} does not exist`);
  const e2 = await t.throwsAsync(
    env.runtime.createContainer(sb, { name: 'app', image: env.image, command: ['true'], mounts: [{ containerPath: 'data', hostPath: env.host }] }),
  );
  t.regex(e2?.message ?? '', /^container "app": mount 0 \(containerPath "data"\): containerPath "data" must be an absolute path$/);
  // Found only inside the container's view of the rootfs: a file source over a directory, a dangling symlink.
  const file = path.join(env.host, 'f');
  fs.writeFileSync(file, 'x');
  const e3 = await t.throwsAsync(
    env.runtime.createContainer(sb, { name: 'app', image: env.image, command: ['true'], mounts: [{ containerPath: '/etc', hostPath: file }] }),
  );
  t.regex(e3?.message ?? '', /create container: mount 0 \(.+\/f on \/etc\): target is a directory but the source is not/);
  const e4 = await t.throwsAsync(
    env.runtime.createContainer(sb, { name: 'app', image: HOSTILE_IMAGE, command: ['true'], mounts: [{ containerPath: '/dangling', hostPath: file }] }),
  );
  t.regex(e4?.message ?? '', /mount 0 \(.+ on \/dangling\): resolve target \(a dangling symlink\?\)/);
  t.is((await env.runtime.listContainers({ sandboxId: sb })).length, 0, 'failed creates leave no container');
});

test('tsk runtime run -v bind-mounts like docker, read-only with :ro', async (t) => {
  const env = await setup(t);
  const dir = path.join(env.host, 'vol');
  fs.mkdirSync(dir);
  const dd = ['--data-dir', env.dataDir];
  const cmd = 'echo via-cli > /vol/out; touch /ro/x 2>&1; true';
  const r = await promisify(execFile)(
    process.execPath,
    [TSK, 'runtime', 'run', ...dd, '-v', `${dir}:/vol`, '--volume', `${env.host}:/ro:ro`, env.image, 'sh', '-c', cmd],
    { encoding: 'utf8' },
  );
  t.regex(r.stdout, /touch: \/ro\/x: Read-only file system/);
  t.is(fs.readFileSync(path.join(dir, 'out'), 'utf8'), 'via-cli\n');
  const bad = await t.throwsAsync(
    promisify(execFile)(process.execPath, [TSK, 'runtime', 'run', ...dd, '-v', 'named:/vol', env.image, 'true'], { encoding: 'utf8' }),
  );
  t.regex((bad as unknown as { stderr: string }).stderr, /invalid -v "named:\/vol": .*named volumes are not supported/);
});

test('recursiveReadOnly: a write under a submount of the volume is refused (EROFS); plain readOnly leaves the submount writable', async (t) => {
  const env = await setup(t);
  const vol = path.join(env.host, 'vol');
  const sub = path.join(vol, 'sub');
  fs.mkdirSync(sub, { recursive: true });
  // A submount inside the volume, as a hostPath volume over /var/lib or /mnt may carry.
  await promisify(execFile)('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tsk-rro-test', sub]);
  t.teardown(() => promisify(execFile)('umount', ['-l', sub]).then(() => undefined));
  const sb = await sandbox(env);
  const write = 'touch /data/sub/f 2>&1 && echo sub=written; touch /data/top 2>&1; grep " /data/sub " /proc/self/mountinfo | cut -d" " -f6';
  const plain = await run(env, sb, { name: 'plain', command: ['sh', '-c', write], mounts: [{ containerPath: '/data', hostPath: vol, readOnly: true }] });
  t.regex(plain.out, /^sub=written$/m, 'readOnly alone: the submount stays writable, as in Kubernetes');
  t.regex(plain.out, /touch: \/data\/top: Read-only file system/);
  for (const mode of ['Enabled', 'IfPossible'] as const) {
    const r = await run(env, sb, {
      name: `rro-${mode.toLowerCase()}`,
      command: ['sh', '-c', write],
      mounts: [{ containerPath: '/data', hostPath: vol, readOnly: true, recursiveReadOnly: mode }],
    });
    t.regex(r.out, /touch: \/data\/sub\/f: Read-only file system/, `${mode}: ${r.out}`);
    t.notRegex(r.out, /sub=written/);
    t.regex(r.out, /touch: \/data\/top: Read-only file system/);
    t.regex(r.out, /^ro,/m, `${mode}: the submount's own options say ro`);
  }
  t.true(fs.existsSync(path.join(sub, 'f')), 'the write of the plain readOnly container reached the host');
});
