// The cluster DNS's published address, as kubeadm publishes CoreDNS's: a
// `kube-dns` Service in kube-system whose ClusterIP is the cluster DNS
// address (10.96.0.10 by default). The API server creates it, so the service
// IP allocator never hands the address to another Service; agents read the
// address and the cluster domain from it instead of needing flags; the proxy
// leaves its traffic to the node, where every agent answers on that address.

import type { Service } from './gen/tsk/v1/core';
import { formatIPv4, nthAddress, parseIPv4Cidr } from '../util/ipv4';

export const KUBE_DNS_NAMESPACE = 'kube-system';
export const KUBE_DNS_NAME = 'kube-dns';
/** On the kube-dns Service: the cluster domain the DNS serves (cluster.local). */
export const CLUSTER_DOMAIN_ANNOTATION = 'tsk.io/cluster-domain';
/**
 * On a Service: every node answers on its ClusterIP itself (node-local), so
 * the proxy writes no rules for it (no DNAT, no "has no endpoints" REJECT).
 */
export const NODE_LOCAL_ANNOTATION = 'tsk.io/node-local';
export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

/**
 * kubeadm's default: the 10th address of the service CIDR (10.96.0.10 for
 * 10.96.0.0/12 and 10.96.0.0/16); undefined for a CIDR too small to have one
 * that is not its broadcast address.
 */
export function defaultClusterDNS(serviceCidr: string): string | undefined {
  const cidr = parseIPv4Cidr(serviceCidr);
  return cidr.size > 11 ? formatIPv4(nthAddress(cidr, 10)) : undefined;
}

/** The kube-dns Service the API server keeps for `ip` and `domain`. */
export function kubeDnsService(ip: string, domain: string): Service {
  return {
    metadata: {
      name: KUBE_DNS_NAME,
      namespace: KUBE_DNS_NAMESPACE,
      labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'tsk-dns' },
      annotations: { [CLUSTER_DOMAIN_ANNOTATION]: domain, [NODE_LOCAL_ANNOTATION]: 'true' },
    },
    spec: {
      clusterIP: ip,
      type: 'ClusterIP',
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP' },
        { name: 'dns-tcp', port: 53, protocol: 'TCP' },
      ],
    },
  };
}

export interface PublishedClusterDNS {
  readonly ip: string;
  readonly domain: string;
}

/** The address and domain a kube-dns Service publishes; undefined when it has no ClusterIP. */
export function publishedClusterDNS(svc: Service | undefined): PublishedClusterDNS | undefined {
  const ip = svc?.spec?.clusterIP ?? '';
  if (ip === '' || ip === 'None') return undefined;
  return { ip, domain: svc?.metadata?.annotations?.[CLUSTER_DOMAIN_ANNOTATION] || DEFAULT_CLUSTER_DOMAIN };
}

export function isNodeLocal(svc: Service): boolean {
  return svc.metadata?.annotations?.[NODE_LOCAL_ANNOTATION] === 'true';
}
