// TLS and authentication end to end: the API server speaks TLS only and
// verifies nothing but the cluster CA; the authenticator turns the real TLS
// peer certificate (or a bearer token) of a call into a user; `tsk apiserver`
// creates its PKI, reuses it, writes admin.conf and keeps its embedded etcd
// behind client-certificate TLS.

import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { X509Certificate } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { UnauthorizedError, UnavailableError } from '../api/errors';
import { RequestAuthenticator } from '../apiserver/auth/authenticator';
import { parseTokenFile } from '../apiserver/auth/token-file';
import { parseFlags } from '../apiserver/flags';
import { ServingCertificateProvider, servingCredentials } from '../apiserver/grpc/tls';
import { startWithEtcd } from '../apiserver/main';
import { startApiServer } from '../apiserver/server';
import { Clientset } from '../client/clientset';
import { adminConfigPath, resolveClient } from '../client/config';
import { channelCredentials, type ClientCredentials } from '../client/connection';
import { createCA, issue } from '../util/pki';
import { startTestEtcd } from './support/etcd';
import { testTls } from './support/pki';
import { runProcess } from './support/run';
import { tempDir } from './support/temp';
import { errorMessage } from '../util/errors';

test('the API server: admin works, plaintext and a server of another CA are refused', async (t) => {
  const etcd = await startTestEtcd(t);
  const tls = await testTls();
  const server = await startApiServer({
    tls: tls.serving,
    etcdServers: [etcd.etcd.clientUrl],
    address: '127.0.0.1:0',
    httpAddress: '127.0.0.1:0',
    log: () => undefined,
  });
  t.teardown(() => server.stop());
  const open = (creds: ClientCredentials): Clientset => {
    const cs = new Clientset(server.grpcAddress, { ...creds, deadlineMs: 5000 });
    t.teardown(() => cs.close());
    return cs;
  };

  t.truthy((await open(tls.admin).namespaces.get('default')).metadata?.uid, 'the admin credential works');

  const plain = await t.throwsAsync(open({ insecurePlaintext: true }).namespaces.get('default'));
  t.true(plain instanceof UnavailableError, 'a plaintext client gets no answer');

  const otherCa = await createCA('another-cluster');
  const wrong = await t.throwsAsync(open({ caPem: otherCa.certPem }).namespaces.get('default'));
  t.true(wrong instanceof UnavailableError);
  t.regex(wrong?.message ?? '', /the server's TLS certificate is not trusted \(self[- ]signed certificate in certificate chain\)/);
});

test('the API server serves a renewed certificate without a restart', async (t) => {
  const etcd = await startTestEtcd(t);
  const tls = await testTls();
  const renewed = await issue(tls.ca, { commonName: 'kube-apiserver' }, { usage: 'server', sans: { dns: ['localhost'], ips: ['127.0.0.1'] } });
  const server = await startApiServer({
    tls: { ...tls.serving, renew: async () => renewed, renewCheckMs: 100 },
    etcdServers: [etcd.etcd.clientUrl],
    address: '127.0.0.1:0',
    httpAddress: '127.0.0.1:0',
    restAddress: '127.0.0.1:0',
    log: () => undefined,
  });
  t.teardown(() => server.stop());
  const served = (address: string, alpn: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const [host = '', port = ''] = address.split(':');
      const s = tlsConnect({ host, port: Number(port), ca: tls.ca.certPem, servername: 'localhost', ALPNProtocols: [alpn] }, () => {
        resolve(s.getPeerX509Certificate()?.fingerprint256 ?? '');
        s.destroy();
      });
      s.on('error', reject);
    });
  const want = new X509Certificate(renewed.certPem).fingerprint256;
  // gRPC and the REST API alike.
  for (const [address, alpn] of [
    [server.grpcAddress, 'h2'],
    [server.restAddress ?? '', 'http/1.1'],
  ] as const) {
    const deadline = Date.now() + 10_000;
    while ((await served(address, alpn)) !== want) {
      if (Date.now() > deadline) t.fail(`the renewed certificate was never served on ${address}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  t.pass();
});

/** A gRPC server on the API server's TLS credentials whose one method answers who the authenticator says the caller is. */
async function whoAmIServer(t: { teardown(fn: () => Promise<void> | void): void }, auth: RequestAuthenticator): Promise<string> {
  const tls = await testTls();
  const server = new grpc.Server();
  const codec = { serialize: (s: string) => Buffer.from(s), deserialize: (b: Buffer) => b.toString() };
  server.addService(
    {
      whoami: {
        path: '/test.Who/Am',
        requestStream: false,
        responseStream: false,
        requestSerialize: codec.serialize,
        requestDeserialize: codec.deserialize,
        responseSerialize: codec.serialize,
        responseDeserialize: codec.deserialize,
      },
    },
    {
      whoami: (call: grpc.ServerUnaryCall<string, string>, callback: grpc.sendUnaryData<string>) => {
        try {
          const user = auth.authenticate(call);
          callback(null, user === undefined ? 'anonymous' : `${user.name} ${user.groups.join(',')}`);
        } catch (err) {
          callback({ code: grpc.status.UNAUTHENTICATED, details: `${(err as Error).constructor.name}: ${errorMessage(err)}` });
        }
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', servingCredentials(new ServingCertificateProvider(tls.serving)), (err, p) => (err ? reject(err) : resolve(p))),
  );
  t.teardown(() => server.forceShutdown());
  return `127.0.0.1:${port}`;
}

function whoAmI(address: string, creds: ClientCredentials): Promise<string> {
  const client = new grpc.Client(address, channelCredentials(creds), { 'grpc.ssl_target_name_override': 'localhost' });
  const md = new grpc.Metadata();
  if (creds.token !== undefined) md.set('authorization', `Bearer ${creds.token}`);
  return new Promise<string>((resolve) =>
    client.makeUnaryRequest(
      '/test.Who/Am',
      (s: string) => Buffer.from(s),
      (b: Buffer) => b.toString(),
      'who',
      md,
      (err, res) => {
        client.close();
        resolve(err ? `error: ${err.details}` : (res ?? ''));
      },
    ),
  );
}

test('the authenticator on real TLS connections: certificates of the CA, of another CA, expired; tokens; anonymous', async (t) => {
  const tls = await testTls();
  const tokens = parseTokenFile('s3cret,bench,1000,"system:masters"\n', 'tokens.csv').tokens;
  const address = await whoAmIServer(t, new RequestAuthenticator({ clientCaPem: tls.ca.certPem, tokens }));
  const ca = { caPem: tls.ca.certPem };

  t.is(await whoAmI(address, tls.admin), 'admin system:masters,system:authenticated');
  t.is(await whoAmI(address, await tls.credentialsFor('system:node:n1', ['system:nodes'])), 'system:node:n1 system:nodes,system:authenticated');
  t.is(await whoAmI(address, ca), 'anonymous', 'no certificate, no token: anonymous (the gate refuses it)');
  t.is(await whoAmI(address, { ...ca, token: 's3cret' }), 'bench system:masters,system:authenticated');
  t.is(await whoAmI(address, { ...ca, token: 'wrong' }), `error: ${UnauthorizedError.name}: invalid bearer token`);

  // The TLS layer verifies the client certificate against the CA; grpc-js
  // reports a peer certificate only when it verified, so one of another CA
  // never names a user: the call is anonymous, and the gate refuses it.
  const other = await createCA('another-cluster');
  const foreign = await issue(other, { commonName: 'admin', organizations: ['system:masters'] }, { usage: 'client' });
  t.is(await whoAmI(address, { ...ca, certPem: foreign.certPem, keyPem: foreign.keyPem }), 'anonymous');
  t.is(await whoAmI(address, { ...ca, certPem: foreign.certPem, keyPem: foreign.keyPem, token: 's3cret' }), 'bench system:masters,system:authenticated');

  // A certificate that verified at the handshake but has expired since (a long-lived connection, a skewed clock).
  const expiring = await issue(tls.ca, { commonName: 'alice' }, { usage: 'client', validityDays: 1 });
  const later = new Date(Date.now() + 2 * 86_400_000);
  const address2 = await whoAmIServer(t, new RequestAuthenticator({ clientCaPem: tls.ca.certPem, now: () => later }));
  t.regex(
    await whoAmI(address2, { ...ca, certPem: expiring.certPem, keyPem: expiring.keyPem }),
    /^error: UnauthorizedError: x509: certificate has expired or is not yet valid: current time \S+ is after \S+$/,
  );
});

/** GET /health of the embedded etcd with the given TLS material; the status code, or the connection error's code. */
function etcdHealth(url: string, opts: { ca: string; cert?: string; key?: string }): Promise<string> {
  return new Promise((resolve) => {
    const req = httpsRequest(`${url}/health`, { ...opts, servername: 'localhost', timeout: 5000 }, (res) => {
      res.resume();
      resolve(String(res.statusCode));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    req.end();
  });
}

test('tsk apiserver: PKI files 0600 reused on restart, admin.conf works, the embedded etcd only opens to the API server', async (t) => {
  const dir = tempDir(t, 'tsk-apiserver-tls-');
  const flags = parseFlags([
    '--data-dir',
    dir,
    '--address',
    '127.0.0.1:0',
    '--http-address',
    '127.0.0.1:0',
    '--write-config=false',
    '--tls-san',
    'api.example.test',
  ]);
  const lines: string[] = [];
  let running = await startWithEtcd(flags, (l) => lines.push(l));
  let stopped = false;
  t.teardown(() => (stopped ? undefined : running.stop()));

  for (const f of ['ca.key', 'server.key', 'admin.key', 'etcd-client.key', 'etcd-server.key', 'ca.crt'])
    t.is((await stat(join(dir, 'tls', f))).mode & 0o777, 0o600, f);
  t.is((await stat(join(dir, 'tls'))).mode & 0o777, 0o700);
  t.is((await stat(adminConfigPath(dir))).mode & 0o777, 0o600);
  const serving = new X509Certificate(await readFile(join(dir, 'tls', 'server.crt')));
  t.is(serving.checkHost('api.example.test'), 'api.example.test', '--tls-san is in the certificate');

  const target = await resolveClient({ kubeconfig: adminConfigPath(dir), env: {} });
  const cs = new Clientset(target.server, target.credentials);
  t.teardown(() => cs.close());
  t.truthy((await cs.namespaces.get('kube-system')).metadata?.uid);
  // The admin kubeconfig (--write-kubeconfig's default) takes Debian's kubectl to the REST API.
  const kubeconfig = join(dir, 'admin.kubeconfig');
  t.is((await stat(kubeconfig)).mode & 0o777, 0o600);
  const kubectl = await runProcess('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'kube-cache'), 'get', 'namespaces', '-o', 'name'], {
    env: { HOME: dir, KUBECONFIG: '' },
    timeoutMs: 60_000,
  });
  t.is(kubectl.stdout, 'namespace/default\nnamespace/kube-node-lease\nnamespace/kube-system\n', kubectl.stderr);
  // Secrets are encrypted with the key made in the data dir on this first start.
  t.is((await stat(join(dir, 'encryption-config.yaml'))).mode & 0o777, 0o600);
  t.regex(lines.join('\n'), /encryption at rest for secrets/);
  await cs.secrets.create({ metadata: { name: 'kept', namespace: 'default' }, stringData: { k: 'across-restarts' } });
  const keyFile = await readFile(join(dir, 'encryption-config.yaml'), 'utf8');

  const etcdUrl = /embedded etcd ready at (\S+)/.exec(lines.join('\n'))?.[1] ?? '';
  t.regex(etcdUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
  const ca = await readFile(join(dir, 'tls', 'ca.crt'), 'utf8');
  const etcdClient = { cert: await readFile(join(dir, 'tls', 'etcd-client.crt'), 'utf8'), key: await readFile(join(dir, 'tls', 'etcd-client.key'), 'utf8') };
  t.is(await etcdHealth(etcdUrl, { ca, ...etcdClient }), '200', 'the API server certificate opens etcd');
  t.not(await etcdHealth(etcdUrl, { ca }), '200', 'no client certificate: refused');
  const other = await createCA('x');
  const stranger = await issue(other, { commonName: 'root' }, { usage: 'client' });
  t.not(await etcdHealth(etcdUrl, { ca, cert: stranger.certPem, key: stranger.keyPem }), '200', 'a certificate of another CA: refused');
  const plain = await fetch(etcdUrl.replace('https:', 'http:') + '/health').then(
    (r) => String(r.status),
    (e: Error) => e.message,
  );
  t.not(plain, '200', 'plain HTTP: refused');

  // A restart reuses the CA and certificates (the admin credential keeps working).
  const caBefore = ca;
  await running.stop();
  stopped = true;
  running = await startWithEtcd(flags, () => undefined);
  stopped = false;
  t.is(await readFile(join(dir, 'tls', 'ca.crt'), 'utf8'), caBefore);
  const again = await resolveClient({ kubeconfig: adminConfigPath(dir), env: {} });
  t.is(again.credentials.certPem, target.credentials.certPem);
  const cs2 = new Clientset(again.server, again.credentials);
  t.teardown(() => cs2.close());
  t.truthy((await cs2.namespaces.get('default')).metadata?.uid);
  t.is(await readFile(join(dir, 'encryption-config.yaml'), 'utf8'), keyFile, 'the key is kept');
  t.is(Buffer.from((await cs2.secrets.get('kept', 'default')).data?.['k'] ?? []).toString(), 'across-restarts');
});

test('a bad token file stops the start with one line naming it', async (t) => {
  const dir = tempDir(t, 'tsk-apiserver-tokens-');
  const file = join(dir, 'tokens.csv');
  await writeFile(file, 'only,two\n');
  const etcd = await startTestEtcd(t);
  const tls = await testTls();
  await t.throwsAsync(
    startApiServer({
      tls: tls.serving,
      tokenAuthFile: file,
      etcdServers: [etcd.etcd.clientUrl],
      address: '127.0.0.1:0',
      httpAddress: '127.0.0.1:0',
      log: () => undefined,
    }),
    { message: `token file '${file}' must have at least 3 columns (token, user name, user uid), found 2 on line 1` },
  );
});
