// Container security in the built-in runtime against the real kernel (run as
// root): Docker's default seccomp profile (Seccomp: 2, a refused syscall),
// Unconfined and Localhost profiles, no_new_privs, capability add/drop,
// privileged, read-only rootfs, user/group/supplementary groups, the
// container's own oom_score_adj, exec'd processes under the same
// restrictions, and the modes of the state files that hold the environment.
// Each test has its own data dir, removed with every container, sandbox and
// cgroup by its teardown.

import test from 'ava';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ContainerConfig } from '../kubelet/runtime/runtime';
import { buildImage, buildLayer, busyboxRootfs, dockerSaveArchive } from '../kubelet/runtime/image/builder';
import { makeRuntimeEnv, RuntimeEnv } from './support/runtime-env';
import { runTsk, type Run } from './support/run';

async function setup(t: { teardown(fn: () => Promise<void>): void }): Promise<RuntimeEnv> {
  const env = await makeRuntimeEnv('tsk-sec-');
  t.teardown(() => env.cleanup());
  return env;
}

let podSeq = 0;

/** Runs a container to its end; returns its exit code, its output and its ID. */
async function run(
  env: RuntimeEnv,
  config: Omit<ContainerConfig, 'image'> & { image?: string },
): Promise<{ code: number | undefined; out: string; id: string }> {
  const sb = await env.runtime.createSandbox({ name: config.name, namespace: 'test', uid: `${process.pid}-sec-${++podSeq}-${Date.now()}` });
  const id = await env.runtime.createContainer(sb, { image: env.image, ...config });
  await env.runtime.startContainer(id);
  const st = await env.runtime.waitContainer(id);
  let out = st.message ? `${st.message}\n` : '';
  for await (const e of env.runtime.logs(id)) out += e.text + (e.partial ? '' : '\n');
  return { code: st.exitCode, out, id };
}

/** `tsk runtime ARGS`. */
function tsk(args: string[]): Promise<Run> {
  return runTsk(['runtime', ...args]);
}

const STATUS = "grep -E '^(Seccomp|NoNewPrivs|CapEff|CapInh):' /proc/1/status";
const DOCKER_DEFAULT_CAPS = 0xa80425fbn;

/** Whether this process may lower an OOM score (a child tries, so our own stays). */
function canLower(): boolean {
  return execFileSync('sh', ['-c', 'echo -1 > /proc/self/oom_score_adj 2>/dev/null && echo yes || echo no']).toString().trim() === 'yes';
}

function capEff(out: string): bigint {
  const m = /^CapEff:\s+([0-9a-f]+)$/m.exec(out);
  if (!m?.[1]) throw new Error(`no CapEff in: ${out}`);
  return BigInt(`0x${m[1]}`);
}

test.serial("by default: Docker's seccomp profile refuses unshare, no_new_privs is set, capabilities are Docker's, oom_score_adj is 0", async (t) => {
  const env = await setup(t);
  // The second container loads the filter the first one compiled (the shim's cache): the same refusal.
  for (const name of ['default', 'default-cached']) {
    const r = await run(env, { name, command: ['sh', '-c', `${STATUS}; unshare -U true; echo unshare=$?; echo oom=$(cat /proc/1/oom_score_adj)`] });
    t.is(r.code, 0, r.out);
    t.regex(r.out, /^Seccomp:\s+2$/m, `${name}: a seccomp filter is installed`);
    t.regex(r.out, /^NoNewPrivs:\s+1$/m);
    t.is(capEff(r.out), DOCKER_DEFAULT_CAPS);
    t.regex(r.out, /^CapInh:\s+0+$/m, 'the inheritable set is empty (CVE-2022-24769)');
    // A user namespace needs no capability: only the filter refuses it.
    t.regex(r.out, /unshare: .*Operation not permitted/);
    t.regex(r.out, /^unshare=1$/m);
    t.regex(r.out, /^oom=0$/m, "the container does not inherit the shim's -998");
  }
  t.is(fs.readdirSync(path.join(env.dataDir, 'seccomp-cache')).length, 1, 'one compiled filter for the one profile');
});

test.serial('Unconfined: no filter, and the same unshare succeeds', async (t) => {
  const env = await setup(t);
  const r = await run(env, {
    name: 'unconfined',
    command: ['sh', '-c', `${STATUS}; unshare -U true; echo unshare=$?`],
    security: { seccomp: { type: 'Unconfined' } },
  });
  t.is(r.code, 0, r.out);
  t.regex(r.out, /^Seccomp:\s+0$/m);
  t.regex(r.out, /^unshare=0$/m);
});

test.serial('a Localhost profile (OCI JSON under <data-dir>/seccomp) applies its own rules and errno', async (t) => {
  const env = await setup(t);
  fs.mkdirSync(path.join(env.dataDir, 'seccomp'));
  const profile = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }] };
  fs.writeFileSync(path.join(env.dataDir, 'seccomp', 'no-mkdir.json'), JSON.stringify(profile));
  const r = await run(env, {
    name: 'localhost',
    command: ['sh', '-c', `${STATUS}; mkdir /tmp/x; echo mkdir=$?; touch /tmp/y && echo touch=ok`],
    security: { seccomp: { type: 'Localhost', profile: 'no-mkdir.json' } },
  });
  t.is(r.code, 0, r.out);
  t.regex(r.out, /^Seccomp:\s+2$/m);
  t.regex(r.out, /mkdir: can't create directory '\/tmp\/x': Permission denied/, 'errnoRet 13 is EACCES');
  t.regex(r.out, /^touch=ok$/m);
  const missing = env.runtime.createSandbox({ name: 'missing', namespace: 'test', uid: `${process.pid}-sec-missing-${Date.now()}` }).then((sb) =>
    env.runtime.createContainer(sb, {
      name: 'missing',
      image: env.image,
      command: ['true'],
      security: { seccomp: { type: 'Localhost', profile: 'nope.json' } },
    }),
  );
  await t.throwsAsync(missing, { message: /seccomp profile .*seccomp\/nope\.json: no such file/ });
  const escape = env.runtime.createSandbox({ name: 'escape', namespace: 'test', uid: `${process.pid}-sec-escape-${Date.now()}` }).then((sb) =>
    env.runtime.createContainer(sb, {
      name: 'escape',
      image: env.image,
      command: ['true'],
      security: { seccomp: { type: 'Localhost', profile: '../x.json' } },
    }),
  );
  await t.throwsAsync(escape, { message: /must be a relative path without "\.\."/ });
});

test.serial('capabilities: drop and add over the default set; exec gets the same set, filter and no_new_privs', async (t) => {
  const env = await setup(t);
  const sb = await env.runtime.createSandbox({ name: 'caps', namespace: 'test', uid: `${process.pid}-sec-caps-${Date.now()}` });
  const id = await env.runtime.createContainer(sb, {
    name: 'caps',
    image: env.image,
    command: ['sleep', '30'],
    security: { capDrop: ['NET_RAW', 'chown'], capAdd: ['CAP_NET_ADMIN'] },
  });
  await env.runtime.startContainer(id);
  const r = await env.runtime.exec(id, {
    cmd: ['sh', '-c', "grep -E '^(Seccomp|NoNewPrivs|CapEff):' /proc/self/status; ping -c 1 127.0.0.1; echo ping=$?"],
    stdio: 'pipe',
  });
  const out = r.stdout + r.stderr;
  const expected = (DOCKER_DEFAULT_CAPS & ~(1n << 13n) & ~1n) | (1n << 12n);
  t.is(capEff(out), expected, out);
  t.regex(out, /^Seccomp:\s+2$/m);
  t.regex(out, /^NoNewPrivs:\s+1$/m);
  t.regex(out, /ping: .*(Operation not permitted|permission denied)/i, 'without CAP_NET_RAW');
  t.regex(out, /^ping=1$/m);
  await t.throwsAsync(env.runtime.createContainer(sb, { name: 'bad', image: env.image, command: ['true'], security: { capAdd: ['NET_FLY'] } }), {
    message: /capabilities\.add: unknown capability "NET_FLY"/,
  });
});

test.serial('allowPrivilegeEscalation (noNewPrivileges false): NoNewPrivs 0, the filter still applies', async (t) => {
  const env = await setup(t);
  const r = await run(env, { name: 'escalate', user: '1000:1000', command: ['sh', '-c', STATUS], security: { noNewPrivileges: false } });
  t.is(r.code, 0, r.out);
  t.regex(r.out, /^NoNewPrivs:\s+0$/m);
  t.regex(r.out, /^Seccomp:\s+2$/m, 'loaded before the user switch, while CAP_SYS_ADMIN was still held');
  t.regex(r.out, /^CapEff:\s+0+$/m, 'a non-root user has no effective capabilities (as Docker)');
});

test.serial('privileged: every capability, no filter, no masked /proc paths, escalation allowed', async (t) => {
  const env = await setup(t);
  const r = await run(env, {
    name: 'priv',
    command: ['sh', '-c', `${STATUS}; stat -c %F /proc/timer_list; grep ' /sys sysfs ' /proc/mounts; ls /dev/loop-control /dev/kmsg`],
    security: { privileged: true },
  });
  t.is(r.code, 0, r.out);
  // Every capability this runtime holds (a test machine may itself run without some).
  const bounding = /^CapBnd:\s+([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '';
  t.is(capEff(r.out), BigInt(`0x${bounding}`));
  t.regex(r.out, /^Seccomp:\s+0$/m);
  t.regex(r.out, /^NoNewPrivs:\s+0$/m);
  t.regex(r.out, /^regular (empty )?file$/m, '/proc/timer_list is not masked');
  t.regex(r.out, /^sysfs \/sys sysfs rw,/m, '/sys is read-write');
  for (const dev of ['/dev/loop-control', '/dev/kmsg'].filter((d) => fs.existsSync(d))) t.regex(r.out, new RegExp(`^${dev}$`, 'm'), `the host's ${dev}`);
});

test.serial('user, group and supplementary groups; a read-only root refuses writes but volumes and /dev/shm take them', async (t) => {
  const env = await setup(t);
  const vol = fs.mkdtempSync(path.join(env.dataDir, 'vol-'));
  fs.chmodSync(vol, 0o777);
  const r = await run(env, {
    name: 'ro',
    user: '1000:3000',
    command: ['sh', '-c', 'id; touch /newfile; echo root=$?; touch /data/f && echo vol=ok; touch /dev/shm/f && echo shm=ok'],
    mounts: [{ containerPath: '/data', hostPath: vol }],
    security: { readOnlyRootfs: true, supplementalGroups: [4000, 5000] },
  });
  t.is(r.code, 0, r.out);
  t.regex(r.out, /^uid=1000 gid=3000 groups=.*\b4000\b.*\b5000\b/m);
  t.regex(r.out, /touch: \/newfile: Read-only file system/);
  t.regex(r.out, /^root=1$/m);
  t.regex(r.out, /^vol=ok$/m);
  t.regex(r.out, /^shm=ok$/m);
  t.is(fs.statSync(path.join(vol, 'f')).uid, 1000);
});

const GROUPS_IMAGE = 'tsk.test/groups-in-image:latest';

/**
 * Busybox whose /etc/group puts its user 1000 in group 50000, as the image
 * of Kubernetes' supplementalGroupsPolicy example (user-defined-in-image,
 * group-defined-in-image).
 */
async function importGroupsImage(env: RuntimeEnv): Promise<void> {
  const entries = busyboxRootfs().map((e) => {
    if (e.name === 'etc/passwd') return { ...e, data: Buffer.from(`${e.data?.toString() ?? ''}user-defined-in-image:x:1000:1000::/home/user:/bin/sh\n`) };
    if (e.name === 'etc/group')
      return { ...e, data: Buffer.from(`${e.data?.toString() ?? ''}user-defined-in-image:x:1000:\ngroup-defined-in-image:x:50000:user-defined-in-image\n`) };
    return e;
  });
  const tar = path.join(env.dataDir, 'groups-image.tar');
  fs.writeFileSync(tar, await dockerSaveArchive([{ image: buildImage([await buildLayer({ entries })]), repoTags: [GROUPS_IMAGE] }]));
  await env.store.importArchive(tar);
  fs.rmSync(tar);
}

test.serial("supplementalGroupsPolicy: Merge (default) adds the image's group of the user, Strict gives only runAsGroup and supplementalGroups", async (t) => {
  const env = await setup(t);
  await importGroupsImage(env);
  const id = async (policy: 'Merge' | 'Strict' | undefined): Promise<string> => {
    const r = await run(env, {
      name: `groups-${policy ?? 'default'}`.toLowerCase(),
      image: GROUPS_IMAGE,
      user: '1000:3000',
      command: ['id'],
      security: { supplementalGroups: [4000], ...(policy ? { supplementalGroupsPolicy: policy } : {}) },
    });
    t.is(r.code, 0, r.out);
    return r.out.trim();
  };
  // Kubernetes' documented outputs for its example (security-context-5.yaml and -6.yaml).
  t.is(await id(undefined), 'uid=1000(user-defined-in-image) gid=3000 groups=3000,4000,50000(group-defined-in-image)');
  t.is(await id('Merge'), 'uid=1000(user-defined-in-image) gid=3000 groups=3000,4000,50000(group-defined-in-image)');
  t.is(await id('Strict'), 'uid=1000(user-defined-in-image) gid=3000 groups=3000,4000');
});

test.serial("oom_score_adj is the container's, the shim keeps its own low score; state files holding the environment are private", async (t) => {
  const env = await setup(t);
  const sb = await env.runtime.createSandbox({ name: 'oom', namespace: 'test', uid: `${process.pid}-sec-oom-${Date.now()}` });
  const id = await env.runtime.createContainer(sb, {
    name: 'oom',
    image: env.image,
    command: ['sleep', '30'],
    env: ['SECRET=s3cr3t'],
    security: { oomScoreAdj: 1000 },
  });
  await env.runtime.startContainer(id);
  const dir = path.join(env.runtime.containersDir, id);
  const pid = Number(fs.readFileSync(path.join(dir, 'pid'), 'utf8'));
  const shimPid = Number(fs.readFileSync(path.join(dir, 'shim.pid'), 'utf8'));
  t.is(fs.readFileSync(`/proc/${pid}/oom_score_adj`, 'utf8').trim(), '1000');
  // The shim asks for -998; a test machine that may not lower scores leaves it at what it inherited.
  const inherited = Number(fs.readFileSync('/proc/self/oom_score_adj', 'utf8'));
  t.is(Number(fs.readFileSync(`/proc/${shimPid}/oom_score_adj`, 'utf8')), Math.min(inherited, canLower() ? -998 : inherited));
  t.is(fs.statSync(dir).mode & 0o777, 0o700);
  for (const f of ['config.json', 'spec', 'seccomp']) t.is(fs.statSync(path.join(dir, f)).mode & 0o777, 0o600, f);
  await t.throwsAsync(env.runtime.createContainer(sb, { name: 'bad', image: env.image, command: ['true'], security: { oomScoreAdj: 1001 } }), {
    message: /oomScoreAdj 1001/,
  });
});

test.serial(
  'tsk runtime run: --read-only, --cap-drop/--cap-add, --group-add, --security-opt seccomp=unconfined|PROFILE.json and no-new-privileges=false',
  async (t) => {
    const env = await setup(t);
    const dd = ['--data-dir', env.dataDir];
    const r = await tsk([
      'run',
      ...dd,
      '--name',
      'flags',
      '--read-only',
      '--cap-drop',
      'ALL',
      '--cap-add',
      'KILL',
      '--group-add',
      '4242',
      '--security-opt',
      'seccomp=unconfined',
      '--security-opt',
      'no-new-privileges=false',
      env.image,
      'sh',
      '-c',
      `${STATUS}; id; touch /x`,
    ]);
    t.is(r.code, 1, r.stderr);
    t.regex(r.stdout, /^Seccomp:\s+0$/m);
    t.regex(r.stdout, /^NoNewPrivs:\s+0$/m);
    t.is(capEff(r.stdout), 1n << 5n, 'only CAP_KILL');
    t.regex(r.stdout, /groups=.*\b4242\b/);
    t.regex(r.stderr, /Read-only file system/);
    const profile = path.join(env.dataDir, 'deny-chmod.json');
    fs.writeFileSync(
      profile,
      JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['chmod', 'fchmodat', 'fchmodat2'], action: 'SCMP_ACT_ERRNO' }] }),
    );
    const p = await tsk(['run', ...dd, '--name', 'prof', '--security-opt', `seccomp=${profile}`, env.image, 'chmod', '700', '/tmp']);
    t.is(p.code, 1);
    t.regex(p.stderr, /Operation not permitted/);
    const bad = await tsk(['run', ...dd, '--security-opt', 'label=disable', env.image, 'true']);
    t.is(bad.code, 125);
    t.regex(bad.stderr, /invalid --security-opt "label=disable"/);
    const cap = await tsk(['run', ...dd, '--cap-add', 'FLY', env.image, 'true']);
    t.is(cap.code, 125);
    t.regex(cap.stderr, /capabilities\.add: unknown capability "FLY"/);
  },
);
