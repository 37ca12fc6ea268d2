// The names the API server's certificate must cover, as k3s's: the --tls-san
// values, the host name and every address of this host's interfaces, and the
// host of each TCP --address (127.0.0.1 and localhost are added by util/pki).

import { isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import type { Sans } from '../util/pki';
import { parseListenAddress } from './grpc/listen';

export interface HostFacts {
  readonly hostname: string;
  /** Every address of every interface. */
  readonly addresses: readonly string[];
}

export function hostFacts(): HostFacts {
  const addresses = Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .map((a) => a.address.replace(/%.*$/, ''));
  return { hostname: hostname(), addresses };
}

/** Sorts names into DNS names and IPs; wildcard listen hosts (0.0.0.0, ::) are skipped. */
export function servingSans(tlsSans: readonly string[], listen: string, host: HostFacts): Sans {
  const names = [...tlsSans, host.hostname, ...host.addresses];
  for (const text of listen.split(',')) {
    const addr = parseListenAddress(text.trim());
    if (addr.kind === 'tcp') names.push(addr.host.replace(/^\[(.*)\]$/, '$1'));
  }
  const dns = new Set<string>();
  const ips = new Set<string>();
  for (const name of names) {
    if (name === '' || name === '0.0.0.0' || name === '::') continue;
    if (isIP(name) !== 0) ips.add(name);
    else dns.add(name.toLowerCase());
  }
  return { dns: [...dns], ips: [...ips] };
}
