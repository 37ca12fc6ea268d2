import test from 'ava';
import { UsageError } from '../errors';
import { listenAddresses, parsePortSpec } from './port-forward';

test('port specs as kubectl takes them', (t) => {
  t.deepEqual(parsePortSpec('8080:80'), { local: 8080, remote: 80 });
  t.deepEqual(parsePortSpec('80'), { local: 80, remote: 80 });
  t.deepEqual(parsePortSpec(':80'), { local: 0, remote: 80 });
  t.deepEqual(parsePortSpec('0:80'), { local: 0, remote: 80 });
});

test('bad port specs name the part and the spec', (t) => {
  t.throws(() => parsePortSpec('8080:0'), { instanceOf: UsageError, message: 'invalid remote port "0" in "8080:0": must be 1-65535' });
  t.throws(() => parsePortSpec('x:80'), { message: 'invalid local port "x" in "x:80": must be 0-65535' });
  t.throws(() => parsePortSpec('70000'), { message: 'invalid remote port "70000" in "70000": must be 1-65535' });
  t.throws(() => parsePortSpec('1:2:3'), { message: 'invalid port "1:2:3": expected [LOCAL_PORT:]REMOTE_PORT' });
});

test('--address: localhost is both loopbacks; duplicates go', (t) => {
  t.deepEqual(listenAddresses('localhost'), ['127.0.0.1', '::1']);
  t.deepEqual(listenAddresses('0.0.0.0, 127.0.0.1,0.0.0.0'), ['0.0.0.0', '127.0.0.1']);
  t.throws(() => listenAddresses(' , '), { message: '--address: at least one address is required' });
});
