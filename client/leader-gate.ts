// Running a component only while it leads (kube-scheduler's and
// kube-controller-manager's --leader-elect). The component is cut into
// terms: a term is prepared ahead (its event handlers attached, so the
// shared informers are warm and its queues filled), runs while this process
// holds the Lease, and is stopped the moment the Lease is lost; the next
// term is prepared right away, fresh (new queues, caches and expectations,
// what Kubernetes gets by exiting and restarting the process).

import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Lease } from '../api/gen/tsk/v1/core';
import type { Clock } from './clock';
import type { EventRecorder } from './events';
import { LeaderElector, type LeaderElectionMetrics, type LeaderElectionTimings } from './leaderelection';
import { listerWatcher, type ListerWatcher } from './informer';
import { LeaseLock } from './leaselock';
import type { ResourceClient } from './resource';
import { errorMessage } from '../util/errors';

/** The --leader-elect* flags of a component. */
export interface LeaderElectionConfig extends LeaderElectionTimings {
  /** --leader-elect: false runs the component at once, unconditionally. */
  readonly leaderElect: boolean;
  /** --leader-elect-resource-name: "kube-scheduler", "kube-controller-manager". */
  readonly resourceName: string;
  /** --leader-elect-resource-namespace: "kube-system". */
  readonly resourceNamespace: string;
}

/** One term of a component: built (and attached to its informers) before it leads. */
export interface LeaderTerm {
  /** Starts acting. Called at most once. */
  run(): void;
  /** Stops acting at once and resolves when work in flight is done; detaches the term. Idempotent, also for a term never run. */
  stop(): Promise<void>;
}

export interface ElectedComponent {
  /** Whether this process acts now (always true without --leader-elect). */
  isLeader(): boolean;
  /** Stops the current term, then releases the Lease if held. Idempotent. */
  stop(): Promise<void>;
}

export interface ElectOptions {
  readonly config: LeaderElectionConfig;
  /** With listAll and watch, candidates watch the Lease (and take over the moment it expires) rather than poll it. */
  readonly leases: Pick<ResourceClient<Lease>, 'get' | 'create' | 'update'> & Partial<Pick<ResourceClient<Lease>, 'listAll' | 'watch'>>;
  /** Where LeaderElection Events go. */
  readonly recorder?: EventRecorder;
  /** Builds the next term; called at start and after each term ends. */
  readonly prepare: () => LeaderTerm;
  /** Default leaderIdentity(). */
  readonly identity?: string;
  readonly metrics?: LeaderElectionMetrics;
  readonly clock?: Clock;
  readonly random?: () => number;
  readonly log?: (line: string) => void;
}

/** Kubernetes' candidate identity: the host name, "_", a fresh UUID (unique per process start). */
export function leaderIdentity(host: string = hostname()): string {
  return `${host}_${randomUUID()}`;
}

/** A ListerWatcher of the one Lease `namespace/name`, when the client can list and watch. */
function leaseWatcher(leases: ElectOptions['leases'], namespace: string, name: string): { watcher?: ListerWatcher<Lease> } {
  const { listAll, watch } = leases;
  if (!listAll || !watch) return {};
  return { watcher: listerWatcher({ listAll: listAll.bind(leases), watch: watch.bind(leases) }, { namespace, fieldSelector: `metadata.name=${name}` }) };
}

/** Runs terms of a component while it leads the Lease of `config` (or at once without --leader-elect). */
export function electLeader(opts: ElectOptions): ElectedComponent {
  const log = opts.log ?? ((line: string) => console.log(line));
  let term = opts.prepare();
  if (!opts.config.leaderElect) {
    term.run();
    return { isLeader: () => true, stop: () => term.stop() };
  }
  let closing = false;
  let stopping: Promise<void> | undefined;
  const identity = opts.identity ?? leaderIdentity();
  const elector = new LeaderElector({
    ...opts.config,
    name: opts.config.resourceName,
    lock: new LeaseLock({
      client: opts.leases,
      namespace: opts.config.resourceNamespace,
      name: opts.config.resourceName,
      identity,
      ...(opts.recorder ? { recorder: opts.recorder } : {}),
      ...leaseWatcher(opts.leases, opts.config.resourceNamespace, opts.config.resourceName),
    }),
    callbacks: {
      onStartedLeading(signal) {
        const leading = term;
        // Stop at the abort itself, not at the next turn: no work may start after it.
        signal.addEventListener('abort', () => (stopping = leading.stop()), { once: true });
        leading.run();
      },
      async onStoppedLeading() {
        try {
          await stopping;
        } catch (err) {
          log(`stopping the leader's work failed: ${errorMessage(err)}`);
        }
        stopping = undefined;
        if (!closing) term = opts.prepare();
      },
    },
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.random ? { random: opts.random } : {}),
    log,
  });
  log(`leader election for ${opts.config.resourceNamespace}/${opts.config.resourceName} as ${identity}`);
  elector.run();
  let stopped: Promise<void> | undefined;
  return {
    isLeader: () => elector.isLeader(),
    stop: () =>
      (stopped ??= (async () => {
        closing = true;
        await elector.stop();
        // A term prepared but never run still has handlers attached.
        await term.stop();
      })()),
  };
}
