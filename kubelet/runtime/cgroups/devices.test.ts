// Unit tests of device access control: the rules, their cgroup v1 writes, the
// shim spec lines, and the cgroup v2 eBPF program tsk-devfilter builds from
// them (golden instructions; that the kernel accepts and enforces it is the
// integration tests' part, integration/runtime-containers.test.ts).

import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { renderSpec, ShimSpec } from '../container/spec';
import { defaultNativeDir } from '../native-runtime';
import { parseCgroupLayout } from './cgroups';
import { DEFAULT_DEVICE_RULES, formatDeviceRule, shimDeviceRule, v1DeviceWrites } from './devices';

const devfilter = path.join(defaultNativeDir(), 'tsk-devfilter');

function dump(...rules: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(devfilter, ['dump', ...rules], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test("the default rules are runc's: mknod of anything, rwm of the harmless character devices only", (t) => {
  const lines = DEFAULT_DEVICE_RULES.map(formatDeviceRule);
  t.deepEqual(lines, [
    'c *:* m',
    'b *:* m',
    'c 1:3 rwm',
    'c 1:8 rwm',
    'c 1:7 rwm',
    'c 5:0 rwm',
    'c 1:5 rwm',
    'c 1:9 rwm',
    'c 136:* rwm',
    'c 5:2 rwm',
    'c 10:200 rwm',
  ]);
  t.true(DEFAULT_DEVICE_RULES.every((r) => r.allow));
  t.false(
    DEFAULT_DEVICE_RULES.some((r) => r.type === 'b' && r.access !== 'm'),
    'no block device may be read or written',
  );
});

test('cgroup v1: deny everything first, then allow each rule', (t) => {
  const writes = v1DeviceWrites(DEFAULT_DEVICE_RULES);
  t.deepEqual(writes[0], ['devices.deny', 'a']);
  t.deepEqual(writes[1], ['devices.allow', 'c *:* m']);
  t.deepEqual(writes.at(-1), ['devices.allow', 'c 10:200 rwm']);
  t.is(writes.length, DEFAULT_DEVICE_RULES.length + 1);
});

test('bad rules are refused naming the field', (t) => {
  t.throws(() => formatDeviceRule({ allow: true, type: 'c', major: 1, minor: 3, access: 'rx' }), { message: /access "rx"/ });
  t.throws(() => formatDeviceRule({ allow: true, type: 'c', major: 1, minor: 3, access: 'rr' }), { message: /access "rr"/ });
  t.throws(() => formatDeviceRule({ allow: true, type: 'c', major: -1, minor: 3, access: 'r' }), { message: /major -1/ });
  t.throws(() => formatDeviceRule({ allow: true, type: 'x' as 'c', major: 1, minor: 3, access: 'r' }), { message: /type "x"/ });
  t.is(shimDeviceRule({ allow: false, type: 'b', major: 8, minor: '*', access: 'rw' }), 'deny b 8:* rw');
});

test('the v1 layout records the devices controller; the shim spec carries v2 filter rules', (t) => {
  const l = parseCgroupLayout(
    [
      '31 30 0:28 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu',
      '32 30 0:29 / /sys/fs/cgroup/cpuacct rw - cgroup cgroup rw,cpuacct',
      '34 30 0:31 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory',
      '35 30 0:32 / /sys/fs/cgroup/devices rw - cgroup cgroup rw,devices',
      '38 30 0:35 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids',
    ].join('\n'),
    () => [],
  );
  t.is(l.v1.devices, '/sys/fs/cgroup/devices');
  const base: ShimSpec = {
    lowerDirs: ['/l'],
    upperDir: '/u',
    workDir: '/w',
    rootfs: '/r',
    cgroupDirs: ['/cg'],
    args: ['true'],
    env: [],
    cwd: '/',
    uid: 0,
    gid: 0,
    extraGids: [],
    capMask: '0',
    logPath: '/log',
    logMaxBytes: 1,
    logMaxFiles: 1,
    maskedPaths: [],
    readonlyPaths: [],
  };
  const spec = renderSpec({ ...base, deviceCgroup: '/cg', deviceRules: ['allow c 1:3 rwm'] });
  t.regex(spec, /^device_cgroup \/cg\ndevice allow c 1:3 rwm$/m);
  t.notRegex(renderSpec(base), /device/);
  t.throws(() => renderSpec({ ...base, deviceCgroup: '/cg', deviceRules: [] }), { message: /without deviceRules/ });
});

test('tsk-devfilter builds the eBPF program: first matching rule decides, the rest is denied', (t) => {
  if (!fs.existsSync(devfilter)) return t.fail(`${devfilter} is missing: npm run build`);
  const r = dump('allow c 1:3 rwm', 'allow b *:* m');
  t.is(r.code, 0, r.err);
  // CODE DST SRC OFF IMM; 0x61 ldx w, 0xbf mov reg, 0x77 rsh, 0x57 and, 0x55 jne imm, 0xb7 mov imm, 0x95 exit.
  t.deepEqual(r.out.trim().split('\n'), [
    '61 2 1 0 0', // r2 = ctx->access_type
    'bf 3 2 0 0', // r3 = r2
    '77 3 0 0 16', // r3 >>= 16: the requested access
    '57 2 0 0 65535', // r2 &= 0xffff: the device type
    '61 4 1 4 0', // r4 = ctx->major
    '61 5 1 8 0', // r5 = ctx->minor
    '55 2 0 4 2', // c 1:3 rwm: not a char device -> next rule
    '55 4 0 3 1', // major != 1 -> next rule
    '55 5 0 2 3', // minor != 3 -> next rule
    'b7 0 0 0 1', // allow
    '95 0 0 0 0',
    '55 2 0 5 1', // b *:* m: not a block device -> default
    'bf 6 3 0 0', // r6 = requested access
    '57 6 0 0 6', // r6 &= read|write (what the rule does not grant)
    '55 6 0 2 0', // asked for more than mknod -> default
    'b7 0 0 0 1',
    '95 0 0 0 0',
    'b7 0 0 0 0', // nothing matched: deny
    '95 0 0 0 0',
  ]);
});

test('tsk-devfilter: nothing follows a rule that always matches (the verifier refuses unreachable code); bad rules exit 2', (t) => {
  const r = dump('deny a *:* rwm', 'allow c 1:3 rwm');
  t.is(r.code, 0, r.err);
  t.deepEqual(r.out.trim().split('\n').slice(6), ['b7 0 0 0 0', '95 0 0 0 0']);
  // Every test at once: type, access (3 instructions), major, minor; then the verdict.
  const full = dump('allow c 4:64 rw');
  t.deepEqual(full.out.trim().split('\n').slice(6), [
    '55 2 0 7 2',
    'bf 6 3 0 0',
    '57 6 0 0 1',
    '55 6 0 4 0',
    '55 4 0 3 4',
    '55 5 0 2 64',
    'b7 0 0 0 1',
    '95 0 0 0 0',
    'b7 0 0 0 0',
    '95 0 0 0 0',
  ]);
  const bad = dump('allow c 1:3 rwx');
  t.is(bad.code, 2);
  t.regex(bad.err, /rule 1 "allow c 1:3 rwx"/);
  t.is(dump('allow c 1:3').code, 2);
});
