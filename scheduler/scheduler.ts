// One scheduling cycle per pod (Kubernetes' scheduleOne): take the latest
// version of the pod, update the snapshot of the nodes with the pods bound
// or assumed on them, filter until enough nodes fit (percentageOfNodesToScore),
// score those, choose; assume the pod on the chosen node and bind it
// in the background so the next pod's cycle starts at once (the binds of
// a run of cycles leave together in one BindBatch call: binder.ts).
//
// Outcomes, as Kubernetes reports them:
// - bound: a Normal "Scheduled" event "Successfully assigned ns/name to node".
// - no node fits: the pod is parked as unschedulable; its PodScheduled
//   condition becomes False/Unschedulable with the FitError message (written
//   only when it changed) and a Warning "FailedScheduling" event says the same.
// - an error (a plugin bug, a failed Bind): the pod backs off and is retried;
//   condition reason SchedulerError.
// - the Bind finds the pod already bound (another scheduler instance, e.g.
//   before a restart, got there first) or gone: nothing to retry.

import { ConflictError, NotFoundError } from '../api/errors';
import type { Pod, PodCondition } from '../api/gen/tsk/v1/core';
import { referenceTo, splitKey, type Clock, type EventRecorder, type Lister, type PodClient } from '../client';
import { errorMessage } from '../util/errors';
import { rfc3339 } from '../util/time';
import type { SchedulerCache } from './cache';
import { ERR_NO_NODES_AVAILABLE, findFeasibleNodes, fitErrorMessage, scoreNodes, selectHost } from './framework/framework';
import { podInfo } from './framework/resources';
import { NodeSampler } from './framework/sampling';
import { CycleState, type FilterPlugin, type NamespaceView, type WeightedScorePlugin } from './framework/types';
import { BatchBinder, DEFAULT_BIND_BATCH } from './binder';
import type { AttemptResult, SchedulerMetrics } from './metrics';
import { DEFAULT_FILTERS, DEFAULT_SCORES } from './plugins';
import type { QueuedPodInfo, SchedulingQueue } from './queue/scheduling-queue';

export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';
export const REASON_UNSCHEDULABLE = 'Unschedulable';
export const REASON_SCHEDULER_ERROR = 'SchedulerError';

/** The verbs the scheduler uses on pods. */
export type PodApi = Pick<PodClient, 'bind' | 'bindBatch' | 'get' | 'updateStatus'>;

export interface SchedulerDeps {
  readonly queue: SchedulingQueue;
  readonly cache: SchedulerCache;
  /** The pod informer's cache: the latest version of each pod. */
  readonly pods: Lister<Pod>;
  readonly api: PodApi;
  readonly recorder: EventRecorder;
  readonly metrics: SchedulerMetrics;
  readonly clock: Clock;
  readonly random: () => number;
  readonly log: (line: string) => void;
  /** Namespaces' labels, for pod affinity terms' namespaceSelector; none known when unset. */
  readonly namespaces?: NamespaceView;
  readonly filters?: readonly FilterPlugin[];
  readonly scores?: readonly WeightedScorePlugin[];
  /** KubeSchedulerConfiguration's percentageOfNodesToScore, 0..100; 0 (the default) is adaptive. */
  readonly percentageOfNodesToScore?: number;
  /** Binds in flight at most (DEFAULT_MAX_BINDS_IN_FLIGHT); the loop waits in bindSlot() while they are. */
  readonly maxBindsInFlight?: number;
  /** Pods per BindBatch call at most (DEFAULT_BIND_BATCH); 1 sends a Bind per pod. */
  readonly bindBatchSize?: number;
}

/**
 * Binds in flight at most. Binding runs in the background (Kubernetes'
 * binding cycle in goroutines) so that many Binds are in flight and etcd
 * commits them together; without a bound, a backlog of thousands sends
 * thousands at once to a busy API server, each waits behind all the others
 * (beyond the 30 s deadline), and the pods' events pile up behind them.
 */
export const DEFAULT_MAX_BINDS_IN_FLIGHT = 128;

/** Whether this scheduler is responsible for the pod: unbound, not terminating, and ours by spec.schedulerName. */
export function needsScheduling(pod: Pod): boolean {
  const name = pod.spec?.schedulerName ?? '';
  // A gated pod waits outside the queue (Kubernetes' SchedulingGates PreEnqueue); the update that lifts its last gate queues it.
  const gated = (pod.spec?.schedulingGates ?? []).length > 0;
  return !pod.spec?.nodeName && !pod.metadata?.deletionTimestamp && !gated && (name === '' || name === DEFAULT_SCHEDULER_NAME);
}

const CONDITION_WRITE_ATTEMPTS = 3;

export class Scheduler {
  private readonly filters: readonly FilterPlugin[];
  private readonly scores: readonly WeightedScorePlugin[];
  private readonly background = new Set<Promise<void>>();
  private readonly sampler: NodeSampler;
  private readonly maxBindsInFlight: number;
  private bindsInFlight = 0;
  private bindSlotWaiters: (() => void)[] = [];
  private readonly binder: BatchBinder;

  constructor(private readonly deps: SchedulerDeps) {
    this.filters = deps.filters ?? DEFAULT_FILTERS;
    this.scores = deps.scores ?? DEFAULT_SCORES;
    this.sampler = new NodeSampler(deps.percentageOfNodesToScore);
    this.maxBindsInFlight = deps.maxBindsInFlight ?? DEFAULT_MAX_BINDS_IN_FLIGHT;
    if (!(this.maxBindsInFlight >= 1)) throw new Error(`invariant: maxBindsInFlight must be at least 1, not ${this.maxBindsInFlight}`);
    this.binder = new BatchBinder(deps.api, deps.bindBatchSize ?? DEFAULT_BIND_BATCH, deps.log);
  }

  /**
   * Undefined while fewer than maxBindsInFlight Binds are in flight (the
   * next cycle may start); else a promise that resolves once one finished.
   * The loop calls it before each cycle, so at most that many pods are
   * assumed and not yet bound.
   */
  bindSlot(): Promise<void> | undefined {
    if (this.bindsInFlight < this.maxBindsInFlight) return undefined;
    // The slots may all be held by binds waiting in the batch: send them, or none would ever free.
    this.binder.flush();
    return new Promise((resolve) => this.bindSlotWaiters.push(resolve));
  }

  /**
   * Sends the binds waiting in the batch. The loop calls it when no pod is
   * ready to schedule, so a batch is held back only while cycles keep
   * adding to it.
   */
  flushBinds(): void {
    this.binder.flush();
  }

  /** Binds and status writes still running. */
  get pendingWork(): number {
    return this.background.size;
  }

  /** Resolves once every Bind and status write started so far has finished. */
  async drain(): Promise<void> {
    while (this.background.size > 0) {
      this.binder.flush();
      await Promise.allSettled([...this.background]);
    }
  }

  /**
   * One cycle for a popped pod. Returns once the pod is assumed and its Bind
   * started, or once the failure is recorded and the pod requeued.
   */
  scheduleOne(info: QueuedPodInfo): void {
    const { queue, cache, pods, clock } = this.deps;
    const start = clock.now();
    const pod = pods.get(info.key);
    if (!pod || !needsScheduling(pod) || cache.isAssumed(info.key)) {
      queue.done(info.key);
      return;
    }
    info.pod = pod;
    const result = this.findNode(pod);
    if ('node' in result) {
      const assumed = cache.assume(info.key, pod, result.node);
      this.track(this.bind(info, assumed, result.node, start));
    } else if ('unschedulable' in result) {
      queue.requeueUnschedulable(info);
      this.failed(info, REASON_UNSCHEDULABLE, result.unschedulable, 'unschedulable', start);
    } else {
      this.deps.log(`error scheduling pod ${info.key}: ${result.error}`);
      queue.requeueBackoff(info);
      this.failed(info, REASON_SCHEDULER_ERROR, result.error, 'error', start);
    }
  }

  private findNode(pod: Pod): { node: string } | { unschedulable: string } | { error: string } {
    const snapshot = this.deps.cache.snapshot();
    const nodes = snapshot.nodes;
    if (nodes.length === 0) return { unschedulable: ERR_NO_NODES_AVAILABLE };
    const pi = podInfo(pod);
    const state = new CycleState(nodes, this.deps.namespaces, snapshot);
    // Only enough feasible nodes are searched and scored (percentageOfNodesToScore), from where the last cycle stopped.
    const window = this.sampler.window(nodes.length);
    const outcome = findFeasibleNodes(this.filters, pi, nodes, state, window, snapshot.table);
    this.sampler.advance(window.start, outcome.processed, nodes.length);
    if (outcome.error !== undefined) return { error: outcome.error };
    const feasible = outcome.feasible;
    if (feasible.length === 0) return { unschedulable: fitErrorMessage(nodes.length, outcome.reasons) };
    if (feasible.length === 1) return { node: feasible[0]?.name ?? '' };
    let totals: number[];
    try {
      totals = scoreNodes(this.scores, pi, feasible, state, { table: snapshot.table, rows: outcome.rows });
    } catch (err) {
      return { error: errorMessage(err) };
    }
    return { node: feasible[selectHost(totals, this.deps.random)]?.name ?? '' };
  }

  private async bind(info: QueuedPodInfo, pod: Pod, node: string, start: number): Promise<void> {
    const { cache, queue, recorder, clock } = this.deps;
    const { namespace, name } = splitKey(info.key);
    this.bindsInFlight++;
    try {
      await this.binder.bind({ namespace, name, nodeName: node, uid: pod.metadata?.uid ?? '' });
    } catch (err) {
      cache.forget(info.key);
      if (err instanceof ConflictError || err instanceof NotFoundError) {
        // Bound by someone else (another scheduler instance), being deleted,
        // or gone: the informer will show what happened; nothing to retry.
        this.deps.log(`not binding pod ${info.key} to ${node}: ${errorMessage(err)}`);
        queue.done(info.key);
        this.deps.metrics.observe('error', (clock.now() - start) / 1000);
        return;
      }
      const message = `binding rejected: ${errorMessage(err)}`;
      this.deps.log(`error binding pod ${info.key} to ${node}: ${errorMessage(err)}`);
      queue.requeueBackoff(info);
      // The node's share the pod held is free again: parked pods may fit now.
      queue.moveAllToActiveOrBackoff();
      this.failed(info, REASON_SCHEDULER_ERROR, message, 'error', start);
      return;
    } finally {
      this.bindsInFlight--;
      this.bindSlotWaiters.shift()?.();
    }
    queue.done(info.key);
    this.deps.metrics.observe('scheduled', (clock.now() - start) / 1000);
    recorder.event(referenceTo('Pod', pod), 'Normal', 'Scheduled', `Successfully assigned ${namespace}/${name} to ${node}`);
  }

  private failed(info: QueuedPodInfo, reason: string, message: string, result: AttemptResult, start: number): void {
    this.deps.metrics.observe(result, (this.deps.clock.now() - start) / 1000);
    this.deps.recorder.event(referenceTo('Pod', info.pod), 'Warning', 'FailedScheduling', message);
    this.track(this.writeCondition(info, reason, message));
  }

  /**
   * Sets PodScheduled=False with reason and message unless the pod already
   * says exactly that; re-reads the pod on a write conflict. Never throws.
   */
  private async writeCondition(info: QueuedPodInfo, reason: string, message: string): Promise<void> {
    const { api, pods, clock } = this.deps;
    const { namespace, name } = splitKey(info.key);
    const uid = info.pod.metadata?.uid;
    for (let attempt = 0; attempt < CONDITION_WRITE_ATTEMPTS; attempt++) {
      let current: Pod | undefined;
      try {
        current = attempt === 0 ? (pods.get(info.key) ?? info.pod) : await api.get(name, namespace);
      } catch (err) {
        if (!(err instanceof NotFoundError)) this.deps.log(`cannot read pod ${info.key} to update its status: ${errorMessage(err)}`);
        return;
      }
      if (current.spec?.nodeName || current.metadata?.uid !== uid) return;
      const conditions = current.status?.conditions ?? [];
      const old = conditions.find((c) => c.type === 'PodScheduled');
      if (old && old.status === 'False' && old.reason === reason && old.message === message) return;
      const now = rfc3339(clock.now());
      const condition: PodCondition = {
        type: 'PodScheduled',
        status: 'False',
        reason,
        message,
        lastTransitionTime: old?.status === 'False' && old.lastTransitionTime ? old.lastTransitionTime : now,
      };
      const status = { ...current.status, conditions: [...conditions.filter((c) => c !== old), condition] };
      try {
        await api.updateStatus({ ...current, status });
        return;
      } catch (err) {
        if (err instanceof NotFoundError) return;
        if (!(err instanceof ConflictError)) {
          this.deps.log(`cannot update status of pod ${info.key}: ${errorMessage(err)}`);
          return;
        }
      }
    }
    this.deps.log(`cannot update status of pod ${info.key}: it kept changing (${CONDITION_WRITE_ATTEMPTS} conflicts)`);
  }

  private track(p: Promise<void>): void {
    const tracked = p
      .catch((err: unknown) => this.deps.log(`invariant: background work failed: ${errorMessage(err)}`))
      .finally(() => this.background.delete(tracked));
    this.background.add(tracked);
  }
}
