import test from 'ava';
import { createCA, issue } from '../util/pki';
import { channelCredentials, ipTarget } from './connection';

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
