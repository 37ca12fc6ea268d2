import test from 'ava';
import { durationMs, goDurationMs, hostPort, ipv4CidrFlag, parseFlagValues, serverAddress, UsageError } from './flags';

test('Go durations', (t) => {
  t.is(goDurationMs('1m0s'), 60_000);
  t.is(goDurationMs('1h30m'), 5_400_000);
  t.is(goDurationMs('1.5s'), 1500);
  t.is(goDurationMs('250ms'), 250);
  t.is(goDurationMs('0'), 0);
  t.is(goDurationMs('0s'), 0);
  t.is(goDurationMs('10'), undefined);
  t.is(goDurationMs('5 s'), undefined);
  t.is(goDurationMs(''), undefined);
  t.is(durationMs('sync-period', '30s'), 30_000);
  t.throws(() => durationMs('sync-period', 'soon'), { instanceOf: UsageError, message: /--sync-period: "soon" is not a duration/ });
});

test('duration limits', (t) => {
  t.is(durationMs('f', '0s'), 0, 'no limits: zero is fine');
  t.is(durationMs('f', '500ms', { positive: true }), 500);
  t.throws(() => durationMs('f', '0s', { positive: true }), { instanceOf: UsageError, message: '--f: "0s" must be more than zero' });
  t.is(durationMs('f', '1s', { atLeast: '1s' }), 1000);
  t.throws(() => durationMs('f', '999ms', { atLeast: '1s' }), { message: '--f: "999ms" must be at least 1s' });
  t.throws(() => durationMs('f', '0', { atLeast: '1s' }), { message: '--f: "0" must be at least 1s' });
  t.is(durationMs('ttl', '0', { atLeast: '1s', zeroMeans: 'never expires' }), 0);
  t.throws(() => durationMs('ttl', '10ms', { atLeast: '1s', zeroMeans: 'never expires' }), {
    message: '--ttl: "10ms" must be 0 (never expires) or at least 1s',
  });
  t.throws(() => durationMs('f', '1 h', { example: '1h or 30m' }), { message: '--f: "1 h" is not a duration such as 1h or 30m' });
});

test('IPv4 CIDR flags', (t) => {
  t.is(ipv4CidrFlag('pod-cidr', '10.244.1.0/24'), '10.244.1.0/24');
  t.throws(() => ipv4CidrFlag('pod-cidr', '10.244.0.0', '10.244.1.0/24'), {
    instanceOf: UsageError,
    message: '--pod-cidr: "10.244.0.0" is not an IPv4 CIDR such as 10.244.1.0/24',
  });
  for (const bad of ['10.244.0.0/33', '10.244.0.256/16', '010.1.0.0/16', 'fd00::/64', '10.1/16']) {
    t.throws(
      () => ipv4CidrFlag('cluster-cidr', bad),
      { instanceOf: UsageError, message: /--cluster-cidr: .* is not an IPv4 CIDR such as 10\.244\.0\.0\/16/ },
      bad,
    );
  }
});

test('addresses', (t) => {
  t.is(hostPort('http-address', '127.0.0.1:10259'), '127.0.0.1:10259');
  t.throws(() => hostPort('http-address', 'nowhere', '127.0.0.1:10259'), {
    instanceOf: UsageError,
    message: /--http-address: "nowhere" is not HOST:PORT \(for example 127\.0\.0\.1:10259\)/,
  });
  t.throws(() => hostPort('x', 'h:70000'), { instanceOf: UsageError });
  t.is(serverAddress('server', 'unix:/run/tsk/api.sock'), 'unix:/run/tsk/api.sock');
  t.throws(() => serverAddress('server', 'unix:api.sock'), { message: /unix:\/ABSOLUTE\/PATH/ });
  t.is(serverAddress('server', 'https://10.0.0.1:6443/'), '10.0.0.1:6443');
  t.throws(() => serverAddress('server', 'https://10.0.0.1'), { message: /--server: "10.0.0.1" is not HOST:PORT/ });
});

test('parseArgs errors are usage errors', (t) => {
  t.deepEqual({ ...parseFlagValues(['--a', 'x'], { a: { type: 'string' } }) }, { a: 'x' });
  t.throws(() => parseFlagValues(['--bogus'], { a: { type: 'string' } }), { instanceOf: UsageError, message: /bogus/ });
  t.throws(() => parseFlagValues(['pos'], { a: { type: 'string' } }), { instanceOf: UsageError });
});
