// The API server's TLS: its serving certificate and the CA whose client
// certificates it asks for. Client certificates are requested but optional
// (bearer-token callers and the join bootstrap have none), so a certificate
// the handshake cannot verify (another CA, expired) still connects; grpc-js
// then reports no peer certificate for its calls (getAuthContext() is empty
// unless the socket is `authorized`), so they are anonymous and the gate
// refuses them. The authenticator checks the certificates it is given again.
//
// grpc-js's ServerCredentials.createSsl(ca, pairs, false) does not request a
// client certificate at all, and `true` makes it mandatory; only the
// certificate-provider credentials (grpc.experimental) request one without
// requiring it. They also let a renewed serving certificate be swapped in
// on a running server, which is how renewal works without a restart.

import * as grpc from '@grpc/grpc-js';
import type { CertKey } from '../../util/pki';

export interface ServingTls {
  /** The cluster CA: client certificates must chain to it. */
  readonly caPem: string;
  /** The serving certificate and key. */
  readonly server: CertKey;
}

type CaListener = grpc.experimental.CaCertificateUpdateListener;
type IdentityListener = grpc.experimental.IdentityCertificateUpdateListener;

/** The CA and serving certificate of a running server; update() swaps the certificate in. */
export class ServingCertificateProvider implements grpc.experimental.CertificateProvider {
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();
  private ca: Buffer;
  private identity: { certificate: Buffer; privateKey: Buffer };

  constructor(tls: ServingTls) {
    this.ca = Buffer.from(tls.caPem);
    this.identity = identityOf(tls.server);
  }

  /** Serves `server` on every connection accepted from now on. */
  update(server: CertKey): void {
    this.identity = identityOf(server);
    for (const l of this.identityListeners) l(this.identity);
  }

  // grpc-js adds its own watcher only after adding these listeners, so the
  // first answer must come later, or the server would never see it.
  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    process.nextTick(() => this.caListeners.has(listener) && listener({ caCertificate: this.ca }));
  }
  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
  }
  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    process.nextTick(() => this.identityListeners.has(listener) && listener(this.identity));
  }
  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
  }
}

/** Server credentials that request (not require) a client certificate. */
export function servingCredentials(provider: ServingCertificateProvider): grpc.ServerCredentials {
  return grpc.experimental.createCertificateProviderServerCredentials(provider, provider, false);
}

function identityOf(server: CertKey): { certificate: Buffer; privateKey: Buffer } {
  return { certificate: Buffer.from(server.certPem), privateKey: Buffer.from(server.keyPem) };
}
