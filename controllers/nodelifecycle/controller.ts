// The node lifecycle controller (Kubernetes' pkg/controller/nodelifecycle and
// the taint-eviction controller), keyed by node name:
// - a node whose kubelet stopped posting status for --node-monitor-grace-period
//   gets its kubelet conditions set to Unknown;
// - taints follow the conditions: NoSchedule for not-ready, unreachable,
//   pressure, network-unavailable and spec.unschedulable; NoExecute for
//   not-ready and unreachable (none while every node is down: then the
//   controller is probably the one cut off, so it evicts nothing);
// - pods on a node that is not Ready are marked Ready=False;
// - pods that do not tolerate a NoExecute taint are deleted, at once or
//   when their tolerationSeconds have passed since the taint was added.
// Every step is computed from the cached node and pods, so a sync can run
// again at any time; deadlines re-enqueue the node with addAfter.

import { NAMESPACE_NODE_LEASE } from '../../api/namespaces';
import type { Lease, Node, Pod, PodCondition, Taint } from '../../api/gen/tsk/v1/core';
import {
  NODE_NAME_INDEX,
  WorkQueue,
  nodeNameIndexFunc,
  every,
  referenceTo,
  type Clock,
  type Ticker,
  type EventRecorder,
  type Lister,
  type PodClient,
  type ResourceClient,
} from '../../client';
import type { Controller, ControllerContext, ControllerFactory } from '../controller';
import type { Counter, Registry } from 'prom-client';
import { rfc3339 } from '../../util/time';
import { counterIn, ignoreNotFound, updateFromFresh } from '../api-util';
import { newControllerQueue } from '../queue';
import { QueueWorkers } from '../workers';
import { observe, unknownConditions, type NodeHealth } from './health';
import { NO_EXECUTE, desiredTaints, evictionFor, readyStatus, reconcileTaints } from './taints';

export const NODE_LIFECYCLE_CONTROLLER_NAME = 'nodelifecycle';

/** The Event source, as Kubernetes names it. */
export const NODE_CONTROLLER_COMPONENT = 'node-controller';

export interface NodeLifecycleOptions {
  /** --node-monitor-grace-period: silence after which a node is Unknown. Default 40 s. */
  readonly nodeMonitorGracePeriodMs?: number;
  /** --node-startup-grace-period: the same for a node that never posted a Ready condition. Default 60 s. */
  readonly nodeStartupGracePeriodMs?: number;
  /** --node-monitor-period: how often every node is checked besides its events. Default 5 s. */
  readonly nodeMonitorPeriodMs?: number;
}

export const DEFAULT_NODE_MONITOR_GRACE_PERIOD_MS = 40_000;
export const DEFAULT_NODE_STARTUP_GRACE_PERIOD_MS = 60_000;
export const DEFAULT_NODE_MONITOR_PERIOD_MS = 5_000;

export interface NodeLifecycleDeps {
  readonly nodes: Lister<Node>;
  /** The nodes' heartbeat Leases in kube-node-lease; none: only the Ready condition's heartbeat counts. */
  readonly leases?: Lister<Lease>;
  /** Pods, with the NODE_NAME_INDEX index. */
  readonly pods: Lister<Pod>;
  readonly nodeClient: Pick<ResourceClient<Node>, 'get' | 'update' | 'updateStatus'>;
  readonly podClient: Pick<PodClient, 'delete' | 'updateStatus'>;
  readonly recorder: EventRecorder;
  readonly clock: Clock;
  readonly log: (line: string) => void;
  /** The work queue (the manager's metered one); default: a plain WorkQueue on clock. */
  readonly queue?: WorkQueue<string>;
  /** Where the eviction counter goes; none: not counted. */
  readonly registry?: Registry;
}

export class NodeLifecycleController implements Controller {
  readonly name = NODE_LIFECYCLE_CONTROLLER_NAME;
  readonly queue: WorkQueue<string>;
  private readonly workers: QueueWorkers;
  private readonly grace: number;
  private readonly startupGrace: number;
  private readonly period: number;
  private readonly health = new Map<string, NodeHealth>();
  /** The last node object seen per name, for the Event when it is removed. */
  private readonly known = new Map<string, Node>();
  /** First sighting of NoExecute taints without timeAdded, by node, key, value. */
  private readonly taintSeen = new Map<string, number>();
  private fullDisruption = false;
  /** A node last seen Ready (anyReady's first guess). */
  private readyHint: string | undefined;
  private readonly evictions: Counter | undefined;
  private ticker: Ticker | undefined;

  constructor(
    private readonly deps: NodeLifecycleDeps,
    options: NodeLifecycleOptions = {},
  ) {
    this.grace = options.nodeMonitorGracePeriodMs ?? DEFAULT_NODE_MONITOR_GRACE_PERIOD_MS;
    this.startupGrace = options.nodeStartupGracePeriodMs ?? DEFAULT_NODE_STARTUP_GRACE_PERIOD_MS;
    this.period = options.nodeMonitorPeriodMs ?? DEFAULT_NODE_MONITOR_PERIOD_MS;
    this.queue = deps.queue ?? new WorkQueue<string>({ clock: deps.clock });
    this.workers = new QueueWorkers(this.name, this.queue, (key) => this.sync(key), deps.log);
    this.evictions =
      deps.registry &&
      counterIn(
        deps.registry,
        'taint_eviction_controller_pod_deletions_total',
        'Total number of Pods deleted by the taint eviction (NoExecute taints) since the controller started',
      );
  }

  run(workers: number): void {
    this.workers.run(workers);
    this.ticker = every(this.deps.clock, this.period, () => this.monitor());
  }

  async stop(): Promise<void> {
    this.ticker?.stop();
    await this.workers.stop();
  }

  /** Every --node-monitor-period, every node is checked (a safety net beside events and deadlines). */
  private monitor(): void {
    for (const name of this.deps.nodes.listKeys()) this.queue.add(name);
  }

  nodeChanged(node: Node): void {
    this.queue.add(node.metadata?.name ?? '');
  }

  /** A renewed Lease of a node not Ready may bring it back (the kubelet posts Ready itself; this resyncs the health record). */
  leaseChanged(lease: Lease): void {
    const name = lease.metadata?.name ?? '';
    const node = this.deps.nodes.get(name);
    if (node && readyStatus(node) !== 'True') this.queue.add(name);
  }

  /** A pod matters only on a node that is not Ready or has NoExecute taints. */
  podChanged(pod: Pod): void {
    const nodeName = pod.spec?.nodeName;
    if (!nodeName) return;
    const node = this.deps.nodes.get(nodeName);
    if (!node) return;
    if (readyStatus(node) !== 'True' || (node.spec?.taints ?? []).some((t) => t.effect === NO_EXECUTE)) this.queue.add(nodeName);
  }

  async sync(name: string): Promise<void> {
    let node = this.deps.nodes.get(name);
    if (!node) return this.forget(name);
    const now = this.deps.clock.now();
    if (!this.known.has(name)) this.nodeEvent(node, 'RegisteredNode', `Node ${name} event: Registered Node ${name} in Controller`);
    this.known.set(name, node);
    node = await this.updateHealth(name, node, now);
    this.updateDisruption(node);
    node = await this.updateTaints(node, now);
    if (readyStatus(node) !== 'True') await this.markPodsNotReady(node, now);
    await this.evictPods(node, now);
  }

  private forget(name: string): void {
    const last = this.known.get(name);
    if (last) this.nodeEvent(last, 'RemovingNode', `Node ${name} event: Removing Node ${name} from Controller`);
    this.known.delete(name);
    this.health.delete(name);
    for (const k of [...this.taintSeen.keys()]) if (k.startsWith(`${name}\u0000`)) this.taintSeen.delete(k);
    this.updateDisruption();
  }

  /** Marks a silent node Unknown; returns the node as stored afterwards. */
  private async updateHealth(name: string, node: Node, now: number): Promise<Node> {
    const prev = this.health.get(name);
    const h = observe(prev, node, this.deps.leases?.get(`${NAMESPACE_NODE_LEASE}/${name}`), now);
    this.health.set(name, h);
    const hasReady = (node.status?.conditions ?? []).some((c) => c.type === 'Ready');
    const deadline = h.probeMs + (hasReady ? this.grace : this.startupGrace);
    if (now > deadline) {
      const conditions = unknownConditions(node, rfc3339(now));
      if (conditions) {
        this.deps.log(`${this.name}: node ${name} posted no status for ${Math.round((now - h.probeMs) / 1000)}s: marking its conditions Unknown`);
        node = await this.deps.nodeClient.updateStatus({ ...node, status: { ...node.status, conditions } });
      }
    } else {
      this.queue.addAfter(name, deadline - now + 1);
    }
    const ready = readyStatus(node);
    if (prev && h.readyStatus === 'True' && ready !== 'True') this.nodeEvent(node, 'NodeNotReady', `Node ${name} status is now: NodeNotReady`);
    if (prev && h.readyStatus !== 'True' && ready === 'True') this.nodeEvent(node, 'NodeReady', `Node ${name} status is now: NodeReady`);
    this.health.set(name, { ...h, readyStatus: ready });
    return node;
  }

  /**
   * Full disruption: every node is not Ready. Then no NoExecute taints are
   * set (and the controller's are removed), as Kubernetes does; leaving it
   * gives every node a fresh grace period.
   */
  private updateDisruption(fresh?: Node): void {
    const all = this.deps.nodes.size > 0 && !this.anyReady(fresh);
    if (all === this.fullDisruption) return;
    this.fullDisruption = all;
    if (all) this.deps.log(`${this.name}: every node is not Ready: entering full disruption mode (no evictions)`);
    else {
      this.deps.log(`${this.name}: some nodes are Ready again: leaving full disruption mode`);
      const now = this.deps.clock.now();
      for (const h of this.health.values()) h.probeMs = now;
    }
    for (const key of this.deps.nodes.listKeys()) this.queue.add(key);
  }

  /**
   * Whether some cached node is Ready (`fresh`, just written, counts as
   * written: the cache may not have it yet). Each sync asks: a Ready node
   * found once is checked first next time, so the answer costs one lookup
   * instead of a walk over every node (every node's sync walking every node
   * was quadratic in the node count).
   */
  private anyReady(fresh?: Node): boolean {
    const name = fresh?.metadata?.name;
    const ready = (n: Node): boolean => readyStatus(fresh && n.metadata?.name === name ? fresh : n) === 'True';
    const hint = this.readyHint !== undefined ? this.deps.nodes.get(this.readyHint) : undefined;
    if (hint && ready(hint)) return true;
    for (const n of this.deps.nodes.list()) {
      if (ready(n)) {
        this.readyHint = n.metadata?.name;
        return true;
      }
    }
    this.readyHint = undefined;
    return false;
  }

  private async updateTaints(node: Node, now: number): Promise<Node> {
    const name = node.metadata?.name ?? '';
    return updateFromFresh(
      node,
      () => this.deps.nodeClient.get(name),
      (n) => {
        const taints = reconcileTaints(n.spec?.taints ?? [], desiredTaints(n, !this.fullDisruption), rfc3339(now));
        return taints ? { ...n, spec: { ...n.spec, taints } } : undefined;
      },
      (n) => this.deps.nodeClient.update(n),
    );
  }

  /** Kubernetes' MarkPodsNotReady: Ready=False on every pod of the node that is Ready. */
  private async markPodsNotReady(node: Node, now: number): Promise<void> {
    const nodeName = node.metadata?.name ?? '';
    for (const pod of this.deps.pods.byIndex(NODE_NAME_INDEX, nodeName)) {
      const conditions = pod.status?.conditions ?? [];
      if (!conditions.some((c) => c.type === 'Ready' && c.status === 'True')) continue;
      const next: PodCondition[] = conditions.map((c) => (c.type === 'Ready' ? { ...c, status: 'False', lastTransitionTime: rfc3339(now) } : c));
      await ignoreNotFound(this.deps.podClient.updateStatus({ ...pod, status: { ...pod.status, conditions: next } }));
      this.deps.recorder.event(referenceTo('Pod', pod), 'Warning', 'NodeNotReady', 'Node is not ready');
    }
  }

  /** Deletes the pods that do not tolerate the node's NoExecute taints (now or at their deadline). */
  private async evictPods(node: Node, now: number): Promise<void> {
    const nodeName = node.metadata?.name ?? '';
    const taints = (node.spec?.taints ?? []).filter((t) => t.effect === NO_EXECUTE);
    if (taints.length === 0) return;
    let next = Infinity;
    for (const pod of this.deps.pods.byIndex(NODE_NAME_INDEX, nodeName)) {
      if (pod.metadata?.deletionTimestamp) continue;
      const decision = evictionFor(pod.spec?.tolerations ?? [], taints, (t) => this.addedAt(nodeName, t, now), now);
      if (decision.action === 'wait') next = Math.min(next, decision.atMs);
      if (decision.action !== 'evict') continue;
      const m = pod.metadata;
      this.deps.recorder.event(referenceTo('Pod', pod), 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${m?.namespace ?? ''}/${m?.name ?? ''}`);
      await ignoreNotFound(this.deps.podClient.delete(m?.name ?? '', { namespace: m?.namespace ?? '', preconditions: { uid: m?.uid ?? '' } }));
      this.evictions?.inc();
    }
    if (next !== Infinity) this.queue.addAfter(nodeName, next - now + 1);
  }

  /** When a taint was added: its timeAdded, or when the controller first saw it. */
  private addedAt(nodeName: string, t: Taint, now: number): number {
    const parsed = t.timeAdded ? Date.parse(t.timeAdded) : NaN;
    if (!Number.isNaN(parsed)) return parsed;
    const k = [nodeName, t.key ?? '', t.value ?? ''].join('\u0000');
    const seen = this.taintSeen.get(k);
    if (seen !== undefined) return seen;
    this.taintSeen.set(k, now);
    return now;
  }

  private nodeEvent(node: Node, reason: string, message: string): void {
    // Kubernetes refers to a node by its name as uid in these events.
    this.deps.recorder.event({ ...referenceTo('Node', node), uid: node.metadata?.name ?? '' }, 'Normal', reason, message);
  }
}

export function newNodeLifecycleController(ctx: ControllerContext, options: NodeLifecycleOptions = {}): NodeLifecycleController {
  const nodes = ctx.informers.informerFor('Node');
  const pods = ctx.informers.informerFor('Pod', { [NODE_NAME_INDEX]: nodeNameIndexFunc });
  // The cluster-wide informer the garbage collector shares; only kube-node-lease is read.
  const leases = ctx.informers.informerFor('Lease');
  const c = new NodeLifecycleController(
    {
      nodes: nodes.store,
      leases: leases.store,
      pods: pods.store,
      nodeClient: ctx.clientset.nodes,
      podClient: ctx.clientset.pods,
      recorder: ctx.recorder(NODE_CONTROLLER_COMPONENT),
      clock: ctx.clock,
      queue: newControllerQueue(ctx, 'node_lifecycle_controller'),
      registry: ctx.registry,
      log: ctx.log,
    },
    options,
  );
  nodes.addEventHandler({
    onAdd: (n) => c.nodeChanged(n),
    onUpdate: (_o, n) => c.nodeChanged(n),
    onDelete: (n) => c.nodeChanged(n),
  });
  pods.addEventHandler({ onAdd: (p) => c.podChanged(p), onUpdate: (_o, p) => c.podChanged(p) });
  // A renewal is news only for a node not Ready (health is otherwise read at each sync and deadline).
  const nodeLease = (l: Lease): void => {
    if (l.metadata?.namespace === NAMESPACE_NODE_LEASE) c.leaseChanged(l);
  };
  leases.addEventHandler({ onAdd: nodeLease, onUpdate: (_o, l) => nodeLease(l) });
  return c;
}

/** The factory with Kubernetes' default durations; the manager passes flags through newNodeLifecycleController. */
export const nodeLifecycleControllerFactory: ControllerFactory = (ctx) => newNodeLifecycleController(ctx, {});
