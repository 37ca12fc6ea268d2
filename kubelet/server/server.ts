// The kubelet's port (--address:--port, 10250 by default): HTTPS with the
// node's serving certificate, every request authenticated (a client
// certificate of the cluster CA) and authorized (auth.ts) before it is
// served, as the kubelet's authenticated port in Kubernetes:
//   /metrics            the kubelet's own metrics
//   /metrics/cadvisor   per-container metrics (cAdvisor's names and labels)
//   /metrics/resource   the resource metrics metrics-server reads
//   /healthz            "ok"
// The unauthenticated /healthz port (--http-address) stays as it is.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Registry } from 'prom-client';
import { errorMessage } from '../../util/errors';
import { listenHttpsServer, type HealthTls, type ListeningHealthServer } from '../../util/health-server';
import { authorize, forbiddenMessage, subresourceOf, userOfCertificate, verbOf, type CertSubject, type KubeletUser } from './auth';

export interface KubeletServerDeps {
  nodeName: string;
  /** The kubelet's own metrics (/metrics). */
  registry: Registry;
  /** The text of /metrics/cadvisor, collected on each call. */
  cadvisor(): Promise<string>;
  /** The text of /metrics/resource, collected on each call. */
  resource(): Promise<string>;
}

/** The Prometheus text format's content type. */
const METRICS_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

function send(res: ServerResponse, code: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.end(body);
}

/** The caller, or the reason it is not authenticated. */
function authenticate(req: IncomingMessage): KubeletUser | string {
  if (/^bearer\s/i.test(req.headers.authorization ?? '')) {
    // The API server offers no TokenReview to check a token with: only certificates are accepted.
    return 'bearer tokens are not accepted on this port; use a client certificate of the cluster CA';
  }
  const socket = req.socket as TLSSocket;
  if (!socket.authorized) return 'a client certificate of the cluster CA is required';
  const user = userOfCertificate(socket.getPeerCertificate().subject as CertSubject | undefined);
  return user ?? 'the client certificate names no user (no CN)';
}

/** The request handler: authenticate, authorize, then serve the path. */
export function kubeletHandler(deps: KubeletServerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const metricsOf = (res: ServerResponse, text: () => Promise<string>, type: string): void => {
    text().then(
      (body) => send(res, 200, body, type),
      (err: unknown) => send(res, 500, `metrics failed: ${errorMessage(err)}\n`),
    );
  };
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const user = authenticate(req);
    if (typeof user === 'string') {
      send(res, 401, `Unauthorized: ${user}\n`);
      return;
    }
    const attrs = { verb: verbOf(req.method ?? ''), subresource: subresourceOf(path), name: deps.nodeName };
    if (!authorize(user, attrs)) {
      send(res, 403, `${forbiddenMessage(user, attrs)}\n`);
      return;
    }
    if (attrs.verb !== 'get') {
      send(res, 405, 'method not allowed\n');
      return;
    }
    switch (path) {
      case '/healthz':
        send(res, 200, 'ok');
        return;
      case '/metrics':
        metricsOf(res, () => deps.registry.metrics(), deps.registry.contentType);
        return;
      case '/metrics/cadvisor':
        metricsOf(res, () => deps.cadvisor(), METRICS_TYPE);
        return;
      case '/metrics/resource':
        metricsOf(res, () => deps.resource(), METRICS_TYPE);
        return;
      default:
        send(res, 404, `404 page not found: ${path}; this port serves /metrics, /metrics/cadvisor, /metrics/resource and /healthz\n`);
    }
  };
}

/** Serves the kubelet's port on HOST:PORT; setTls swaps in a renewed certificate. */
export function listenKubeletServer(address: string, deps: KubeletServerDeps, tls: HealthTls): Promise<ListeningHealthServer> {
  return listenHttpsServer(address, kubeletHandler(deps), tls, "the kubelet's port");
}
