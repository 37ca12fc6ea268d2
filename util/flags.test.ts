import test from 'ava';
import { durationMs, goDurationMs, hostPort, parseFlagValues, serverAddress, UsageError } from './flags';

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
