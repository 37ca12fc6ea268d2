// The pod garbage collector (Kubernetes' pkg/controller/podgc):
// - pods bound to a node that no longer exists (running or terminating) are
//   force-deleted (grace 0: no kubelet is left to finish them), after a
//   quarantine and a second check against the API server, so a node that is
//   merely not in the cache yet does not lose its pods;
// - terminating pods that were never scheduled are force-deleted, and so
//   are terminating pods of a node that is not Ready and carries the
//   node.kubernetes.io/out-of-service taint (Kubernetes' gcTerminating: the
//   administrator says the node is down for good, so no kubelet will finish
//   them; otherwise they stay Terminating until the node returns);
// - finished pods (Succeeded, Failed) beyond --terminated-pod-gc-threshold
//   are deleted, oldest first.
// Keys: "" is the periodic sweep (every gcCheckPeriodMs); a node name is the
// orphan check of that node, queued with addAfter(quarantine).

import { NotFoundError } from '../../api/errors';
import type { Node, Pod } from '../../api/gen/tsk/v1/core';
import { NODE_NAME_INDEX, WorkQueue, every, nodeNameIndexFunc, type Clock, type Ticker, type Lister, type PodClient, type ResourceClient } from '../../client';
import type { Counter, Registry } from 'prom-client';
import { counterIn, ignoreNotFound } from '../api-util';
import { getCondition, TAINT_OUT_OF_SERVICE } from '../nodelifecycle/taints';
import type { Controller, ControllerContext, ControllerFactory } from '../controller';
import { newControllerQueue } from '../queue';
import { QueueWorkers } from '../workers';

export const POD_GC_CONTROLLER_NAME = 'podgc';
export const DEFAULT_TERMINATED_POD_GC_THRESHOLD = 12_500;
/** Kubernetes' gcCheckPeriod and quarantineTime. */
export const DEFAULT_GC_CHECK_PERIOD_MS = 20_000;
export const DEFAULT_QUARANTINE_MS = 40_000;

const SWEEP_KEY = '';

export interface PodGcOptions {
  /** --terminated-pod-gc-threshold: finished pods kept; 0 or less: never collected. Default 12500. */
  readonly terminatedPodThreshold?: number;
  readonly gcCheckPeriodMs?: number;
  /** How long a pod's node must stay missing before its pods go. */
  readonly quarantineMs?: number;
}

export interface PodGcDeps {
  readonly nodes: Lister<Node>;
  /** Pods, with the NODE_NAME_INDEX index. */
  readonly pods: Lister<Pod>;
  readonly nodeClient: Pick<ResourceClient<Node>, 'get'>;
  readonly podClient: Pick<PodClient, 'delete'>;
  readonly clock: Clock;
  readonly log: (line: string) => void;
  /** The work queue (the manager's metered one); default: a plain WorkQueue on clock. */
  readonly queue?: WorkQueue<string>;
  /** Where the deletion counter goes; none: not counted. */
  readonly registry?: Registry;
}

function isTerminated(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

/** A node that is not Ready and that its administrator marked out of service. */
function outOfService(node: Node): boolean {
  return getCondition(node, 'Ready')?.status !== 'True' && (node.spec?.taints ?? []).some((t) => t.key === TAINT_OUT_OF_SERVICE);
}

/** The finished pods to delete so that at most `threshold` remain, oldest first (ties by name). */
export function terminatedPodsToDelete(pods: readonly Pod[], threshold: number): Pod[] {
  if (threshold <= 0) return [];
  const done = pods.filter((p) => isTerminated(p) && !p.metadata?.deletionTimestamp);
  if (done.length <= threshold) return [];
  const created = (p: Pod): string => p.metadata?.creationTimestamp ?? '';
  const key = (p: Pod): string => `${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''}`;
  done.sort((a, b) => (created(a) !== created(b) ? (created(a) < created(b) ? -1 : 1) : key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  return done.slice(0, done.length - threshold);
}

export class PodGcController implements Controller {
  readonly name = POD_GC_CONTROLLER_NAME;
  readonly queue: WorkQueue<string>;
  private readonly workers: QueueWorkers;
  private readonly threshold: number;
  private readonly period: number;
  private readonly quarantine: number;
  private ticker: Ticker | undefined;
  private readonly deletions: Counter<'namespace' | 'reason'> | undefined;

  constructor(
    private readonly deps: PodGcDeps,
    options: PodGcOptions = {},
  ) {
    this.threshold = options.terminatedPodThreshold ?? DEFAULT_TERMINATED_POD_GC_THRESHOLD;
    this.period = options.gcCheckPeriodMs ?? DEFAULT_GC_CHECK_PERIOD_MS;
    this.quarantine = options.quarantineMs ?? DEFAULT_QUARANTINE_MS;
    this.queue = deps.queue ?? new WorkQueue<string>({ clock: deps.clock });
    this.workers = new QueueWorkers(this.name, this.queue, (key) => this.sync(key), deps.log);
    this.deletions =
      deps.registry &&
      counterIn(
        deps.registry,
        'pod_gc_collector_force_delete_pods_total',
        'Number of pods that are being forcefully deleted since the Pod GC Controller started.',
        ['namespace', 'reason'],
      );
  }

  run(workers: number): void {
    this.workers.run(workers);
    this.ticker = every(this.deps.clock, this.period, () => this.queue.add(SWEEP_KEY));
  }

  async stop(): Promise<void> {
    this.ticker?.stop();
    await this.workers.stop();
  }

  /** A node was deleted: its pods are checked after the quarantine. */
  nodeDeleted(node: Node): void {
    const name = node.metadata?.name;
    if (name) this.queue.addAfter(name, this.quarantine);
  }

  /** A pod bound to a node the cache does not know: that node is checked after the quarantine. */
  podChanged(pod: Pod): void {
    const nodeName = pod.spec?.nodeName;
    if (nodeName && !this.deps.nodes.get(nodeName)) this.queue.addAfter(nodeName, this.quarantine);
  }

  sync(key: string): Promise<void> {
    return key === SWEEP_KEY ? this.sweep() : this.collectOrphans(key);
  }

  private async sweep(): Promise<void> {
    const pods = this.deps.pods.list();
    for (const pod of terminatedPodsToDelete(pods, this.threshold)) {
      await this.forceDelete(pod, 'terminated', `finished pods exceed --terminated-pod-gc-threshold=${this.threshold}`);
    }
    for (const pod of pods) {
      const nodeName = pod.spec?.nodeName ?? '';
      const node = nodeName ? this.deps.nodes.get(nodeName) : undefined;
      const terminating = pod.metadata?.deletionTimestamp !== undefined && !isTerminated(pod);
      if (!nodeName && pod.metadata?.deletionTimestamp) await this.forceDelete(pod, 'unscheduled', 'terminating and never scheduled');
      else if (nodeName && !node) this.queue.addAfter(nodeName, this.quarantine);
      else if (node && terminating && outOfService(node))
        await this.forceDelete(pod, 'out-of-service', `terminating on node ${nodeName}, which is not Ready and has the ${TAINT_OUT_OF_SERVICE} taint`);
    }
  }

  /** The second check: still not in the cache after the quarantine, and the API server says it is gone. */
  private async collectOrphans(nodeName: string): Promise<void> {
    if (this.deps.nodes.get(nodeName)) return;
    const pods = this.deps.pods.byIndex(NODE_NAME_INDEX, nodeName);
    if (pods.length === 0) return;
    try {
      await this.deps.nodeClient.get(nodeName);
      return;
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
    for (const pod of pods) await this.forceDelete(pod, 'orphaned', `node ${nodeName} no longer exists`);
  }

  /** Deletes with grace 0; `reason` is Kubernetes' metric label (orphaned, terminated, unscheduled, out-of-service). */
  private async forceDelete(pod: Pod, reason: string, why: string): Promise<void> {
    const m = pod.metadata;
    const namespace = m?.namespace ?? '';
    this.deps.log(`${this.name}: force-deleting pod ${namespace}/${m?.name ?? ''}: ${why}`);
    await ignoreNotFound(this.deps.podClient.delete(m?.name ?? '', { namespace, gracePeriodSeconds: 0, preconditions: { uid: m?.uid ?? '' } }));
    this.deletions?.inc({ namespace, reason });
  }
}

export function newPodGcController(ctx: ControllerContext, options: PodGcOptions = {}): PodGcController {
  const nodes = ctx.informers.informerFor('Node');
  const pods = ctx.informers.informerFor('Pod', { [NODE_NAME_INDEX]: nodeNameIndexFunc });
  const c = new PodGcController(
    {
      nodes: nodes.store,
      pods: pods.store,
      nodeClient: ctx.clientset.nodes,
      podClient: ctx.clientset.pods,
      clock: ctx.clock,
      log: ctx.log,
      queue: newControllerQueue(ctx, 'orphaned_pods_nodes'),
      registry: ctx.registry,
    },
    options,
  );
  nodes.addEventHandler({ onDelete: (n) => c.nodeDeleted(n) });
  pods.addEventHandler({ onAdd: (p) => c.podChanged(p), onUpdate: (_o, p) => c.podChanged(p) });
  return c;
}

export const podGcControllerFactory: ControllerFactory = (ctx) => newPodGcController(ctx, {});
