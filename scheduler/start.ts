// startScheduler: the scheduler as a library, for `tsk scheduler` and for a
// single-process `tsk server` sharing informers with other components.
// It asks the shared factory for the pod and node informers, feeds the
// queue from their events, waits for their first lists (scheduling on a
// partial cache would overcommit nodes), then runs one cycle at a time.

import { Registry } from 'prom-client';
import {
  ApiEventRecorder,
  NODE_NAME_INDEX,
  nodeNameIndexFunc,
  realClock,
  type Clientset,
  type Clock,
  type EventRecorder,
  type Lister,
  type SharedInformerFactory,
} from '../client';
import type { Namespace } from '../api/gen/tsk/v1/core';
import type { NamespaceView } from './framework/types';
import { SchedulerCache } from './cache';
import { nodeEventHandlers, podEventHandlers } from './handlers';
import { SchedulerMetrics } from './metrics';
import { SchedulingQueue, type QueueOptions } from './queue/scheduling-queue';
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
  /** Queue timings (back-off, unschedulable flush); Kubernetes' defaults otherwise. */
  readonly queue?: Omit<QueueOptions, 'clock'>;
}

export interface RunningScheduler {
  readonly registry: Registry;
  /** Resolves when the informers have synced and scheduling has begun (or the scheduler stopped first). */
  readonly started: Promise<void>;
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

export function startScheduler(opts: SchedulerOptions): RunningScheduler {
  const clock = opts.clock ?? realClock;
  const log = opts.log ?? ((line: string) => console.log(`scheduler: ${line}`));
  const registry = opts.registry ?? new Registry();
  const ownRecorder = opts.recorder ? undefined : new ApiEventRecorder(opts.clientset.events, { component: DEFAULT_SCHEDULER_NAME }, { clock });
  const recorder = opts.recorder ?? (ownRecorder as EventRecorder);

  const podInformer = opts.informers.informerFor('Pod', { [NODE_NAME_INDEX]: nodeNameIndexFunc });
  const nodeInformer = opts.informers.informerFor('Node');
  // Namespace labels, for pod affinity terms' namespaceSelector.
  const namespaceInformer = opts.informers.informerFor('Namespace');
  const queue = new SchedulingQueue({ ...opts.queue, clock });
  const cache = new SchedulerCache(nodeInformer.store, podInformer.store);
  const metrics = new SchedulerMetrics(registry, () => queue.lengths());
  const scheduler = new Scheduler({
    queue,
    cache,
    pods: podInformer.store,
    api: opts.clientset.pods,
    recorder,
    metrics,
    clock,
    random: opts.random ?? Math.random,
    log,
    namespaces: namespaceView(namespaceInformer.store),
  });
  let stopped = false;
  let running = false;

  podInformer.addEventHandler(podEventHandlers(queue, cache, () => stopped));
  nodeInformer.addEventHandler(nodeEventHandlers(queue, () => stopped));
  opts.informers.start();

  let signalStop: () => void = () => undefined;
  const stopSignal = new Promise<void>((resolve) => (signalStop = resolve));
  let signalStarted: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (signalStarted = resolve));

  const loop = async (): Promise<void> => {
    // Scheduling on a partial cache would overcommit nodes: wait for both first lists.
    await Promise.race([Promise.all([podInformer.waitForSync(), nodeInformer.waitForSync(), namespaceInformer.waitForSync()]), stopSignal]);
    if (stopped) return;
    running = true;
    signalStarted();
    for (let info = await queue.pop(); info && !stopped; info = await queue.pop()) {
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
  const done = loop()
    .catch((err: unknown) => {
      if (!stopped) log(`scheduling loop ended: ${errorMessage(err)}`);
    })
    .finally(signalStarted);

  let stopping: Promise<void> | undefined;
  return {
    registry,
    started,
    async checkReady() {
      if (stopped) throw new Error('scheduler stopped');
      if (!running) throw new Error('informers have not synced yet');
    },
    stop() {
      stopping ??= (async () => {
        stopped = true;
        signalStop();
        queue.close();
        await done;
        await scheduler.drain();
        await ownRecorder?.stop();
      })();
      return stopping;
    },
  };
}
