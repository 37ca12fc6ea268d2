import test from 'ava';
import { request } from 'node:http';
import { Registry } from 'prom-client';
import { listenProxyHealthServer } from './health';
import type { ProxyHealth } from './proxier';

function get(address: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`http://${address}${path}`, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test("/healthz and /livez answer as kube-proxy's: 200 when synced lately, 503 with the reason when stale; /readyz and /metrics too", async (t) => {
  let health: ProxyHealth = { healthy: true, lastUpdated: Date.UTC(2026, 0, 1, 12), currentTime: Date.UTC(2026, 0, 1, 12, 0, 5) };
  const registry = new Registry();
  const server = await listenProxyHealthServer('127.0.0.1:0', registry, () => health);
  t.teardown(() => server.close());
  const ok = await get(server.address, '/healthz');
  t.is(ok.status, 200);
  t.deepEqual(JSON.parse(ok.body), { lastUpdated: '2026-01-01T12:00:00.000Z', currentTime: '2026-01-01T12:00:05.000Z' });
  t.is((await get(server.address, '/readyz')).status, 200);
  health = { healthy: false, lastUpdated: undefined, currentTime: Date.UTC(2026, 0, 1), reason: 'the rules have not been synced yet' };
  const stale = await get(server.address, '/livez');
  t.is(stale.status, 503);
  t.deepEqual(JSON.parse(stale.body), { lastUpdated: '', currentTime: '2026-01-01T00:00:00.000Z', reason: 'the rules have not been synced yet' });
  const ready = await get(server.address, '/readyz');
  t.is(ready.status, 503);
  t.regex(ready.body, /not been synced/);
  t.is((await get(server.address, '/metrics')).status, 200);
});

test('a bad or busy address is an error naming it', async (t) => {
  await t.throwsAsync(
    listenProxyHealthServer('10256', new Registry(), () => ({ healthy: true, lastUpdated: 0, currentTime: 0 })),
    { message: /"10256" is not HOST:PORT/ },
  );
  const first = await listenProxyHealthServer('127.0.0.1:0', new Registry(), () => ({ healthy: true, lastUpdated: 0, currentTime: 0 }));
  t.teardown(() => first.close());
  await t.throwsAsync(
    listenProxyHealthServer(first.address, new Registry(), () => ({ healthy: true, lastUpdated: 0, currentTime: 0 })),
    {
      message: new RegExp(`cannot listen on ${first.address.replace(/\./g, '\\.')}`),
    },
  );
});

test('beyond loopback the proxy serves no plaintext: without a certificate it refuses to listen', async (t) => {
  const registry = new Registry();
  const healthy = (): ProxyHealth => ({ healthy: true, lastUpdated: 0, currentTime: 0 });
  await t.throwsAsync(listenProxyHealthServer('0.0.0.0:0', registry, healthy), {
    message: "the proxy's health server on 0.0.0.0:0 is beyond loopback: it is served over HTTPS only, and the proxy has no serving certificate",
  });
});
