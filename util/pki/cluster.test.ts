import test from 'ava';
import { promises as fs } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadOrCreateClusterPki } from './cluster';
import { certificateInfo } from './x509';

async function tempDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'tsk-pki-'));
}

test('first start creates the CA and the leaves, files 0600, dir 0700', async (t) => {
  const dataDir = await tempDir();
  t.teardown(() => fs.rm(dataDir, { recursive: true, force: true }));
  const pki = await loadOrCreateClusterPki(dataDir, { sans: { dns: ['node-1'], ips: ['10.0.0.5'] } });
  t.is((await fs.stat(pki.dir)).mode & 0o777, 0o700);
  const files = await fs.readdir(pki.dir);
  t.deepEqual(files.sort(), [
    'admin.crt',
    'admin.key',
    'ca.crt',
    'ca.key',
    'etcd-client.crt',
    'etcd-client.key',
    'etcd-peer-ca.crt',
    'etcd-peer-ca.key',
    'etcd-peer.crt',
    'etcd-peer.key',
    'etcd-server.crt',
    'etcd-server.key',
    'server.crt',
    'server.key',
  ]);
  for (const f of files) t.is((await fs.stat(path.join(pki.dir, f))).mode & 0o777, 0o600, f);
  const ca = new X509Certificate(pki.ca.certPem);
  for (const leaf of [pki.server, pki.admin, pki.etcdServer, pki.etcdClient]) t.true(new X509Certificate(leaf.certPem).verify(ca.publicKey));
  // etcd's peers trust their own CA, not the cluster CA: a client certificate of the cluster is no peer.
  const peer = new X509Certificate(pki.etcdPeer.certPem);
  t.true(peer.verify(new X509Certificate(pki.etcdPeerCa.certPem).publicKey));
  t.false(peer.verify(ca.publicKey));
  t.is(peer.checkIP('10.0.0.5'), '10.0.0.5');
  t.is(new X509Certificate(pki.etcdServer.certPem).checkIP('10.0.0.5'), '10.0.0.5');
  const server = new X509Certificate(pki.server.certPem);
  t.is(server.checkIP('127.0.0.1'), '127.0.0.1');
  t.is(server.checkIP('10.0.0.5'), '10.0.0.5');
  t.is(server.checkHost('localhost'), 'localhost');
  t.is(server.checkHost('node-1'), 'node-1');
  t.deepEqual(certificateInfo(pki.admin.certPem).subject, { commonName: 'admin', organizations: ['system:masters'] });
});

test('a second start reuses everything', async (t) => {
  const dataDir = await tempDir();
  t.teardown(() => fs.rm(dataDir, { recursive: true, force: true }));
  const first = await loadOrCreateClusterPki(dataDir, { sans: { ips: ['10.0.0.5'] } });
  const lines: string[] = [];
  const second = await loadOrCreateClusterPki(dataDir, { sans: { ips: ['10.0.0.5'] }, log: (l) => lines.push(l) });
  t.deepEqual(second, first);
  t.deepEqual(lines, []);
});

test('the server certificate is reissued when the names change, the CA kept', async (t) => {
  const dataDir = await tempDir();
  t.teardown(() => fs.rm(dataDir, { recursive: true, force: true }));
  const first = await loadOrCreateClusterPki(dataDir, { sans: { ips: ['10.0.0.5'] } });
  const lines: string[] = [];
  const second = await loadOrCreateClusterPki(dataDir, { sans: { ips: ['10.0.0.5', '10.0.0.6'] }, log: (l) => lines.push(l) });
  t.is(second.ca.certPem, first.ca.certPem);
  t.is(second.admin.certPem, first.admin.certPem);
  t.not(second.server.certPem, first.server.certPem);
  t.is(new X509Certificate(second.server.certPem).checkIP('10.0.0.6'), '10.0.0.6');
  // The serving certificate and etcd's two, which carry the server's names too (other servers reach them).
  t.is(lines.length, 3);
  t.deepEqual(lines.map((l) => /reissued \(names changed\) .*\/([a-z-]+\.crt)$/.exec(l)?.[1]).sort(), ['etcd-peer.crt', 'etcd-server.crt', 'server.crt']);
});

test('leaves are renewed near expiry', async (t) => {
  const dataDir = await tempDir();
  t.teardown(() => fs.rm(dataDir, { recursive: true, force: true }));
  const first = await loadOrCreateClusterPki(dataDir, { sans: {} });
  const later = new Date(Date.now() + 300 * 86_400_000);
  const second = await loadOrCreateClusterPki(dataDir, { sans: {}, now: later });
  t.is(second.ca.certPem, first.ca.certPem);
  t.not(second.server.certPem, first.server.certPem);
  t.not(second.admin.certPem, first.admin.certPem);
});

test('a CA with its key missing is an error, not a new CA', async (t) => {
  const dataDir = await tempDir();
  t.teardown(() => fs.rm(dataDir, { recursive: true, force: true }));
  await loadOrCreateClusterPki(dataDir, { sans: {} });
  await fs.rm(path.join(dataDir, 'tls', 'ca.key'));
  await t.throwsAsync(loadOrCreateClusterPki(dataDir, { sans: {} }), { message: /the cluster CA is incomplete/ });
});
