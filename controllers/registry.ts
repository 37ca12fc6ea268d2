// Every controller `tsk controller-manager` can run, by the name
// --controllers takes (Kubernetes' names), with its default worker count.
// A new controller is one entry here.

import type { ControllerFactory } from './controller';
import { endpointsControllerFactory } from './endpoints/controller';
import { newGarbageCollector } from './garbagecollector/controller';
import { nodeIpamControllerFactory } from './nodeipam/controller';
import { nodeLifecycleControllerFactory } from './nodelifecycle/controller';
import { podGcControllerFactory } from './podgc/controller';
import { newReplicationController } from './replication/controller';
import { serviceLbControllerFactory } from './servicelb/controller';

export interface ControllerEntry {
  readonly factory: ControllerFactory;
  /** Workers unless a flag says otherwise (Kubernetes' --concurrent-*-syncs defaults). */
  readonly workers: number;
  /** Runs only when named in --controllers, not with "*" (Kubernetes' disabled-by-default list). */
  readonly disabledByDefault?: boolean;
}

export type ControllerTable = Readonly<Record<string, ControllerEntry>>;

export const CONTROLLERS: ControllerTable = {
  replicationcontroller: { factory: newReplicationController, workers: 5 },
  garbagecollector: { factory: newGarbageCollector, workers: 20 },
  endpoints: { factory: endpointsControllerFactory, workers: 5 },
  nodelifecycle: { factory: nodeLifecycleControllerFactory, workers: 8 },
  // Kubernetes' range allocator runs 30 CIDR update workers: each waits on one
  // API write, and 5,000 nodes registering at once queue behind them.
  nodeipam: { factory: nodeIpamControllerFactory, workers: 30 },
  podgc: { factory: podGcControllerFactory, workers: 1 },
  servicelb: { factory: serviceLbControllerFactory, workers: 2 },
};

/** The controllers "*" means: every one not disabled by default. */
export function defaultControllers(table: ControllerTable = CONTROLLERS): string[] {
  return Object.keys(table).filter((name) => !table[name]!.disabledByDefault);
}
