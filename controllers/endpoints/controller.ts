// The endpoints controller (Kubernetes' pkg/controller/endpoint): keeps, for
// every Service with a selector, an Endpoints object of the same name listing
// the pods it selects. Handlers only enqueue service keys; sync(key) computes
// the subsets from the cached service and pods and writes only when they
// differ from the cached Endpoints. Services without a selector are left to
// their users; the Endpoints of a deleted service are deleted. A pod change
// may be held back for --endpoint-updates-batch-period so the changes that
// follow join it in one write (Kubernetes' scale tests run with 500ms: every
// Endpoints write goes to every proxy's watch).

import { AlreadyExistsError } from '../../api/errors';
import type { Endpoints, Pod, Service } from '../../api/gen/tsk/v1/core';
import { WorkQueue, objectKey, splitKey, NAMESPACE_INDEX, type Clock, type Lister, type ResourceClient } from '../../client';
import type { Controller, ControllerContext, ControllerFactory } from '../controller';
import { rfc3339 } from '../../util/time';
import { ignoreNotFound } from '../api-util';
import { newControllerQueue } from '../queue';
import { QueueWorkers } from '../workers';
import { computeSubsets, endpointsLabels, endpointsRelevantState, hasSelector, labelsEqual, selectedPods, subsetsEqual } from './subsets';

export const ENDPOINTS_CONTROLLER_NAME = 'endpoints';
/** When the change that led to this Endpoints content was observed (Kubernetes' annotation). */
export const LAST_CHANGE_TRIGGER_TIME_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';

export type EndpointsClient = Pick<ResourceClient<Endpoints>, 'create' | 'update' | 'delete'>;

export interface EndpointsControllerDeps {
  readonly services: Lister<Service>;
  /** Pods, with the "namespace" index. */
  readonly pods: Lister<Pod>;
  readonly endpoints: Lister<Endpoints>;
  readonly client: EndpointsClient;
  readonly clock: Clock;
  readonly log: (line: string) => void;
  /** The work queue (the manager's metered one); default: a plain WorkQueue on clock. */
  readonly queue?: WorkQueue<string>;
  /** --endpoint-updates-batch-period: how long a pod change waits for others to join it (0: none). */
  readonly updatesBatchPeriodMs?: number;
  /**
   * Pods by namespace and label (see POD_LABEL_INDEX): when given, a sync
   * looks at the pods carrying one of the selector's labels instead of every
   * pod of the namespace.
   */
  readonly podsByLabel?: boolean;
}

export interface EndpointsOptions {
  /** Kubernetes' --endpoint-updates-batch-period (default 0). */
  readonly updatesBatchPeriodMs?: number;
}

/** The pod informer's index of "NAMESPACE/KEY=VALUE", one value per label. */
export const POD_LABEL_INDEX = 'endpoints:label';

export const podLabelIndexFunc = (pod: Pod): string[] => {
  const ns = pod.metadata?.namespace ?? '';
  return Object.entries(pod.metadata?.labels ?? {}).map(([k, v]) => `${ns}/${k}=${v}`);
};

export class EndpointsController implements Controller {
  readonly name = ENDPOINTS_CONTROLLER_NAME;
  readonly queue: WorkQueue<string>;
  private readonly workers: QueueWorkers;
  /** Per service key: when the earliest change not yet written was observed. */
  private readonly triggerTimes = new Map<string, number>();

  constructor(private readonly deps: EndpointsControllerDeps) {
    this.queue = deps.queue ?? new WorkQueue<string>({ clock: deps.clock });
    this.workers = new QueueWorkers(this.name, this.queue, (key) => this.sync(key), deps.log);
  }

  run(workers: number): void {
    // Endpoints whose service vanished while no controller ran are found
    // through their own keys (Kubernetes' checkLeftoverEndpoints).
    for (const ep of this.deps.endpoints.list()) this.queue.add(objectKey(ep));
    this.workers.run(workers);
  }

  stop(): Promise<void> {
    return this.workers.stop();
  }

  /** A service changed: its key. */
  serviceChanged(service: Service): void {
    this.enqueue(objectKey(service));
  }

  /** A pod changed: every service of its namespace that selects it now or selected it before. */
  podChanged(oldPod: Pod | undefined, newPod: Pod): void {
    // A resync (same object) always counts; a real update only when it matters to Endpoints.
    if (oldPod && oldPod !== newPod && endpointsRelevantState(oldPod) === endpointsRelevantState(newPod)) return;
    const keys = new Set<string>();
    for (const pod of oldPod && oldPod !== newPod ? [oldPod, newPod] : [newPod]) {
      const ns = pod.metadata?.namespace ?? '';
      for (const svc of this.deps.services.byIndex(NAMESPACE_INDEX, ns)) {
        if (selectedPods(svc, [pod]).length > 0) keys.add(objectKey(svc));
      }
    }
    for (const k of keys) this.enqueue(k, this.deps.updatesBatchPeriodMs ?? 0);
  }

  /** An Endpoints object was deleted or changed behind the controller's back: re-check its service. */
  endpointsChanged(ep: Endpoints): void {
    this.queue.add(objectKey(ep));
  }

  private enqueue(key: string, delayMs = 0): void {
    if (!this.triggerTimes.has(key)) this.triggerTimes.set(key, this.deps.clock.now());
    this.queue.addAfter(key, delayMs);
  }

  /**
   * The pods a sync looks at: with the label index, those carrying the
   * selector's first label (the selector still decides), else the
   * namespace's. At 3,000 pods a namespace the scan of the namespace was the
   * server's most expensive function while Services filled.
   */
  private candidates(service: Service, namespace: string): Pod[] {
    const first = Object.entries(service.spec?.selector ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))[0];
    if (!this.deps.podsByLabel || !first) return this.deps.pods.byIndex(NAMESPACE_INDEX, namespace);
    return this.deps.pods.byIndex(POD_LABEL_INDEX, `${namespace}/${first[0]}=${first[1]}`);
  }

  /** Reconciles one service's Endpoints from the cache. Safe to run again at any time. */
  async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const service = this.deps.services.get(key);
    const current = this.deps.endpoints.get(key);
    if (!service) {
      this.triggerTimes.delete(key);
      if (current) await ignoreNotFound(this.deps.client.delete(name, { namespace }));
      return;
    }
    if (!hasSelector(service)) {
      this.triggerTimes.delete(key);
      return;
    }
    const subsets = computeSubsets(service, this.candidates(service, namespace));
    const labels = endpointsLabels(service);
    if (current && subsetsEqual(current.subsets, subsets) && labelsEqual(current.metadata?.labels, labels)) {
      this.triggerTimes.delete(key);
      return;
    }
    const annotations: Record<string, string> = { ...current?.metadata?.annotations };
    const trigger = this.triggerTimes.get(key);
    if (trigger !== undefined) annotations[LAST_CHANGE_TRIGGER_TIME_ANNOTATION] = rfc3339(trigger);
    if (current) {
      await this.deps.client.update({ ...current, metadata: { ...current.metadata, labels, annotations }, subsets });
    } else {
      const ep: Endpoints = { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace, labels, annotations }, subsets };
      try {
        await this.deps.client.create(ep);
      } catch (err) {
        // The cache has not seen an Endpoints created meanwhile: retry against it.
        if (err instanceof AlreadyExistsError) throw new Error(`endpoints ${key} exist but are not cached yet`, { cause: err });
        throw err;
      }
    }
    this.triggerTimes.delete(key);
  }
}

/** Builds the controller on the shared informers of ctx. */
export function newEndpointsController(ctx: ControllerContext, options: EndpointsOptions = {}): EndpointsController {
  const services = ctx.informers.informerFor('Service');
  const pods = ctx.informers.informerFor('Pod');
  pods.addIndexers({ [POD_LABEL_INDEX]: podLabelIndexFunc });
  const endpoints = ctx.informers.informerFor('Endpoints');
  const c = new EndpointsController({
    services: services.store,
    pods: pods.store,
    endpoints: endpoints.store,
    client: ctx.clientset.endpoints,
    clock: ctx.clock,
    queue: newControllerQueue(ctx, 'endpoint'),
    log: ctx.log,
    podsByLabel: true,
    ...(options.updatesBatchPeriodMs !== undefined ? { updatesBatchPeriodMs: options.updatesBatchPeriodMs } : {}),
  });
  services.addEventHandler({
    onAdd: (s) => c.serviceChanged(s),
    onUpdate: (_o, s) => c.serviceChanged(s),
    onDelete: (s) => c.serviceChanged(s),
  });
  pods.addEventHandler({
    onAdd: (p) => c.podChanged(undefined, p),
    onUpdate: (o, p) => c.podChanged(o, p),
    onDelete: (p) => c.podChanged(undefined, p),
  });
  endpoints.addEventHandler({ onDelete: (ep) => c.endpointsChanged(ep) });
  return c;
}

export const endpointsControllerFactory: ControllerFactory = (ctx) => newEndpointsController(ctx);
