// What every controller of `tsk controller-manager` is: built from a shared
// context (one clientset, one set of shared informers, one metrics registry
// per process), started with a number of workers, and stopped. The manager
// starts the shared informers after every controller has asked for the ones
// it reads, waits for their first lists, then runs the controllers.

import type { Registry } from 'prom-client';
import type { Clientset, Clock, EventRecorder, SharedInformerFactory } from '../client';

export interface ControllerContext {
  readonly clientset: Clientset;
  readonly informers: SharedInformerFactory;
  /** An Event recorder reporting as `component` (such as "replication-controller"). */
  recorder(component: string): EventRecorder;
  /** Where controllers register their metrics (the manager's /metrics). */
  readonly registry: Registry;
  readonly clock: Clock;
  readonly log: (line: string) => void;
}

export interface Controller {
  /** As Kubernetes names it: "replicationcontroller", "endpoints", "nodelifecycle", "garbagecollector". */
  readonly name: string;
  /**
   * Starts `workers` workers in the background; the shared informers have
   * synced by then. Calling it twice is an invariant error.
   */
  run(workers: number): void;
  /** Stops the workers (shuts the queue down) and waits for them to finish their current key. */
  stop(): Promise<void>;
}

/** Builds a controller; it asks ctx.informers for the informers it needs here, before they start. */
export type ControllerFactory = (ctx: ControllerContext) => Controller;
