import test from 'ava';
import { semanticDiff, semanticEqual } from './semantic';
import { isEnvVarName, isHTTPHeaderName, isValidCIDR, isValidIP, isValidPortName, isValidPortNum, nonSpecialIP } from './values';

const ok = (msgs: string[]): boolean => msgs.length === 0;

test('port numbers', (t) => {
  for (const p of [1, 80, 65535]) t.true(ok(isValidPortNum(p)), String(p));
  for (const p of [0, -1, 65536, 1.5]) t.deepEqual(isValidPortNum(p), ['must be between 1 and 65535, inclusive'], String(p));
});

test('port names (IANA_SVC_NAME)', (t) => {
  for (const n of ['http', 'h2c', 'web-1', 'a'.repeat(15)]) t.true(ok(isValidPortName(n)), n);
  const cases: Array<[string, string]> = [
    ['a'.repeat(16), 'must be no more than 15 characters'],
    ['HTTP', 'must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)'],
    ['8080', 'must contain at least one letter (a-z)'],
    ['-http', 'must not begin or end with a hyphen'],
    ['ht--tp', 'must not contain consecutive hyphens'],
  ];
  for (const [n, msg] of cases) t.true(isValidPortName(n).includes(msg), `${n}: ${isValidPortName(n).join('; ')}`);
});

test('IP addresses', (t) => {
  for (const ip of ['10.0.0.1', '0.0.0.0', '::1', 'fd00::1', '::ffff:10.0.0.1']) t.true(ok(isValidIP(ip)), ip);
  for (const ip of ['', '10.0.0', '10.0.0.256', '010.0.0.1', 'fe80::1%eth0', ' 10.0.0.1', 'host']) {
    t.deepEqual(isValidIP(ip), ['must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'], ip);
  }
});

test('CIDRs', (t) => {
  for (const c of ['10.244.0.0/16', '10.244.1.5/24', '0.0.0.0/0', 'fd00::/64', '::/0']) t.true(ok(isValidCIDR(c)), c);
  for (const c of ['10.244.0.0', '10.244.0.0/33', '10.244.0.0/', '10.244.0.0/08', 'fd00::/129', 'x/8']) t.false(ok(isValidCIDR(c)), c);
});

test('special IPs an endpoint may not use', (t) => {
  const cases: Array<[string, string | undefined]> = [
    ['10.244.1.5', undefined],
    ['0.0.0.0', 'may not be unspecified (0.0.0.0)'],
    ['127.0.0.1', 'may not be in the loopback range (127.0.0.0/8, ::1/128)'],
    ['127.1.2.3', 'may not be in the loopback range (127.0.0.0/8, ::1/128)'],
    ['169.254.169.254', 'may not be in the link-local range (169.254.0.0/16, fe80::/10)'],
    ['224.0.0.5', 'may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)'],
    ['224.0.1.5', undefined],
    ['::', 'may not be unspecified (::)'],
    ['::1', 'may not be in the loopback range (127.0.0.0/8, ::1/128)'],
    ['fe80::1', 'may not be in the link-local range (169.254.0.0/16, fe80::/10)'],
    ['ff02::1', 'may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)'],
    ['::ffff:127.0.0.1', 'may not be in the loopback range (127.0.0.0/8, ::1/128)'],
    ['fd00::1', undefined],
  ];
  for (const [ip, msg] of cases) t.deepEqual(nonSpecialIP(ip), msg ? [msg] : [], ip);
});

test('environment variable names', (t) => {
  for (const n of ['PATH', 'my.env-name', 'MY_ENV.NAME', '_x', '.x']) t.true(ok(isEnvVarName(n)), n);
  for (const n of ['1X', 'A B', 'A=B', '', '.', '..', '..x']) t.false(ok(isEnvVarName(n)), n);
  t.true(isEnvVarName('..x').includes("must not start with '..'"));
});

test('HTTP header names', (t) => {
  t.true(ok(isHTTPHeaderName('X-Custom-1')));
  t.false(ok(isHTTPHeaderName('X Custom')));
  t.false(ok(isHTTPHeaderName('X_Custom')));
});

test('semantic equality treats unset as zero', (t) => {
  t.true(semanticEqual({ a: undefined, b: [] }, { a: '', b: undefined, c: 0, d: false, e: {} }));
  t.true(semanticEqual({ m: { x: { y: '' } } }, {}));
  t.false(semanticEqual({ a: 'x' }, { a: '' }));
  t.false(semanticEqual([1, 2], [1]));
  t.deepEqual(semanticDiff({ a: { b: 1, c: [1, { d: 2 }] } }, { a: { b: 2, c: [1, { d: 3 }] } }, 'spec'), ['spec.a.b', 'spec.a.c[1].d']);
  t.deepEqual(semanticDiff({ a: 'x' }, { a: { y: 1 } }), ['a']);
});
