// API Priority and Fairness' configuration (Kubernetes' APF, KEP-1040): the
// priority levels of Kubernetes' suggested configuration with their
// concurrency shares and queues, and the flow schemas that classify a
// request by who sends it and what it asks. tsk has no FlowSchema or
// PriorityLevelConfiguration objects: the defaults are built in, as a
// cluster that never edits them has them.
//
// What it buys: a server short of CPU or of etcd throughput no longer serves
// requests in arrival order. 5,000 kubelets renewing their Leases filled the
// server's path to etcd until the controller manager's and the scheduler's
// own leader Leases missed their renew deadline and both lost leadership,
// again and again; under APF those renewals have a priority level (and seats)
// of their own, as node heartbeats have theirs, and a user's flood waits in
// its own queues.

import { GROUP_AUTHENTICATED, GROUP_MASTERS, GROUP_NODES, USER_CONTROLLER_MANAGER, USER_SCHEDULER, type UserInfo } from '../auth/user';
import type { RequestAttributes } from '../auth/authorizer';
import { NAMESPACE_NODE_LEASE } from '../../api/namespaces';

/** A priority level: its share of the server's concurrency and how many may wait. */
export interface PriorityLevel {
  readonly name: string;
  /** Exempt requests are never limited nor queued (system:masters, as Kubernetes' exempt level). */
  readonly exempt: boolean;
  /** nominalConcurrencyShares: the level's part of --max-requests-inflight + --max-mutating-requests-inflight. */
  readonly shares: number;
  /**
   * Requests that may wait: Kubernetes' queues × queueLengthLimit. 0 rejects
   * at once when every seat is taken (catch-all's Reject).
   */
  readonly queueCapacity: number;
  /** One flow may hold at most this many waiting requests (Kubernetes' queueLengthLimit): a flooding client fills its own queue. */
  readonly flowQueueLimit: number;
}

const queued = (name: string, shares: number, queues: number): PriorityLevel => ({
  name,
  exempt: false,
  shares,
  queueCapacity: queues * 50,
  flowQueueLimit: 50,
});

/** Kubernetes' suggested and mandatory priority levels (apiserver's flowcontrol bootstrap). */
export const PRIORITY_LEVELS: readonly PriorityLevel[] = [
  { name: 'exempt', exempt: true, shares: 0, queueCapacity: 0, flowQueueLimit: 0 },
  queued('system', 30, 64),
  queued('node-high', 40, 64),
  queued('leader-election', 10, 16),
  queued('workload-high', 40, 128),
  queued('workload-low', 100, 128),
  queued('global-default', 20, 128),
  { name: 'catch-all', exempt: false, shares: 5, queueCapacity: 0, flowQueueLimit: 0 },
];

/**
 * --enable-priority-and-fairness=false: every level exempt, so every request
 * runs at once, as a server without APF.
 */
export const EXEMPT_ONLY: readonly PriorityLevel[] = PRIORITY_LEVELS.map((l) => ({ ...l, exempt: true }));

/** Where a request goes: the schema that matched, its level, and its flow (who is treated fairly against whom). */
export interface Classification {
  readonly flowSchema: string;
  readonly priorityLevel: string;
  /** The flow distinguisher: the user (ByUser) or the namespace (ByNamespace). */
  readonly flow: string;
}

type Attrs = Omit<RequestAttributes, 'user'>;

const LEADER_ELECTION_RESOURCES = new Set(['leases', 'endpoints', 'configmaps']);
const LEADER_ELECTION_VERBS = new Set(['get', 'create', 'update']);

/** The components' leader election: their own locks in kube-system (system-leader-election). */
function isLeaderElection(user: UserInfo, a: Attrs): boolean {
  if (user.name !== USER_CONTROLLER_MANAGER && user.name !== USER_SCHEDULER) return false;
  return a.namespace === 'kube-system' && LEADER_ELECTION_RESOURCES.has(a.resource ?? '') && LEADER_ELECTION_VERBS.has(a.verb);
}

/** A node's heartbeat: its Node (status) and its Lease (system-node-high). */
function isNodeHeartbeat(a: Attrs): boolean {
  return a.resource === 'nodes' || (a.resource === 'leases' && a.namespace === NAMESPACE_NODE_LEASE);
}

/**
 * The flow schema a request matches, in Kubernetes' matching precedence
 * (exempt, system-leader-election, system-node-high, system-nodes,
 * kube-controller-manager / kube-scheduler, global-default, catch-all).
 */
export function classify(user: UserInfo, a: Attrs): Classification {
  const byUser = (flowSchema: string, priorityLevel: string): Classification => ({ flowSchema, priorityLevel, flow: user.name });
  if (user.groups.includes(GROUP_MASTERS)) return byUser('exempt', 'exempt');
  if (isLeaderElection(user, a)) return byUser('system-leader-election', 'leader-election');
  if (user.groups.includes(GROUP_NODES)) return isNodeHeartbeat(a) ? byUser('system-node-high', 'node-high') : byUser('system-nodes', 'system');
  if (user.name === USER_CONTROLLER_MANAGER || user.name === USER_SCHEDULER) {
    // ByNamespace, as Kubernetes': one namespace's churn does not hold up another's.
    const schema = user.name === USER_CONTROLLER_MANAGER ? 'kube-controller-manager' : 'kube-scheduler';
    return { flowSchema: schema, priorityLevel: 'workload-high', flow: a.namespace ?? '' };
  }
  if (user.groups.includes(GROUP_AUTHENTICATED)) return byUser('global-default', 'global-default');
  return byUser('catch-all', 'catch-all');
}

/**
 * Each level's seats: the server's concurrency limit split by shares,
 * rounded up (Kubernetes' nominalCL = ceil(limit × shares / Σ shares)).
 * Exempt levels get none (they are not limited).
 */
export function nominalSeats(levels: readonly PriorityLevel[], serverLimit: number): Map<string, number> {
  const total = levels.reduce((s, l) => s + (l.exempt ? 0 : l.shares), 0);
  return new Map(levels.filter((l) => !l.exempt).map((l) => [l.name, Math.ceil((serverLimit * l.shares) / total)]));
}
