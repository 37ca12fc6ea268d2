import test from 'ava';
import { createCA, issue } from '../util/pki';
import { Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { ConnectionLostError, UnavailableError, outcomeUnknown } from '../api/errors';
import { channelCredentials, ipTarget, toApiError } from './connection';

test('channelCredentials: TLS by default, plaintext only when asked, incomplete or bad credentials in one line', async (t) => {
  const ca = await createCA('ca');
  const admin = await issue(ca, { commonName: 'admin' }, { usage: 'client' });
  t.true(channelCredentials({ caPem: ca.certPem, certPem: admin.certPem, keyPem: admin.keyPem })._isSecure());
  t.true(channelCredentials({})._isSecure(), 'no CA: TLS against the system roots, never plaintext');
  t.false(channelCredentials({ insecurePlaintext: true })._isSecure());
  t.throws(() => channelCredentials({ caPem: ca.certPem, certPem: admin.certPem }), { message: /needs its key/ });
  t.throws(() => channelCredentials({ insecurePlaintext: true, caPem: ca.certPem }), { message: /insecurePlaintext cannot carry certificates/ });
  const other = await issue(ca, { commonName: 'x' }, { usage: 'client' });
  t.throws(() => channelCredentials({ caPem: ca.certPem, certPem: admin.certPem, keyPem: other.keyPem }), {
    message: /^client credentials: .*key does not match/,
  });
  t.throws(() => channelCredentials({ certPem: 'junk', keyPem: admin.keyPem }), {
    message: 'client credentials: the client certificate is not a valid PEM X.509 certificate',
  });
});

test('channelCredentials: an expired client certificate is refused before connecting', async (t) => {
  const ca = await createCA('ca');
  // Issued with a validity that ended: a CA whose own life is over caps it.
  const shortCa = await createCA('short', 0.00001);
  await new Promise((r) => setTimeout(r, 1500));
  const leaf = await issue(shortCa, { commonName: 'alice' }, { usage: 'client' });
  t.throws(() => channelCredentials({ caPem: ca.certPem, certPem: leaf.certPem, keyPem: leaf.keyPem }), {
    message: /^client credentials: the client certificate \(CN=alice\) expired at /,
  });
});

test('ipTarget: IP literals only', (t) => {
  t.is(ipTarget('127.0.0.1:6443'), '127.0.0.1');
  t.is(ipTarget('[::1]:6443'), '::1');
  t.is(ipTarget('localhost:6443'), undefined);
  t.is(ipTarget('unix:/run/tsk.sock'), undefined);
});

test('toApiError: a call whose connection broke while it was out may have been done; one never sent was not', (t) => {
  const failed = (details: string): ServiceError => Object.assign(new Error(details), { code: GrpcStatus.UNAVAILABLE, details, metadata: new Metadata() });
  const lost = toApiError(failed('Connection dropped'), '127.0.0.1:6443');
  t.true(lost instanceof ConnectionLostError);
  t.true(lost instanceof UnavailableError, 'still a ServiceUnavailable to callers that only ask that');
  t.true(outcomeUnknown(lost));
  t.regex(lost.message, /^the connection to the API server at 127\.0\.0\.1:6443 broke while the call was out/);
  const unsent = toApiError(failed('No connection established. Last error: connect ECONNREFUSED 127.0.0.1:6443'), '127.0.0.1:6443');
  t.false(unsent instanceof ConnectionLostError);
  t.false(outcomeUnknown(unsent));
  t.regex(unsent.message, /connection refused/);
  t.true(
    outcomeUnknown(
      toApiError(Object.assign(new Error('x'), { code: GrpcStatus.DEADLINE_EXCEEDED, details: 'Deadline exceeded', metadata: new Metadata() }), 'h:1'),
    ),
  );
});
