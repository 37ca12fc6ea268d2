// The kubelet's port over real HTTPS on 127.0.0.1:0 (in-process, no root):
// authentication, authorization and routing.

import test from 'ava';
import { request as httpsRequest } from 'node:https';
import { Registry } from 'prom-client';
import { createCA, issue, type CertKey } from '../../util/pki';
import { listenKubeletServer } from './server';

interface Reply {
  status: number;
  body: string;
  type: string;
}

function get(address: string, path: string, ca: string, client?: CertKey, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(`https://${address}${path}`, { method, ca, headers, ...(client ? { cert: client.certPem, key: client.keyPem } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type'] ?? '') }));
    });
    req.on('error', reject);
    req.end();
  });
}

test("the kubelet's port: 401 without a certificate, with another CA's or with a bearer token; 403 without nodes/metrics; the paths for those allowed", async (t) => {
  const ca = await createCA('test-ca');
  const serving = await issue(ca, { commonName: 'system:node:n1' }, { usage: 'server', sans: { ips: ['127.0.0.1'] } });
  const admin = await issue(ca, { commonName: 'admin', organizations: ['system:masters'] }, { usage: 'client' });
  const prom = await issue(ca, { commonName: 'prometheus', organizations: ['system:monitoring'] }, { usage: 'client' });
  const bob = await issue(ca, { commonName: 'bob' }, { usage: 'client' });
  const stranger = await issue(await createCA('another-ca'), { commonName: 'admin', organizations: ['system:masters'] }, { usage: 'client' });
  const registry = new Registry();
  const server = await listenKubeletServer(
    '127.0.0.1:0',
    { nodeName: 'n1', registry, cadvisor: async () => 'container_scrape_error 0\n', resource: async () => 'scrape_error 0\n' },
    { caPem: ca.certPem, certPem: serving.certPem, keyPem: serving.keyPem },
  );
  t.teardown(() => server.close());
  const at = server.address;

  t.is((await get(at, '/metrics/cadvisor', ca.certPem)).status, 401);
  t.is((await get(at, '/healthz', ca.certPem)).status, 401, '/healthz is authenticated on this port too');
  t.is((await get(at, '/metrics/cadvisor', ca.certPem, stranger)).status, 401);
  const bearer = await get(at, '/metrics', ca.certPem, undefined, { authorization: 'Bearer abc' });
  t.is(bearer.status, 401);
  t.regex(bearer.body, /bearer tokens are not accepted/);

  const denied = await get(at, '/metrics/cadvisor', ca.certPem, bob);
  t.is(denied.status, 403);
  t.is(denied.body, 'Forbidden (user=bob, verb=get, resource=nodes, subresource=metrics)\n');

  const cadvisor = await get(at, '/metrics/cadvisor', ca.certPem, prom);
  t.deepEqual(cadvisor, { status: 200, body: 'container_scrape_error 0\n', type: 'text/plain; version=0.0.4; charset=utf-8' });
  t.is((await get(at, '/metrics/resource', ca.certPem, prom)).body, 'scrape_error 0\n');
  t.is((await get(at, '/metrics', ca.certPem, prom)).status, 200);
  t.is((await get(at, '/healthz', ca.certPem, prom)).body, 'ok');
  t.is((await get(at, '/pods', ca.certPem, prom)).status, 403, 'nodes/proxy is not for monitoring');
  t.is((await get(at, '/pods', ca.certPem, admin)).status, 404, 'admins pass; nothing is served there');
  t.is((await get(at, '/metrics', ca.certPem, admin, {}, 'POST')).status, 405);
});
