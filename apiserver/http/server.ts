// The HTTP port beside gRPC: /healthz and /livez (the process serves),
// /readyz (etcd reachable and the watch caches loaded; 503 with the reason
// otherwise) and /metrics (Prometheus text format).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ApiServerMetrics } from '../metrics';

export interface HttpDeps {
  metrics: ApiServerMetrics;
  /** Resolves when ready; rejects with the reason when not. */
  checkReady: () => Promise<void>;
}

function send(res: ServerResponse, code: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

export function createHttpServer(deps: HttpDeps): Server {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'method not allowed\n');
      return;
    }
    switch (path) {
      case '/healthz':
      case '/livez':
        send(res, 200, 'ok\n');
        return;
      case '/readyz':
        deps.checkReady().then(
          () => send(res, 200, 'ok\n'),
          (err: unknown) => send(res, 503, `not ready: ${err instanceof Error ? err.message : String(err)}\n`),
        );
        return;
      case '/metrics':
        deps.metrics.registry.metrics().then(
          (text) => send(res, 200, text, deps.metrics.registry.contentType),
          (err: unknown) => send(res, 500, `metrics failed: ${err instanceof Error ? err.message : String(err)}\n`),
        );
        return;
      default:
        send(res, 404, `not found: ${path ?? ''}; try /healthz, /readyz, /livez or /metrics\n`);
    }
  });
}
