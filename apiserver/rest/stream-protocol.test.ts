import test from 'ava';
import { BadRequestError } from '../../api/errors';
import {
  CHANNEL,
  EXEC_PROTOCOLS,
  PORT_FORWARD_PROTOCOLS,
  exitStatus,
  failureStatus,
  frame,
  negotiate,
  offeredProtocols,
  parsePorts,
  parseResize,
  parseStreamOptions,
  portPrefix,
  unframe,
} from './stream-protocol';

test('negotiation takes the first protocol the client offers that is served', (t) => {
  t.is(negotiate(offeredProtocols('v5.channel.k8s.io'), EXEC_PROTOCOLS), 'v5.channel.k8s.io');
  t.is(negotiate(offeredProtocols('v4.channel.k8s.io, v5.channel.k8s.io'), EXEC_PROTOCOLS), 'v4.channel.k8s.io');
  t.is(negotiate(offeredProtocols('SPDY/3.1+portforward.k8s.io'), PORT_FORWARD_PROTOCOLS), 'SPDY/3.1+portforward.k8s.io');
  t.is(negotiate(['portforward.k8s.io'], PORT_FORWARD_PROTOCOLS), 'portforward.k8s.io');
});

test('an unknown or missing subprotocol is a BadRequest naming both lists', (t) => {
  const err = t.throws(() => negotiate(offeredProtocols('channel.k8s.io, base64.channel.k8s.io'), EXEC_PROTOCOLS), { instanceOf: BadRequestError });
  t.is(err?.message, 'requested protocol(s) are not supported: [channel.k8s.io base64.channel.k8s.io]; supports [v5.channel.k8s.io v4.channel.k8s.io]');
  t.throws(() => negotiate(offeredProtocols(undefined), EXEC_PROTOCOLS), { message: /requested protocol\(s\) are not supported: \[\]/ });
});

test('framing: one channel byte, then the data', (t) => {
  const f = frame(CHANNEL.stdout, Buffer.from('hi'));
  t.deepEqual([...f], [1, 0x68, 0x69]);
  t.deepEqual(unframe(f), { channel: 1, data: Buffer.from('hi') });
  t.deepEqual(unframe(frame(CHANNEL.close, Buffer.from([CHANNEL.stdin]))), { channel: 255, data: Buffer.from([0]) });
  t.is(unframe(Buffer.alloc(0)), undefined);
  t.deepEqual([...frame(CHANNEL.error)], [3]);
});

test('resize messages carry Width and Height', (t) => {
  t.deepEqual(parseResize(Buffer.from('{"Width":120,"Height":40}')), { width: 120, height: 40 });
  t.throws(() => parseResize(Buffer.from('{"width":1}')), { instanceOf: BadRequestError });
  t.throws(() => parseResize(Buffer.from('nope')), { message: /is not JSON/ });
});

test('exit status: Success, or NonZeroExitCode with the ExitCode cause kubectl reads', (t) => {
  t.deepEqual(exitStatus(0, ['true']), { metadata: {}, status: 'Success' });
  t.deepEqual(exitStatus(3, ['sh', '-c', 'exit 3']), {
    metadata: {},
    status: 'Failure',
    message: 'command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3',
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: '3' }] },
  });
  t.deepEqual(failureStatus('gone', 'InternalError', 500), { metadata: {}, status: 'Failure', message: 'gone', reason: 'InternalError', code: 500 });
});

test('exec options: a command and one stream at least; a TTY merges stderr', (t) => {
  const q = new URLSearchParams('command=sh&command=-c&command=echo+hi&container=main&stdin=true&stdout=true&stderr=true&tty=true');
  t.deepEqual(parseStreamOptions(q, 'exec'), { container: 'main', command: ['sh', '-c', 'echo hi'], stdin: true, stdout: true, stderr: false, tty: true });
  t.throws(() => parseStreamOptions(new URLSearchParams('stdout=true'), 'exec'), { message: 'you must specify at least one command for the container' });
  t.throws(() => parseStreamOptions(new URLSearchParams('command=ls'), 'exec'), { message: 'you must specify at least 1 of stdin, stdout, stderr' });
  t.throws(() => parseStreamOptions(new URLSearchParams('command=ls&stdout=maybe'), 'exec'), { message: 'stdout: "maybe" must be true or false' });
  t.deepEqual(parseStreamOptions(new URLSearchParams('stdout=1&stderr=1'), 'attach').command, []);
});

test('port-forward ports: listed or repeated, each 1-65535; the channel prefix is little-endian', (t) => {
  t.deepEqual(parsePorts(new URLSearchParams('ports=80,443&ports=8080')), [80, 443, 8080]);
  t.throws(() => parsePorts(new URLSearchParams('')), { message: 'at least one port must be specified' });
  t.throws(() => parsePorts(new URLSearchParams('ports=0')), { message: 'invalid port "0": must be 1-65535' });
  t.throws(() => parsePorts(new URLSearchParams('ports=http')), { message: 'invalid port "http": must be 1-65535' });
  t.deepEqual([...portPrefix(8080)], [0x90, 0x1f]);
});
