import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import { createCA, issue } from '../../util/pki';
import { cachePeerCertificates } from './peer-certificates';
import { ServingCertificateProvider, servingCredentials } from './tls';

const identity = (b: Buffer): Buffer => b;
const ECHO = {
  echo: {
    path: '/test.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

/** A server whose handler records each call's peer certificate. */
async function echoServer(credentials: grpc.ServerCredentials): Promise<{ server: grpc.Server; port: number; seen: (PeerCertificate | undefined)[] }> {
  const server = new grpc.Server();
  const seen: (PeerCertificate | undefined)[] = [];
  server.addService(ECHO, {
    echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      seen.push(call.getAuthContext().sslPeerCertificate);
      cb(null, Buffer.alloc(0));
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))));
  return { server, port, seen };
}

function echo(client: grpc.Client): Promise<void> {
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(ECHO.echo.path, identity, identity, Buffer.alloc(0), (err) => (err ? reject(err) : resolve())),
  );
}

test('the calls of one TLS connection share its peer certificate; another connection has its own', async (t) => {
  const ca = await createCA('test-ca');
  const serving = await issue(ca, { commonName: 'kube-apiserver' }, { usage: 'server', sans: { dns: ['localhost'], ips: ['127.0.0.1'] } });
  const { server, port, seen } = await echoServer(servingCredentials(new ServingCertificateProvider({ caPem: ca.certPem, server: serving })));
  t.teardown(() => server.forceShutdown());
  t.is(cachePeerCertificates(server), 1);
  const clientFor = async (user: string): Promise<grpc.Client> => {
    const cred = await issue(ca, { commonName: user }, { usage: 'client' });
    const c = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createSsl(Buffer.from(ca.certPem), Buffer.from(cred.keyPem), Buffer.from(cred.certPem)));
    t.teardown(() => c.close());
    return c;
  };
  const alice = await clientFor('alice');
  await echo(alice);
  await echo(alice);
  const bob = await clientFor('bob');
  await echo(bob);
  t.is(seen.length, 3);
  t.is(seen[0]?.subject.CN, 'alice');
  t.is(seen[1], seen[0], 'the second call on the connection reused the first call certificate');
  t.is(seen[2]?.subject.CN, 'bob');
});

test('a plaintext server has no TLS listener to cache', async (t) => {
  const { server } = await echoServer(grpc.ServerCredentials.createInsecure());
  t.teardown(() => server.forceShutdown());
  t.is(cachePeerCertificates(server), 0);
});
