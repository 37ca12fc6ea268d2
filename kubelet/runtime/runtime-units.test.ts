// Unit tests of the runtime's pure parts: spec rendering, cgroup layout and
// resource mapping, user resolution, CRI log parsing and tails, CLI parsing
// and the ps STATUS text.

import test from 'ava';
import { parseCgroupLayout, resourceWrites, sharesToWeight, milliToShares, podCgroupName } from './cgroups/cgroups';
import { capabilityMask, mergeEnv, renderSpec, resolveCommand, ShimSpec } from './container/spec';
import { DEFAULT_CAP_MASK } from './container/capabilities';
import { parseGroup, parsePasswd, resolveUser } from './container/user';
import { parseLogLine, tailEntries } from './logs/cri-log';
import { hostDnsConfig, hostsFile, resolvConf } from './sandbox/files';
import { findContainer, parseFlags, parseSecurityFlags, statusText } from './cli/container-commands';
import { extractDataDir } from './cli/main';
import type { ContainerStatus, LogEntry } from './runtime';

const HYBRID = [
  '30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  '31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
  '32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct',
  '34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
  '38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids',
  '40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
].join('\n');

test('a hybrid host is v1 even when its cgroup2 holds a controller', (t) => {
  const l = parseCgroupLayout(HYBRID, () => ['hugetlb']);
  t.is(l.version, 1);
  t.is(l.v1.memory, '/sys/fs/cgroup/memory');
  t.is(l.v1.cpuacct, '/sys/fs/cgroup/cpuacct');
});

test('a pure v2 host uses the cgroup2 mount with cpu, memory and pids', (t) => {
  const l = parseCgroupLayout('30 22 0:27 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw', () => ['cpuset', 'cpu', 'io', 'memory', 'pids']);
  t.deepEqual(l, { version: 2, v1: {}, v2Root: '/sys/fs/cgroup' });
  t.throws(() => parseCgroupLayout('30 22 0:27 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw', () => ['io']), { message: /found neither/ });
});

test('resources map to v1 and v2 files as Kubernetes does', (t) => {
  t.is(milliToShares(200), 204);
  t.is(milliToShares(1), 2);
  t.is(sharesToWeight(1024), 39);
  t.deepEqual(resourceWrites(1, { cpuLimitMilli: 200, memoryLimitBytes: 64 << 20, pidsLimit: 64 }), [
    ['cpu', 'cpu.shares', '204'],
    ['cpu', 'cpu.cfs_period_us', '100000'],
    ['cpu', 'cpu.cfs_quota_us', '20000'],
    ['memory', 'memory.limit_in_bytes', '67108864'],
    ['memory', 'memory.memsw.limit_in_bytes', '67108864'],
    ['pids', 'pids.max', '64'],
  ]);
  t.deepEqual(resourceWrites(2, { cpuRequestMilli: 500, cpuLimitMilli: 1500, memoryLimitBytes: 1000 }), [
    ['cpu', 'cpu.weight', `${sharesToWeight(512)}`],
    ['cpu', 'cpu.max', '150000 100000'],
    ['memory', 'memory.max', '1000'],
    ['memory', 'memory.swap.max', '0'],
  ]);
  t.is(podCgroupName('a/b:c'), 'poda_b_c');
});

test('the shim spec escapes values and refuses layer paths overlayfs cannot take', (t) => {
  const spec: ShimSpec = {
    lowerDirs: ['/l/top', '/l/bottom'],
    upperDir: '/u',
    workDir: '/w',
    rootfs: '/r',
    cgroupDirs: ['/cg'],
    args: ['sh', '-c', 'echo a\nb\\c'],
    env: ['A=1'],
    cwd: '/',
    uid: 0,
    gid: 0,
    extraGids: [10],
    capMask: DEFAULT_CAP_MASK,
    logPath: '/log',
    logMaxBytes: 10,
    logMaxFiles: 2,
    maskedPaths: ['/proc/kcore'],
    readonlyPaths: ['/proc/sys'],
  };
  const text = renderSpec(spec);
  t.true(text.startsWith('lower /l/top\nlower /l/bottom\nupper /u\n'));
  t.true(text.includes('arg echo a\\nb\\\\c\n'));
  t.true(text.includes('gid_extra 10\n'));
  t.is(DEFAULT_CAP_MASK, 'a80425fb');
  t.is(capabilityMask([0, 40]), '10000000001');
  t.throws(() => renderSpec({ ...spec, lowerDirs: ['/a:b'] }), { message: /contains ':'/ });
  // Security: no_new_privs and oom_score_adj 0 unless told otherwise; the rest only when asked.
  t.true(text.includes('no_new_privs 1\nreadonly_rootfs 0\noom_score_adj 0\n'), text);
  t.false(/^(seccomp|privileged) /m.test(text));
  const secured = renderSpec({ ...spec, noNewPrivs: false, seccompFile: '/c/seccomp', readonlyRootfs: true, privileged: true, oomScoreAdj: -997 });
  t.true(secured.includes('no_new_privs 0\nseccomp /c/seccomp\nreadonly_rootfs 1\nprivileged 1\noom_score_adj -997\n'), secured);
  // A shared PID namespace is joined by its file; it and hostPID exclude each other.
  t.false(/^pidns /m.test(text));
  t.true(renderSpec({ ...spec, pidns: '/sb/pid' }).includes('\npidns /sb/pid\n'));
  t.throws(() => renderSpec({ ...spec, pidns: '/sb/pid', hostPid: true }), { message: 'shim spec: hostPid and pidns together' });
  // cgroup v2 only: a cgroup namespace and /sys/fs/cgroup, read-only unless cgroupOptions said ReadWrite.
  t.false(/^cgroup_mount /m.test(text));
  t.true(renderSpec({ ...spec, cgroupMount: 'rw' }).includes('\ncgroup_mount rw\n'));
  // stdin, stdinOnce and tty only when set; stdinOnce means nothing without stdin.
  t.false(/^(stdin|stdin_once|tty) /m.test(text));
  t.true(renderSpec({ ...spec, stdin: true, stdinOnce: true, tty: true }).endsWith('\nstdin 1\nstdin_once 1\ntty 1\n'));
  t.false(renderSpec({ ...spec, stdinOnce: true }).includes('stdin_once'));
});

test('command, args and env follow the Kubernetes and Docker rules', (t) => {
  t.deepEqual(resolveCommand(['ep'], ['cmd'], undefined, undefined), ['ep', 'cmd']);
  t.deepEqual(resolveCommand(['ep'], ['cmd'], ['x'], undefined), ['x']);
  t.deepEqual(resolveCommand(['ep'], ['cmd'], undefined, ['y']), ['ep', 'y']);
  t.deepEqual(mergeEnv(['PATH=/a', 'A=1'], ['A=2', 'B=3']), ['PATH=/a', 'A=2', 'B=3']);
});

test('users resolve against passwd and group as Docker does', (t) => {
  const passwd = parsePasswd('root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n');
  const groups = parseGroup('root:x:0:\napp:x:1000:\nwheel:x:10:app\n');
  t.deepEqual(resolveUser('', passwd, groups), { uid: 0, gid: 0, extraGids: [], home: '/root' });
  t.deepEqual(resolveUser('app', passwd, groups), { uid: 1000, gid: 1000, extraGids: [10], home: '/home/app' });
  t.deepEqual(resolveUser('1000:wheel', passwd, groups), { uid: 1000, gid: 10, extraGids: [], home: '/home/app' });
  t.deepEqual(resolveUser('4242', passwd, groups), { uid: 4242, gid: 0, extraGids: [], home: '/' });
  t.throws(() => resolveUser('ghost', passwd, groups), { message: /unable to find user ghost/ });
  t.throws(() => resolveUser('app:ghosts', passwd, groups), { message: /unable to find group ghosts/ });
});

test('CRI log lines parse; tails count P..F chains as one line', (t) => {
  t.deepEqual(parseLogLine('2016-10-06T00:17:09.669794202Z stdout F hello world'), {
    time: '2016-10-06T00:17:09.669794202Z',
    stream: 'stdout',
    partial: false,
    text: 'hello world',
  });
  t.is(parseLogLine('garbage'), undefined);
  const e = (text: string, partial = false): LogEntry => ({ time: 't', stream: 'stdout', partial, text });
  const entries = [e('a'), e('b1', true), e('b2'), e('c')];
  t.deepEqual(
    tailEntries(entries, 2).map((x) => x.text),
    ['b1', 'b2', 'c'],
  );
  t.deepEqual(tailEntries(entries, 0), []);
  t.is(tailEntries(entries).length, 4);
});

test('resolv.conf drops loopback servers of the host', (t) => {
  const dns = hostDnsConfig('nameserver 127.0.0.53\nnameserver 192.0.2.1\nsearch a.example b.example\noptions ndots:2\n');
  t.is(resolvConf(dns), 'search a.example b.example\nnameserver 192.0.2.1\noptions ndots:2\n');
});

test('CLI flags parse docker-style; --data-dir is taken out anywhere before the command', (t) => {
  const p = parseFlags(['-d', '--name=x', '-e', 'A=1', 'img', 'sh', '-c', 'ls -l'], ['--name', '-e'], ['-d'], true);
  t.deepEqual(p.args, ['img', 'sh', '-c', 'ls -l']);
  t.deepEqual(p.flags.get('-e'), ['A=1']);
  t.deepEqual(parseFlags(['-it', 'c', 'sh'], [], ['-i', '-t'], true).flags.get('-t'), ['true']);
  t.throws(() => parseFlags(['--bogus'], [], [], false), { message: /unknown flag: --bogus/ });
  t.deepEqual(extractDataDir(['-a', '--data-dir', '/d'], 'ps'), { dataDir: '/d', rest: ['-a'] });
  t.deepEqual(extractDataDir(['--name', 'x', '--data-dir=/d', 'img', 'cmd', '--data-dir', 'y'], 'run'), {
    dataDir: '/d',
    rest: ['--name', 'x', 'img', 'cmd', '--data-dir', 'y'],
  });
  // -v's value is not the image: --data-dir after it is still tsk's.
  t.deepEqual(extractDataDir(['-v', '/a:/b', '--data-dir', '/d', 'img'], 'run'), { dataDir: '/d', rest: ['-v', '/a:/b', 'img'] });
});

test('ps STATUS reads like docker, with the OOMKilled reason', (t) => {
  const now = Date.parse('2024-01-01T00:00:10Z');
  const base = {
    id: 'a'.repeat(64),
    name: 'n',
    sandboxId: '',
    image: 'i',
    imageId: '',
    command: [],
    createdAt: new Date(now - 60_000),
    logPath: '',
    resources: {},
    labels: {},
    annotations: {},
  };
  const exited: ContainerStatus = { ...base, state: 'exited', exitCode: 137, reason: 'OOMKilled', finishedAt: new Date(now - 3000) };
  t.is(statusText(exited, now), 'Exited (137) 3 seconds ago (OOMKilled)');
  t.is(statusText({ ...base, state: 'running', startedAt: new Date(now - 5000) }, now), 'Up 5 seconds');
  t.is(statusText({ ...base, state: 'created' }, now), 'Created');
  t.is(findContainer([exited], 'aaaa').name, 'n');
  t.throws(() => findContainer([exited], 'zzz'), { message: /container "zzz" not found/ });
});

test('hosts file: the pod name on its pod IP once it has one, host aliases after', (t) => {
  const before = hostsFile('web-1', [{ ip: '10.0.0.9', hostnames: ['db', 'db.local'] }]);
  t.regex(before, /^127\.0\.0\.1\tlocalhost$/m);
  t.regex(before, /^127\.0\.1\.1\tweb-1$/m);
  t.regex(before, /^10\.0\.0\.9\tdb\tdb\.local$/m);
  const after = hostsFile('web-1', [], '10.244.1.7');
  t.regex(after, /^10\.244\.1\.7\tweb-1$/m);
  t.notRegex(after, /127\.0\.1\.1/);
});

test("run's security flags (docker's names) become the runtime's ContainerSecurity", (t) => {
  const valued = ['--cap-add', '--cap-drop', '--security-opt', '--group-add'];
  const booleans = ['--read-only', '--privileged'];
  const sec = (argv: string[]): ReturnType<typeof parseSecurityFlags> => parseSecurityFlags(parseFlags([...argv, 'img'], valued, booleans, true), '/work');
  t.deepEqual(sec([]), {});
  t.deepEqual(sec(['--cap-add', 'NET_ADMIN', '--cap-drop=ALL', '--read-only', '--privileged', '--group-add', '10']), {
    capAdd: ['NET_ADMIN'],
    capDrop: ['ALL'],
    privileged: true,
    readOnlyRootfs: true,
    supplementalGroups: [10],
  });
  t.deepEqual(sec(['--security-opt', 'seccomp=unconfined']), { seccomp: { type: 'Unconfined' } });
  t.deepEqual(sec(['--security-opt', 'seccomp=p.json']), { seccomp: { type: 'Localhost', profile: '/work/p.json' } }, 'relative to the working dir');
  t.deepEqual(sec(['--security-opt', 'no-new-privileges']), { noNewPrivileges: true });
  t.deepEqual(sec(['--security-opt', 'no-new-privileges:false']), { noNewPrivileges: false });
  t.throws(() => sec(['--security-opt', 'apparmor=x']), { message: /invalid --security-opt "apparmor=x"/ });
  t.throws(() => sec(['--group-add', 'wheel']), { message: /invalid --group-add "wheel"/ });
});
