// When a certificate is renewed: k3s renews a certificate in its last 90 days;
// for short-lived certificates (tests, bootstrap) the last third of the
// lifetime is the window instead, whichever comes first.

import { certificateInfo } from './x509';
import type { Sans } from './x509';

const DAY_MS = 24 * 60 * 60 * 1000;
export const RENEW_BEFORE_DAYS = 90;

/** True when `now` is inside the renewal window (or past the end, or before the start) of the certificate. */
export function needsRenewal(certPem: string, now: Date): boolean {
  const { notBefore, notAfter } = certificateInfo(certPem);
  const lifetime = notAfter.getTime() - notBefore.getTime();
  const window = Math.min(RENEW_BEFORE_DAYS * DAY_MS, lifetime / 3);
  return now.getTime() >= notAfter.getTime() - window || now.getTime() < notBefore.getTime();
}

/** True when the certificate names every DNS name and IP of `wanted` (it may name more). */
export function coversSans(certPem: string, wanted: Sans): boolean {
  const have = certificateInfo(certPem).sans;
  const dns = new Set((have.dns ?? []).map((d) => d.toLowerCase()));
  const ips = new Set((have.ips ?? []).map(normalizeIp));
  return (wanted.dns ?? []).every((d) => dns.has(d.toLowerCase())) && (wanted.ips ?? []).every((ip) => ips.has(normalizeIp(ip)));
}

/** IPv6 text forms differ ("::1" vs "0:0:…:1"); compare a canonical form. */
function normalizeIp(ip: string): string {
  if (!ip.includes(':')) return ip;
  try {
    return new URL(`http://[${ip}]/`).hostname;
  } catch {
    return ip.toLowerCase();
  }
}
