// The proxy's HTTP port (kube-proxy's 10256), served by the shared health
// server (util/health-server.ts). What is the proxy's own: /healthz and
// /livez answer as kube-proxy's do, 200 or 503 with {"lastUpdated",
// "currentTime"}, 503 when the rules have not been synced for too long; and
// /readyz fails for the same reason.

import type { Registry } from 'prom-client';
import { listenHealthServer, needsHttps, type HealthAnswer, type HealthTls, type ListeningHealthServer } from '../util/health-server';
import type { ProxyHealth } from './proxier';

export const DEFAULT_HTTP_ADDRESS = '127.0.0.1:10256';

/** kube-proxy's healthz body; its times are Go's time.Time in JSON (RFC 3339 with fractions), not metav1.Time. */
function healthAnswer(h: ProxyHealth): HealthAnswer {
  const iso = (ms: number | undefined): string => (ms === undefined ? '' : new Date(ms).toISOString());
  const body = `${JSON.stringify({ lastUpdated: iso(h.lastUpdated), currentTime: iso(h.currentTime), ...(h.reason ? { reason: h.reason } : {}) })}\n`;
  return { code: h.healthy ? 200 : 503, body, contentType: 'application/json' };
}

/**
 * Listens on HOST:PORT, HTTPS with `tls` (the node's serving certificate),
 * which an address beyond loopback requires; the error names the address.
 */
export async function listenProxyHealthServer(address: string, registry: Registry, health: () => ProxyHealth, tls?: HealthTls): Promise<ListeningHealthServer> {
  if (tls === undefined && needsHttps(address, "the proxy's health server")) {
    throw new Error(`the proxy's health server on ${address} is beyond loopback: it is served over HTTPS only, and the proxy has no serving certificate`);
  }
  return listenHealthServer(
    address,
    {
      registry,
      checkReady: async () => {
        const h = health();
        if (!h.healthy) throw new Error(h.reason ?? 'not healthy');
      },
      live: () => healthAnswer(health()),
    },
    "the proxy's health server",
    tls,
  );
}
