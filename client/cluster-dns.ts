// How a node learns the cluster DNS address and domain without flags: from
// the kube-dns Service the API server keeps (api/cluster-dns.ts), read once
// at start, as k3s's agent gets them from its server. Flags win.

import { NotFoundError } from '../api/errors';
import { DEFAULT_CLUSTER_DOMAIN, KUBE_DNS_NAME, KUBE_DNS_NAMESPACE, publishedClusterDNS, type PublishedClusterDNS } from '../api/cluster-dns';
import type { Clientset } from './clientset';

export interface ClusterDnsFlags {
  /** --cluster-dns; undefined: the kube-dns Service's ClusterIP. */
  readonly clusterDNS: string | undefined;
  /** --cluster-domain; undefined: the kube-dns Service's annotation (cluster.local). */
  readonly clusterDomain: string | undefined;
}

/**
 * The cluster DNS to use: the flags where given, else what the kube-dns
 * Service publishes; undefined when neither says an address (no kube-dns
 * Service), and the reason is logged.
 */
export async function resolveClusterDNS(
  clientset: Pick<Clientset, 'services'>,
  flags: ClusterDnsFlags,
  log: (line: string) => void,
): Promise<PublishedClusterDNS | undefined> {
  let published: PublishedClusterDNS | undefined;
  if (flags.clusterDNS === undefined || flags.clusterDomain === undefined) {
    try {
      published = publishedClusterDNS(await clientset.services.get(KUBE_DNS_NAME, KUBE_DNS_NAMESPACE));
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }
  const ip = flags.clusterDNS ?? published?.ip;
  if (ip === undefined) {
    log(`no --cluster-dns and no service ${KUBE_DNS_NAMESPACE}/${KUBE_DNS_NAME}: no cluster DNS (ClusterFirst pods use the node's resolv.conf)`);
    return undefined;
  }
  return { ip, domain: flags.clusterDomain ?? published?.domain ?? DEFAULT_CLUSTER_DOMAIN };
}
