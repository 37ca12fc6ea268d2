import test from 'ava';
import { CidrError, CidrSet } from './cidr-set';

test('subnets are handed out in order, each once, round-robin after a release', (t) => {
  const set = new CidrSet('10.244.0.0/22', 24);
  t.is(set.size, 4);
  t.deepEqual([set.allocateNext(), set.allocateNext()], ['10.244.0.0/24', '10.244.1.0/24']);
  set.release('10.244.0.0/24');
  // The released subnet is not the next one given.
  t.deepEqual([set.allocateNext(), set.allocateNext(), set.allocateNext()], ['10.244.2.0/24', '10.244.3.0/24', '10.244.0.0/24']);
  t.is(set.allocateNext(), undefined, 'full');
  t.is(set.allocated, 4);
});

test('occupied subnets (from existing nodes) are skipped', (t) => {
  const set = new CidrSet('10.244.0.0/16', 24);
  t.true(set.occupy('10.244.0.0/24'));
  t.true(set.occupy('10.244.1.0/24'));
  t.is(set.allocateNext(), '10.244.2.0/24');
  t.false(set.occupy('10.245.0.0/24'), 'outside the range');
  t.false(set.occupy('10.244.4.0/25'), 'another mask size');
  t.false(set.occupy('garbage'));
  t.true(set.has('10.244.1.9/24'), 'host bits set: the subnet the address lies in');
});

const bad: [string, string, number, RegExp][] = [
  ['not a CIDR', '10.244.0.0', 24, /--cluster-cidr: "10.244.0.0" is not an IPv4 CIDR/],
  ['IPv6', 'fd00::/48', 64, /--cluster-cidr/],
  ['octet out of range', '10.300.0.0/16', 24, /--cluster-cidr/],
  ['mask smaller than the prefix', '10.244.0.0/16', 8, /--node-cidr-mask-size: 8 must be between/],
  ['mask beyond 32', '10.244.0.0/16', 33, /--node-cidr-mask-size/],
  ['too many subnets', '10.0.0.0/8', 28, /more than 2\^16 subnets/],
];

for (const [title, cidr, mask, re] of bad) {
  test(`bad settings are refused naming the flag: ${title}`, (t) => {
    const err = t.throws(() => new CidrSet(cidr, mask), { instanceOf: CidrError });
    t.regex(err!.message, re);
  });
}
