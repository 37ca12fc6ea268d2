// startScheduler: the scheduler as a library, for `tsk scheduler` and for a
// single-process `tsk server` sharing informers with other components.
// It asks the shared factory for the pod and node informers, feeds the
// queue from their events, waits for their first lists (scheduling on a
// partial cache would overcommit nodes), then runs one cycle at a time.
// With leader election, it schedules only while it holds the kube-scheduler
// Lease: each term has its own queue and cache, prepared while standing by.

import { Registry } from 'prom-client';
import {
  ApiEventRecorder,
  EventRecorderMetrics,
  DEFAULT_LEADER_ELECTION_TIMINGS,
  electLeader,
  fencedClientset,
  NODE_NAME_INDEX,
  nodeNameIndexFunc,
  realClock,
  type Clientset,
  type Clock,
  type EventRecorder,
  type LeaderElectionConfig,
  type LeaderElectionMetrics,
  type LeaderTerm,
  type Lister,
  type SharedInformerFactory,
} from '../client';
import type { Namespace } from '../api/gen/tsk/v1/core';
import type { NamespaceView } from './framework/types';
import { SchedulerCache } from './cache';
import { nodeEventHandlers, podEventHandlers } from './handlers';
import { SchedulerMetrics } from './metrics';
import { SchedulingQueue, type QueueOptions, type QueuedPodInfo } from './queue/scheduling-queue';
import { DEFAULT_SCHEDULER_NAME, Scheduler } from './scheduler';
import { errorDetail, errorMessage } from '../util/errors';

export interface SchedulerOptions {
  readonly clientset: Clientset;
  /** Started here if not yet; not stopped by stop() (its owner stops it). */
  readonly informers: SharedInformerFactory;
  /** Breaks ties between equally good nodes; default Math.random. */
  readonly random?: () => number;
  readonly clock?: Clock;
  readonly log?: (line: string) => void;
  /** Where the scheduler's metrics go; default a new Registry. */
  readonly registry?: Registry;
  /** Default: an ApiEventRecorder reporting as default-scheduler. */
  readonly recorder?: EventRecorder;
  /** Where the default recorder counts dropped events; default `registry` (`tsk server` shares one with the controllers). */
  readonly eventMetrics?: EventRecorderMetrics;
  /** Queue timings (back-off, unschedulable flush); Kubernetes' defaults otherwise. */
  readonly queue?: Omit<QueueOptions, 'clock'>;
  /** --leader-elect and its timings; unset: schedule at once, unconditionally. */
  readonly leaderElection?: LeaderElectionConfig;
  /** Where leader_election_master_status goes; default none. */
  readonly leaderMetrics?: LeaderElectionMetrics;
  /** The identity this process campaigns with; default a fresh HOST_UUID. */
  readonly leaderIdentity?: string;
  /** KubeSchedulerConfiguration's percentageOfNodesToScore, 0..100; 0 or unset: adaptive (50% - nodes/125, at least 5% and 100 nodes). */
  readonly percentageOfNodesToScore?: number;
  /** Binds in flight at most; default DEFAULT_MAX_BINDS_IN_FLIGHT (128). */
  readonly maxBindsInFlight?: number;
  /** Pods per BindBatch call at most; default DEFAULT_BIND_BATCH (64); 1 sends a Bind per pod. */
  readonly bindBatchSize?: number;
}

export interface RunningScheduler {
  readonly registry: Registry;
  /** Resolves when the informers have synced (or the scheduler stopped first); scheduling begins then if this process leads. */
  readonly started: Promise<void>;
  /** Whether this scheduler acts (holds the lease, or runs without leader election). */
  isLeader(): boolean;
  /** Rejects with the reason while not ready (for /readyz). */
  checkReady(): Promise<void>;
  /** Stops scheduling and waits for Binds and status writes in progress. Idempotent. */
  stop(): Promise<void>;
}

/** The scheduler's view of namespaces, from the informer's store. */
function namespaceView(store: Lister<Namespace>): NamespaceView {
  return {
    labels: (name) => store.get(name)?.metadata?.labels,
    list: () => store.list().map((ns) => ({ name: ns.metadata?.name ?? '', labels: ns.metadata?.labels ?? {} })),
  };
}

/** One leadership term of the scheduler: its own queue, cache and handlers on the shared informers. */
interface SchedulerTerm extends LeaderTerm {
  readonly queue: SchedulingQueue;
}

export function startScheduler(opts: SchedulerOptions): RunningScheduler {
  const clock = opts.clock ?? realClock;
  const log = opts.log ?? ((line: string) => console.log(`scheduler: ${line}`));
  const registry = opts.registry ?? new Registry();
  const ownRecorder = opts.recorder
    ? undefined
    : new ApiEventRecorder(
        opts.clientset.events,
        { component: DEFAULT_SCHEDULER_NAME },
        {
          clock,
          metrics: opts.eventMetrics ?? new EventRecorderMetrics(registry),
          onError: (err, ev) => log(`event ${ev.reason ?? ''} on ${ev.involvedObject?.name ?? ''} dropped: ${errorMessage(err)}`),
        },
      );
  const recorder = opts.recorder ?? (ownRecorder as EventRecorder);

  // Asked for up front and started at once, so a standby's caches are warm when it takes over.
  const podInformer = opts.informers.informerFor('Pod', { [NODE_NAME_INDEX]: nodeNameIndexFunc });
  const nodeInformer = opts.informers.informerFor('Node');
  // Namespace labels, for pod affinity terms' namespaceSelector.
  const namespaceInformer = opts.informers.informerFor('Namespace');
  // The queue metrics show the current term's queue (an empty one before the first).
  const idleQueue = new SchedulingQueue({ clock });
  idleQueue.close();
  let current: SchedulerTerm | undefined;
  const metrics = new SchedulerMetrics(registry, () => (current?.queue ?? idleQueue).lengths());
  let closed = false;
  let synced = false;
  let signalStarted: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (signalStarted = resolve));
  const sync = Promise.all([podInformer.waitForSync(), nodeInformer.waitForSync(), namespaceInformer.waitForSync()]).then(() => {
    synced = true;
  });
  sync.catch(() => undefined).finally(signalStarted);

  const newTerm = (): SchedulerTerm => {
    const scope = opts.informers.scope();
    const queue = new SchedulingQueue({ ...opts.queue, clock });
    const cache = new SchedulerCache(nodeInformer.store, podInformer.store);
    let stopped = false;
    const scheduler = new Scheduler({
      queue,
      cache,
      pods: podInformer.store,
      // Fenced: no Bind or status write starts once this term has stopped.
      api: fencedClientset(opts.clientset, () => stopped, 'scheduler').pods,
      recorder,
      metrics,
      clock,
      random: opts.random ?? Math.random,
      log,
      namespaces: namespaceView(namespaceInformer.store),
      ...(opts.percentageOfNodesToScore === undefined ? {} : { percentageOfNodesToScore: opts.percentageOfNodesToScore }),
      ...(opts.maxBindsInFlight === undefined ? {} : { maxBindsInFlight: opts.maxBindsInFlight }),
      ...(opts.bindBatchSize === undefined ? {} : { bindBatchSize: opts.bindBatchSize }),
    });
    scope.informers.informerFor('Pod').addEventHandler(podEventHandlers(queue, cache, () => stopped));
    scope.informers.informerFor('Node').addEventHandler(nodeEventHandlers(queue, cache, () => stopped));
    const loop = async (): Promise<void> => {
      // Scheduling on a partial cache would overcommit nodes: wait for the first lists.
      await sync;
      if (stopped) return;
      // No pod ready: the binds batched so far leave before the loop waits.
      const next = (): QueuedPodInfo | undefined | Promise<QueuedPodInfo | undefined> => queue.popNow() ?? (scheduler.flushBinds(), queue.pop());
      for (let info = await next(); info && !stopped; info = await next()) {
        // At most maxBindsInFlight pods assumed and not yet bound (an await only when the limit is reached).
        const slot = scheduler.bindSlot();
        if (slot) await slot;
        if (stopped) break;
        try {
          scheduler.scheduleOne(info);
        } catch (err) {
          // scheduleOne reports its failures itself; reaching here is a bug.
          log(`invariant: scheduling cycle of ${info.key} threw: ${errorDetail(err)}`);
          queue.requeueBackoff(info);
        }
        // Let informer events and Bind replies in between cycles.
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    let done: Promise<void> = Promise.resolve();
    let stopping: Promise<void> | undefined;
    const term: SchedulerTerm = {
      queue,
      run() {
        current = term;
        done = loop().catch((err: unknown) => {
          if (!stopped) log(`scheduling loop ended: ${errorMessage(err)}`);
        });
      },
      stop() {
        // Synchronously first: no cycle starts and no event is handled after this line.
        stopped = true;
        queue.close();
        stopping ??= (async () => {
          await done;
          // Binds already sent finish (the ex-leader's last writes, well inside the lease's margin).
          await scheduler.drain();
          scope.release();
        })();
        return stopping;
      },
    };
    return term;
  };

  opts.informers.start();
  const elected = electLeader({
    config: opts.leaderElection ?? { ...DEFAULT_LEADER_ELECTION_TIMINGS, leaderElect: false, resourceName: '', resourceNamespace: '' },
    leases: opts.clientset.leases,
    recorder,
    prepare: newTerm,
    ...(opts.leaderMetrics ? { metrics: opts.leaderMetrics } : {}),
    ...(opts.leaderIdentity ? { identity: opts.leaderIdentity } : {}),
    clock,
    log,
  });

  let stopping: Promise<void> | undefined;
  return {
    registry,
    started,
    isLeader: () => elected.isLeader(),
    async checkReady() {
      if (closed) throw new Error('scheduler stopped');
      if (!synced) throw new Error('informers have not synced yet');
    },
    stop() {
      stopping ??= (async () => {
        closed = true;
        signalStarted();
        await elected.stop();
        await ownRecorder?.stop();
      })();
      return stopping;
    },
  };
}
