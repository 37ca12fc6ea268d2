// The node IPAM controller (Kubernetes' nodeipam range allocator): gives each
// node a spec.podCIDR (and podCIDRs) from --cluster-cidr, one subnet of
// --node-cidr-mask-size bits per node, never the same to two nodes. The
// allocations live only in the nodes themselves: at start the set is rebuilt
// from every node's podCIDR, so restarts lose nothing; a deleted node's
// subnet is released. A node that has a podCIDR keeps it. When the range is
// full the node gets an Event CIDRNotAvailable and is retried later, or at
// once when a subnet is released.

import { NotFoundError } from '../../api/errors';
import type { Node } from '../../api/gen/tsk/v1/core';
import { WorkQueue, type Clock, type EventRecorder, type Lister, type ResourceClient } from '../../client';
import type { Controller, ControllerContext, ControllerFactory } from '../controller';
import { updateFromFresh } from '../api-util';
import { newControllerQueue } from '../queue';
import { QueueWorkers } from '../workers';
import { CidrSet } from './cidr-set';

export const NODE_IPAM_CONTROLLER_NAME = 'nodeipam';
/** The Event source: Kubernetes' range allocator reports as the node controller. */
export const CIDR_ALLOCATOR_COMPONENT = 'cidrAllocator';

export const DEFAULT_CLUSTER_CIDR = '10.244.0.0/16';
export const DEFAULT_NODE_CIDR_MASK_SIZE = 24;
/** A node left without a subnet because the range is full is retried after this long. */
export const DEFAULT_FULL_RETRY_MS = 30_000;

export interface NodeIpamOptions {
  /** --cluster-cidr; default 10.244.0.0/16. */
  readonly clusterCidr?: string;
  /** --node-cidr-mask-size; default 24. */
  readonly nodeCidrMaskSize?: number;
  /** --allocate-node-cidrs; default true. False: the controller runs but allocates nothing. */
  readonly allocateNodeCidrs?: boolean;
  readonly fullRetryMs?: number;
}

export interface NodeIpamDeps {
  readonly nodes: Lister<Node>;
  readonly client: Pick<ResourceClient<Node>, 'update' | 'get'>;
  readonly recorder: EventRecorder;
  readonly clock: Clock;
  readonly log: (line: string) => void;
  /** The work queue (the manager's metered one); default: a plain WorkQueue on clock. */
  readonly queue?: WorkQueue<string>;
}

function podCidrOf(node: Node): string {
  return node.spec?.podCIDR || node.spec?.podCIDRs?.[0] || '';
}

export class NodeIpamController implements Controller {
  readonly name = NODE_IPAM_CONTROLLER_NAME;
  readonly queue: WorkQueue<string>;
  /** Throws CidrError (naming the flag) for a bad --cluster-cidr or --node-cidr-mask-size. */
  readonly cidrs: CidrSet;
  private readonly workers: QueueWorkers;
  private readonly enabled: boolean;
  private readonly fullRetryMs: number;
  /** The subnet each node has, or was given by a write not yet seen. */
  private readonly byNode = new Map<string, string>();
  /**
   * Nodes whose podCIDR this controller wrote and whose informer copy may
   * not show it yet: their other changes (status posts) are not answered by
   * writing the subnet again, which under load lost every race. By UID:
   * a node re-created under the same name needs a write of its own.
   */
  private readonly written = new Map<string, string>();

  constructor(
    private readonly deps: NodeIpamDeps,
    options: NodeIpamOptions = {},
  ) {
    this.cidrs = new CidrSet(options.clusterCidr ?? DEFAULT_CLUSTER_CIDR, options.nodeCidrMaskSize ?? DEFAULT_NODE_CIDR_MASK_SIZE);
    this.enabled = options.allocateNodeCidrs ?? true;
    this.fullRetryMs = options.fullRetryMs ?? DEFAULT_FULL_RETRY_MS;
    this.queue = deps.queue ?? new WorkQueue<string>({ clock: deps.clock });
    this.workers = new QueueWorkers(this.name, this.queue, (key) => this.sync(key), deps.log);
  }

  run(workers: number): void {
    if (!this.enabled) {
      this.deps.log(`${this.name}: --allocate-node-cidrs is false: node pod CIDRs are not allocated`);
      this.workers.run(1);
      return;
    }
    this.rebuild();
    this.workers.run(workers);
    for (const key of this.deps.nodes.listKeys()) this.queue.add(key);
  }

  /** Takes every subnet a node already has (from the synced cache), before any is handed out. */
  rebuild(): void {
    for (const node of this.deps.nodes.list()) {
      const cidr = podCidrOf(node);
      if (cidr) this.record(node.metadata?.name ?? '', cidr);
    }
  }

  stop(): Promise<void> {
    return this.workers.stop();
  }

  nodeChanged(node: Node): void {
    if (this.enabled) this.queue.add(node.metadata?.name ?? '');
  }

  async sync(name: string): Promise<void> {
    const node = this.deps.nodes.get(name);
    if (!node) return this.release(name);
    const existing = podCidrOf(node);
    if (existing) {
      this.written.delete(name);
      return this.record(name, existing);
    }
    // Written already: the informer has not caught up (podCIDR never changes once set).
    if (this.written.has(name) && this.written.get(name) === (node.metadata?.uid ?? '')) return;
    let cidr = this.byNode.get(name);
    if (!cidr) {
      cidr = this.cidrs.allocateNext();
      if (!cidr) return this.full(node);
      this.byNode.set(name, cidr);
    }
    const given = cidr;
    try {
      const written = await updateFromFresh(
        node,
        () => this.deps.client.get(name),
        // A node given a subnet meanwhile (by an earlier write of ours that lost its reply) keeps it.
        (n) => (podCidrOf(n) ? undefined : { ...n, spec: { ...n.spec, podCIDR: given, podCIDRs: [given] } }),
        (n) => this.deps.client.update(n),
      );
      const has = podCidrOf(written);
      this.written.set(name, written.metadata?.uid ?? '');
      if (has !== given) return this.record(name, has);
      this.deps.log(`${this.name}: node ${name} gets podCIDR ${given}`);
    } catch (err) {
      if (err instanceof NotFoundError) return this.release(name);
      // Conflict and the like: the reservation stays for the retry.
      throw err;
    }
  }

  /** Notes the subnet a node has (freeing one reserved for it before, if another). */
  private record(name: string, cidr: string): void {
    const prev = this.byNode.get(name);
    if (prev === cidr && this.cidrs.has(cidr)) return;
    if (prev && prev !== cidr) this.cidrs.release(prev);
    if (!this.cidrs.occupy(cidr)) this.deps.log(`${this.name}: node ${name} has podCIDR ${cidr}, outside --cluster-cidr or of another size: left as is`);
    this.byNode.set(name, cidr);
  }

  private release(name: string): void {
    this.written.delete(name);
    const cidr = this.byNode.get(name);
    if (!cidr) return;
    this.byNode.delete(name);
    this.cidrs.release(cidr);
    this.deps.log(`${this.name}: node ${name} is gone: podCIDR ${cidr} released`);
    // Nodes waiting for a subnet may have one now.
    for (const node of this.deps.nodes.list()) if (!podCidrOf(node)) this.queue.add(node.metadata?.name ?? '');
  }

  private full(node: Node): void {
    const name = node.metadata?.name ?? '';
    this.deps.log(`${this.name}: no podCIDR left for node ${name}: all ${this.cidrs.size} subnets of --cluster-cidr are taken`);
    this.deps.recorder.event(
      { kind: 'Node', apiVersion: 'v1', name, uid: name, namespace: '', resourceVersion: '', fieldPath: '' },
      'Normal',
      'CIDRNotAvailable',
      `Node ${name} status is now: CIDRNotAvailable`,
    );
    this.queue.addAfter(name, this.fullRetryMs);
  }
}

export function newNodeIpamController(ctx: ControllerContext, options: NodeIpamOptions = {}): NodeIpamController {
  const nodes = ctx.informers.informerFor('Node');
  const c = new NodeIpamController(
    {
      nodes: nodes.store,
      client: ctx.clientset.nodes,
      recorder: ctx.recorder(CIDR_ALLOCATOR_COMPONENT),
      clock: ctx.clock,
      log: ctx.log,
      queue: newControllerQueue(ctx, 'cidrallocator_node'),
    },
    options,
  );
  nodes.addEventHandler({
    onAdd: (n) => c.nodeChanged(n),
    onUpdate: (_o, n) => c.nodeChanged(n),
    onDelete: (n) => c.nodeChanged(n),
  });
  return c;
}

export const nodeIpamControllerFactory: ControllerFactory = (ctx) => newNodeIpamController(ctx, {});
