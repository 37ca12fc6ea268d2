import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { certificateInfo, createCA, issue } from '../util/pki';
import { JoinError } from './bootstrap';
import { nodeServing, selfSignedServing, servingCertCurrent, servingIps, wantedSans } from './serving-cert';

test('the names: the node name, then its IPs and the bound IP when specific', (t) => {
  t.deepEqual(servingIps('10.0.0.5:10248', ['10.0.0.5']), ['10.0.0.5']);
  t.deepEqual(servingIps('0.0.0.0:10248', ['10.0.0.5', '']), ['10.0.0.5']);
  t.deepEqual(servingIps('[::]:10248', []), []);
  t.deepEqual(servingIps('[2001:db8::5]:10248', ['10.0.0.5']), ['10.0.0.5', '2001:db8::5']);
  t.deepEqual(wantedSans('n1', ['10.0.0.5', '10.0.0.5']), ['n1', '10.0.0.5']);
});

test('a kept certificate is served while it names exactly what is wanted and is not due for renewal', async (t) => {
  const ca = await createCA('test-ca');
  const cert = (await issue(ca, { commonName: 'system:node:n1' }, { usage: 'server', sans: { dns: ['n1'], ips: ['10.0.0.5'] } })).certPem;
  const now = new Date();
  t.true(servingCertCurrent(cert, ['n1', '10.0.0.5'], now));
  t.true(servingCertCurrent(cert, ['10.0.0.5', 'n1'], now), 'order does not matter');
  t.false(servingCertCurrent(cert, ['n1', '10.0.0.6'], now), 'the node IP changed');
  t.false(servingCertCurrent(cert, ['n1'], now));
  t.false(servingCertCurrent(cert, ['n1', '10.0.0.5'], new Date(now.getTime() + 300 * 24 * 3600 * 1000)), 'in its last third');
});

test('loopback is plain HTTP with nothing asked; beyond it, no client certificate is a refusal naming the flag', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-serving-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const opts = { server: '127.0.0.1:1', credentials: { token: 'abc' }, nodeName: 'n1', nodeIPs: [], dir };
  t.is((await nodeServing('--http-address', '127.0.0.1:10248', opts)).tls, undefined);
  const err = await t.throwsAsync(nodeServing('--http-address', '0.0.0.0:10248', opts), { instanceOf: JoinError });
  t.is(
    err?.message,
    '--http-address 0.0.0.0:10248 is beyond loopback, so it is served over HTTPS only, and no serving certificate can be had: a serving certificate is asked for with a client certificate: join with --token, or use a client config whose context has one',
  );
  t.deepEqual(fs.readdirSync(dir), [], 'nothing written');
});

test("selfSignedServing: a certificate for the node's name and IPs from a throwaway CA, served with its chain; clients still checked against the cluster CA", async (t) => {
  const cluster = await createCA('cluster');
  const tls = await selfSignedServing('node-1', ['10.0.0.5'], cluster.certPem, () => new Date(1_700_000_000_000));
  t.is(tls.caPem, cluster.certPem);
  const info = certificateInfo(tls.certPem);
  t.deepEqual(info.sans.dns, ['node-1']);
  t.deepEqual(info.sans.ips, ['10.0.0.5']);
  t.is((tls.certPem.match(/BEGIN CERTIFICATE/g) ?? []).length, 2, 'the leaf and its CA');
  t.regex(tls.certPem.split('-----END CERTIFICATE-----')[1] ?? '', /BEGIN CERTIFICATE/);
});
