// Every controller `tsk controller-manager` can run, by the name
// --controllers takes (Kubernetes' names), with its default worker count.
// A new controller is one entry here.

import type { ControllerFactory } from './controller';
import { newReplicationController } from './replication/controller';

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
};

/** The controllers "*" means: every one not disabled by default. */
export function defaultControllers(table: ControllerTable = CONTROLLERS): string[] {
  return Object.keys(table).filter((name) => !table[name]!.disabledByDefault);
}
