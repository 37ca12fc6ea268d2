// How a node learns the cluster DNS address and domain without flags: from
// the kube-dns Service the API server keeps (api/cluster-dns.ts), read once
// at start, as k3s's agent gets them from its server. Flags win. The read is
// retried while the API answers Unavailable (an etcd leader election, a
// server restarting: the chaos suite saw an agent started at that moment
// exit for good), as callers of the API server are meant to.

import { setTimeout as sleep } from 'node:timers/promises';
import { NotFoundError, UnavailableError } from '../api/errors';
import { Backoff } from '../util/backoff';
import { errorMessage } from '../util/errors';
import { DEFAULT_CLUSTER_DOMAIN, KUBE_DNS_NAME, KUBE_DNS_NAMESPACE, publishedClusterDNS, type PublishedClusterDNS } from '../api/cluster-dns';
import type { Clientset } from './clientset';

export interface ClusterDnsFlags {
  /** --cluster-dns; undefined: the kube-dns Service's ClusterIP. */
  readonly clusterDNS: string | undefined;
  /** --cluster-domain; undefined: the kube-dns Service's annotation (cluster.local). */
  readonly clusterDomain: string | undefined;
}

/** How the kube-dns Service is read again after an Unavailable answer; injected by tests. */
export interface ClusterDnsRetry {
  readonly backoff: Backoff;
  readonly sleep: (ms: number) => Promise<unknown>;
}

const defaultRetry = (): ClusterDnsRetry => ({ backoff: new Backoff({ initialMs: 500, maxMs: 10_000, jitter: 0.2 }), sleep: (ms) => sleep(ms) });

/** The kube-dns Service as published, undefined when there is none; retried (and logged) while the API is unavailable. */
async function readPublished(
  clientset: Pick<Clientset, 'services'>,
  log: (line: string) => void,
  retry: ClusterDnsRetry,
): Promise<PublishedClusterDNS | undefined> {
  for (;;) {
    try {
      return publishedClusterDNS(await clientset.services.get(KUBE_DNS_NAME, KUBE_DNS_NAMESPACE));
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      if (!(err instanceof UnavailableError)) throw err;
      const wait = retry.backoff.next();
      log(`reading service ${KUBE_DNS_NAMESPACE}/${KUBE_DNS_NAME}: ${errorMessage(err)}; trying again in ${(wait / 1000).toFixed(1)}s`);
      await retry.sleep(wait);
    }
  }
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
  retry: ClusterDnsRetry = defaultRetry(),
): Promise<PublishedClusterDNS | undefined> {
  const published = flags.clusterDNS === undefined || flags.clusterDomain === undefined ? await readPublished(clientset, log, retry) : undefined;
  const ip = flags.clusterDNS ?? published?.ip;
  if (ip === undefined) {
    log(`no --cluster-dns and no service ${KUBE_DNS_NAMESPACE}/${KUBE_DNS_NAME}: no cluster DNS (ClusterFirst pods use the node's resolv.conf)`);
    return undefined;
  }
  return { ip, domain: flags.clusterDomain ?? published?.domain ?? DEFAULT_CLUSTER_DOMAIN };
}
