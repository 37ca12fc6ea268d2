import test from 'ava';
import {
  broadcastAddress,
  cidrContains,
  type CidrProblem,
  formatCidr,
  formatIPv4,
  hasHostBits,
  InvalidCidrError,
  nthAddress,
  nthSubnet,
  parseIPv4,
  parseIPv4Cidr,
  subnetCount,
  subnetIndex,
  tryParseIPv4Cidr,
} from './ipv4';

test('dotted quads parse to numbers and format back', (t) => {
  for (const s of ['0.0.0.0', '10.244.1.2', '255.255.255.255', '192.0.2.1']) t.is(formatIPv4(parseIPv4(s) ?? -1), s);
  t.is(parseIPv4('10.0.0.1'), 10 * 2 ** 24 + 1);
  t.is(parseIPv4('255.255.255.255'), 2 ** 32 - 1);
});

test('only the strict dotted quad is an address', (t) => {
  for (const s of ['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '1.2.3.-1', 'a.b.c.d', '1..2.3', '0x0a.0.0.1', '167772161', '::1', ' 1.2.3.4']) {
    t.is(parseIPv4(s), undefined, s);
  }
});

test('formatIPv4 refuses numbers that are no address', (t) => {
  for (const n of [-1, 2 ** 32, 1.5, NaN]) t.throws(() => formatIPv4(n), { instanceOf: RangeError });
});

test('a CIDR: network, size, broadcast, host bits', (t) => {
  const c = parseIPv4Cidr('10.244.1.7/24');
  t.is(formatIPv4(c.address), '10.244.1.7');
  t.is(formatIPv4(c.network), '10.244.1.0');
  t.is(c.prefix, 24);
  t.is(c.size, 256);
  t.is(formatIPv4(broadcastAddress(c)), '10.244.1.255');
  t.true(hasHostBits(c));
  t.false(hasHostBits(parseIPv4Cidr('10.244.1.0/24')));
  t.is(formatCidr(c), '10.244.1.0/24');
  t.deepEqual(parseIPv4Cidr('0.0.0.0/0'), { address: 0, prefix: 0, network: 0, size: 2 ** 32 });
  t.is(parseIPv4Cidr('192.0.2.1/32').size, 1);
});

test('contains and the n-th address', (t) => {
  const c = parseIPv4Cidr('192.0.2.8/29');
  t.true(cidrContains(c, parseIPv4('192.0.2.8')!));
  t.true(cidrContains(c, parseIPv4('192.0.2.15')!));
  t.false(cidrContains(c, parseIPv4('192.0.2.16')!));
  t.false(cidrContains(c, parseIPv4('192.0.2.7')!));
  t.is(formatIPv4(nthAddress(c, 2)), '192.0.2.10');
  t.throws(() => nthAddress(c, 8), { instanceOf: RangeError, message: '192.0.2.8/29 has no address number 8 (it holds 8)' });
});

test('a CIDR splits into subnets and each subnet knows its index', (t) => {
  const c = parseIPv4Cidr('10.244.0.0/22');
  t.is(subnetCount(c, 24), 4);
  t.is(subnetCount(c, 20), 0);
  t.deepEqual(
    [0, 1, 2, 3].map((i) => formatCidr(nthSubnet(c, 24, i))),
    ['10.244.0.0/24', '10.244.1.0/24', '10.244.2.0/24', '10.244.3.0/24'],
  );
  t.is(subnetIndex(c, parseIPv4Cidr('10.244.2.0/24')), 2);
  t.is(subnetIndex(c, parseIPv4Cidr('10.244.4.0/24')), undefined, 'outside');
  t.is(subnetIndex(c, parseIPv4Cidr('10.244.2.1/24')), undefined, 'host bits set');
  t.is(subnetIndex(c, parseIPv4Cidr('10.0.0.0/8')), undefined, 'larger than the CIDR');
  t.throws(() => nthSubnet(c, 24, 4), { instanceOf: RangeError });
});

const BAD: Array<[string, CidrProblem, string]> = [
  ['10.244.1.0', 'syntax', '"10.244.1.0" is not an IPv4 CIDR such as 10.244.0.0/16'],
  ['10.244.1.0/abc', 'syntax', '"10.244.1.0/abc" is not an IPv4 CIDR such as 10.244.0.0/16'],
  ['fd00::/64', 'ipv6', '"fd00::/64" is an IPv6 CIDR; only IPv4 is supported'],
  ['10.300.0.0/16', 'address', '"10.300.0.0" is not an IPv4 address'],
  ['10.0.0.0/33', 'prefix', '"10.0.0.0/33": the prefix length 33 is more than 32'],
];

for (const [text, problem, message] of BAD) {
  test(`CIDR ${text} is refused naming the value (${problem})`, (t) => {
    const err = t.throws(() => parseIPv4Cidr(text), { instanceOf: InvalidCidrError });
    t.is(err?.problem, problem);
    t.is(err?.value, text);
    t.is(err?.message, message);
    t.is(tryParseIPv4Cidr(text), undefined);
  });
}

test("the example in the syntax error is the caller's", (t) => {
  t.throws(() => parseIPv4Cidr('x', '172.30.0.0/24'), { message: '"x" is not an IPv4 CIDR such as 172.30.0.0/24' });
});
