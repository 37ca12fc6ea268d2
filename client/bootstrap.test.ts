import test from 'ava';
import { mkdtemp, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCA, issue } from '../util/pki';
import { credentialsDir, grpcTarget, joinedCredentials, JoinError, loadOrJoin } from './bootstrap';

// Nothing listens here: every case below must be decided before any call.
const NOWHERE = 'unix:/nonexistent/tsk-join-test.sock';

async function tempDir(t: import('ava').ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsk-join-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('a node keeps its credentials in DATA-DIR/agent (kubelet, proxy and agent share them), other components under their own name', (t) => {
  t.is(credentialsDir('/var/lib/tsk', 'node'), join('/var/lib/tsk', 'agent'));
  t.is(credentialsDir('/var/lib/tsk', 'scheduler'), join('/var/lib/tsk', 'scheduler'));
  t.is(credentialsDir('/var/lib/tsk', 'controller-manager'), join('/var/lib/tsk', 'controller-manager'));
});

test('https:// is dropped from the gRPC target', (t) => {
  t.is(grpcTarget('https://10.0.0.1:6443'), '10.0.0.1:6443');
  t.is(grpcTarget('https://server.example:6443/'), 'server.example:6443');
  t.is(grpcTarget('unix:/run/tsk/api.sock'), 'unix:/run/tsk/api.sock');
});

test('no credentials and no token: one line asking for --token; joinedCredentials leaves the choice to the config', async (t) => {
  const dir = join(await tempDir(t), 'agent');
  await t.throwsAsync(loadOrJoin({ server: NOWHERE, identity: 'node', nodeName: 'n1', dir }), {
    instanceOf: JoinError,
    message: `no credentials in ${dir} yet: give --token (or TSK_TOKEN) to join the cluster`,
  });
  t.is(await joinedCredentials({ server: NOWHERE, identity: 'node', nodeName: 'n1', dir }, {}), undefined);
});

test('malformed and short tokens are refused before anything is sent', async (t) => {
  const dir = join(await tempDir(t), 'agent');
  await t.throwsAsync(loadOrJoin({ server: NOWHERE, token: 'nope', identity: 'node', nodeName: 'n1', dir }), {
    instanceOf: JoinError,
    message: /^--token: the token has no "<id>\.<secret>" part/,
  });
  await t.throwsAsync(loadOrJoin({ server: NOWHERE, token: 'abcdef.0123456789abcdef', identity: 'node', nodeName: 'n1', dir }), {
    instanceOf: JoinError,
    message: /^--token: the short form <id>\.<secret> cannot verify the server/,
  });
  // TSK_TOKEN is read when --token is absent.
  await t.throwsAsync(joinedCredentials({ server: NOWHERE, identity: 'node', nodeName: 'n1', dir }, { TSK_TOKEN: 'nope' }), { message: /^--token: / });
});

test('kept credentials are used without a token; expired ones need the token again', async (t) => {
  const dir = join(await tempDir(t), 'agent');
  await mkdir(dir, { mode: 0o700 });
  const ca = await createCA('test-ca');
  const leaf = await issue(ca, { commonName: 'system:node:n1', organizations: ['system:nodes'] }, { usage: 'client', validityDays: 365 });
  await writeFile(join(dir, 'ca.crt'), ca.certPem);
  await writeFile(join(dir, 'client.crt'), leaf.certPem);
  await writeFile(join(dir, 'client.key'), leaf.keyPem, { mode: 0o600 });
  const creds = await loadOrJoin({ server: NOWHERE, identity: 'node', nodeName: 'n1', dir });
  t.deepEqual(creds, { caPem: ca.certPem, certPem: leaf.certPem, keyPem: leaf.keyPem });
  t.deepEqual(await joinedCredentials({ server: NOWHERE, identity: 'node', nodeName: 'n1', dir }, {}), creds);
  t.is((await stat(join(dir, 'client.key'))).mode & 0o777, 0o600);
  const later = new Date(Date.now() + 400 * 86_400_000);
  await t.throwsAsync(loadOrJoin({ server: NOWHERE, identity: 'node', nodeName: 'n1', dir, now: () => later }), {
    instanceOf: JoinError,
    message: /^the certificate in .*client\.crt expired on .*; give --token to join again$/,
  });
  await writeFile(join(dir, 'client.crt'), 'garbage');
  await t.throwsAsync(loadOrJoin({ server: NOWHERE, identity: 'node', nodeName: 'n1', dir }), {
    instanceOf: JoinError,
    message: /client\.crt: not a certificate .*; remove the directory and join again with --token$/,
  });
});
