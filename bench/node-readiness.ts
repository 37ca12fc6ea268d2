// How often nodes went Unknown during a bench: the node lifecycle controller
// sets a node's Ready condition to Unknown when its Lease and status were
// silent for --node-monitor-grace-period (40 s), i.e. its heartbeats came
// late; after 300 s more its pods are evicted and re-created elsewhere.

import type { Node } from '../api/gen/tsk/v1/core';

/** Counts Ready -> Unknown transitions of every node a watch shows it. */
export class ReadyUnknownCounter {
  /** The last Ready status seen per node. */
  private readonly ready = new Map<string, string>();
  private readonly wentUnknown = new Set<string>();
  /** Transitions of Ready from True or False (or no condition) to Unknown. */
  transitions = 0;

  /**
   * Takes a node as a list or watch shows it. A node first seen Unknown is
   * not counted (its transition came before the watch), and seeing the same
   * state again after a relist counts nothing.
   */
  observe(node: Node): void {
    const name = node.metadata?.name ?? '';
    const status = node.status?.conditions?.find((c) => c.type === 'Ready')?.status ?? '';
    const prev = this.ready.get(name);
    if (status === 'Unknown' && prev !== undefined && prev !== 'Unknown') {
      this.transitions++;
      this.wentUnknown.add(name);
    }
    this.ready.set(name, status);
  }

  /** How many distinct nodes went Unknown at least once. */
  get nodes(): number {
    return this.wentUnknown.size;
  }
}
