import test from 'ava';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { createCA, createCsr, generateKeyPem, signCsr, issue, caHash, certificateInfo } from './x509';

test('createCA: a self-signed P-256 CA whose key matches', async (t) => {
  const ca = await createCA('test-ca', 10);
  const cert = new X509Certificate(ca.certPem);
  t.true(cert.ca);
  t.is(cert.subject, 'CN=test-ca');
  t.true(cert.checkIssued(cert));
  t.true(cert.verify(cert.publicKey));
  t.true(cert.checkPrivateKey(createPrivateKey(ca.keyPem)));
  t.is(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  const days = (Date.parse(cert.validTo) - Date.now()) / 86_400_000;
  t.true(days > 9.9 && days <= 10);
});

test('generateKeyPem: PKCS#8 EC P-256', async (t) => {
  const pem = await generateKeyPem();
  t.true(pem.startsWith('-----BEGIN PRIVATE KEY-----'));
  const key = createPrivateKey(pem);
  t.is(key.asymmetricKeyType, 'ec');
  t.is(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
});

test('issue: a server certificate signed by the CA, with SANs and usage', async (t) => {
  const ca = await createCA('test-ca');
  const leaf = await issue(ca, { commonName: 'kube-apiserver' }, { usage: 'server', sans: { dns: ['localhost', 'node-1'], ips: ['127.0.0.1', '10.0.0.5'] } });
  const cert = new X509Certificate(leaf.certPem);
  const caCert = new X509Certificate(ca.certPem);
  t.false(cert.ca);
  t.true(cert.checkIssued(caCert));
  t.true(cert.verify(caCert.publicKey));
  t.true(cert.checkPrivateKey(createPrivateKey(leaf.keyPem)));
  t.is(cert.checkHost('node-1'), 'node-1');
  t.is(cert.checkIP('10.0.0.5'), '10.0.0.5');
  t.is(cert.checkIP('10.0.0.6'), undefined);
  t.is(cert.keyUsage?.join(), '1.3.6.1.5.5.7.3.1');
});

test('issue: a client certificate carries CN as user and O as groups', async (t) => {
  const ca = await createCA('test-ca');
  const leaf = await issue(ca, { commonName: 'system:node:n1', organizations: ['system:nodes', 'extra'] }, { usage: 'client' });
  const info = certificateInfo(leaf.certPem);
  t.deepEqual(info.subject, { commonName: 'system:node:n1', organizations: ['system:nodes', 'extra'] });
  t.is(new X509Certificate(leaf.certPem).keyUsage?.join(), '1.3.6.1.5.5.7.3.2');
});

test('issue: never outlives the CA', async (t) => {
  const ca = await createCA('short-ca', 2);
  const leaf = await issue(ca, { commonName: 'x' }, { usage: 'client', validityDays: 365 });
  t.true(certificateInfo(leaf.certPem).notAfter <= certificateInfo(ca.certPem).notAfter);
});

test('issue: a validity started long ago gives an expired certificate', async (t) => {
  const ca = await createCA('test-ca');
  const leaf = await issue(ca, { commonName: 'x' }, { usage: 'client', validityDays: 1, now: new Date(Date.now() - 10 * 86_400_000) });
  t.true(certificateInfo(leaf.certPem).notAfter.getTime() < Date.now() - 8 * 86_400_000);
});

test('signCsr: takes the key of the CSR; the subject can be overridden', async (t) => {
  const ca = await createCA('test-ca');
  const keyPem = await generateKeyPem();
  const csr = await createCsr(keyPem, { commonName: 'system:node:n1', organizations: ['system:nodes'] });
  t.true(csr.startsWith('-----BEGIN CERTIFICATE REQUEST-----'));
  const certPem = await signCsr(ca, csr, { usage: 'client+server', sans: { ips: ['10.0.0.7'] } });
  const cert = new X509Certificate(certPem);
  t.true(cert.checkPrivateKey(createPrivateKey(keyPem)));
  t.true(cert.verify(new X509Certificate(ca.certPem).publicKey));
  t.deepEqual(certificateInfo(certPem).subject, { commonName: 'system:node:n1', organizations: ['system:nodes'] });
  t.deepEqual(certificateInfo(certPem).sans, { dns: [], ips: ['10.0.0.7'] });
  const overridden = await signCsr(ca, csr, { usage: 'client', subject: { commonName: 'system:node:n2', organizations: ['system:nodes'] } });
  t.is(certificateInfo(overridden).subject.commonName, 'system:node:n2');
});

test('signCsr: a malformed CSR is refused with one line', async (t) => {
  const ca = await createCA('test-ca');
  await t.throwsAsync(signCsr(ca, 'not a csr', { usage: 'client' }), { message: /^certificate signing request: not a valid PEM/ });
});

test('certificateInfo: malformed PEM gives one clear line', (t) => {
  t.throws(() => certificateInfo('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'), {
    message: /^certificate: not a valid PEM X\.509 certificate/,
  });
});

test('caHash: sha256 of the DER, as node computes it', async (t) => {
  const ca = await createCA('test-ca');
  const fingerprint = new X509Certificate(ca.certPem).fingerprint256.replace(/:/g, '').toLowerCase();
  t.is(caHash(ca.certPem), fingerprint);
  t.regex(caHash(ca.certPem), /^[0-9a-f]{64}$/);
});

test('a certificate of another CA does not verify', async (t) => {
  const ca = await createCA('a');
  const other = await createCA('b');
  const leaf = await issue(other, { commonName: 'x' }, { usage: 'client' });
  t.false(new X509Certificate(leaf.certPem).verify(new X509Certificate(ca.certPem).publicKey));
});
