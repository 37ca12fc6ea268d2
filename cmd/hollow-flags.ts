// Flags of `tsk hollow-nodes` (Kubernetes' kubemark hollow node, many per process).

import { parseQuantity } from '../api/quantity';
import { HOLLOW_NODE_IPS } from '../kubelet';
import { durationMs, parseFlagValues, serverAddress, UsageError } from '../util/flags';

export interface HollowFlags {
  count: number;
  server: string | undefined;
  kubeconfig: string | undefined;
  namePrefix: string;
  /** The first node's index: names PREFIX<offset>..., InternalIPs from the offset-th on. */
  nameOffset: number;
  /** undefined: a temporary directory, removed at exit. */
  dataDir: string | undefined;
  maxPods: number;
  cpus: number;
  memoryKi: number;
  nodeStatusUpdateFrequencyMs: number;
  nodeLeaseDurationSeconds: number;
  startConcurrency: number;
  /** Run a proxy beside each kubelet (rules built, not applied). */
  proxy: boolean;
  proxySyncPeriodMs: number;
  proxyMinSyncPeriodMs: number;
  /** Each node's own bearer token (a --token-auth-file of the server), or undefined: every node acts as the client config's user. */
  nodeTokenFile: string | undefined;
  help: boolean;
}

export const HOLLOW_HELP = `Usage: tsk hollow-nodes --count N [FLAGS]

Runs N hollow nodes in this process, as Kubernetes' kubemark: each is the real
kubelet (registration, status and Lease heartbeats at the real intervals, pod
workers and status updates) over an in-memory runtime, so pods bound to it go
Running and Ready, and go away when deleted, with no container started, and the
real proxy, whose iptables rules are built and dropped. For scale tests of the
control plane; it prints the memory each hollow node takes.

Flags:
  --count N                              how many nodes (required)
  --server ADDRESS                       API server: HOST:PORT or unix:/PATH (default: the client config's)
  --kubeconfig FILE                      the client config (default: $TSK_CONFIG, then ~/.tsk/config); the
                                         nodes act with its credentials unless --node-token-file is given
  --node-token-file FILE                 each node's own identity, as kubemark's hollow kubelets have theirs: a
                                         CSV of the server's --token-auth-file form whose records for user
                                         system:node:NAME (group system:nodes) give node NAME its bearer token;
                                         the node authorizer, NodeRestriction and priority and fairness then
                                         treat each as the kubelet it stands for
  --name-prefix PREFIX                   node names are PREFIX0, PREFIX1, ... (default hollow-node-)
  --name-offset N                        the first node is PREFIX<N> with the N-th InternalIP, so several
                                         processes run disjoint nodes (default 0)
  --data-dir DIR                         the kubelets' state, DIR/NODE (default: a temporary directory,
                                         removed at exit)
  --max-pods N                           pods per node (default 110)
  --cpus N                               the CPU capacity each node reports (default 4)
  --memory QUANTITY                      the memory capacity each node reports (default 16Gi)
  --node-status-update-frequency DUR     as the kubelet's (default 10s)
  --node-lease-duration-seconds N        as the kubelet's (default 40)
  --start-concurrency N                  nodes registering at once (default 50)
  --proxy[=true|false]                   a proxy beside each kubelet (default true)
  --proxy-sync-period DUR                the proxies' full resync period (default 30s)
  --proxy-min-sync-period DUR            the shortest time between two syncs of a proxy (default 1s)
  -h, --help                             print this help`;

function positiveInt(flag: string, value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`--${flag}: "${value}" must be a positive integer`);
  return Number(value);
}

function nonNegativeInt(flag: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`--${flag}: "${value}" must be a non-negative integer`);
  return Number(value);
}

function memoryKi(value: string): number {
  let bytes: number;
  try {
    bytes = parseQuantity(value).value();
  } catch {
    throw new UsageError(`--memory: "${value}" is not a quantity (such as 16Gi)`);
  }
  if (bytes < 1024) throw new UsageError(`--memory: "${value}" is less than 1Ki`);
  return Math.floor(bytes / 1024);
}

export function parseHollowFlags(argv: string[]): HollowFlags {
  const v = parseFlagValues(argv, {
    count: { type: 'string' },
    server: { type: 'string' },
    kubeconfig: { type: 'string' },
    'name-prefix': { type: 'string', default: 'hollow-node-' },
    'name-offset': { type: 'string', default: '0' },
    'data-dir': { type: 'string' },
    'max-pods': { type: 'string', default: '110' },
    cpus: { type: 'string', default: '4' },
    memory: { type: 'string', default: '16Gi' },
    'node-status-update-frequency': { type: 'string', default: '10s' },
    'node-lease-duration-seconds': { type: 'string', default: '40' },
    'start-concurrency': { type: 'string', default: '50' },
    proxy: { type: 'string', default: 'true' },
    'proxy-sync-period': { type: 'string', default: '30s' },
    'proxy-min-sync-period': { type: 'string', default: '1s' },
    'node-token-file': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (v.help) return { help: true } as HollowFlags;
  if (v.count === undefined) throw new UsageError('--count is required');
  if (v.proxy !== 'true' && v.proxy !== 'false') throw new UsageError(`--proxy: "${v.proxy}" must be true or false`);
  if (!/^[a-z0-9]([-a-z0-9]*)?$/.test(v['name-prefix']))
    throw new UsageError(`--name-prefix: "${v['name-prefix']}" must be lower-case letters, digits and '-'`);
  const count = positiveInt('count', v.count);
  const nameOffset = nonNegativeInt('name-offset', v['name-offset']);
  // Each node's InternalIP is its own address of 198.18.0.0/15: two nodes must not share one.
  if (nameOffset + count > HOLLOW_NODE_IPS)
    throw new UsageError(`--name-offset: nodes ${nameOffset} to ${nameOffset + count - 1} pass the ${HOLLOW_NODE_IPS} hollow node addresses`);
  return {
    count,
    server: v.server === undefined ? undefined : serverAddress('server', v.server),
    kubeconfig: v.kubeconfig,
    namePrefix: v['name-prefix'],
    nameOffset,
    dataDir: v['data-dir'],
    maxPods: positiveInt('max-pods', v['max-pods']),
    cpus: positiveInt('cpus', v.cpus),
    memoryKi: memoryKi(v.memory),
    nodeStatusUpdateFrequencyMs: durationMs('node-status-update-frequency', v['node-status-update-frequency'], { positive: true }),
    nodeLeaseDurationSeconds: positiveInt('node-lease-duration-seconds', v['node-lease-duration-seconds']),
    startConcurrency: positiveInt('start-concurrency', v['start-concurrency']),
    proxy: v.proxy === 'true',
    proxySyncPeriodMs: durationMs('proxy-sync-period', v['proxy-sync-period'], { atLeast: '1s' }),
    proxyMinSyncPeriodMs: durationMs('proxy-min-sync-period', v['proxy-min-sync-period']),
    nodeTokenFile: v['node-token-file'],
    help: false,
  };
}
