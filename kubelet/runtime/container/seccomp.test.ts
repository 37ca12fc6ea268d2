// Seccomp profiles to tsk-privs.h's line format: Docker's default profile per
// capability set and architecture, argument rules, and Localhost profiles.

import test from 'ava';
import { DEFAULT_SECCOMP_PROFILE } from './seccomp-default';
import { kernelAtLeast, parseSeccompProfile, renderSeccomp, SeccompContext, SeccompProfileError } from './seccomp';
import { localhostProfilePath, planSecurity, SecurityConfigError } from './security';
import { DEFAULT_CAPABILITIES } from './capabilities';

const amd64: SeccompContext = { arch: 'amd64', capabilities: [...DEFAULT_CAPABILITIES], kernel: '6.1.0-13-amd64' };
const lines = (text: string): string[] => text.trim().split('\n');
const rulesFor = (text: string, name: string): string[] => lines(text).filter((l) => l.startsWith(`rule ${name} `));

test("Docker's default on amd64: EPERM by default, x86 and x32 added, the allowlist allowed", (t) => {
  const out = renderSeccomp(DEFAULT_SECCOMP_PROFILE, amd64);
  const l = lines(out);
  t.is(l[0], 'default errno 1');
  t.deepEqual(
    l.filter((x) => x.startsWith('arch ')),
    ['arch x86', 'arch x32'],
  );
  for (const name of ['read', 'execve', 'clone3', 'arch_prctl', 'modify_ldt', 'chroot', 'ptrace']) t.true(rulesFor(out, name).length > 0, name);
  t.deepEqual(rulesFor(out, 'read'), ['rule read allow 0']);
});

test('the refused syscalls: namespaces, mounts, keys, modules, clocks... need what the container lacks', (t) => {
  const out = renderSeccomp(DEFAULT_SECCOMP_PROFILE, amd64);
  for (const name of [
    'mount',
    'umount2',
    'unshare',
    'setns',
    'keyctl',
    'add_key',
    'request_key',
    'init_module',
    'reboot',
    'settimeofday',
    'bpf',
    'perf_event_open',
    'kexec_load',
    'open_by_handle_at',
    'userfaultfd',
    'pivot_root',
    'swapon',
    'syslog',
    'acct',
    'iopl',
  ]) {
    t.deepEqual(rulesFor(out, name), [], name);
  }
  // clone only without namespace flags; clone3 fails with ENOSYS so libc falls back to clone.
  t.deepEqual(rulesFor(out, 'clone'), ['rule clone allow 0 0 masked_eq 2114060288 0']);
  t.deepEqual(rulesFor(out, 'clone3'), ['rule clone3 errno 38']);
  t.deepEqual(rulesFor(out, 'socket'), ['rule socket allow 0 0 ne 40 0'], 'no AF_VSOCK');
  t.is(rulesFor(out, 'personality').length, 5);
});

test('capabilities open their syscalls: CAP_SYS_ADMIN allows mount and an unrestricted clone', (t) => {
  const out = renderSeccomp(DEFAULT_SECCOMP_PROFILE, { ...amd64, capabilities: [...amd64.capabilities, 'CAP_SYS_ADMIN', 'CAP_SYS_TIME'] });
  t.deepEqual(rulesFor(out, 'mount'), ['rule mount allow 0']);
  t.deepEqual(rulesFor(out, 'unshare'), ['rule unshare allow 0']);
  t.deepEqual(rulesFor(out, 'clone'), ['rule clone allow 0']);
  t.deepEqual(rulesFor(out, 'clone3'), ['rule clone3 allow 0']);
  t.deepEqual(rulesFor(out, 'settimeofday'), ['rule settimeofday allow 0']);
  t.deepEqual(rulesFor(renderSeccomp(DEFAULT_SECCOMP_PROFILE, { ...amd64, capabilities: [] }), 'chroot'), [], 'chroot needs CAP_SYS_CHROOT');
});

test('architecture and kernel entries: arm64 has no arch_prctl and adds arm; an old kernel has no ptrace', (t) => {
  const arm = renderSeccomp(DEFAULT_SECCOMP_PROFILE, { ...amd64, arch: 'arm64' });
  t.deepEqual(rulesFor(arm, 'arch_prctl'), []);
  t.true(rulesFor(arm, 'set_tls').length > 0);
  t.deepEqual(
    lines(arm).filter((x) => x.startsWith('arch ')),
    ['arch arm'],
  );
  t.deepEqual(rulesFor(renderSeccomp(DEFAULT_SECCOMP_PROFILE, { ...amd64, kernel: '4.4.0' }), 'ptrace'), []);
  t.true(kernelAtLeast('4.8.0', '4.8'));
  t.true(kernelAtLeast('5.1', '4.18'));
  t.false(kernelAtLeast('4.7.10', '4.8'));
});

test('a Localhost profile: actions, errno, names, OCI architectures; two conditions on one argument become two rules', (t) => {
  const p = parseSeccompProfile(
    'p.json',
    JSON.stringify({
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
      syscalls: [
        { names: ['mkdir'], action: 'SCMP_ACT_ERRNO' },
        { name: 'kill', action: 'SCMP_ACT_KILL_PROCESS' },
        {
          names: ['ioctl'],
          action: 'SCMP_ACT_ERRNO',
          errnoRet: 25,
          args: [
            { index: 1, value: 1, op: 'SCMP_CMP_EQ' },
            { index: 1, value: 2, op: 'SCMP_CMP_EQ' },
          ],
        },
        { names: ['write'], action: 'SCMP_ACT_ALLOW' },
      ],
    }),
  );
  t.is(
    renderSeccomp(p, amd64),
    [
      'default allow 0',
      'arch x86',
      'rule mkdir errno 1',
      'rule kill kill_process 0',
      'rule ioctl errno 25 1 eq 1 0',
      'rule ioctl errno 25 1 eq 2 0',
      'rule write allow 0',
      '',
    ].join('\n'),
  );
});

test('bad profiles are errors naming the file or entry', (t) => {
  t.throws(() => parseSeccompProfile('/x/p.json', '{'), { instanceOf: SeccompProfileError, message: /^seccomp profile \/x\/p\.json: / });
  t.throws(() => parseSeccompProfile('/x/p.json', '{}'), { message: 'seccomp profile /x/p.json: defaultAction is required' });
  const bad = (s: object): string => renderSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [s as never] }, amd64);
  t.throws(() => bad({ names: ['x'], action: 'SCMP_ACT_NOTIFY' }), { message: 'syscalls[0]: unsupported action SCMP_ACT_NOTIFY' });
  t.throws(() => bad({ names: ['x'], action: 'SCMP_ACT_ALLOW', args: [{ index: 6, value: 0, op: 'SCMP_CMP_EQ' }] }), { message: /argument index 6/ });
  t.throws(() => bad({ names: ['x y'], action: 'SCMP_ACT_ALLOW' }), { message: /bad syscall name/ });
});

test('Localhost profiles resolve under <data-dir>/seccomp and never outside it', (t) => {
  t.is(localhostProfilePath('/var/lib/tsk', 'team/p.json'), '/var/lib/tsk/seccomp/team/p.json');
  t.is(localhostProfilePath('/var/lib/tsk', '/etc/p.json'), '/etc/p.json', 'an absolute path (tsk runtime run) is taken as is');
  t.throws(() => localhostProfilePath('/var/lib/tsk', '../p.json'), { instanceOf: SecurityConfigError });
});

test('planSecurity: defaults, privileged, escalation, groups and the OOM score range', (t) => {
  const loadProfile = (): never => {
    throw new Error('not read');
  };
  const ctx = (): SeccompContext => amd64;
  const plain = planSecurity({ container: 'c', security: undefined, userGids: [10], loadProfile, context: ctx });
  t.true(plain.noNewPrivs);
  t.true(plain.seccomp?.startsWith('default errno 1\n'));
  t.true(plain.maskedPaths.includes('/proc/kcore'));
  t.is(plain.oomScoreAdj, 0);
  const priv = planSecurity({ container: 'c', security: { privileged: true }, userGids: [], loadProfile, context: ctx });
  t.false(priv.noNewPrivs);
  t.is(priv.seccomp, undefined, 'privileged: Unconfined unless asked');
  t.deepEqual(priv.maskedPaths, []);
  t.deepEqual(priv.readonlyPaths, []);
  t.false(
    planSecurity({ container: 'c', security: { capAdd: ['SYS_ADMIN'] }, userGids: [], loadProfile, context: ctx }).noNewPrivs,
    'CAP_SYS_ADMIN may escalate',
  );
  t.true(planSecurity({ container: 'c', security: { capAdd: ['SYS_ADMIN'], noNewPrivileges: true }, userGids: [], loadProfile, context: ctx }).noNewPrivs);
  t.deepEqual(planSecurity({ container: 'c', security: { supplementalGroups: [10, 20] }, userGids: [10], loadProfile, context: ctx }).extraGids, [10, 20]);
  t.throws(() => planSecurity({ container: 'c', security: { oomScoreAdj: -1001 }, userGids: [], loadProfile, context: ctx }), {
    message: /container "c": oomScoreAdj -1001/,
  });
  t.throws(() => planSecurity({ container: 'c', security: { supplementalGroups: [-1] }, userGids: [], loadProfile, context: ctx }), {
    message: /supplemental group -1/,
  });
  t.throws(() => planSecurity({ container: 'c', security: { seccomp: { type: 'Localhost', profile: 'x' } }, userGids: [], loadProfile, context: ctx }), {
    message: 'container "c": not read',
  });
});

test('planSecurity: RuntimeDefault rendered once per context is what renderSeccomp gives for each context', (t) => {
  const loadProfile = (): never => {
    throw new Error('not read');
  };
  const contexts: SeccompContext[] = [
    amd64,
    { ...amd64, capabilities: [...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN'] },
    { ...amd64, arch: 'arm64' },
    { ...amd64, kernel: '4.4.0' },
  ];
  for (let round = 0; round < 2; round++) {
    for (const c of contexts) {
      const plan = planSecurity({ container: 'c', security: undefined, userGids: [], loadProfile, context: () => c });
      t.is(plan.seccomp, renderSeccomp(DEFAULT_SECCOMP_PROFILE, c), `${c.arch} ${c.kernel} ${c.capabilities.length} capabilities, round ${round}`);
    }
  }
  const reordered = { ...amd64, capabilities: [...DEFAULT_CAPABILITIES].reverse() };
  t.is(
    planSecurity({ container: 'c', security: undefined, userGids: [], loadProfile, context: () => reordered }).seccomp,
    renderSeccomp(DEFAULT_SECCOMP_PROFILE, amd64),
  );
});
