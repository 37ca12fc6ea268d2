// resolv.conf(5), read and written: the one home for the format, used by
// the runtime (a sandbox's default), the kubelet (a pod's by dnsPolicy) and
// the cluster DNS (its upstream resolvers).

export interface ResolvConf {
  nameservers: string[];
  searches: string[];
  /** As written: "ndots:5", "edns0". */
  options: string[];
}

/**
 * Parses resolv.conf text. As glibc, the last `search` or `domain` line wins;
 * every `nameserver` and `options` line adds.
 */
export function parseResolvConf(text: string): ResolvConf {
  const conf: ResolvConf = { nameservers: [], searches: [], options: [] };
  for (const line of text.split('\n')) {
    const [key, ...rest] = line
      .replace(/[#;].*$/, '')
      .trim()
      .split(/\s+/);
    if (key === 'nameserver' && rest[0]) conf.nameservers.push(rest[0]);
    else if (key === 'search' || key === 'domain') conf.searches = rest;
    else if (key === 'options') conf.options.push(...rest);
  }
  return conf;
}

/** Loopback nameservers mean nothing inside another network namespace (Docker and the kubelet drop them too). */
export function isLoopbackNameserver(ip: string): boolean {
  return /^(127\.|::1$|0:0:0:0:0:0:0:1$)/.test(ip);
}

export function formatResolvConf(conf: ResolvConf): string {
  const lines: string[] = [];
  if (conf.searches.length > 0) lines.push(`search ${conf.searches.join(' ')}`);
  for (const s of conf.nameservers) lines.push(`nameserver ${s}`);
  if (conf.options.length > 0) lines.push(`options ${conf.options.join(' ')}`);
  return `${lines.join('\n')}\n`;
}
