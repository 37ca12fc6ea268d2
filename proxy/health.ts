// The proxy's HTTP port (kube-proxy's 10256): /healthz and /livez answer as
// kube-proxy's do, 200 or 503 with {"lastUpdated", "currentTime"}, 503 when
// the rules have not been synced for too long; /readyz and /metrics are the
// shared health server's (util/health-server.ts).

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { createHealthServer, type ListeningHealthServer } from '../util/health-server';
import type { ProxyHealth } from './proxier';

export const DEFAULT_HTTP_ADDRESS = '127.0.0.1:10256';

function healthBody(h: ProxyHealth): string {
  const iso = (ms: number | undefined): string => (ms === undefined ? '' : new Date(ms).toISOString());
  return `${JSON.stringify({ lastUpdated: iso(h.lastUpdated), currentTime: iso(h.currentTime), ...(h.reason ? { reason: h.reason } : {}) })}\n`;
}

/** Listens on HOST:PORT; the error names the address. */
export async function listenProxyHealthServer(address: string, registry: Registry, health: () => ProxyHealth): Promise<ListeningHealthServer> {
  const m = /^(.+):(\d+)$/.exec(address);
  if (!m) throw new Error(`--http-address "${address}" is not HOST:PORT`);
  const shared = createHealthServer({
    registry,
    checkReady: async () => {
      const h = health();
      if (!h.healthy) throw new Error(h.reason ?? 'not healthy');
    },
  });
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if ((path === '/healthz' || path === '/livez') && (req.method === 'GET' || req.method === 'HEAD')) {
      const h = health();
      res.writeHead(h.healthy ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      res.end(healthBody(h));
      return;
    }
    shared.emit('request', req, res); // every other path: the shared server's handler
  });
  const host = (m[1] ?? '').replace(/^\[(.*)\]$/, '$1');
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`cannot listen on ${address} for the proxy's health server: ${err.message}`)));
    server.listen(Number(m[2]), host, () => resolve());
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound ? bound.port : Number(m[2]);
  return {
    address: `${m[1]}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
