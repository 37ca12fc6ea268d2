// A pod's resolv.conf by its dnsPolicy, as Kubernetes'
// pkg/kubelet/network/dns (Configurer.GetPodDNS). Pure: the node's resolver
// config and the cluster DNS come in, the pod's config and the warnings to
// post as events come out.
//
//   ClusterFirst (the default)    the cluster DNS, search NS.svc.ZONE svc.ZONE ZONE + the node's
//                                 searches, options ndots:5; on hostNetwork it falls back to Default
//   ClusterFirstWithHostNet       the same, also on hostNetwork
//   Default                       the node's resolv.conf (the kubelet's --resolv-conf)
//   None                          nothing but the pod's dnsConfig
//
// dnsConfig is then merged in: nameservers and searches appended without
// duplicates, options merged by name (the pod's win). Finally the limits:
// at most 3 nameservers, 32 search paths, 2048 characters of search line.

import type { Pod } from '../api/gen/tsk/v1/core';
import type { ResolvConf } from '../util/resolv-conf';

/** Kubernetes' validation limits (pkg/apis/core/validation). */
export const MAX_DNS_NAMESERVERS = 3;
export const MAX_DNS_SEARCH_PATHS = 32;
export const MAX_DNS_SEARCH_LIST_CHARS = 2048;
const MAX_DOMAIN_LENGTH = 253;
const DEFAULT_DNS_OPTIONS = ['ndots:5'];

export interface NodeDns {
  /** The cluster DNS addresses (--cluster-dns); empty: none known. */
  readonly clusterDNS: readonly string[];
  /** --cluster-domain; "" leaves the node's searches alone. */
  readonly clusterDomain: string;
  /** The node's resolv.conf (--resolv-conf), loopback nameservers already removed; undefined when --resolv-conf is "". */
  readonly host: ResolvConf | undefined;
}

export interface DnsWarning {
  readonly reason: 'MissingClusterDNS' | 'DNSConfigForming';
  readonly message: string;
}

export interface PodDns {
  readonly config: ResolvConf;
  readonly warnings: DnsWarning[];
}

type DnsType = 'none' | 'cluster' | 'host';

/** getPodDNSType: the effective policy ("" is ClusterFirst, the API's default). */
function dnsTypeOf(pod: Pod): DnsType {
  switch (pod.spec?.dnsPolicy || 'ClusterFirst') {
    case 'None':
      return 'none';
    case 'ClusterFirstWithHostNet':
      return 'cluster';
    case 'Default':
      return 'host';
    default:
      // ClusterFirst; a hostNetwork pod falls back to Default.
      return pod.spec?.hostNetwork ? 'host' : 'cluster';
  }
}

function omitDuplicates(list: readonly string[]): string[] {
  return [...new Set(list)];
}

/** mergeDNSOptions: by name, the later value wins; a name keeps its first position. */
export function mergeDnsOptions(existing: readonly string[], extra: ReadonlyArray<{ name?: string; value?: string }>): string[] {
  const merged = new Map<string, string>();
  for (const op of existing) {
    const i = op.indexOf(':');
    if (i >= 0) merged.set(op.slice(0, i), op.slice(i + 1));
    else merged.set(op, '');
  }
  for (const op of extra) merged.set(op.name ?? '', op.value ?? '');
  return [...merged].map(([name, value]) => (value !== '' ? `${name}:${value}` : name));
}

/** formDNSSearchFitsLimits: at most 32 paths, none over 253 characters, 2048 characters in all. */
function searchesWithinLimits(searches: readonly string[], warnings: DnsWarning[]): string[] {
  let out = searches.slice(0, MAX_DNS_SEARCH_PATHS);
  let exceeded = searches.length > MAX_DNS_SEARCH_PATHS;
  const fitting = out.filter((s) => s.length <= MAX_DOMAIN_LENGTH);
  exceeded ||= fitting.length !== out.length;
  out = fitting;
  while (out.join(' ').length > MAX_DNS_SEARCH_LIST_CHARS) {
    out = out.slice(0, -1);
    exceeded = true;
  }
  if (exceeded) {
    warnings.push({
      reason: 'DNSConfigForming',
      message: `Search Line limits were exceeded, some search paths have been omitted, the applied search line is: ${out.join(' ')}`,
    });
  }
  return out;
}

function nameserversWithinLimits(servers: readonly string[], warnings: DnsWarning[]): string[] {
  if (servers.length <= MAX_DNS_NAMESERVERS) return [...servers];
  const out = servers.slice(0, MAX_DNS_NAMESERVERS);
  warnings.push({
    reason: 'DNSConfigForming',
    message: `Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: ${out.join(' ')}`,
  });
  return out;
}

/** The pod's resolv.conf and the warnings (events) forming it gave. */
export function podDnsConfig(pod: Pod, node: NodeDns): PodDns {
  const warnings: DnsWarning[] = [];
  const host: ResolvConf = node.host
    ? { nameservers: [...node.host.nameservers], searches: [...node.host.searches], options: [...node.host.options] }
    : // --resolv-conf "": no host DNS at all, as the kubelet does (the resolver's own default is localhost).
      { nameservers: ['127.0.0.1'], searches: ['.'], options: [] };
  let config: ResolvConf = host;
  let type = dnsTypeOf(pod);
  if (type === 'cluster' && node.clusterDNS.length === 0) {
    warnings.push({
      reason: 'MissingClusterDNS',
      message: 'kubelet does not have ClusterDNS IP configured and cannot create Pod using "ClusterFirst" policy. Falling back to "Default" policy.',
    });
    type = 'host';
  }
  if (type === 'none') config = { nameservers: [], searches: [], options: [] };
  if (type === 'cluster') {
    const ns = pod.metadata?.namespace ?? '';
    const d = node.clusterDomain;
    config = {
      nameservers: [...node.clusterDNS],
      searches: d === '' ? host.searches : omitDuplicates([`${ns}.svc.${d}`, `svc.${d}`, d, ...host.searches]),
      options: [...DEFAULT_DNS_OPTIONS],
    };
  }
  const extra = pod.spec?.dnsConfig;
  if (extra) {
    config = {
      nameservers: omitDuplicates([...config.nameservers, ...(extra.nameservers ?? [])]),
      searches: omitDuplicates([...config.searches, ...(extra.searches ?? [])]),
      options: mergeDnsOptions(config.options, extra.options ?? []),
    };
  }
  return {
    config: { ...config, searches: searchesWithinLimits(config.searches, warnings), nameservers: nameserversWithinLimits(config.nameservers, warnings) },
    warnings,
  };
}
