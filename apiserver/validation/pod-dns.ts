// A pod's DNS fields, as Kubernetes' validatePodDNSConfig and
// ValidateHostAliases (pkg/apis/core/validation), with their messages.

import type { Cause } from '../../api/errors';
import type { HostAlias, PodDNSConfig } from '../../api/gen/tsk/v1/core';
import { isDNS1123Subdomain } from '../../api/labels';
import { invalid, invalidEach, required, type Path } from './field';
import { isValidIP } from './values';

export const MAX_DNS_NAMESERVERS = 3;
export const MAX_DNS_SEARCH_PATHS = 32;
export const MAX_DNS_SEARCH_LIST_CHARS = 2048;

export function validatePodDNSConfig(dnsConfig: PodDNSConfig | undefined, dnsPolicy: string | undefined, path: Path): Cause[] {
  if (dnsPolicy === 'None') {
    if (!dnsConfig) return [required(path, 'must provide `dnsConfig` when `dnsPolicy` is None')];
    if ((dnsConfig.nameservers ?? []).length === 0) {
      return [required(path.child('nameservers'), 'must provide at least one DNS nameserver when `dnsPolicy` is None')];
    }
  }
  if (!dnsConfig) return [];
  const errs: Cause[] = [];
  const nameservers = dnsConfig.nameservers ?? [];
  if (nameservers.length > MAX_DNS_NAMESERVERS) {
    errs.push(invalid(path.child('nameservers'), nameservers, `must not have more than ${MAX_DNS_NAMESERVERS} nameservers`));
  }
  nameservers.forEach((ns, i) => errs.push(...invalidEach(path.child('nameservers').index(i), ns, isValidIP(ns))));
  const searches = dnsConfig.searches ?? [];
  if (searches.length > MAX_DNS_SEARCH_PATHS) {
    errs.push(invalid(path.child('searches'), searches, `must not have more than ${MAX_DNS_SEARCH_PATHS} search paths`));
  }
  // The space between paths counts.
  if (searches.join(' ').length > MAX_DNS_SEARCH_LIST_CHARS) {
    errs.push(
      invalid(path.child('searches'), searches, `must not have more than ${MAX_DNS_SEARCH_LIST_CHARS} characters (including spaces) in the search list`),
    );
  }
  searches.forEach((s, i) => {
    // A trailing dot is fine.
    const search = s.replace(/\.$/, '');
    errs.push(...invalidEach(path.child('searches').index(i), search, isDNS1123Subdomain(search)));
  });
  (dnsConfig.options ?? []).forEach((o, i) => {
    if (!o.name) errs.push(required(path.child('options').index(i), 'must not be empty'));
  });
  return errs;
}

export function validateHostAliases(hostAliases: readonly HostAlias[], path: Path): Cause[] {
  const errs: Cause[] = [];
  hostAliases.forEach((a, i) => {
    const p = path.index(i);
    errs.push(...invalidEach(p.child('ip'), a.ip ?? '', isValidIP(a.ip ?? '')));
    (a.hostnames ?? []).forEach((h, j) => errs.push(...invalidEach(p.child('hostnames').index(j), h, isDNS1123Subdomain(h))));
  });
  return errs;
}
