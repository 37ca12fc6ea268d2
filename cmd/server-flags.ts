// `tsk server` flags: the API server's and the controller manager's, in one
// command line (as k3s's server takes both). Each flag goes to the parser of
// the component that owns it, so both keep their own validation and errors.

import { FLAG_HELP as API_HELP, parseFlags as parseApiFlags, type ApiServerFlags } from '../apiserver';
import {
  CONCURRENCY_FLAGS,
  NODE_CONTROLLER_FLAG_HELP,
  NODE_CONTROLLER_FLAG_SPECS,
  parseFlags as parseControllerFlags,
  type ControllerManagerFlags,
} from '../controllers';
import { parseFlagValues, splitArgv, UsageError } from '../util/flags';
import { percentageFlag } from '../scheduler';
import { leaderElectionFlagHelp, parseLeaderElectionFlags, type LeaderElectionConfig } from '../client';

export { UsageError };

/** The controller manager's flags that `tsk server` takes (not --server or --http-address: it has the API server's). */
const CONTROLLER_FLAGS = new Set(['controllers', 'disable', 'workers', ...Object.keys(CONCURRENCY_FLAGS), ...Object.keys(NODE_CONTROLLER_FLAG_SPECS)]);

export interface ServerFlags {
  api: ApiServerFlags;
  controllers: ControllerManagerFlags;
  /** --leader-elect*: the scheduler's Lease (kube-scheduler) and the controllers' (kube-controller-manager), in one namespace. */
  scheduler: LeaderElectionConfig;
  controllerManager: LeaderElectionConfig;
  /** The scheduler's --percentage-of-nodes-to-score (0: adaptive), as in `tsk scheduler`. */
  percentageOfNodesToScore: number;
  /** --components-thread: the controllers and the scheduler on a worker thread of their own (server-components.ts). */
  componentsThread: boolean;
  help: boolean;
}

/** Splits argv by owner; every controller flag takes a value (--flag V or --flag=V). */
export function splitServerArgv(argv: readonly string[]): { api: string[]; controllers: string[] } {
  const { picked, rest } = splitArgv(argv, CONTROLLER_FLAGS);
  return { api: rest, controllers: picked };
}

/** `tsk server` elects two Leases of Kubernetes' fixed names, so it takes no --leader-elect-resource-name. */
const LEADER_ELECTION_FLAGS = { resourceName: 'kube-controller-manager', acceptResourceName: false };

/** The scheduler's flags that `tsk server` takes besides --leader-elect*. */
const SCHEDULER_FLAGS = new Set(['percentage-of-nodes-to-score']);

/** --percentage-of-nodes-to-score among the scheduler's flags; 0 (adaptive) when absent. */
function schedulerPercentage(picked: string[]): number {
  return percentageFlag(parseFlagValues(picked, { 'percentage-of-nodes-to-score': { type: 'string', default: '0' } })['percentage-of-nodes-to-score']);
}

/** `tsk server`'s own flags (each takes a value). */
const OWN_FLAGS = new Set(['components-thread']);

function componentsThreadFlag(picked: string[]): boolean {
  const v = parseFlagValues(picked, { 'components-thread': { type: 'string', default: 'true' } })['components-thread'];
  if (v !== 'true' && v !== 'false') throw new UsageError(`--components-thread: "${v}" must be true or false`);
  return v === 'true';
}

export function parseServerFlags(argv: readonly string[]): ServerFlags {
  const own = splitArgv(argv, OWN_FLAGS);
  const election = parseLeaderElectionFlags(own.rest, LEADER_ELECTION_FLAGS);
  const scheduler = splitArgv(election.rest, SCHEDULER_FLAGS);
  const parts = splitServerArgv(scheduler.rest);
  // Every parser throws the tree's one UsageError.
  const api = parseApiFlags(parts.api);
  const controllers = parseControllerFlags(parts.controllers);
  return {
    api,
    controllers,
    scheduler: { ...election.config, resourceName: 'kube-scheduler' },
    controllerManager: election.config,
    percentageOfNodesToScore: schedulerPercentage(scheduler.picked),
    componentsThread: componentsThreadFlag(own.picked),
    help: api.help,
  };
}

const apiFlagLines = API_HELP.slice(API_HELP.indexOf('Flags:\n') + 'Flags:\n'.length);

export const SERVER_HELP = `Usage: tsk server [FLAGS]

Runs the control plane in one process, as k3s's server: the API server (with
its own etcd unless --etcd-servers is given), the scheduler and the
controllers, sharing one set of informers. Their metrics are all served on
--http-address/metrics.

API server flags:
${apiFlagLines}

Controller flags:
  --controllers LIST                     controllers to run, comma-separated: "*" (default), "foo", "-foo"
  --disable LIST                         controllers not to run, as k3s's --disable (such as "servicelb")
  --workers N                            workers of every controller without its own flag
${Object.entries(CONCURRENCY_FLAGS)
  .map(([flag, c]) => `  --${flag} N`.padEnd(41) + `workers of the ${c.controller} controller (default ${c.default})`)
  .join('\n')}
${NODE_CONTROLLER_FLAG_HELP}

Server flags:
  --components-thread BOOL               run the controllers and the scheduler on a thread of their own, beside
                                         the API server's event loop (default true; false: on the same loop)

Scheduler flags:
  --percentage-of-nodes-to-score N       stop the search for feasible nodes once N% of them (at least 100) are
                                         found, and score only those; 0 (default) adapts to the cluster: 50%
                                         minus 1% per 125 nodes, at least 5% (as tsk scheduler)

Leader election (the scheduler's Lease kube-scheduler and the controllers' kube-controller-manager, so that
several servers on one etcd run them and exactly one of each acts):
${leaderElectionFlagHelp(LEADER_ELECTION_FLAGS, 41)}`;
