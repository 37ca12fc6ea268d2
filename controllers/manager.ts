// The controller manager (Kubernetes' kube-controller-manager as a library):
// build the selected controllers from the registry table, let each ask for
// the shared informers it reads, start those informers, wait for their first
// lists, then run every controller with its workers. `tsk controller-manager`
// calls it, and `tsk server` can call it with informers it shares with other
// components in the same process. With leader election the controllers run
// only while this process holds the kube-controller-manager Lease; each
// term gets freshly built controllers (queues, expectations), the standby's
// informers stay warm.

import { Registry } from 'prom-client';
import {
  ApiEventRecorder,
  EventRecorderMetrics,
  DEFAULT_LEADER_ELECTION_TIMINGS,
  electLeader,
  fencedClientset,
  realClock,
  type Clientset,
  type Clock,
  type ElectedComponent,
  type EventRecorder,
  type LeaderElectionConfig,
  type LeaderElectionMetrics,
  type LeaderTerm,
  type SharedInformerFactory,
} from '../client';
import type { Controller, ControllerContext } from './controller';
import { CONTROLLERS, defaultControllers, type ControllerTable } from './registry';
import { asError, errorMessage } from '../util/errors';

export interface ControllerManagerOptions {
  readonly clientset: Clientset;
  readonly informers: SharedInformerFactory;
  /** Names of the controllers to run; default every controller enabled by default. */
  readonly controllers?: readonly string[];
  /**
   * Workers: one number for every controller, or numbers by controller name;
   * a controller not given one gets its table default (--concurrent-rc-syncs' 5, ...).
   */
  readonly workers?: number | Readonly<Record<string, number>>;
  /** Where the controllers' metrics go (served on /metrics); default a new Registry. */
  readonly registry?: Registry;
  readonly clock?: Clock;
  readonly log?: (line: string) => void;
  /** The controllers by name; default the registry table (tests inject their own). */
  readonly table?: ControllerTable;
  /**
   * Whether stop() also stops the shared informers (default true: the manager
   * started them). `tsk server`, which shares them with other components, passes false.
   */
  readonly stopInformers?: boolean;
  /** Aborts the wait for the informers' first lists (a signal during start-up). */
  readonly signal?: AbortSignal;
  /** --leader-elect and its timings; unset: the controllers run at once, unconditionally. */
  readonly leaderElection?: LeaderElectionConfig;
  /** Where leader_election_master_status goes; default none. */
  readonly leaderMetrics?: LeaderElectionMetrics;
  /** The identity this process campaigns with; default a fresh HOST_UUID. */
  readonly leaderIdentity?: string;
  /** Where the recorders count dropped events; default `registry` (`tsk server` shares one with the scheduler). */
  readonly eventMetrics?: EventRecorderMetrics;
}

/** Who LeaderElection Events of the controller manager come from (Kubernetes' kube-controller-manager). */
const LEADER_ELECTION_COMPONENT = 'kube-controller-manager';

export interface RunningControllerManager {
  readonly registry: Registry;
  /** The controllers of the current term, in start order (built; running while this process leads). */
  readonly controllers: readonly Controller[];
  /** Whether the controllers act (this process holds the lease, or runs without leader election). */
  isLeader(): boolean;
  /** Stops every controller (waiting for their current keys), the recorders and (by default) the informers. Idempotent. */
  stop(): Promise<void>;
}

/** Thrown when a name given in `controllers` is not in the table. */
export class UnknownControllerError extends Error {}

function workersFor(name: string, table: ControllerTable, workers: ControllerManagerOptions['workers']): number {
  const n = typeof workers === 'number' ? workers : (workers?.[name] ?? table[name]?.workers ?? 1);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`workers for ${name} must be a positive integer, not ${n}`);
  return n;
}

/** Recorders by component name, made on first use and stopped with the manager. */
class Recorders {
  private readonly byComponent = new Map<string, ApiEventRecorder>();
  constructor(
    private readonly clientset: Clientset,
    private readonly clock: Clock,
    private readonly log: (line: string) => void,
    private readonly metrics: EventRecorderMetrics,
  ) {}
  get(component: string): EventRecorder {
    let r = this.byComponent.get(component);
    if (!r) {
      r = new ApiEventRecorder(
        this.clientset.events,
        { component },
        {
          clock: this.clock,
          metrics: this.metrics,
          onError: (err, ev) => this.log(`event ${ev.reason ?? ''} on ${ev.involvedObject?.name ?? ''} dropped: ${errorMessage(err)}`),
        },
      );
      this.byComponent.set(component, r);
    }
    return r;
  }
  async stop(): Promise<void> {
    await Promise.all([...this.byComponent.values()].map((r) => r.stop()));
  }
}

function abortable(p: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(new Error('controller manager start aborted'));
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(new Error('controller manager start aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(asError(err));
      },
    );
  });
}

/**
 * One leadership term: the controllers built on a scope of the shared
 * informers. A term after another one starts on the warm, synced caches, as
 * kube-controller-manager's new leader does (WaitForCacheSync only). Waiting
 * for the informers to reach the server's current revision cannot be done
 * soundly here: an informer learns of revisions only through its own kind's
 * events, and Debian's etcd 3.4 sends no usable progress notifications, so a
 * quiet kind never looks current (the chaos suite saw such a wait run its
 * full 2 minutes while no controller acted).
 */
function newTerm(
  plan: readonly { name: string; workers: number }[],
  table: ControllerTable,
  base: ControllerContext,
  log: (line: string) => void,
): LeaderTerm & { readonly controllers: readonly Controller[] } {
  const scope = base.informers.scope();
  let over = false;
  // Writes are fenced: a sync in flight when the term ends cannot start a write after it.
  const ctx: ControllerContext = { ...base, clientset: fencedClientset(base.clientset, () => over, 'controller manager'), informers: scope.informers };
  const controllers: Controller[] = [];
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    over = true;
    return (stopping ??= (async () => {
      await Promise.all(controllers.map((c) => c.stop()));
      scope.release();
    })());
  };
  try {
    for (const { name } of plan) controllers.push(table[name]!.factory(ctx));
  } catch (err) {
    void stop();
    throw err;
  }
  const start = (): void => {
    if (over) return;
    for (let i = 0; i < plan.length; i++) {
      const c = controllers[i]!;
      const { workers } = plan[i]!;
      c.run(workers);
      log(`started ${c.name} with ${workers} worker${workers === 1 ? '' : 's'}`);
    }
  };
  return {
    controllers,
    run: start,
    stop,
  };
}

/**
 * Builds, syncs and runs the controllers. Resolves once the informers have
 * synced (and the controllers run, unless another process leads); rejects
 * (having stopped what it started) when a name is unknown, when a factory
 * throws, or when `signal` aborts the wait for sync.
 */
export async function startControllerManager(opts: ControllerManagerOptions): Promise<RunningControllerManager> {
  const table = opts.table ?? CONTROLLERS;
  const names = opts.controllers ?? defaultControllers(table);
  for (const name of names) {
    if (!table[name]) throw new UnknownControllerError(`unknown controller "${name}"; known controllers: ${Object.keys(table).sort().join(', ')}`);
  }
  const registry = opts.registry ?? new Registry();
  const clock = opts.clock ?? realClock;
  const log = opts.log ?? ((line: string) => console.log(line));
  const recorders = new Recorders(opts.clientset, clock, log, opts.eventMetrics ?? new EventRecorderMetrics(registry));
  const ctx: ControllerContext = {
    clientset: opts.clientset,
    informers: opts.informers,
    recorder: (component) => recorders.get(component),
    registry,
    clock,
    log,
  };
  const plan = names.map((name) => ({ name, workers: workersFor(name, table, opts.workers) }));
  let term: ReturnType<typeof newTerm> | undefined;
  let elected: ElectedComponent | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await (elected ? elected.stop() : term?.stop());
      await recorders.stop();
      if (opts.stopInformers !== false) await opts.informers.stop();
    })());
  try {
    // The first term is built before the informers start, so they are all asked for and warm.
    term = newTerm(plan, table, ctx, log);
    opts.informers.start();
    log(`waiting for the informers of ${names.join(', ') || 'no controllers'} to sync`);
    await abortable(opts.informers.waitForSync(), opts.signal);
  } catch (err) {
    await stop();
    throw err;
  }
  let first: typeof term | undefined = term;
  elected = electLeader({
    config: opts.leaderElection ?? { ...DEFAULT_LEADER_ELECTION_TIMINGS, leaderElect: false, resourceName: '', resourceNamespace: '' },
    leases: opts.clientset.leases,
    recorder: recorders.get(LEADER_ELECTION_COMPONENT),
    prepare: () => {
      term = first ?? newTerm(plan, table, ctx, log);
      first = undefined;
      return term;
    },
    ...(opts.leaderMetrics ? { metrics: opts.leaderMetrics } : {}),
    ...(opts.leaderIdentity ? { identity: opts.leaderIdentity } : {}),
    clock,
    log,
  });
  const running = elected;
  return {
    registry,
    get controllers() {
      return term?.controllers ?? [];
    },
    isLeader: () => running.isLeader(),
    stop,
  };
}
