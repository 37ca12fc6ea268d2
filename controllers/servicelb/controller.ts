// ServiceLB (k3s's servicelb, klipper-lb's controller half): the load
// balancer of a cluster without a cloud. For every Service of type
// LoadBalancer that it owns (no loadBalancerClass, or its own), it publishes
// the ready nodes' addresses in status.loadBalancer.ingress through the
// status subresource; the proxy on each node answers on those addresses at
// the Service's ports. Services of another loadBalancerClass are left to
// their controller. Handlers only enqueue service keys: a node change (ready,
// not ready, added, removed, new addresses) every owned service's, an
// Endpoints change its service's when it keeps traffic Local.

import type { Endpoints, Node, Service } from '../../api/gen/tsk/v1/core';
import { WorkQueue, objectKey, referenceTo, type Clock, type EventRecorder, type Lister, type ResourceClient } from '../../client';
import type { Controller, ControllerContext, ControllerFactory } from '../controller';
import { newControllerQueue } from '../queue';
import { QueueWorkers } from '../workers';
import { desiredIngress, ingressAddresses, ingressEqual, nodeIngressState, ownsService } from './ingress';

export const SERVICELB_CONTROLLER_NAME = 'servicelb';
/** The Event source (the cloud provider's service controller, as k3s's events show). */
export const SERVICELB_COMPONENT = 'service-lb-controller';

export interface ServiceLbDeps {
  readonly services: Lister<Service>;
  readonly nodes: Lister<Node>;
  readonly endpoints: Lister<Endpoints>;
  readonly client: Pick<ResourceClient<Service>, 'updateStatus'>;
  readonly recorder: EventRecorder;
  readonly clock: Clock;
  readonly log: (line: string) => void;
  /** The work queue (the manager's metered one); default: a plain WorkQueue on clock. */
  readonly queue?: WorkQueue<string>;
}

export class ServiceLbController implements Controller {
  readonly name = SERVICELB_CONTROLLER_NAME;
  readonly queue: WorkQueue<string>;
  private readonly workers: QueueWorkers;

  constructor(private readonly deps: ServiceLbDeps) {
    this.queue = deps.queue ?? new WorkQueue<string>({ clock: deps.clock });
    this.workers = new QueueWorkers(this.name, this.queue, (key) => this.sync(key), deps.log);
  }

  run(workers: number): void {
    this.enqueueOwned();
    this.workers.run(workers);
  }

  stop(): Promise<void> {
    return this.workers.stop();
  }

  serviceChanged(svc: Service): void {
    if (ownsService(svc)) this.queue.add(objectKey(svc));
  }

  /** A node was added or removed (old undefined), or changed: every owned service, unless nothing the ingress uses changed. */
  nodeChanged(oldNode: Node | undefined, node: Node): void {
    if (oldNode && oldNode !== node && nodeIngressState(oldNode) === nodeIngressState(node)) return;
    this.enqueueOwned();
  }

  endpointsChanged(ep: Endpoints): void {
    const svc = this.deps.services.get(objectKey(ep));
    if (svc && ownsService(svc) && svc.spec?.externalTrafficPolicy === 'Local') this.queue.add(objectKey(svc));
  }

  private enqueueOwned(): void {
    for (const svc of this.deps.services.list()) this.serviceChanged(svc);
  }

  /** Brings one service's status.loadBalancer in line with the cache. Safe to run again at any time. */
  async sync(key: string): Promise<void> {
    const svc = this.deps.services.get(key);
    if (!svc || !ownsService(svc)) return;
    const current = svc.status?.loadBalancer?.ingress ?? [];
    const ingress = desiredIngress(svc, this.deps.nodes.list(), this.deps.endpoints.get(key));
    if (ingressEqual(current, ingress)) return;
    // A stale cached service is a Conflict: retried with back-off against the newer one.
    await this.deps.client.updateStatus({ ...svc, status: { ...svc.status, loadBalancer: { ingress } } });
    const ref = referenceTo('Service', svc);
    if (ingress.length === 0) {
      this.deps.recorder.event(ref, 'Warning', 'UnAvailableLoadBalancer', 'There are no available nodes for LoadBalancer');
    } else {
      const from = ingressAddresses(current).join(' ');
      const to = ingressAddresses(ingress).join(' ');
      this.deps.recorder.event(ref, 'Normal', 'UpdatedLoadBalancer', `Updated LoadBalancer with new IPs: [${from}] -> [${to}]`);
    }
    this.deps.log(`${this.name}: service ${key} load balancer ingress: ${ingressAddresses(ingress).join(', ') || '(none)'}`);
  }
}

export function newServiceLbController(ctx: ControllerContext): ServiceLbController {
  const services = ctx.informers.informerFor('Service');
  const nodes = ctx.informers.informerFor('Node');
  const endpoints = ctx.informers.informerFor('Endpoints');
  const c = new ServiceLbController({
    services: services.store,
    nodes: nodes.store,
    endpoints: endpoints.store,
    client: ctx.clientset.services,
    recorder: ctx.recorder(SERVICELB_COMPONENT),
    clock: ctx.clock,
    log: ctx.log,
    queue: newControllerQueue(ctx, 'servicelb'),
  });
  services.addEventHandler({ onAdd: (s) => c.serviceChanged(s), onUpdate: (_o, s) => c.serviceChanged(s) });
  nodes.addEventHandler({
    onAdd: (n) => c.nodeChanged(undefined, n),
    onUpdate: (o, n) => c.nodeChanged(o, n),
    onDelete: (n) => c.nodeChanged(undefined, n),
  });
  endpoints.addEventHandler({
    onAdd: (e) => c.endpointsChanged(e),
    onUpdate: (_o, e) => c.endpointsChanged(e),
    onDelete: (e) => c.endpointsChanged(e),
  });
  return c;
}

export const serviceLbControllerFactory: ControllerFactory = newServiceLbController;
