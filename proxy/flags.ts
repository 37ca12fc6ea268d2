// `tsk proxy` flags (node:util parseArgs), named as kube-proxy's. Parsing is
// pure: it returns the options or a UsageError naming the flag, never exits.

import { isIPv4 } from 'node:net';
import { hostname } from 'node:os';
import { durationMs, hostPort, ipv4CidrFlag, parseFlagValues, serverAddress, UsageError } from '../util/flags';
import { PROXY_MODES, type ProxyMode } from './backend';
import { DEFAULT_HTTP_ADDRESS } from './health';

export { UsageError };

export interface ProxyFlags {
  /** Unset: client/config.ts resolveClient() decides ($TSCTL_SERVER, the config's context, 127.0.0.1:6443). */
  server: string | undefined;
  /** --kubeconfig: the client config file with the credentials. */
  kubeconfig: string | undefined;
  nodeName: string;
  /** Unset: the Node object's addresses. */
  nodeIPs: string[] | undefined;
  httpAddress: string;
  syncPeriodMs: number;
  minSyncPeriodMs: number;
  clusterCIDR: string | undefined;
  masqueradeBit: number;
  /** --proxy-mode: iptables (default) or nftables. */
  proxyMode: ProxyMode;
  cleanup: boolean;
  /** The join token (--token): the proxy joins as this node, as the kubelet does. */
  token: string | undefined;
  /** Its joined credentials are DATA-DIR/agent, shared with the kubelet of this node. */
  dataDir: string;
  help: boolean;
}

export const FLAG_HELP = `Usage: tsk proxy [FLAGS]

Runs the service proxy of this node (kube-proxy in iptables or nftables mode): programs the network
namespace it runs in so that every Service's cluster IP, NodePorts and external IPs load-balance over
its ready endpoints. iptables mode: chains TSK-SERVICES, TSK-SVC-*, TSK-SEP-*, ...; nftables mode:
the table "ip tsk-proxy".

Flags:
  --server HOST:PORT            the API server, HOST:PORT or unix:/PATH (default: $TSCTL_SERVER, then ~/.tsk/config,
                                then 127.0.0.1:6443)
  --kubeconfig FILE             the client config (server, CA, credential; default: $TSK_CONFIG, then
                                ~/.tsk/config); its credentials go with --server
  --token TOKEN                 join the cluster as this node (system:node:NAME) with a join token (default
                                $TSK_TOKEN); later starts, or a kubelet that joined with the same --data-dir, need none
  --data-dir DIR                the joined key and certificate are kept in DIR/agent (default /var/lib/tsk)
  --hostname-override NAME      this node's name (default: the host name)
  --node-ip IPS                 comma-separated IPv4 addresses where NodePorts answer (default: the Node object's
                                InternalIP and ExternalIP addresses, else every local address)
  --http-address HOST:PORT      HTTP address for /healthz, /livez, /readyz, /metrics (default ${DEFAULT_HTTP_ADDRESS})
  --sync-period DURATION        the longest time between two full syncs of the rules, such as 30s or 1m (default 30s)
  --min-sync-period DURATION    the shortest time between two syncs: changes meanwhile are applied together (default 1s)
  --cluster-cidr CIDR           the pods' range; traffic to a cluster IP from outside it is masqueraded (default: none)
  --iptables-masquerade-bit N   the packet mark bit (0-31) of traffic to masquerade (default 14)
  --proxy-mode MODE             iptables or nftables (one nft transaction per sync; faster at scale); the first
                                sync removes the other mode's rules (default iptables)
  --cleanup                     remove every rule and chain of the proxy, in both modes, then exit
  -h, --help                    print this help`;

const OPTIONS = {
  server: { type: 'string' },
  kubeconfig: { type: 'string' },
  'hostname-override': { type: 'string' },
  'node-ip': { type: 'string' },
  'http-address': { type: 'string', default: DEFAULT_HTTP_ADDRESS },
  'sync-period': { type: 'string', default: '30s' },
  'min-sync-period': { type: 'string', default: '1s' },
  'cluster-cidr': { type: 'string' },
  'iptables-masquerade-bit': { type: 'string', default: '14' },
  'proxy-mode': { type: 'string', default: 'iptables' },
  cleanup: { type: 'boolean', default: false },
  token: { type: 'string' },
  'data-dir': { type: 'string', default: '/var/lib/tsk' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

function usage(message: string): never {
  throw new UsageError(message);
}

/** A --proxy-mode value, or a UsageError naming the flag. */
export function proxyModeFlag(flag: string, value: string): ProxyMode {
  const mode = PROXY_MODES.find((m) => m === value);
  if (!mode) throw new UsageError(`--${flag}: "${value}" must be ${PROXY_MODES.join(' or ')}`);
  return mode;
}

export function parseFlags(argv: string[], defaultNodeName: string = hostname()): ProxyFlags {
  const values = parseFlagValues(argv, OPTIONS);
  const nodeName = (values['hostname-override'] ?? defaultNodeName).trim().toLowerCase();
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(nodeName)) throw new UsageError(`--hostname-override: "${nodeName}" is not a valid node name`);
  let nodeIPs: string[] | undefined;
  if (values['node-ip'] !== undefined) {
    nodeIPs = values['node-ip']
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    const bad = nodeIPs.find((ip) => !isIPv4(ip));
    if (bad !== undefined || nodeIPs.length === 0) throw new UsageError(`--node-ip: "${bad ?? values['node-ip']}" is not an IPv4 address`);
  }
  const syncPeriodMs = durationMs('sync-period', values['sync-period'], { atLeast: '1s' });
  const minSyncPeriodMs = durationMs('min-sync-period', values['min-sync-period']);
  if (minSyncPeriodMs > syncPeriodMs)
    throw new UsageError(`--min-sync-period: ${values['min-sync-period']} is longer than --sync-period ${values['sync-period']}`);
  const bit = values['iptables-masquerade-bit'];
  if (!/^\d+$/.test(bit) || Number(bit) > 31) throw new UsageError(`--iptables-masquerade-bit: "${bit}" is not a number from 0 to 31`);
  return {
    proxyMode: proxyModeFlag('proxy-mode', values['proxy-mode']),
    server: values.server === undefined ? undefined : serverAddress('server', values.server),
    kubeconfig: values.kubeconfig,
    nodeName,
    nodeIPs,
    httpAddress: hostPort('http-address', values['http-address'], DEFAULT_HTTP_ADDRESS),
    syncPeriodMs,
    minSyncPeriodMs,
    clusterCIDR: values['cluster-cidr'] === undefined ? undefined : ipv4CidrFlag('cluster-cidr', values['cluster-cidr']),
    masqueradeBit: Number(bit),
    cleanup: values.cleanup,
    token: values.token,
    dataDir: values['data-dir'] === '' ? usage('--data-dir: must not be empty') : values['data-dir'],
    help: values.help,
  };
}
