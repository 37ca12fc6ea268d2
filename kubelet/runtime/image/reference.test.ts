import test from 'ava';
import { InvalidReferenceError } from './errors';
import { familiarName, normalizeReference, parseReference } from './reference';

const D = `sha256:${'a'.repeat(64)}`;

const valid: Array<[string, string]> = [
  ['busybox', 'docker.io/library/busybox:latest'],
  ['busybox:1.36', 'docker.io/library/busybox:1.36'],
  ['library/busybox', 'docker.io/library/busybox:latest'],
  ['user/app', 'docker.io/user/app:latest'],
  ['docker.io/busybox', 'docker.io/library/busybox:latest'],
  ['index.docker.io/library/busybox:1', 'docker.io/library/busybox:1'],
  ['localhost/app', 'localhost/app:latest'],
  ['localhost:5000/app', 'localhost:5000/app:latest'],
  ['127.0.0.1:5000/a/b/c:v1.2-rc_3', '127.0.0.1:5000/a/b/c:v1.2-rc_3'],
  ['quay.io/coreos/etcd:v3.4', 'quay.io/coreos/etcd:v3.4'],
  [`busybox@${D}`, `docker.io/library/busybox@${D}`],
  [`busybox:1.36@${D}`, `docker.io/library/busybox:1.36@${D}`],
  [`host:5000/x@${D}`, `host:5000/x@${D}`],
  ['my-reg.example.com/a__b/c.d-e', 'my-reg.example.com/a__b/c.d-e:latest'],
  ['[::1]:5000/app', '[::1]:5000/app:latest'],
];

for (const [input, want] of valid) {
  test(`normalizes ${input}`, (t) => {
    t.is(normalizeReference(input), want);
  });
}

const invalid: Array<[string, RegExp]> = [
  ['', /empty/],
  ['Busybox', /lowercase/],
  ['busybox:', /invalid tag/],
  ['busybox:-x', /invalid tag/],
  [`busybox:${'a'.repeat(129)}`, /invalid tag/],
  ['busybox@sha256:abc', /invalid digest/],
  [`busybox@md5:${'a'.repeat(32)}`, /unsupported digest algorithm/],
  [`busybox@sha256:${'A'.repeat(64)}`, /64 lowercase hex/],
  ['a//b', /path component ""/],
  ['-abc', /path component/],
  ['host:99999/app', /registry port/],
  ['host:x5/app', /registry port/],
  ['-bad.com/app', /registry host/],
  [' busybox', /whitespace/],
  ['@sha256:' + 'a'.repeat(64), /missing repository/],
  [`a/${'b'.repeat(260)}`, /longer than 255/],
];

for (const [input, why] of invalid) {
  test(`rejects ${JSON.stringify(input.slice(0, 40))}`, (t) => {
    const e = t.throws(() => parseReference(input), { instanceOf: InvalidReferenceError });
    t.regex(e?.message ?? '', why);
    t.true(e?.message.includes(`"${input}"`));
  });
}

test('parts of a reference', (t) => {
  t.deepEqual(parseReference('127.0.0.1:5000/x/y:v1'), { domain: '127.0.0.1:5000', path: 'x/y', tag: 'v1' });
  t.deepEqual(parseReference(`busybox@${D}`), { domain: 'docker.io', path: 'library/busybox', digest: D });
});

test('familiar names as docker prints them', (t) => {
  t.is(familiarName(parseReference('busybox')), 'busybox');
  t.is(familiarName(parseReference('user/app')), 'user/app');
  t.is(familiarName(parseReference('localhost:5000/app')), 'localhost:5000/app');
});
