// Keeps this node's routes to the other nodes' pod CIDRs in step with the
// Node objects: every change to a node (a new node, a podCIDR allocated, an
// address changed, a node deleted) schedules one sync of the whole set, and a
// periodic resync repairs routes someone removed by hand.

import type { Node } from '../../api/gen/tsk/v1/core';
import { type Clock, realClock, type SharedInformerFactory, type TimerHandle } from '../../client';
import type { IpRunner } from './node-routes';
import { hostGwBackend, type RoutesBackend } from './backends';
import { errorMessage } from '../../util/errors';

export interface RouteSyncerOptions {
  readonly informers: SharedInformerFactory;
  readonly nodeName: string;
  readonly ip: IpRunner;
  /** What a sync does; default host-gw routes through `ip`. */
  readonly backend?: RoutesBackend;
  readonly clock?: Clock;
  /** Full resync interval; default 30 s. */
  readonly resyncMs?: number;
  /** Retry delay after a failed sync; default 2 s. */
  readonly retryMs?: number;
  readonly log?: (line: string) => void;
}

export interface RouteSyncer {
  /** Resolves after the next sync has run (for tests and start-up). */
  synced(): Promise<void>;
  stop(): void;
}

export function startRouteSyncer(o: RouteSyncerOptions): RouteSyncer {
  const clock = o.clock ?? realClock;
  const log = o.log ?? (() => undefined);
  const informer = o.informers.informerFor('Node');
  let timer: TimerHandle | undefined;
  let running = false;
  let again = false;
  let stopped = false;
  let waiters: (() => void)[] = [];

  const schedule = (ms: number): void => {
    if (stopped) return;
    if (timer) clock.clearTimeout(timer);
    timer = clock.setTimeout(() => void run(), ms);
  };

  const backend = o.backend ?? hostGwBackend(o.ip, o.nodeName);
  const sync = async (): Promise<void> => {
    for (const line of await backend.sync(informer.store.list() as Node[])) log(line);
  };

  // One sync at a time; a request during a sync runs once more afterwards.
  const run = async (): Promise<void> => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    let next = o.resyncMs ?? 30_000;
    try {
      if (informer.hasSynced()) await sync();
      else next = 200;
    } catch (err) {
      log(`${backend.name} sync failed: ${errorMessage(err)}`);
      next = o.retryMs ?? 2000;
    } finally {
      running = false;
      if (informer.hasSynced()) {
        const w = waiters;
        waiters = [];
        for (const resolve of w) resolve();
      }
      if (again) {
        again = false;
        schedule(0);
      } else schedule(next);
    }
  };

  const poke = (): void => schedule(0);
  informer.addEventHandler({ onAdd: poke, onUpdate: poke, onDelete: poke });
  schedule(0);
  return {
    synced: () => new Promise((resolve) => waiters.push(resolve)),
    stop: () => {
      stopped = true;
      if (timer) clock.clearTimeout(timer);
    },
  };
}
