import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { createCA, issue } from '../../util/pki';
import { RequestAuthenticator } from './authenticator';
import { isTls13, peerSession } from './peer-session';
import type { UserInfo } from './user';

const identity = (b: Buffer): Buffer => b;
const method = {
  path: '/test.T/Who',
  requestStream: false,
  responseStream: false,
  requestSerialize: identity,
  requestDeserialize: identity,
  responseSerialize: identity,
  responseDeserialize: identity,
} as const;

// A real grpc-js TLS server on 127.0.0.1: what peerSession finds must be the
// connection (the same object for every call of one client connection, another
// for another connection), else the authenticator's per-connection cache would
// mix clients up. Fails when a grpc-js upgrade changes the internals it reads.
test('peerSession: one key per client connection, TLS 1.3; the authenticator names each connection its own user', async (t) => {
  const ca = await createCA('peer-session-ca');
  const serving = await issue(ca, { commonName: 'server' }, { usage: 'server', sans: { dns: ['localhost'], ips: ['127.0.0.1'] } });
  const alice = await issue(ca, { commonName: 'alice', organizations: ['dev'] }, { usage: 'client' });
  const bob = await issue(ca, { commonName: 'bob' }, { usage: 'client' });
  const auth = new RequestAuthenticator({ clientCaPem: ca.certPem });
  const seen: { key: object | undefined; tls13: boolean; user: UserInfo | undefined }[] = [];
  const server = new grpc.Server();
  server.addService(
    { Who: method },
    {
      Who: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        const key = peerSession(call);
        seen.push({ key, tls13: key !== undefined && isTls13(key), user: auth.authenticate(call) });
        cb(null, Buffer.alloc(0));
      },
    },
  );
  const creds = grpc.ServerCredentials.createSsl(
    Buffer.from(ca.certPem),
    [{ private_key: Buffer.from(serving.keyPem), cert_chain: Buffer.from(serving.certPem) }],
    true,
  );
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', creds, (err, p) => (err ? reject(err) : resolve(p))));
  t.teardown(() => server.forceShutdown());
  const client = (who: { certPem: string; keyPem: string }): grpc.Client =>
    new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createSsl(Buffer.from(ca.certPem), Buffer.from(who.keyPem), Buffer.from(who.certPem)), {
      'grpc.ssl_target_name_override': 'localhost',
      'grpc.use_local_subchannel_pool': 1,
    });
  const call = (c: grpc.Client): Promise<void> =>
    new Promise((resolve, reject) => c.makeUnaryRequest(method.path, identity, identity, Buffer.alloc(0), (err) => (err ? reject(err) : resolve())));
  const a = client(alice);
  const b = client(bob);
  t.teardown(() => {
    a.close();
    b.close();
  });
  await call(a);
  await call(a);
  await call(b);
  await call(a);
  const [a1, a2, b1, a3] = seen;
  t.true(a1?.key !== undefined, 'the session is found');
  t.true(a1?.tls13);
  t.is(a1?.key, a2?.key);
  t.is(a1?.key, a3?.key);
  t.not(a1?.key, b1?.key);
  t.deepEqual(
    seen.map((s) => s.user?.name),
    ['alice', 'alice', 'bob', 'alice'],
  );
  t.deepEqual(a3?.user?.groups, ['dev', 'system:authenticated']);
});

test('peerSession: a call object without grpc-js internals has none (the public path is taken)', (t) => {
  t.is(peerSession({}), undefined);
  t.is(peerSession({ call: { nextCall: { nextCall: {} } } }), undefined);
  t.is(peerSession({ call: { stream: { session: { destroyed: true } } } }), undefined);
});
