import test from 'ava';
import { httpTls, type ServingHttp } from './http-tls';

const serving: ServingHttp = { caPem: 'CA', server: { certPem: 'CERT', keyPem: 'KEY' }, onRenewed: () => undefined };

test('loopback stays plain HTTP, with or without a certificate', (t) => {
  t.is(httpTls('127.0.0.1:6080', serving), undefined);
  t.is(httpTls('localhost:6080', undefined), undefined);
  t.is(httpTls('[::1]:6080', serving), undefined);
});

test("beyond loopback: HTTPS with the API server's certificate and the cluster CA for client certificates", (t) => {
  t.deepEqual(httpTls('0.0.0.0:6080', serving), { caPem: 'CA', certPem: 'CERT', keyPem: 'KEY' });
  t.deepEqual(httpTls('10.0.0.5:6080', serving), { caPem: 'CA', certPem: 'CERT', keyPem: 'KEY' });
});

test('beyond loopback without a certificate (the plaintext benchmark mode) is refused, naming the flag', (t) => {
  t.throws(() => httpTls('0.0.0.0:6080', undefined), { message: /^--http-address 0\.0\.0\.0:6080 is beyond loopback, so it is served over HTTPS only/ });
});
