// `tsk scheduler` flags (node:util parseArgs). Parsing is pure: it returns
// the options or throws a UsageError naming the flag, and never exits.

import { hostPort, parseFlagValues, serverAddress, UsageError } from '../util/flags';
import { percentageOfNodesToScoreError } from './framework/sampling';
import { leaderElectionFlagHelp, parseLeaderElectionFlags, type LeaderElectionConfig, type LeaderElectionFlagOptions } from '../client';

/** kube-scheduler's Lease. */
export const LEADER_ELECTION_FLAGS: LeaderElectionFlagOptions = { resourceName: 'kube-scheduler', acceptResourceName: true };

export { UsageError };

export interface SchedulerFlags {
  /** The API server's address; undefined: resolveClient's default chain. */
  server: string | undefined;
  /** --kubeconfig: the client config file with the credentials. */
  kubeconfig: string | undefined;
  httpAddress: string;
  /** The join token (--token): the server token, which may join control-plane components. */
  token: string | undefined;
  /** Where the scheduler keeps the key and certificate it joined with: DATA-DIR/scheduler. */
  dataDir: string;
  /** --leader-elect and its timings, the Lease kube-system/kube-scheduler by default. */
  leaderElection: LeaderElectionConfig;
  /** --percentage-of-nodes-to-score (KubeSchedulerConfiguration's percentageOfNodesToScore); 0: adaptive. */
  percentageOfNodesToScore: number;
  help: boolean;
}

export const DEFAULT_HTTP_ADDRESS = '127.0.0.1:10259';

export const FLAG_HELP = `Usage: tsk scheduler [FLAGS]

Runs the tsk scheduler: watches pods without a node and binds each to a node
that can run it (resources, node selector, taints, host ports), spreading
the pods of one controller. Pods that fit nowhere stay Pending with a
PodScheduled=False condition and a FailedScheduling event saying why.

Flags:
  --server ADDRESS          the API server: HOST:PORT or unix:/PATH (default: $TSCTL_SERVER,
                            else ~/.tsk/config, else 127.0.0.1:6443)
  --kubeconfig FILE         the client config (server, CA, credential; default: $TSK_CONFIG, then
                            ~/.tsk/config); its credentials go with --server
  --http-address HOST:PORT  HTTP address for /healthz, /readyz, /livez, /metrics (default ${DEFAULT_HTTP_ADDRESS})
  --token TOKEN             join as system:kube-scheduler with the server's token (<data-dir>/token on the
                            server; default $TSK_TOKEN); later starts need none
  --data-dir DIR            the joined key and certificate are kept in DIR/scheduler (default /var/lib/tsk)
  --percentage-of-nodes-to-score N
                            stop searching once N% of the nodes (at least 100) are found feasible, and
                            score only those; 0 (default) adapts to the cluster: 50% minus 1% per 125
                            nodes, at least 5%
${leaderElectionFlagHelp(LEADER_ELECTION_FLAGS, 28)}
  -h, --help                print this help`;

/** The value of --percentage-of-nodes-to-score: an integer 0..100, or a UsageError naming the flag. */
export function percentageFlag(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  const err = percentageOfNodesToScoreError(n);
  if (err !== undefined) throw new UsageError(`--percentage-of-nodes-to-score: ${Number.isNaN(n) ? `not an integer: "${value}"` : err}`);
  return n;
}

function nonEmpty(flag: string, value: string): string {
  if (value === '') throw new UsageError(`--${flag}: must not be empty`);
  return value;
}

export function parseFlags(argv: string[]): SchedulerFlags {
  const election = parseLeaderElectionFlags(argv, LEADER_ELECTION_FLAGS);
  const values = parseFlagValues(election.rest, {
    server: { type: 'string' },
    kubeconfig: { type: 'string' },
    'http-address': { type: 'string', default: DEFAULT_HTTP_ADDRESS },
    token: { type: 'string' },
    'data-dir': { type: 'string', default: '/var/lib/tsk' },
    'percentage-of-nodes-to-score': { type: 'string', default: '0' },
    help: { type: 'boolean', short: 'h', default: false },
  });
  return {
    server: values.server === undefined ? undefined : serverAddress('server', values.server),
    kubeconfig: values.kubeconfig,
    httpAddress: hostPort('http-address', values['http-address'], DEFAULT_HTTP_ADDRESS),
    token: values.token,
    dataDir: nonEmpty('data-dir', values['data-dir']),
    leaderElection: election.config,
    percentageOfNodesToScore: percentageFlag(values['percentage-of-nodes-to-score']),
    help: values.help,
  };
}
