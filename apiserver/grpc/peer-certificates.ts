// One peer certificate per TLS connection, not one per call. grpc-js's
// getAuthContext() calls TLSSocket.getPeerCertificate() on every call, and
// the authenticator needs it on every call; Node builds a fresh object each
// time (subject, issuer, three fingerprints, a copy of the DER): 30-70 us of
// the API server's CPU per call on the benchmark machine, its largest
// TLS-only cost in bench:api's profile (getAuthContext: 3.6% of its busy
// time). A connection's certificate cannot change once renegotiation is
// refused, so each accepted socket asks Node once.
//
// grpc-js gives no hook on the connections it accepts: its HTTP/2 servers
// are reached through the Server's private `http2Servers`. Should a grpc-js
// upgrade move them, cachePeerCertificates finds none and says so (the
// server still works, uncached); peer-certificates.test.ts fails then.

import type * as grpc from '@grpc/grpc-js';
import { Server as TlsServer, type PeerCertificate, type TLSSocket } from 'node:tls';

const hooked = new WeakSet<object>();

/**
 * Makes every TLS connection the server accepts from now on compute its peer
 * certificate once. Call after each bindAsync (it creates the listeners).
 * Returns how many TLS listeners it found (0 for a plaintext server, or if
 * grpc-js changed its internals).
 */
export function cachePeerCertificates(server: grpc.Server): number {
  const listeners = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(listeners instanceof Map)) return 0;
  let found = 0;
  for (const listener of listeners.keys()) {
    if (!(listener instanceof TlsServer)) continue;
    found++;
    if (hooked.has(listener)) continue;
    hooked.add(listener);
    listener.on('secureConnection', cacheOnSocket);
  }
  return found;
}

function cacheOnSocket(socket: TLSSocket): void {
  // A renegotiation could present another certificate on the same
  // connection. Node's HTTP/2 sessions refuse it already; refused here too so
  // the cache does not rest on that.
  socket.disableRenegotiation();
  const uncached = socket.getPeerCertificate.bind(socket);
  let cached: PeerCertificate | undefined;
  socket.getPeerCertificate = ((detailed?: boolean) => {
    if (detailed) return uncached(true);
    cached ??= uncached(false);
    return cached;
  }) as TLSSocket['getPeerCertificate'];
}
