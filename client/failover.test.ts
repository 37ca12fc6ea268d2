import test from 'ava';
import { Metadata, status } from '@grpc/grpc-js';
import { STATUS_TRAILER } from '../api/errors';
import { classifyFailure, serversFromEndpoints, sessionClosed, shouldFailOver } from './failover';

function err(code: status, details: string, withStatus = false): { code: status; details: string; metadata: Metadata } {
  const metadata = new Metadata();
  if (withStatus) metadata.set(STATUS_TRAILER, Buffer.from('x'));
  return { code, details, metadata };
}

test('a call that never reached a server is unsent', (t) => {
  t.is(classifyFailure(err(status.UNAVAILABLE, 'No connection established. Last error: connect ECONNREFUSED 127.0.0.1:6443')), 'unsent');
  t.is(classifyFailure(err(status.UNAVAILABLE, 'No connection established. Last error: connect ENOENT /run/api.sock')), 'unsent');
  t.is(classifyFailure(err(status.UNAVAILABLE, 'connect EHOSTUNREACH 10.0.0.2:6443')), 'unsent');
});

test('a connection that broke under a call is in flight', (t) => {
  t.is(classifyFailure(err(status.UNAVAILABLE, 'Connection dropped')), 'in-flight');
  t.is(classifyFailure(err(status.UNAVAILABLE, 'read ECONNRESET')), 'in-flight');
});

test('a call whose HTTP/2 session the server closed with an error is in flight, not an answer', (t) => {
  const details = 'Received RST_STREAM with code 2 triggered by internal client error: Session closed with error code 2';
  t.is(classifyFailure(err(status.INTERNAL, details)), 'in-flight');
  t.true(sessionClosed(err(status.INTERNAL, details)));
  t.is(classifyFailure(err(status.INTERNAL, 'New streams cannot be created after receiving a GOAWAY')), 'in-flight');
  t.false(sessionClosed(err(status.INTERNAL, details, true)), "the server's own InternalError");
  t.is(classifyFailure(err(status.INTERNAL, 'Received RST_STREAM with code 2 (Internal server error)')), 'answered');
});

test("the server's own answers are not failover matters", (t) => {
  t.is(classifyFailure(err(status.UNAVAILABLE, 'etcd is unavailable', true)), 'answered', 'an API status (etcd down behind a live server)');
  t.is(classifyFailure(err(status.NOT_FOUND, 'pods "p" not found')), 'answered');
  t.is(classifyFailure(err(status.DEADLINE_EXCEEDED, 'Deadline exceeded')), 'answered');
});

test('what is retried on the next server', (t) => {
  const table: [Parameters<typeof shouldFailOver>[0], boolean, boolean][] = [
    ['unsent', false, true],
    ['unsent', true, true],
    ['in-flight', true, true],
    ['in-flight', false, false],
    ['answered', true, false],
  ];
  for (const [failure, replayable, want] of table) t.is(shouldFailOver(failure, replayable), want, `${failure}, replayable ${replayable}`);
});

test('the servers of the kubernetes Endpoints: every ready address on the https port', (t) => {
  t.deepEqual(
    serversFromEndpoints({
      subsets: [
        {
          addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }],
          notReadyAddresses: [{ ip: '10.0.0.9' }],
          ports: [
            { name: 'metrics', port: 9000 },
            { name: 'https', port: 6444 },
          ],
        },
      ],
    }),
    ['10.0.0.1:6444', '10.0.0.2:6444'],
  );
  t.deepEqual(serversFromEndpoints({ subsets: [{ addresses: [{ ip: 'fd00::1' }], ports: [{ port: 7443 }] }] }), ['[fd00::1]:7443'], 'the only port');
  t.deepEqual(serversFromEndpoints({ subsets: [{ addresses: [{ ip: '10.0.0.1' }] }] }), ['10.0.0.1:6443'], '6443 without ports');
  t.deepEqual(serversFromEndpoints(undefined), []);
});
