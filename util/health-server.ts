// Every component's HTTP port (the API server's beside gRPC, the
// scheduler's, the controller manager's, the kubelet's, the proxy's):
// /healthz and /livez (the process serves), /readyz (the component's own
// readiness check; 503 with the reason otherwise) and /metrics (Prometheus
// text format), as Kubernetes' components serve them.
//
// The kubelet's and the proxy's ports beyond loopback speak HTTPS only
// (with the node's serving certificate), and /metrics there needs a client
// certificate of the cluster CA, as the kubelet's authenticated port;
// /healthz, /livez and /readyz stay open. On loopback they stay plain HTTP:
// only this machine reaches them.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Registry } from 'prom-client';
import { errorMessage } from './errors';

/** Prometheus text from somewhere (a prom-client Registry is one). */
export interface MetricsSource {
  metrics(): Promise<string>;
}

export interface HealthDeps {
  /** The component's metrics. */
  registry: Registry;
  /**
   * More metrics served on the same /metrics (tsk server runs the API
   * server, scheduler and controllers in one process, on one port): other
   * registries, or the text of those of another thread. Their metric names
   * must not collide.
   */
  extra?: readonly MetricsSource[];
  /** Resolves when ready, optionally with detail lines shown after "ok"; rejects with the reason when not. */
  checkReady: () => Promise<string | void>;
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

/** HTTPS: the serving certificate and key, and the CA whose client certificates open /metrics. */
export interface HealthTls {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

export interface ListeningHealthServer {
  /** HOST:PORT actually bound (port 0 is resolved). */
  readonly address: string;
  readonly scheme: 'http' | 'https';
  /** HTTPS only: serve a renewed certificate from the next connection on. */
  setTls(tls: HealthTls): void;
  close(): Promise<void>;
}

/** HOST of HOST:PORT, without IPv6 brackets; throws naming the flag's use when it is not HOST:PORT. */
function splitAddress(address: string, what: string): { host: string; port: number } {
  const m = /^(.+):(\d+)$/.exec(address);
  if (!m) throw new Error(`${what} address "${address}" is not HOST:PORT`);
  return { host: (m[1] ?? '').replace(/^\[(.*)\]$/, '$1'), port: Number(m[2]) };
}

/** 127.0.0.0/8, ::1 and localhost: addresses only this machine reaches. 0.0.0.0 and :: are every address, so not loopback. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || /^::ffff:127\./i.test(host);
}

/**
 * Whether a kubelet's or proxy's port at `address` must be HTTPS: anything
 * beyond loopback. Throws Error naming the address when it is not HOST:PORT.
 */
export function needsHttps(address: string, what = 'HTTP'): boolean {
  return !isLoopbackHost(splitAddress(address, what).host);
}

function send(res: ServerResponse, code: number, body: string, type = 'text/plain; charset=utf-8'): void {
  // nosniff as Kubernetes' healthz handlers send it: the body is never to be taken for HTML.
  res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.end(body);
}

/**
 * The server; with `tls`, HTTPS that asks for a client certificate (not
 * required: /healthz stays open) and answers /metrics only to one the
 * cluster CA signed, as the kubelet's authenticated port (401 otherwise).
 */
export function createHealthServer(deps: HealthDeps, tls?: HealthTls): Server {
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
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
          (detail) => send(res, 200, detail ? `ok\n${detail.endsWith('\n') ? detail : `${detail}\n`}` : 'ok\n'),
          (err: unknown) => send(res, 503, `not ready: ${errorMessage(err)}\n`),
        );
        return;
      case '/metrics':
        if (tls !== undefined && !(req.socket as TLSSocket).authorized) {
          send(res, 401, 'Unauthorized: /metrics needs a client certificate of the cluster CA\n');
          return;
        }
        Promise.all([deps.registry, ...(deps.extra ?? [])].map((r) => r.metrics())).then(
          (texts) => send(res, 200, texts.join('\n'), deps.registry.contentType),
          (err: unknown) => send(res, 500, `metrics failed: ${errorMessage(err)}\n`),
        );
        return;
      default:
        send(res, 404, `not found: ${path ?? ''}; try /healthz, /readyz, /livez or /metrics\n`);
    }
  };
  if (tls === undefined) return createServer(handler);
  return createHttpsServer({ ...secureOptions(tls), requestCert: true, rejectUnauthorized: false }, handler);
}

function secureOptions(tls: HealthTls): { ca: string; cert: string; key: string } {
  return { ca: tls.caPem, cert: tls.certPem, key: tls.keyPem };
}

/**
 * Creates the server (HTTPS with `tls`) and listens on HOST:PORT; the error
 * names the address and what it was for. Plain HTTP is for loopback only:
 * beyond it /metrics would answer anyone, so an address there without
 * `tls` is refused before anything is bound.
 */
export async function listenHealthServer(address: string, deps: HealthDeps, what = 'HTTP', tls?: HealthTls): Promise<ListeningHealthServer> {
  const { host, port: wanted } = splitAddress(address, what);
  if (tls === undefined && !isLoopbackHost(host)) {
    throw new Error(
      `${what}: ${address} is beyond loopback, where only HTTPS is served, and there is no serving certificate for it: use a loopback address such as 127.0.0.1:${wanted}`,
    );
  }
  return listenOn(createHealthServer(deps, tls), address, what, tls);
}

/**
 * An HTTPS server of the node's serving certificate with `handler` (the
 * kubelet's authenticated port), asking for a client certificate of
 * `tls.caPem` without requiring one: the handler decides (401 without).
 * Listens on HOST:PORT; the error names the address and what it was for.
 */
export function listenHttpsServer(
  address: string,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  tls: HealthTls,
  what: string,
): Promise<ListeningHealthServer> {
  const server = createHttpsServer({ ...secureOptions(tls), requestCert: true, rejectUnauthorized: false }, handler);
  return listenOn(server, address, what, tls);
}

async function listenOn(server: Server, address: string, what: string, tls: HealthTls | undefined): Promise<ListeningHealthServer> {
  const { port: wanted, host } = splitAddress(address, what);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`cannot listen on ${address} for ${what}: ${err.message}`)));
    server.listen(wanted, host, () => resolve());
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound ? bound.port : wanted;
  return {
    address: `${address.slice(0, address.lastIndexOf(':'))}:${port}`,
    scheme: tls === undefined ? 'http' : 'https',
    setTls: (next) => {
      if (tls === undefined) throw new Error(`${what} on ${address} is plain HTTP: it has no certificate to replace`);
      (server as unknown as import('node:https').Server).setSecureContext(secureOptions(next));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
