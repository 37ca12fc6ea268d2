// The API server's --http-address (/healthz, /readyz, /livez, /metrics):
// plain HTTP on loopback, HTTPS with the API server's certificate beyond it.

import { needsHttps, type HealthTls } from '../util/health-server';
import type { CertKey } from '../util/pki';

/**
 * The TLS of --http-address: none on loopback; beyond it HTTPS with the
 * API server's own certificate, /metrics only for client certificates of
 * the cluster CA (as the kubelet's and proxy's ports). Throws naming the
 * flag when the server has no certificate (the plaintext benchmark mode).
 */
export function httpTls(address: string, serving: ServingHttp | undefined): HealthTls | undefined {
  if (!needsHttps(address, '--http-address')) return undefined;
  if (serving === undefined) {
    throw new Error(`--http-address ${address} is beyond loopback, so it is served over HTTPS only, and a plaintext API server has no certificate`);
  }
  return { caPem: serving.caPem, certPem: serving.server.certPem, keyPem: serving.server.keyPem };
}

/** What the HTTP port needs of the serving TLS: the CA, the certificate, and word of its renewals. */
export interface ServingHttp {
  readonly caPem: string;
  readonly server: CertKey;
  onRenewed(f: (next: CertKey) => void): void;
}
