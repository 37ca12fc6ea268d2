import test from 'ava';
import { request } from 'node:http';
import { Registry } from 'prom-client';
import { listenHealthServer, type HealthDeps } from './health-server';

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
