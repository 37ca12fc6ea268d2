// Every component's HTTP port (the API server's beside gRPC, the
// scheduler's, the controller manager's, the kubelet's, the proxy's):
// /healthz and /livez (the process serves), /readyz (the component's own
// readiness check; 503 with the reason otherwise) and /metrics (Prometheus
// text format), as Kubernetes' components serve them.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { errorMessage } from './errors';

export interface HealthDeps {
  /** The component's metrics. */
  registry: Registry;
  /**
   * More registries served on the same /metrics (tsk server runs the API
   * server, scheduler and controllers in one process, on one port). Their
   * metric names must not collide.
   */
  extra?: readonly Registry[];
  /** Resolves when ready; rejects with the reason when not. */
  checkReady: () => Promise<void>;
  /**
   * The component's own /healthz and /livez answer (kube-proxy's is JSON and
   * 503 when its rules are stale); default 200 "ok" while the process serves.
   */
  live?: () => HealthAnswer;
}

export interface HealthAnswer {
  readonly code: number;
  readonly body: string;
  /** Default text/plain. */
  readonly contentType?: string;
}

export interface ListeningHealthServer {
  /** HOST:PORT actually bound (port 0 is resolved). */
  readonly address: string;
  close(): Promise<void>;
}

function send(res: ServerResponse, code: number, body: string, type = 'text/plain; charset=utf-8'): void {
  // nosniff as Kubernetes' healthz handlers send it: the body is never to be taken for HTML.
  res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.end(body);
}

export function createHealthServer(deps: HealthDeps): Server {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'method not allowed\n');
      return;
    }
    switch (path) {
      case '/healthz':
      case '/livez': {
        const answer = deps.live?.() ?? { code: 200, body: 'ok\n' };
        send(res, answer.code, answer.body, answer.contentType);
        return;
      }
      case '/readyz':
        deps.checkReady().then(
          () => send(res, 200, 'ok\n'),
          (err: unknown) => send(res, 503, `not ready: ${errorMessage(err)}\n`),
        );
        return;
      case '/metrics':
        Promise.all([deps.registry, ...(deps.extra ?? [])].map((r) => r.metrics())).then(
          (texts) => send(res, 200, texts.join('\n'), deps.registry.contentType),
          (err: unknown) => send(res, 500, `metrics failed: ${errorMessage(err)}\n`),
        );
        return;
      default:
        send(res, 404, `not found: ${path ?? ''}; try /healthz, /readyz, /livez or /metrics\n`);
    }
  });
}

/** Creates the server and listens on HOST:PORT; the error names the address and what it was for. */
export async function listenHealthServer(address: string, deps: HealthDeps, what = 'HTTP'): Promise<ListeningHealthServer> {
  const m = /^(.+):(\d+)$/.exec(address);
  if (!m) throw new Error(`${what} address "${address}" is not HOST:PORT`);
  const host = (m[1] ?? '').replace(/^\[(.*)\]$/, '$1');
  const server = createHealthServer(deps);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`cannot listen on ${address} for ${what}: ${err.message}`)));
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
