// The capability set of a container: Docker's defaults, add, drop, ALL and privileged, as containerd computes it.

import test from 'ava';
import {
  ALL_CAPABILITIES,
  capabilityNamesMask,
  CapabilityError,
  computeCapabilities,
  DEFAULT_CAP_MASK,
  DEFAULT_CAPABILITIES,
  normalizeCapability,
} from './capabilities';

test('names are normalized to CAP_ upper case; ALL stays', (t) => {
  t.is(normalizeCapability('net_raw'), 'CAP_NET_RAW');
  t.is(normalizeCapability('CAP_SYS_ADMIN'), 'CAP_SYS_ADMIN');
  t.is(normalizeCapability('all'), 'ALL');
});

test("no request: Docker's default set", (t) => {
  const caps = computeCapabilities({});
  t.deepEqual(new Set(caps), new Set(DEFAULT_CAPABILITIES));
  t.is(capabilityNamesMask(caps), DEFAULT_CAP_MASK);
});

test('add and drop over the defaults; a capability both added and dropped is dropped (containerd)', (t) => {
  const caps = computeCapabilities({ add: ['NET_ADMIN', 'sys_time'], drop: ['NET_RAW', 'CAP_CHOWN', 'SYS_TIME'] });
  t.true(caps.includes('CAP_NET_ADMIN'));
  t.false(caps.includes('CAP_NET_RAW'));
  t.false(caps.includes('CAP_CHOWN'));
  t.false(caps.includes('CAP_SYS_TIME'));
  t.true(caps.includes('CAP_KILL'));
});

test('drop ALL keeps only what add names; add ALL gives everything but what drop names', (t) => {
  t.deepEqual(computeCapabilities({ drop: ['ALL'], add: ['NET_BIND_SERVICE'] }), ['CAP_NET_BIND_SERVICE']);
  t.deepEqual(computeCapabilities({ drop: ['ALL'] }), []);
  const all = computeCapabilities({ add: ['ALL'], drop: ['SYS_ADMIN'] });
  t.is(all.length, Object.keys(ALL_CAPABILITIES).length - 1);
  t.false(all.includes('CAP_SYS_ADMIN'));
  t.deepEqual(computeCapabilities({ add: ['ALL'], drop: ['ALL'] }), [], 'drop ALL is applied after add ALL');
});

test('privileged: every capability, whatever add and drop say', (t) => {
  t.is(computeCapabilities({ privileged: true, drop: ['ALL'] }).length, 41);
  t.is(capabilityNamesMask(computeCapabilities({ privileged: true })), '1ffffffffff');
});

test('an unknown capability is an error naming the field', (t) => {
  t.throws(() => computeCapabilities({ add: ['NET_FLY'] }), { instanceOf: CapabilityError, message: 'capabilities.add: unknown capability "NET_FLY"' });
  t.throws(() => computeCapabilities({ drop: ['bogus'] }), { instanceOf: CapabilityError, message: /capabilities\.drop: unknown capability "bogus"/ });
});
