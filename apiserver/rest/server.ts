// The REST API's HTTPS listener (--rest-address): the cluster's serving
// certificate, client certificates of the cluster CA requested (not
// required: bearer tokens come without one) and verified by the TLS layer,
// HTTP/1.1 by ALPN. A renewed serving certificate is swapped in as on the
// gRPC and HTTP ports.

import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { CertKey } from '../../util/pki';
import type { RestApi } from './router';

export interface RestTls {
  readonly caPem: string;
  readonly server: CertKey;
}

export interface ListeningRest {
  /** HOST:PORT with the real port. */
  readonly address: string;
  setCertificate(next: CertKey): void;
  close(): Promise<void>;
}

/** HOST:PORT -> host and port; a bracketed IPv6 host loses its brackets. */
export function splitHostPort(address: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(address);
  if (!m) throw new Error(`--rest-address: "${address}" is not HOST:PORT`);
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port: Number(m[2]) };
}

export async function listenRest(address: string, tls: RestTls, api: RestApi): Promise<ListeningRest> {
  const server: Server = createServer(
    { ca: tls.caPem, cert: tls.server.certPem, key: tls.server.keyPem, requestCert: true, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] },
    api.handle,
  );
  // pods/exec, attach and portforward switch protocols (WebSocket, SPDY).
  server.on('upgrade', api.handleUpgrade);
  // Watches are long-lived: no server-side request timeout (the watch's own timeoutSeconds ends it).
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  // Idle keep-alive connections are closed by the client first: client-go
  // drops them after 90 s (IdleConnTimeout). Node's default of 5 s would close
  // them under clients that pause a few seconds, and a request sent on a
  // connection as the server closes it fails with "socket hang up".
  server.keepAliveTimeout = 120_000;
  const { host, port } = splitHostPort(address);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`--rest-address ${address}: ${err.message}`)));
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    address: host.includes(':') ? `[${host}]:${bound}` : `${host}:${bound}`,
    setCertificate: (next) => server.setSecureContext({ ca: tls.caPem, cert: next.certPem, key: next.keyPem }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
