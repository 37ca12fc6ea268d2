import test from 'ava';
import { request } from 'node:http';
import { Registry } from 'prom-client';
import { request as httpsRequest } from 'node:https';
import { isLoopbackHost, listenHealthServer, needsHttps, type HealthDeps, type HealthTls } from './health-server';
import { createCA, issue } from './pki';

interface Reply {
  status: number;
  type: string;
  nosniff: string;
  body: string;
}

function send(address: string, path: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(`http://${address}${path}`, { method }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), nosniff: String(res.headers['x-content-type-options']), body }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

async function serve(t: { teardown(fn: () => Promise<void>): void }, deps: HealthDeps): Promise<string> {
  const server = await listenHealthServer('127.0.0.1:0', deps, 'the test');
  t.teardown(() => server.close());
  return server.address;
}

test('/healthz and /livez: ok while the process serves; /readyz from checkReady; /metrics from every registry', async (t) => {
  let ready: Error | undefined = new Error('informers not synced');
  const registry = new Registry();
  const extra = new Registry();
  const address = await serve(t, {
    registry,
    extra: [extra],
    checkReady: async () => {
      if (ready) throw ready;
    },
  });
  for (const path of ['/healthz', '/livez']) t.like(await send(address, path), { status: 200, body: 'ok\n', nosniff: 'nosniff' });
  t.like(await send(address, '/readyz'), { status: 503, body: 'not ready: informers not synced\n' });
  ready = undefined;
  t.like(await send(address, '/readyz?verbose'), { status: 200, body: 'ok\n' });
  t.is((await send(address, '/metrics')).status, 200);
  t.like(await send(address, '/nothing'), { status: 404, body: 'not found: /nothing; try /healthz, /readyz, /livez or /metrics\n' });
  t.like(await send(address, '/healthz', 'POST'), { status: 405 });
});

test("a component's own liveness answer replaces the default on /healthz and /livez", async (t) => {
  let healthy = true;
  const address = await serve(t, {
    registry: new Registry(),
    checkReady: async () => undefined,
    live: () => ({ code: healthy ? 200 : 503, body: `{"healthy":${healthy}}\n`, contentType: 'application/json' }),
  });
  t.like(await send(address, '/healthz'), { status: 200, type: 'application/json', body: '{"healthy":true}\n' });
  healthy = false;
  t.like(await send(address, '/livez'), { status: 503, type: 'application/json', body: '{"healthy":false}\n' });
});

test('a bad or busy address is an error naming it and the server', async (t) => {
  const deps: HealthDeps = { registry: new Registry(), checkReady: async () => undefined };
  await t.throwsAsync(listenHealthServer('10248', deps, 'the kubelet'), { message: 'the kubelet address "10248" is not HOST:PORT' });
  const address = await serve(t, deps);
  await t.throwsAsync(listenHealthServer(address, deps, 'the kubelet'), {
    message: new RegExp(`^cannot listen on ${address.replace(/\./g, '\\.')} for the kubelet: `),
  });
});

test('plain HTTP on loopback only: 127.0.0.0/8, ::1 and localhost', (t) => {
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) t.true(isLoopbackHost(h), h);
  for (const h of ['0.0.0.0', '::', '10.0.0.5', '192.0.2.1', 'node-1', '2001:db8::1']) t.false(isLoopbackHost(h), h);
  t.false(needsHttps('127.0.0.1:10248'));
  t.false(needsHttps('[::1]:10248'));
  t.true(needsHttps('0.0.0.0:10248'));
  t.true(needsHttps('[::]:10256'));
  t.throws(() => needsHttps('10248', 'the kubelet'), { message: 'the kubelet address "10248" is not HOST:PORT' });
});

interface TlsReply {
  status: number;
  body: string;
}

function sendTls(address: string, path: string, ca: string, client?: { certPem: string; keyPem: string }): Promise<TlsReply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(`https://${address}${path}`, { ca, ...(client ? { cert: client.certPem, key: client.keyPem } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('HTTPS: /healthz, /livez and /readyz open; /metrics only with a client certificate of the cluster CA', async (t) => {
  const ca = await createCA('test-ca');
  const serving = await issue(ca, { commonName: 'system:node:n1' }, { usage: 'server', sans: { ips: ['127.0.0.1'] } });
  const client = await issue(ca, { commonName: 'admin', organizations: ['system:masters'] }, { usage: 'client' });
  const other = await createCA('another-ca');
  const stranger = await issue(other, { commonName: 'admin' }, { usage: 'client' });
  const tls: HealthTls = { caPem: ca.certPem, certPem: serving.certPem, keyPem: serving.keyPem };
  const registry = new Registry();
  const server = await listenHealthServer('127.0.0.1:0', { registry, checkReady: async () => undefined }, 'the test', tls);
  t.teardown(() => server.close());
  t.is(server.scheme, 'https');
  for (const path of ['/healthz', '/livez', '/readyz']) t.is((await sendTls(server.address, path, ca.certPem)).status, 200, path);
  const anonymous = await sendTls(server.address, '/metrics', ca.certPem);
  t.is(anonymous.status, 401);
  t.is(anonymous.body, 'Unauthorized: /metrics needs a client certificate of the cluster CA\n');
  t.is((await sendTls(server.address, '/metrics', ca.certPem, stranger)).status, 401, "another CA's certificate does not open it");
  t.is((await sendTls(server.address, '/metrics', ca.certPem, client)).status, 200);
  // A renewed certificate is served from the next connection on.
  const renewed = await issue(ca, { commonName: 'system:node:n1' }, { usage: 'server', sans: { ips: ['127.0.0.1'] } });
  server.setTls({ ...tls, certPem: renewed.certPem, keyPem: renewed.keyPem });
  t.is((await sendTls(server.address, '/healthz', ca.certPem)).status, 200);
  await t.throwsAsync(send(server.address, '/healthz'), undefined, 'no plain HTTP on the HTTPS port');
});

test('plain HTTP beyond loopback is refused before anything is bound', async (t) => {
  const registry = new Registry();
  await t.throwsAsync(listenHealthServer('0.0.0.0:0', { registry, checkReady: async () => undefined }, 'the scheduler HTTP server'), {
    message: /^the scheduler HTTP server: 0\.0\.0\.0:0 is beyond loopback, where only HTTPS is served, and there is no serving certificate for it/,
  });
});
