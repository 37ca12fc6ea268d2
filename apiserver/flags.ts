// `tsk apiserver` flags (node:util parseArgs). Parsing is pure: it returns
// the options or a usage error, and never exits.

import { clusterDomainFlag, durationMs, ipv4Flag, hostPort, parseFlagValues, UsageError } from '../util/flags';
import { isLevel, LEVELS, type Level } from './admission/pod-security';
import { parseListenAddress } from './grpc/listen';
import { parsePortRange, parseServiceCidr } from './registry/allocator';
import { errorMessage } from '../util/errors';
import { join } from 'node:path';
import { cronError, DEFAULT_SNAPSHOT_CRON, DEFAULT_SNAPSHOT_RETENTION } from './etcd/snapshot-schedule';
import { DEFAULT_CLUSTER_DOMAIN, defaultClusterDNS } from '../api/cluster-dns';
import { parseHaFlags, type HaOptions } from './ha/flags';

export interface ApiServerFlags {
  address: string;
  httpAddress: string;
  /** The Kubernetes REST API's HOST:PORT (--rest-address); "" turns it off. */
  restAddress: string;
  /** Where the admin kubeconfig for kubectl is written (--write-kubeconfig). */
  writeKubeconfig: string;
  dataDir: string;
  /** Empty: start and supervise an embedded etcd. */
  etcdServers: string[];
  serviceCidr: string;
  /** The cluster DNS address, published as the kube-dns Service's ClusterIP (--cluster-dns; default the CIDR's 10th address; none in a smaller CIDR). */
  clusterDns: string | undefined;
  /** The cluster domain, published on the kube-dns Service (--cluster-domain). */
  clusterDomain: string;
  nodePortRange: string;
  writeConfig: boolean;
  /** Seconds an Event is kept after its last write. */
  eventTtlSeconds: number;
  /** How often etcd's history is compacted (--etcd-compaction-interval); 0: never. */
  etcdCompactionIntervalMs: number;
  /** Scheduled snapshots of the embedded etcd (k3s's flags). */
  etcdSnapshots: { enabled: boolean; cron: string; retention: number; dir: string };
  /** --cluster-reset: rebuild the embedded etcd (from --cluster-reset-restore-path, if given) and exit. */
  clusterReset: boolean;
  clusterResetRestorePath: string | undefined;
  /** Pod Security's level for namespaces without the pod-security.kubernetes.io/enforce label. */
  podSecurityDefaultEnforce: Level;
  /** Extra names and IPs of the serving certificate (--tls-san). */
  tlsSans: string[];
  /** The name of this cluster's context in the client config (--cluster-name). */
  clusterName: string;
  tokenAuthFile: string | undefined;
  /** --insecure-plaintext-for-benchmarks-only */
  insecurePlaintext: boolean;
  /** TLS to an external etcd (--etcd-cafile, --etcd-certfile, --etcd-keyfile). */
  etcdCaFile: string | undefined;
  etcdCertFile: string | undefined;
  etcdKeyFile: string | undefined;
  /** Kubernetes' --encryption-provider-config; default DIR/encryption-config.yaml, made on the first start. */
  encryptionProviderConfig: string | undefined;
  /** The embedded etcd's cluster: --cluster-init, --server/--token, --leave, --advertise-address (k3s's HA). */
  ha: HaOptions;
  /** API Priority and Fairness (--enable-priority-and-fairness) and its seats (--max-requests-inflight + --max-mutating-requests-inflight). */
  flowControl: { enabled: boolean; serverConcurrency: number };
  help: boolean;
}

export { UsageError };

export const FLAG_HELP = `Usage: tsk apiserver [FLAGS]

Runs the tsk API server: the gRPC API on --address, health and metrics on --http-address.
With no --etcd-servers it starts and supervises its own etcd under --data-dir.

Flags:
  --address ADDRESSES              gRPC addresses, comma-separated: HOST:PORT or unix:/PATH (a unix socket
                                   reaches processes in other network namespaces); default 127.0.0.1:6443
  --http-address HOST:PORT         HTTP address for /healthz, /readyz, /livez, /metrics (default 127.0.0.1:6080);
                                   beyond loopback HTTPS, /metrics only for client certificates of the cluster CA
  --rest-address HOST:PORT         the Kubernetes REST API over HTTPS, for kubectl and client libraries (default the host
                                   of the first TCP --address, port 6444 when that is on 6443, else a free port; "" turns it off)
  --write-kubeconfig PATH          the admin kubeconfig for kubectl, pointing at --rest-address (default
                                   DATA-DIR/admin.kubeconfig, mode 0600)
  --data-dir DIR                   data directory; the embedded etcd keeps its data in DIR/etcd (default /var/lib/tsk)
  --etcd-servers URLS              comma-separated etcd client URLs (default: start an embedded etcd)
  --service-cidr CIDR              range for service ClusterIPs (default 10.96.0.0/16)
  --service-node-port-range A-B    range for NodePorts (default 30000-32767)
  --cluster-dns IP                 the cluster DNS address, kept as the ClusterIP of the kube-dns Service in
                                   kube-system (agents read it there) (default: the 10th address of --service-cidr,
                                   10.96.0.10)
  --cluster-domain DOMAIN          the cluster's DNS domain, published on the kube-dns Service (default cluster.local)
  --event-ttl DURATION             how long an Event is kept after its last update, such as 1h, 30m or 1h30m0s (default 1h)
  --etcd-snapshot-schedule-cron SPEC
                                   when the embedded etcd is snapshotted, in cron syntax (default "0 */12 * * *")
  --etcd-snapshot-retention N      scheduled snapshots kept (default 5)
  --etcd-snapshot-dir DIR          where snapshots are kept (default DATA-DIR/snapshots)
  --etcd-disable-snapshots         take no scheduled snapshots
  --cluster-reset                  rebuild the embedded etcd as a one-member cluster and exit; with
                                   --cluster-reset-restore-path FILE, from that snapshot (the old data is kept aside)
  --etcd-compaction-interval DURATION
                                   how often etcd's history is compacted, keeping one interval of it for watchers
                                   that are behind (default 5m; 0 never: etcd's database then only grows)
  --pod-security-default-enforce LEVEL
                                   Pod Security level for namespaces without the pod-security.kubernetes.io/enforce
                                   label: privileged, baseline or restricted (default privileged)
  --write-config[=true|false]      write this cluster's context (address, CA, admin credential) into ~/.tsk/config
                                   (or $TSK_CONFIG) and make it current (default true); DIR/admin.conf is always written
  --cluster-name NAME              the name of this cluster's context in the client config (default "default"); a context of
                                   that name for another cluster is replaced with a warning
  --tls-san NAMES                  extra host names or IPs of the serving certificate, comma-separated or repeated (the host
                                   name, its IPs, 127.0.0.1 and localhost are always in); DIR/tls holds the cluster CA
  --token-auth-file FILE           static bearer tokens, CSV lines token,user,uid,"group1,group2" (as kube-apiserver)
  --etcd-cafile FILE               CA of the external etcd's serving certificate (https --etcd-servers)
  --etcd-certfile FILE             client certificate for the external etcd (with --etcd-keyfile)
  --etcd-keyfile FILE              key of --etcd-certfile
  --cluster-init                   start the embedded etcd as a cluster other servers join (peers on
                                   --advertise-address:2380 with the etcd peer CA's certificates, clients on :2379)
  --server URL                     join the cluster of the server at URL (https://HOST:6443) as an etcd member (with --token)
  --token TOKEN                    the server token for --server (<data-dir>/token on a server of the cluster)
  --advertise-address IP           the address other servers reach this one on (etcd peers, the kubernetes Endpoints);
                                   default this host's first non-loopback IPv4 address
  --leave                          remove this server's etcd member from its cluster and wipe DIR/etcd, then exit
                                   (stop the server first)
  --enable-priority-and-fairness[=true|false]
                                   API Priority and Fairness (default true): requests run on the seats of their
                                   priority level (leader election, node heartbeats, the controllers, users, ...) and
                                   wait in fair queues when those are taken; false serves every request at once
  --max-requests-inflight N        with --max-mutating-requests-inflight, the seats priority and fairness shares
                                   among its levels (default 400; the two added, as Kubernetes does)
  --max-mutating-requests-inflight N
                                   (default 200)
  --insecure-plaintext-for-benchmarks-only
                                   serve gRPC WITHOUT TLS or client certificates, for npm run bench:api's comparison ONLY:
                                   anyone who can reach the port can read and change everything
  -h, --help                       print this help`;

/** One or more gRPC addresses, comma-separated: HOST:PORT or unix:/PATH. */
function listenAddresses(flag: string, value: string): string {
  for (const part of value.split(',')) {
    try {
      parseListenAddress(part.trim());
    } catch (err) {
      throw new UsageError(`--${flag}: ${errorMessage(err)}`);
    }
  }
  return value;
}

export function parseFlags(argv: string[]): ApiServerFlags {
  const values = parseFlagValues(argv, {
    address: { type: 'string', default: '127.0.0.1:6443' },
    'http-address': { type: 'string', default: '127.0.0.1:6080' },
    'rest-address': { type: 'string' },
    'write-kubeconfig': { type: 'string' },
    'data-dir': { type: 'string', default: '/var/lib/tsk' },
    'etcd-servers': { type: 'string', default: '' },
    'service-cidr': { type: 'string', default: '10.96.0.0/16' },
    'service-node-port-range': { type: 'string', default: '30000-32767' },
    'cluster-dns': { type: 'string' },
    'cluster-domain': { type: 'string', default: DEFAULT_CLUSTER_DOMAIN },
    'event-ttl': { type: 'string', default: '1h' },
    'etcd-compaction-interval': { type: 'string', default: '5m' },
    'etcd-snapshot-schedule-cron': { type: 'string', default: DEFAULT_SNAPSHOT_CRON },
    'etcd-snapshot-retention': { type: 'string', default: String(DEFAULT_SNAPSHOT_RETENTION) },
    'etcd-snapshot-dir': { type: 'string' },
    'etcd-disable-snapshots': { type: 'boolean', default: false },
    'cluster-reset': { type: 'boolean', default: false },
    'cluster-reset-restore-path': { type: 'string' },
    'pod-security-default-enforce': { type: 'string', default: 'privileged' },
    'write-config': { type: 'string', default: 'true' },
    'tls-san': { type: 'string', multiple: true, default: [] },
    'cluster-name': { type: 'string', default: 'default' },
    'token-auth-file': { type: 'string' },
    'etcd-cafile': { type: 'string' },
    'etcd-certfile': { type: 'string' },
    'etcd-keyfile': { type: 'string' },
    'encryption-provider-config': { type: 'string' },
    'insecure-plaintext-for-benchmarks-only': { type: 'boolean', default: false },
    'cluster-init': { type: 'boolean', default: false },
    server: { type: 'string' },
    token: { type: 'string' },
    'advertise-address': { type: 'string' },
    leave: { type: 'boolean', default: false },
    'enable-priority-and-fairness': { type: 'string', default: 'true' },
    'max-requests-inflight': { type: 'string', default: '400' },
    'max-mutating-requests-inflight': { type: 'string', default: '200' },
    help: { type: 'boolean', short: 'h', default: false },
  });
  const writeConfig = values['write-config'];
  if (writeConfig !== 'true' && writeConfig !== 'false') {
    throw new UsageError(`--write-config: "${writeConfig}" must be true or false`);
  }
  const etcdServers = values['etcd-servers']
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const url of etcdServers) {
    if (!/^https?:\/\/[^/]+$/.test(url)) throw new UsageError(`--etcd-servers: "${url}" is not a URL such as http://127.0.0.1:2379`);
  }
  try {
    parseServiceCidr(values['service-cidr']);
    parsePortRange(values['service-node-port-range']);
  } catch (err) {
    throw new UsageError(errorMessage(err));
  }
  const { clusterDns, clusterDomain } = clusterDnsFlags(values['service-cidr'], values['cluster-dns'], values['cluster-domain']);
  const podSecurity = values['pod-security-default-enforce'];
  if (!isLevel(podSecurity)) throw new UsageError(`--pod-security-default-enforce: "${podSecurity}" must be one of ${LEVELS.join(', ')}`);
  return {
    podSecurityDefaultEnforce: podSecurity,
    address: listenAddresses('address', values.address),
    httpAddress: hostPort('http-address', values['http-address'], '127.0.0.1:6080'),
    restAddress: restAddress(values['rest-address'], values.address),
    writeKubeconfig: nonEmpty('write-kubeconfig', values['write-kubeconfig']) ?? join(values['data-dir'], 'admin.kubeconfig'),
    dataDir: values['data-dir'],
    etcdServers,
    serviceCidr: values['service-cidr'],
    clusterDns,
    clusterDomain,
    nodePortRange: values['service-node-port-range'],
    writeConfig: writeConfig === 'true',
    eventTtlSeconds: Math.round(durationMs('event-ttl', values['event-ttl'], { atLeast: '1s', example: '1h, 30m or 1h30m0s' }) / 1000),
    etcdCompactionIntervalMs: compactionInterval(values['etcd-compaction-interval']),
    etcdSnapshots: snapshotFlags(values),
    clusterReset: values['cluster-reset'],
    clusterResetRestorePath: resetRestorePath(values['cluster-reset'], values['cluster-reset-restore-path']),
    tlsSans: parseTlsSans(values['tls-san']),
    clusterName: contextName(values['cluster-name']),
    tokenAuthFile: nonEmpty('token-auth-file', values['token-auth-file']),
    insecurePlaintext: values['insecure-plaintext-for-benchmarks-only'],
    encryptionProviderConfig: nonEmpty('encryption-provider-config', values['encryption-provider-config']),
    ...etcdTls(values['etcd-cafile'], values['etcd-certfile'], values['etcd-keyfile']),
    ha: parseHaFlags({
      clusterInit: values['cluster-init'],
      server: values.server,
      token: values.token,
      leave: values.leave,
      advertiseAddress: values['advertise-address'],
      externalEtcd: etcdServers.length > 0,
      clusterReset: values['cluster-reset'],
    }),
    flowControl: flowControlFlags(values['enable-priority-and-fairness'], values['max-requests-inflight'], values['max-mutating-requests-inflight']),
    help: values.help,
  };
}

/** --enable-priority-and-fairness, --max-requests-inflight and --max-mutating-requests-inflight. */
function flowControlFlags(enable: string, readOnly: string, mutating: string): { enabled: boolean; serverConcurrency: number } {
  if (enable !== 'true' && enable !== 'false') throw new UsageError(`--enable-priority-and-fairness: "${enable}" must be true or false`);
  const count = (flag: string, v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`--${flag}: "${v}" must be a positive whole number`);
    return Number(v);
  };
  return { enabled: enable === 'true', serverConcurrency: count('max-requests-inflight', readOnly) + count('max-mutating-requests-inflight', mutating) };
}

/** The REST API's port when --rest-address names none: beside gRPC's 6443, as k3s's supervisor port sits beside its API. */
export const DEFAULT_REST_PORT = 6444;

/**
 * --rest-address: HOST:PORT, "" for off; by default the first TCP --address's
 * host (127.0.0.1 without one) on DEFAULT_REST_PORT when that address is on
 * gRPC's default port 6443 (or is a unix socket), else on a free port: a
 * server moved off 6443 (tests, labs, several servers on one host) must not
 * collide on 6444. The kubeconfig names the port actually bound.
 */
export function restAddress(value: string | undefined, grpcAddresses: string): string {
  if (value === '') return '';
  if (value !== undefined) return hostPort('rest-address', value, `127.0.0.1:${DEFAULT_REST_PORT}`);
  const tcp = grpcAddresses
    .split(',')
    .map((a) => a.trim())
    .find((a) => !a.startsWith('unix:'));
  const host = tcp === undefined ? '127.0.0.1' : tcp.replace(/:\d+$/, '');
  return `${host}:${tcp === undefined || /:6443$/.test(tcp) ? DEFAULT_REST_PORT : 0}`;
}

/** --cluster-dns (an address of the service CIDR, not its network, first or broadcast address) and --cluster-domain. */
export function clusterDnsFlags(serviceCidr: string, ip: string | undefined, domain: string): { clusterDns: string | undefined; clusterDomain: string } {
  const clusterDns = ip === undefined ? defaultClusterDNS(serviceCidr) : ipv4Flag('cluster-dns', ip);
  if (clusterDns !== undefined && parseServiceCidr(serviceCidr).slotOf(clusterDns) < 0) {
    throw new UsageError(`--cluster-dns: "${ip}" is not an address --service-cidr ${serviceCidr} can hand out`);
  }
  return { clusterDns, clusterDomain: clusterDomainFlag('cluster-domain', domain) };
}

/** --tls-san values: repeated and/or comma-separated host names and IPs. */
export function parseTlsSans(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const part of values.flatMap((v) => v.split(','))) {
    const name = part.trim();
    if (name === '') continue;
    if (!/^[A-Za-z0-9.:*_-]+$/.test(name)) throw new UsageError(`--tls-san: "${name}" is not a host name or IP address`);
    out.push(name);
  }
  return out;
}

function contextName(value: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(value)) throw new UsageError(`--cluster-name: "${value}" must be letters, digits, '.', '_' or '-'`);
  return value;
}

function nonEmpty(flag: string, value: string | undefined): string | undefined {
  if (value === '') throw new UsageError(`--${flag}: must not be empty`);
  return value;
}

function etcdTls(
  ca: string | undefined,
  cert: string | undefined,
  key: string | undefined,
): Pick<ApiServerFlags, 'etcdCaFile' | 'etcdCertFile' | 'etcdKeyFile'> {
  if ((cert === undefined) !== (key === undefined)) throw new UsageError('--etcd-certfile and --etcd-keyfile go together');
  return { etcdCaFile: nonEmpty('etcd-cafile', ca), etcdCertFile: nonEmpty('etcd-certfile', cert), etcdKeyFile: nonEmpty('etcd-keyfile', key) };
}

/** --etcd-compaction-interval: a duration of at least a second, or 0 for never (kube-apiserver's rule). */
function compactionInterval(value: string): number {
  if (value === '0') return 0;
  return durationMs('etcd-compaction-interval', value, { atLeast: '1s', example: '5m, 1h or 0 (never)' });
}

function snapshotFlags(values: {
  'data-dir': string;
  'etcd-snapshot-schedule-cron': string;
  'etcd-snapshot-retention': string;
  'etcd-snapshot-dir'?: string | undefined;
  'etcd-disable-snapshots': boolean;
}): ApiServerFlags['etcdSnapshots'] {
  const cron = values['etcd-snapshot-schedule-cron'];
  const bad = cronError(cron);
  if (bad !== undefined) throw new UsageError(`--etcd-snapshot-schedule-cron: "${cron}" is not a cron schedule: ${bad}`);
  const retentionText = values['etcd-snapshot-retention'];
  const retention = Number(retentionText);
  if (!/^\d+$/.test(retentionText) || retention < 1) throw new UsageError(`--etcd-snapshot-retention: "${retentionText}" must be a whole number of at least 1`);
  const dir = values['etcd-snapshot-dir'] ?? join(values['data-dir'], 'snapshots');
  return { enabled: !values['etcd-disable-snapshots'], cron, retention, dir };
}

function resetRestorePath(reset: boolean, path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  if (!reset) throw new UsageError("--cluster-reset-restore-path needs --cluster-reset (k3s: restoring replaces the cluster's data)");
  if (path === '') throw new UsageError('--cluster-reset-restore-path: the snapshot file is empty');
  return path;
}
