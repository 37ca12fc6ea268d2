// `tsk controller-manager` flags (node:util parseArgs). Parsing is pure: it
// returns the options or a UsageError naming the flag, and never exits.

import { hostPort, parseFlagValues, serverAddress, UsageError } from '../util/flags';
import {
  NODE_CONTROLLER_FLAG_HELP,
  NODE_CONTROLLER_FLAG_SPECS,
  nodeControllerEntries,
  parseNodeControllerFlags,
  type NodeControllerOptions,
} from './node-flags';
import { CONTROLLERS, type ControllerTable } from './registry';
import { leaderElectionFlagHelp, parseLeaderElectionFlags, type LeaderElectionConfig, type LeaderElectionFlagOptions } from '../client';

/** kube-controller-manager's Lease. */
export const LEADER_ELECTION_FLAGS: LeaderElectionFlagOptions = { resourceName: 'kube-controller-manager', acceptResourceName: true };

export { UsageError };

export interface ControllerManagerFlags {
  /** Unset: client/config.ts resolveClient() decides ($TSCTL_SERVER, the config's context, 127.0.0.1:6443). */
  server: string | undefined;
  /** --kubeconfig: the client config file with the credentials. */
  kubeconfig: string | undefined;
  httpAddress: string;
  /** The controllers to run, resolved from --controllers. */
  controllers: string[];
  /** Workers by controller name, for those a flag set. */
  workers: Record<string, number>;
  /** The node controllers' options (--node-monitor-grace-period, --cluster-cidr, ...). */
  nodeControllers: NodeControllerOptions;
  /** The controllers by name, the node controllers built with those options: pass it to startControllerManager. */
  table: ControllerTable;
  /** The join token (--token): the server token, which may join control-plane components. */
  token: string | undefined;
  /** Where the controller manager keeps the key and certificate it joined with: DATA-DIR/controller-manager. */
  dataDir: string;
  /** --leader-elect and its timings, the Lease kube-system/kube-controller-manager by default. */
  leaderElection: LeaderElectionConfig;
  help: boolean;
}

/** Kubernetes' per-controller concurrency flags, and the controller each sets. */
export const CONCURRENCY_FLAGS: Readonly<Record<string, { controller: string; default: number }>> = {
  'concurrent-rc-syncs': { controller: 'replicationcontroller', default: 5 },
  'concurrent-gc-syncs': { controller: 'garbagecollector', default: 20 },
  'concurrent-endpoint-syncs': { controller: 'endpoints', default: 5 },
};

export const DEFAULT_HTTP_ADDRESS = '127.0.0.1:10257';

export function flagHelp(table: ControllerTable = CONTROLLERS): string {
  const names = Object.keys(table).sort();
  const off = names.filter((n) => table[n]!.disabledByDefault);
  return `Usage: tsk controller-manager [FLAGS]

Runs the controllers (replica counts, garbage collection, ...) against the API server.
Health and metrics (workqueue_*) are served on --http-address.

Flags:
  --server HOST:PORT          the API server, HOST:PORT or unix:/PATH (default: $TSCTL_SERVER, then ~/.tsk/config,
                              then 127.0.0.1:6443)
  --kubeconfig FILE           the client config (server, CA, credential; default: $TSK_CONFIG, then
                              ~/.tsk/config); its credentials go with --server
  --http-address HOST:PORT    HTTP address for /healthz, /readyz, /livez, /metrics (default ${DEFAULT_HTTP_ADDRESS})
  --controllers LIST          controllers to run, comma-separated: "*" runs every controller on by default,
                              "foo" runs foo, "-foo" does not (default "*").
                              Known: ${names.join(', ')}${off.length > 0 ? `; off by default: ${off.join(', ')}` : ''}
${Object.entries(CONCURRENCY_FLAGS)
  .map(([flag, c]) => `  --${flag} N`.padEnd(30).replace(/(\S)$/, '$1 ') + `workers of the ${c.controller} controller (default ${c.default})`)
  .join('\n')}
  --disable LIST              controllers not to run, comma-separated, as k3s's --disable (such as "servicelb"
                              when another load balancer implements type LoadBalancer); wins over --controllers
  --workers N                 workers of every controller without its own flag above (default: each one's default)
${NODE_CONTROLLER_FLAG_HELP}
${leaderElectionFlagHelp(LEADER_ELECTION_FLAGS, 30)}
  --token TOKEN               join as system:kube-controller-manager with the server's token (<data-dir>/token
                              on the server; default $TSK_TOKEN); later starts need none
  --data-dir DIR              the joined key and certificate are kept in DIR/controller-manager (default /var/lib/tsk)
  -h, --help                  print this help`;
}

/** k3s's --disable: the named controllers are left out whatever --controllers says; an unknown name is a UsageError. */
export function disableControllers(selected: readonly string[], list: string, table: ControllerTable = CONTROLLERS): string[] {
  const off = new Set<string>();
  for (const raw of list.split(',')) {
    const name = raw.trim();
    if (name === '') continue;
    if (!table[name]) throw new UsageError(`--disable: "${name}" is not a known controller; known controllers: ${Object.keys(table).sort().join(', ')}`);
    off.add(name);
  }
  return selected.filter((n) => !off.has(n));
}

/**
 * Kubernetes' --controllers semantics: a name enables it, "-name" disables
 * it, "*" enables every controller on by default; an explicit entry wins over
 * "*". An unknown name is a UsageError listing the known ones.
 */
export function selectControllers(list: readonly string[], table: ControllerTable = CONTROLLERS): string[] {
  const known = Object.keys(table);
  const on = new Set<string>();
  const off = new Set<string>();
  let star = false;
  for (const raw of list) {
    const item = raw.trim();
    if (item === '') continue;
    if (item === '*') {
      star = true;
      continue;
    }
    const name = item.startsWith('-') ? item.slice(1) : item;
    if (!table[name]) {
      throw new UsageError(`--controllers: "${name}" is not a known controller; known controllers: ${known.sort().join(', ')} (or "*")`);
    }
    (item.startsWith('-') ? off : on).add(name);
  }
  return known.filter((name) => {
    if (off.has(name)) return false;
    if (on.has(name)) return true;
    return star && !table[name]!.disabledByDefault;
  });
}

function dataDirOf(value: string | boolean | undefined): string {
  if (typeof value !== 'string' || value === '') throw new UsageError('--data-dir: must not be empty');
  return value;
}

function positive(flag: string, value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`--${flag}: "${value}" must be a positive integer`);
  return Number(value);
}

/**
 * Parses the flags. `baseTable` (tests) replaces the registry table; by
 * default the node controllers in it are built with their flags' options.
 */
export function parseFlags(argv: string[], baseTable?: ControllerTable): ControllerManagerFlags {
  const election = parseLeaderElectionFlags(argv, LEADER_ELECTION_FLAGS);
  const values = parseFlagValues(election.rest, {
    server: { type: 'string' },
    kubeconfig: { type: 'string' },
    'http-address': { type: 'string', default: DEFAULT_HTTP_ADDRESS },
    controllers: { type: 'string', default: '*' },
    disable: { type: 'string', default: '' },
    workers: { type: 'string' },
    ...Object.fromEntries(Object.keys(CONCURRENCY_FLAGS).map((f) => [f, { type: 'string' as const }])),
    ...NODE_CONTROLLER_FLAG_SPECS,
    token: { type: 'string' },
    'data-dir': { type: 'string', default: '/var/lib/tsk' },
    help: { type: 'boolean', short: 'h', default: false },
  });
  const v = values as Record<string, string | boolean | undefined>;
  const nodeControllers = parseNodeControllerFlags(v, (msg) => new UsageError(msg));
  const table = baseTable ?? { ...CONTROLLERS, ...nodeControllerEntries(nodeControllers) };
  const controllers = disableControllers(selectControllers(String(v['controllers']).split(','), table), String(v['disable']), table);
  const workers: Record<string, number> = {};
  const general = v['workers'];
  if (typeof general === 'string') {
    const n = positive('workers', general);
    for (const name of controllers) workers[name] = n;
  }
  for (const [flag, { controller }] of Object.entries(CONCURRENCY_FLAGS)) {
    const given = v[flag];
    if (typeof given === 'string') workers[controller] = positive(flag, given);
  }
  return {
    server: typeof v['server'] === 'string' ? serverAddress('server', v['server']) : undefined,
    kubeconfig: typeof v['kubeconfig'] === 'string' ? v['kubeconfig'] : undefined,
    httpAddress: hostPort('http-address', String(v['http-address']), DEFAULT_HTTP_ADDRESS),
    controllers,
    workers,
    nodeControllers,
    table,
    token: typeof v['token'] === 'string' ? v['token'] : undefined,
    dataDir: dataDirOf(v['data-dir']),
    leaderElection: election.config,
    help: v['help'] === true,
  };
}
