// Unit tests of bind-mount validation (container/mounts.ts) and of how the
// mounts reach the shim's spec (container/spec.ts). Where a containerPath
// lands inside the rootfs is resolved by the kernel in the container's mount
// namespace (native/tsk-mounts.h); integration/runtime-mounts.test.ts covers
// that with hostile symlinks and "..".

import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseVolume } from '../cli/container-commands';
import type { Mount } from '../runtime';
import { MAX_MOUNTS, MountError, mountSyntaxProblem, validateMounts } from './mounts';
import { renderSpec, ShimSpec } from './spec';

const SYNTAX_CASES: Array<[string, Mount, RegExp | undefined]> = [
  ['a plain directory mount', { containerPath: '/data', hostPath: '/var/lib/x' }, undefined],
  ['.. and symlinks are resolved later, inside the rootfs', { containerPath: '/a/../../etc', hostPath: '/h' }, undefined],
  ['a relative containerPath', { containerPath: 'data', hostPath: '/h' }, /^containerPath "data" must be an absolute path$/],
  ['a relative hostPath', { containerPath: '/data', hostPath: 'var/x' }, /^hostPath "var\/x" must be an absolute path$/],
  ['an empty hostPath', { containerPath: '/data', hostPath: '' }, /^hostPath is required$/],
  ['an empty containerPath', { containerPath: '', hostPath: '/h' }, /^containerPath is required$/],
  ['the root itself', { containerPath: '/', hostPath: '/h' }, /must not be "\/"/],
  ['the root, spelled differently', { containerPath: '//./', hostPath: '/h' }, /must not be "\/"/],
  ['a newline', { containerPath: '/da\nta', hostPath: '/h' }, /contains a NUL or newline/],
  ['a NUL', { containerPath: '/data', hostPath: '/h\0' }, /contains a NUL or newline/],
];

for (const [name, mount, want] of SYNTAX_CASES) {
  test(`mount syntax: ${name}`, (t) => {
    const got = mountSyntaxProblem(mount);
    if (want === undefined) t.is(got, undefined);
    else t.regex(got ?? '', want);
  });
}

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-mounts-unit-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('validateMounts returns the mounts in order, readOnly defaulting to false', (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'f');
  fs.writeFileSync(file, 'x');
  const got = validateMounts('web', [
    { containerPath: '/data', hostPath: dir },
    { containerPath: '/etc/conf', hostPath: file, readOnly: true },
  ]);
  t.deepEqual(got, [
    { containerPath: '/data', hostPath: dir, subPath: '', readOnly: false },
    { containerPath: '/etc/conf', hostPath: file, subPath: '', readOnly: true },
  ]);
  t.deepEqual(validateMounts('web', undefined), []);
});

test('a subPath is normalized, and one that leaves its source by its text is refused before anything runs', (t) => {
  const dir = tempDir(t);
  const sub = (subPath: string): string => validateMounts('web', [{ containerPath: '/data', hostPath: dir, subPath }])[0]?.subPath ?? 'none';
  t.is(sub('a//b/'), 'a/b');
  t.is(sub('./a/./b'), 'a/b');
  t.is(sub('.'), '');
  t.is(sub('a..b'), 'a..b');
  for (const [bad, why] of [
    ['../x', "must not contain '..'"],
    ['a/../../x', "must not contain '..'"],
    ['/etc', 'must be a relative path'],
    ['a\nb', 'contains a NUL or newline'],
  ] as const) {
    const err = t.throws(() => validateMounts('web', [{ containerPath: '/data', hostPath: dir, subPath: bad }]), { instanceOf: MountError });
    t.true(err?.message.includes(why), err?.message);
    t.true(err?.message.startsWith('container "web": mount 0 (containerPath "/data"): subPath '), err?.message);
  }
});

test('recursiveReadOnly is kept for a read-only mount and refused without readOnly or of an unknown mode', (t) => {
  const dir = tempDir(t);
  t.deepEqual(validateMounts('web', [{ containerPath: '/data', hostPath: dir, readOnly: true, recursiveReadOnly: 'IfPossible' }]), [
    { containerPath: '/data', hostPath: dir, subPath: '', readOnly: true, recursiveReadOnly: 'IfPossible' },
  ]);
  t.throws(() => validateMounts('web', [{ containerPath: '/data', hostPath: dir, recursiveReadOnly: 'Enabled' }]), {
    instanceOf: MountError,
    message: 'container "web": mount 0 (containerPath "/data"): recursive read-only mount must be read-only',
  });
  const bad = { containerPath: '/data', hostPath: dir, readOnly: true, recursiveReadOnly: 'Always' } as unknown as Mount;
  t.throws(() => validateMounts('web', [bad]), { message: /recursiveReadOnly "Always" is not Enabled or IfPossible/ });
});

test('a missing hostPath names the container and the mount', (t) => {
  const dir = tempDir(t);
  const missing = path.join(dir, 'nope');
  const err = t.throws(() =>
    validateMounts('web', [
      { containerPath: '/ok', hostPath: dir },
      { containerPath: '/data', hostPath: missing },
    ]),
  );
  t.true(err instanceof MountError);
  t.is(err?.message, `container "web": mount 1 (containerPath "/data"): hostPath ${JSON.stringify(missing)} does not exist`);
});

test('a relative path is refused before the host is looked at', (t) => {
  let stats = 0;
  const stat = (p: string): fs.Stats => {
    stats++;
    return fs.statSync(p);
  };
  const err = t.throws(() => validateMounts('db', [{ containerPath: 'data', hostPath: '/' }], stat));
  t.is(err?.message, 'container "db": mount 0 (containerPath "data"): containerPath "data" must be an absolute path');
  t.is(stats, 0);
});

test('a dangling host symlink is a missing hostPath (mount follows it)', (t) => {
  const dir = tempDir(t);
  const link = path.join(dir, 'link');
  fs.symlinkSync(path.join(dir, 'gone'), link);
  t.throws(() => validateMounts('c', [{ containerPath: '/x', hostPath: link }]), { message: /does not exist/ });
});

test('more mounts than the shim takes is an error', (t) => {
  const many = Array.from({ length: MAX_MOUNTS + 1 }, (_, i) => ({ containerPath: `/m${i}`, hostPath: '/' }));
  t.throws(() => validateMounts('c', many), { message: /257 mounts, at most 256/ });
});

const BASE: ShimSpec = {
  lowerDirs: ['/l'],
  upperDir: '/u',
  workDir: '/w',
  rootfs: '/r',
  cgroupDirs: [],
  args: ['sh'],
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

test('mounts reach the shim spec as paired records, in order, after the /etc files', (t) => {
  const text = renderSpec({
    ...BASE,
    hostnameFile: '/sb/hostname',
    mounts: [
      { hostPath: '/host/a', containerPath: '/data', subPath: '', readOnly: false },
      { hostPath: '/host/b\\c', containerPath: '/conf', subPath: 'x/y', readOnly: true },
    ],
  });
  const lines = text.split('\n');
  const at = lines.indexOf('hostname_file /sb/hostname');
  t.true(at >= 0);
  t.deepEqual(lines.slice(at + 1, at + 11), [
    'bind_src /host/a',
    'bind_dst /data',
    'bind_ro 0',
    'bind_sub ',
    'bind_idmap 0',
    'bind_src /host/b\\\\c',
    'bind_dst /conf',
    'bind_ro 1',
    'bind_sub x/y',
    'bind_idmap 0',
  ]);
  t.false(renderSpec(BASE).includes('bind_'), 'no mounts, no records');
});

test('with a user namespace the spec names it and the pod root, and idmapped mounts say so', (t) => {
  const mounts = [{ hostPath: '/host/a', containerPath: '/data', subPath: '', readOnly: false, idmapped: true }];
  const lines = renderSpec({ ...BASE, userns: '/sb/user', usernsRoot: 65536, mounts }).split('\n');
  t.true(lines.includes('userns /sb/user'));
  t.true(lines.includes('userns_root 65536'));
  t.true(lines.includes('bind_idmap 1'));
  t.throws(() => renderSpec({ ...BASE, mounts }), { message: /idmapped but there is no user namespace/ });
  t.throws(() => renderSpec({ ...BASE, userns: '/sb/user' }), { message: /userns and usernsRoot go together/ });
});

test('recursive read-only mounts reach the shim as bind_ro recursive or recursive-if-possible', (t) => {
  const text = renderSpec({
    ...BASE,
    mounts: [
      { hostPath: '/a', containerPath: '/a', subPath: '', readOnly: true, recursiveReadOnly: 'Enabled' },
      { hostPath: '/b', containerPath: '/b', subPath: '', readOnly: true, recursiveReadOnly: 'IfPossible' },
    ],
  });
  t.deepEqual(
    text.split('\n').filter((l) => l.startsWith('bind_ro ')),
    ['bind_ro recursive', 'bind_ro recursive-if-possible'],
  );
});

test("tsk runtime run -v takes docker's /HOST:/CONTAINER[:ro|rw]", (t) => {
  t.deepEqual(parseVolume('/h:/c'), { hostPath: '/h', containerPath: '/c' });
  t.deepEqual(parseVolume('/h:/c:ro'), { hostPath: '/h', containerPath: '/c', readOnly: true });
  t.deepEqual(parseVolume('/h:/c:rw'), { hostPath: '/h', containerPath: '/c' });
  t.throws(() => parseVolume('data:/c'), {
    message: 'invalid -v "data:/c": expected /HOST:/CONTAINER[:ro|rw] (the host path must be absolute; named volumes are not supported)',
  });
  t.throws(() => parseVolume('/h:c'), { message: /the container path must be absolute/ });
  t.throws(() => parseVolume('/h:/c:z'), { message: /unknown mode "z"/ });
  t.throws(() => parseVolume('/h'), { message: /expected \/HOST:\/CONTAINER/ });
  t.throws(() => parseVolume('/h:/c:ro:x'), { message: /expected \/HOST:\/CONTAINER/ });
});
