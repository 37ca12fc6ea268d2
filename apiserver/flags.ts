// `tsk apiserver` flags (node:util parseArgs). Parsing is pure: it returns
// the options or a usage error, and never exits.

import { goDurationMs, hostPort, parseFlagValues, UsageError } from '../util/flags';
import { isLevel, LEVELS, type Level } from './admission/pod-security';
import { parseListenAddress } from './grpc/listen';
import { parsePortRange, parseServiceCidr } from './registry/allocator';

export interface ApiServerFlags {
  address: string;
  httpAddress: string;
  dataDir: string;
  /** Empty: start and supervise an embedded etcd. */
  etcdServers: string[];
  serviceCidr: string;
  nodePortRange: string;
  writeConfig: boolean;
  /** Seconds an Event is kept after its last write. */
  eventTtlSeconds: number;
  /** Pod Security's level for namespaces without the pod-security.kubernetes.io/enforce label. */
  podSecurityDefaultEnforce: Level;
  help: boolean;
}

export { UsageError };

export const FLAG_HELP = `Usage: tsk apiserver [FLAGS]

Runs the tsk API server: the gRPC API on --address, health and metrics on --http-address.
With no --etcd-servers it starts and supervises its own etcd under --data-dir.

Flags:
  --address ADDRESSES              gRPC addresses, comma-separated: HOST:PORT or unix:/PATH (a unix socket
                                   reaches processes in other network namespaces); default 127.0.0.1:6443
  --http-address HOST:PORT         HTTP address for /healthz, /readyz, /livez, /metrics (default 127.0.0.1:6080)
  --data-dir DIR                   data directory; the embedded etcd keeps its data in DIR/etcd (default /var/lib/tsk)
  --etcd-servers URLS              comma-separated etcd client URLs (default: start an embedded etcd)
  --service-cidr CIDR              range for service ClusterIPs (default 10.96.0.0/16)
  --service-node-port-range A-B    range for NodePorts (default 30000-32767)
  --event-ttl DURATION             how long an Event is kept after its last update, such as 1h, 30m or 1h30m0s (default 1h)
  --pod-security-default-enforce LEVEL
                                   Pod Security level for namespaces without the pod-security.kubernetes.io/enforce
                                   label: privileged, baseline or restricted (default privileged)
  --write-config[=true|false]      write ~/.tsk/config with this server's address for tsctl (default true)
  -h, --help                       print this help`;

/** One or more gRPC addresses, comma-separated: HOST:PORT or unix:/PATH. */
function listenAddresses(flag: string, value: string): string {
  for (const part of value.split(',')) {
    try {
      parseListenAddress(part.trim());
    } catch (err) {
      throw new UsageError(`--${flag}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return value;
}

/** A Go duration flag of at least a second, in whole seconds ("1h", "30m", "1h30m0s", "90s"). */
export function parseDuration(flag: string, value: string): number {
  const ms = goDurationMs(value);
  if (ms === undefined) throw new UsageError(`--${flag}: "${value}" is not a duration such as 1h, 30m or 1h30m0s`);
  if (ms < 1000) throw new UsageError(`--${flag}: "${value}" must be at least 1s`);
  return Math.round(ms / 1000);
}

export function parseFlags(argv: string[]): ApiServerFlags {
  const values = parseFlagValues(argv, {
    address: { type: 'string', default: '127.0.0.1:6443' },
    'http-address': { type: 'string', default: '127.0.0.1:6080' },
    'data-dir': { type: 'string', default: '/var/lib/tsk' },
    'etcd-servers': { type: 'string', default: '' },
    'service-cidr': { type: 'string', default: '10.96.0.0/16' },
    'service-node-port-range': { type: 'string', default: '30000-32767' },
    'event-ttl': { type: 'string', default: '1h' },
    'pod-security-default-enforce': { type: 'string', default: 'privileged' },
    'write-config': { type: 'string', default: 'true' },
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
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const podSecurity = values['pod-security-default-enforce'];
  if (!isLevel(podSecurity)) throw new UsageError(`--pod-security-default-enforce: "${podSecurity}" must be one of ${LEVELS.join(', ')}`);
  return {
    podSecurityDefaultEnforce: podSecurity,
    address: listenAddresses('address', values.address),
    httpAddress: hostPort('http-address', values['http-address'], '127.0.0.1:6080'),
    dataDir: values['data-dir'],
    etcdServers,
    serviceCidr: values['service-cidr'],
    nodePortRange: values['service-node-port-range'],
    writeConfig: writeConfig === 'true',
    eventTtlSeconds: parseDuration('event-ttl', values['event-ttl']),
    help: values.help,
  };
}
