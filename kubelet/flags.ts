// `tsk kubelet` flags (node:util parseArgs), named as the real kubelet's.
// Parsing is pure: it returns the options or a UsageError naming the flag.

import * as os from 'node:os';
import { isIP } from 'node:net';
import { clusterDomainFlag, durationMs, hostPort, ipv4CidrFlag, ipv4Flag, parseFlagValues, serverAddress, UsageError } from '../util/flags';
import { parseReserved } from './node-status';
import { errorMessage } from '../util/errors';
import { newSysctlAllowlist } from './sysctl-allowlist';

export type NetworkKind = 'bridge' | 'loopback';

export interface KubeletFlags {
  /** Undefined: resolveServer's default chain ($TSCTL_SERVER, ~/.tsk/config, 127.0.0.1:6443). */
  server: string | undefined;
  /** Every --server given (repeated: the cluster's API servers, tried in turn when one is unreachable); [] when none. */
  servers: readonly string[];
  /** --kubeconfig: the client config file with the credentials. */
  kubeconfig: string | undefined;
  nodeName: string;
  nodeIP: string;
  podCIDR: string;
  dataDir: string;
  /** The cgroup every pod's cgroup is made under, in every hierarchy (Kubernetes' --cgroup-root). */
  cgroupRoot: string;
  maxPods: number;
  nodeStatusUpdateFrequencyMs: number;
  /** --node-status-report-frequency: an unchanged status is posted only this often (liveness is the Lease). */
  nodeStatusReportFrequencyMs: number;
  /** --node-lease-duration-seconds: the heartbeat Lease's duration; it is renewed every quarter of it. */
  nodeLeaseDurationSeconds: number;
  /** --sync-frequency: every pod is synced (and its configMap, secret and downwardAPI volumes refreshed) at least this often. */
  syncFrequencyMs: number;
  httpAddress: string;
  /** --address: the IP the kubelet's port binds; "" the node IP (--node-ip). */
  address: string;
  /** --port: the kubelet's authenticated HTTPS port (10250); 0 serves none. */
  port: number;
  systemReserved: Record<string, string>;
  network: NetworkKind;
  /** --allowed-unsafe-sysctls: names or "prefix*" patterns beyond the safe set (validated: sysctl-allowlist.ts). */
  allowedUnsafeSysctls: string[];
  /** --cluster-dns: undefined reads the kube-dns Service's ClusterIP at start (10.96.0.10 with the server's defaults). */
  clusterDNS: string | undefined;
  /** --cluster-domain: undefined reads the kube-dns Service's (cluster.local by default). */
  clusterDomain: string | undefined;
  /** --resolv-conf: the node's resolver config for Default pods and the upstreams of the cluster DNS; "" none. */
  resolvConf: string;
  /** The join token (--token); $TSK_TOKEN is read by the command, not here. */
  token: string | undefined;
  help: boolean;
}

export { UsageError };

export const FLAG_HELP = `Usage: tsk kubelet [FLAGS]

Runs the node agent: registers this machine as a Node, runs the pods bound to it
with tsk's built-in runtime, and reports their status. Stopping the kubelet leaves
its containers running; the next start adopts them.

Flags:
  --server ADDRESS                       API server: HOST:PORT or unix:/PATH (default: $TSCTL_SERVER,
                                         ~/.tsk/config, else 127.0.0.1:6443); repeat it for several servers:
                                         the next is used when one is unreachable, and the servers in the
                                         default/kubernetes Endpoints are learned (DATA-DIR/agent/servers.json)
  --kubeconfig FILE                      the client config (server, CA, credential; default: $TSK_CONFIG, then
                                         ~/.tsk/config); its credentials go with --server
  --token TOKEN                          join the cluster with this token (K10<hash>::<id>.<secret>, from
                                         tsk server or tsk token create; default $TSK_TOKEN); the node's key
                                         and certificate are kept in DATA-DIR/agent, later starts need none
  --hostname-override NAME               the Node's name (default: this host's name, lower-cased)
  --node-ip IP                           the node's InternalIP address and the pods' hostIP (default: none)
  --pod-cidr CIDR                        the node's pod range, set on the Node by the kubelet itself
                                         (default: wait for the node IPAM controller to assign one)
  --network bridge|loopback              pod network: a bridge with an IP per pod from the pod CIDR, or
                                         loopback only (no pod IPs; ready without a pod CIDR) (default bridge)
  --data-dir DIR                         images, containers and pod volumes (default /var/lib/tsk)
  --cgroup-root PATH                     the cgroup the pods' cgroups are made under (default tsk)
  --max-pods N                           the Node's pods capacity (default 110)
  --system-reserved LIST                 resources kept for the system, subtracted from allocatable,
                                         such as cpu=100m,memory=512Mi (default: none)
  --node-status-update-frequency DUR     how often the Node's status is computed, such as 10s or 1m (default 10s)
  --node-status-report-frequency DUR     how often an unchanged status is posted; a change is posted at once
                                         (default 5m)
  --node-lease-duration-seconds N        the heartbeat Lease kube-node-lease/NODE: renewed every quarter of it
                                         (default 40)
  --sync-frequency DUR                   the longest time between two syncs of a pod, which also bounds how late
                                         configMap and secret volumes follow updates (default 10s)
  --http-address HOST:PORT               /healthz, /readyz, /livez and /metrics (default 127.0.0.1:10248)
  --address IP                           the IP the kubelet's port binds (default: the node IP, --node-ip;
                                         without one the port is not served)
  --port N                               the kubelet's port: HTTPS with the node's serving certificate,
                                         client certificates of the cluster CA, /metrics, /metrics/cadvisor,
                                         /metrics/resource and /healthz for the admins and the
                                         system:monitoring group (default 10250; 0 serves none)
  --cluster-dns IP                       the cluster DNS address for ClusterFirst pods (default: the ClusterIP
                                         of the kube-dns Service in kube-system, 10.96.0.10 with the server's
                                         defaults)
  --cluster-domain DOMAIN                the cluster's DNS domain, searched by ClusterFirst pods (default: the
                                         kube-dns Service's, cluster.local)
  --resolv-conf FILE                     the node's resolver config: Default pods get it, and the cluster DNS
                                         forwards other names to its nameservers ("" for none) (default
                                         /etc/resolv.conf)
  --allowed-unsafe-sysctls LIST          namespaced sysctls pods may set beyond the safe set, names or
                                         prefix patterns such as net.core.somaxconn,kernel.msg* (default none)
  -h, --help                             print this help`;

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** --node-lease-duration-seconds: whole seconds, at least 1 (a quarter of it is the renew interval). */
function leaseDuration(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`--node-lease-duration-seconds: "${value}" must be a positive integer`);
  return Number(value);
}

export function parseFlags(argv: string[], hostname: () => string = os.hostname): KubeletFlags {
  const values = parseFlagValues(argv, {
    server: { type: 'string', multiple: true },
    kubeconfig: { type: 'string' },
    token: { type: 'string' },
    'hostname-override': { type: 'string', default: '' },
    'node-ip': { type: 'string', default: '' },
    'pod-cidr': { type: 'string', default: '' },
    network: { type: 'string', default: 'bridge' },
    'data-dir': { type: 'string', default: '/var/lib/tsk' },
    'cgroup-root': { type: 'string', default: 'tsk' },
    'max-pods': { type: 'string', default: '110' },
    'system-reserved': { type: 'string', default: '' },
    'node-status-update-frequency': { type: 'string', default: '10s' },
    'node-status-report-frequency': { type: 'string', default: '5m' },
    'node-lease-duration-seconds': { type: 'string', default: '40' },
    'sync-frequency': { type: 'string', default: '10s' },
    'http-address': { type: 'string', default: '127.0.0.1:10248' },
    address: { type: 'string', default: '' },
    port: { type: 'string', default: '10250' },
    'allowed-unsafe-sysctls': { type: 'string', default: '' },
    'cluster-dns': { type: 'string' },
    'cluster-domain': { type: 'string' },
    'resolv-conf': { type: 'string', default: '/etc/resolv.conf' },
    help: { type: 'boolean', short: 'h', default: false },
  });
  const nodeName = (values['hostname-override'] || hostname()).toLowerCase();
  if (nodeName.length > 253 || !DNS_SUBDOMAIN.test(nodeName)) {
    throw new UsageError(`--hostname-override: "${nodeName}" is not a valid node name (a DNS-1123 subdomain: lower-case letters, digits, '-' and '.')`);
  }
  const nodeIP = values['node-ip'];
  if (nodeIP !== '' && isIP(nodeIP) === 0) throw new UsageError(`--node-ip: "${nodeIP}" is not an IP address`);
  const podCIDR = values['pod-cidr'];
  if (podCIDR !== '') ipv4CidrFlag('pod-cidr', podCIDR, '10.244.1.0/24');
  const address = values.address;
  if (address !== '' && isIP(address) === 0) throw new UsageError(`--address: "${address}" is not an IP address`);
  const port = values.port;
  if (!/^\d+$/.test(port) || Number(port) > 65535) throw new UsageError(`--port: "${port}" is not a port number (0-65535)`);
  const network = values.network;
  if (network !== 'bridge' && network !== 'loopback') throw new UsageError(`--network: "${network}" must be bridge or loopback`);
  const maxPods = values['max-pods'];
  if (!/^\d+$/.test(maxPods) || Number(maxPods) < 1) throw new UsageError(`--max-pods: "${maxPods}" must be a positive integer`);
  let systemReserved: Record<string, string>;
  try {
    systemReserved = parseReserved(values['system-reserved']);
  } catch (err) {
    throw new UsageError(`--system-reserved: ${errorMessage(err)}`);
  }
  if (values['data-dir'] === '') throw new UsageError('--data-dir: must not be empty');
  const servers = (values.server ?? []).map((v) => serverAddress('server', v));
  const cgroupRoot = values['cgroup-root'].replace(/^\/+|\/+$/g, '');
  if (!/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(cgroupRoot) || cgroupRoot.split('/').some((p) => p === '.' || p === '..')) {
    throw new UsageError(`--cgroup-root: "${values['cgroup-root']}" is not a cgroup path such as tsk or tsk/node-1`);
  }
  const allowedUnsafeSysctls = values['allowed-unsafe-sysctls']
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  try {
    newSysctlAllowlist(allowedUnsafeSysctls);
  } catch (err) {
    throw new UsageError(`--allowed-unsafe-sysctls: ${errorMessage(err)}`);
  }
  return {
    server: servers[0],
    servers,
    kubeconfig: values.kubeconfig,
    nodeName,
    nodeIP,
    podCIDR,
    dataDir: values['data-dir'],
    cgroupRoot,
    maxPods: Number(maxPods),
    nodeStatusUpdateFrequencyMs: durationMs('node-status-update-frequency', values['node-status-update-frequency'], { positive: true }),
    nodeStatusReportFrequencyMs: durationMs('node-status-report-frequency', values['node-status-report-frequency'], { positive: true }),
    nodeLeaseDurationSeconds: leaseDuration(values['node-lease-duration-seconds']),
    syncFrequencyMs: durationMs('sync-frequency', values['sync-frequency'], { positive: true }),
    httpAddress: hostPort('http-address', values['http-address'], '127.0.0.1:10248'),
    address,
    port: Number(port),
    systemReserved,
    network,
    allowedUnsafeSysctls,
    clusterDNS: values['cluster-dns'] === undefined ? undefined : ipv4Flag('cluster-dns', values['cluster-dns']),
    clusterDomain: values['cluster-domain'] === undefined ? undefined : clusterDomainFlag('cluster-domain', values['cluster-domain']),
    resolvConf: values['resolv-conf'],
    token: values.token,
    help: values.help,
  };
}

/**
 * HOST:PORT of the kubelet's port: --address (else the node IP) and --port;
 * undefined when it is not served (--port 0, or neither an address nor a node IP).
 */
export function kubeletPortAddress(flags: Pick<KubeletFlags, 'address' | 'nodeIP' | 'port'>): string | undefined {
  const ip = flags.address || flags.nodeIP;
  if (flags.port === 0 || ip === '') return undefined;
  return isIP(ip) === 6 ? `[${ip}]:${flags.port}` : `${ip}:${flags.port}`;
}
