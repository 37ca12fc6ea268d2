// Unit tests of the pod CIDR layout (cidr.ts); IPv4 parsing is util/ipv4's.

import test from 'ava';
import { formatIPv4 } from '../../util/ipv4';
import { isPodAddress, parsePodCidr } from './cidr';

const LAYOUTS: Array<[string, string, string, string]> = [
  // cidr, gateway, first pod address, last pod address
  ['10.244.1.0/24', '10.244.1.1', '10.244.1.2', '10.244.1.254'],
  ['10.244.0.0/16', '10.244.0.1', '10.244.0.2', '10.244.255.254'],
  ['192.0.2.8/29', '192.0.2.9', '192.0.2.10', '192.0.2.14'],
  ['192.0.2.4/30', '192.0.2.5', '192.0.2.6', '192.0.2.6'],
];

for (const [text, gw, first, last] of LAYOUTS) {
  test(`layout of ${text}: network and broadcast never given, gateway first`, (t) => {
    const c = parsePodCidr(text);
    t.is(formatIPv4(c.gateway), gw);
    t.is(formatIPv4(c.first), first);
    t.is(formatIPv4(c.last), last);
    t.false(isPodAddress(c, c.network));
    t.false(isPodAddress(c, c.gateway));
    t.false(isPodAddress(c, c.last + 1), 'broadcast');
    t.true(isPodAddress(c, c.first));
  });
}

const BAD: Array<[string, RegExp]> = [
  ['10.244.1.0', /expected an IPv4 CIDR/],
  ['10.244.1.0/33', /at most \/30/],
  ['10.244.1.0/31', /no room for a gateway and a pod/],
  ['10.0.0.0/4', /at least \/8/],
  ['10.244.1.5/24', /host bits are set \(the network is 10\.244\.1\.0\/24\)/],
  ['fd00::/64', /IPv6 pod networks are not supported/],
  ['10.244.300.0/24', /"10\.244\.300\.0" is not an IPv4 address/],
];

for (const [text, want] of BAD) {
  test(`podCidr ${text} is refused with a reason`, (t) => {
    const err = t.throws(() => parsePodCidr(text));
    t.regex(err?.message ?? '', want);
    t.true(err?.message.startsWith(`podCidr ${JSON.stringify(text)}: `));
  });
}
