import test from 'ava';
import { Metadata } from '@grpc/grpc-js';
import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { UnauthorizedError } from '../../api/errors';
import { createCA, issue, type CertKey } from '../../util/pki';
import { RequestAuthenticator } from './authenticator';
import type { CallCredentials } from './user';

/** What grpc-js reports for a TLS peer: node's PeerCertificate fields the authenticator reads. */
function peerOf(certPem: string, subject: { CN: string; O?: string | string[] }): PeerCertificate {
  const x = new X509Certificate(certPem);
  return { raw: x.raw, fingerprint256: x.fingerprint256, subject } as unknown as PeerCertificate;
}

function call(opts: { peer?: PeerCertificate; authorization?: string }): CallCredentials {
  const metadata = new Metadata();
  if (opts.authorization !== undefined) metadata.set('authorization', opts.authorization);
  return {
    getAuthContext: () => ({ transportSecurityType: 'ssl', sslPeerCertificate: opts.peer }),
    metadata,
    getPeer: () => '127.0.0.1:5555',
  };
}

let ca: CertKey;
test.before(async () => {
  ca = await createCA('test-ca');
});

test('a client certificate of the CA: CN is the user, O the groups, plus system:authenticated', async (t) => {
  const leaf = await issue(ca, { commonName: 'system:node:n1', organizations: ['system:nodes'] }, { usage: 'client' });
  const auth = new RequestAuthenticator({ clientCaPem: ca.certPem });
  const user = auth.authenticate(call({ peer: peerOf(leaf.certPem, { CN: 'system:node:n1', O: 'system:nodes' }) }));
  t.deepEqual(user, { name: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] });
  // cached: the second call gives the same answer
  t.deepEqual(auth.authenticate(call({ peer: peerOf(leaf.certPem, { CN: 'system:node:n1', O: 'system:nodes' }) })), user);
});

test('several O values are several groups', async (t) => {
  const leaf = await issue(ca, { commonName: 'alice', organizations: ['dev', 'ops'] }, { usage: 'client' });
  const auth = new RequestAuthenticator({ clientCaPem: ca.certPem });
  t.deepEqual(auth.authenticate(call({ peer: peerOf(leaf.certPem, { CN: 'alice', O: ['dev', 'ops'] }) }))?.groups, ['dev', 'ops', 'system:authenticated']);
});

test('a certificate of another CA is Unauthorized', async (t) => {
  const other = await createCA('other');
  const leaf = await issue(other, { commonName: 'admin', organizations: ['system:masters'] }, { usage: 'client' });
  const auth = new RequestAuthenticator({ clientCaPem: ca.certPem });
  const err = t.throws(() => auth.authenticate(call({ peer: peerOf(leaf.certPem, { CN: 'admin', O: 'system:masters' }) })));
  t.true(err instanceof UnauthorizedError);
  t.is(err?.message, 'x509: certificate signed by unknown authority');
});

test('an expired certificate is Unauthorized with the times', async (t) => {
  const leaf = await issue(ca, { commonName: 'alice' }, { usage: 'client', validityDays: 1 });
  const later = new Date(Date.now() + 2 * 86_400_000);
  const auth = new RequestAuthenticator({ clientCaPem: ca.certPem, now: () => later });
  t.throws(() => auth.authenticate(call({ peer: peerOf(leaf.certPem, { CN: 'alice' }) })), {
    instanceOf: UnauthorizedError,
    message: /^x509: certificate has expired or is not yet valid: current time .* is after /,
  });
});

test('a server-only certificate is not a client credential', async (t) => {
  const leaf = await issue(ca, { commonName: 'kube-apiserver' }, { usage: 'server' });
  const auth = new RequestAuthenticator({ clientCaPem: ca.certPem });
  t.throws(() => auth.authenticate(call({ peer: peerOf(leaf.certPem, { CN: 'kube-apiserver' }) })), {
    message: 'x509: certificate specifies an incompatible key usage',
  });
});

test('bearer tokens: known gives its user, unknown and malformed are Unauthorized', (t) => {
  const tokens = new Map([['s3cret', { name: 'bench', groups: ['system:masters', 'system:authenticated'] }]]);
  const auth = new RequestAuthenticator({ clientCaPem: ca.certPem, tokens });
  t.deepEqual(auth.authenticate(call({ authorization: 'Bearer s3cret' })), tokens.get('s3cret'));
  t.throws(() => auth.authenticate(call({ authorization: 'Bearer nope' })), { instanceOf: UnauthorizedError, message: 'invalid bearer token' });
  t.throws(() => auth.authenticate(call({ authorization: 'Basic YWJj' })), { instanceOf: UnauthorizedError, message: /expected "Bearer TOKEN"/ });
});

test('no certificate and no token is anonymous', (t) => {
  const auth = new RequestAuthenticator({ clientCaPem: ca.certPem });
  t.is(auth.authenticate(call({})), undefined);
});
