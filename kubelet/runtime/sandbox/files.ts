// A sandbox's state directory, <dataDir>/sandboxes/<id>/:
//   config.json               the SandboxConfig plus id and creation time
//   net ipc uts               namespace files, bind-mounted by tsk-sandbox
//   hosts resolv.conf hostname bind-mounted into each container's /etc
// and the pure builders of those /etc files.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DnsConfig, HostAlias, SandboxConfig } from '../runtime';
import { formatResolvConf, isLoopbackNameserver, parseResolvConf } from '../../../util/resolv-conf';

export interface SandboxRecord {
  id: string;
  config: SandboxConfig;
  hostname: string;
  createdAt: string;
  /** Set by stopSandbox: the network is torn down, containers stopped. */
  stopped?: boolean;
  /**
   * The addresses the network hook gave the sandbox; written only once its
   * network is set up, so a sandbox without it (the process died between
   * making the namespaces and wiring them) is never taken for ready.
   */
  ips?: string[];
}

export function readSandboxRecord(dir: string): SandboxRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as SandboxRecord;
  } catch {
    return undefined;
  }
}

export function writeSandboxRecord(dir: string, rec: SandboxRecord): void {
  const tmp = path.join(dir, '.config.json.tmp');
  fs.writeFileSync(tmp, JSON.stringify(rec, null, 1));
  fs.renameSync(tmp, path.join(dir, 'config.json'));
}

/** /etc/hosts as Kubernetes writes it for a pod (the pod IP line comes with networking). */
/**
 * The sandbox's /etc/hosts, as the kubelet writes it: the pod's own name on
 * its pod IP once the network gave it one (before that, on 127.0.1.1).
 */
export function hostsFile(hostname: string, aliases: HostAlias[] = [], podIp?: string): string {
  const lines = [
    '# Kubernetes-managed hosts file (tsk).',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
    `${podIp ?? '127.0.1.1'}\t${hostname}`,
  ];
  for (const a of aliases) lines.push(`${a.ip}\t${a.hostnames.join('\t')}`);
  return `${lines.join('\n')}\n`;
}

export function resolvConf(dns: DnsConfig): string {
  return formatResolvConf({ nameservers: dns.servers, searches: dns.searches, options: dns.options });
}

/**
 * The host's resolver config minus loopback nameservers, which mean nothing
 * inside another network namespace (Docker filters them the same way).
 */
export function hostDnsConfig(text: string): DnsConfig {
  const conf = parseResolvConf(text);
  return { servers: conf.nameservers.filter((s) => !isLoopbackNameserver(s)), searches: conf.searches, options: conf.options };
}

/** RFC 1123 label check for the hostname, so sethostname gets something sensible. */
export function validHostname(name: string): boolean {
  return /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/i.test(name);
}
