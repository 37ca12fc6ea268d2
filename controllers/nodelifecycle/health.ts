// Node health as the node lifecycle controller sees it (Kubernetes'
// tryUpdateNodeHealth): a heartbeat counts from when the controller OBSERVED
// a new Ready.lastHeartbeatTime, on its own clock, so clock skew between a
// node and the control plane cannot make a node look dead or alive. A node
// silent for longer than its grace period gets every kubelet-owned
// condition set to Unknown.

import type { Node, NodeCondition } from '../../api/gen/tsk/v1/core';
import { getCondition } from './taints';

/** The conditions the kubelet posts and the controller marks Unknown (NetworkUnavailable is not the kubelet's). */
export const KUBELET_CONDITIONS = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'] as const;

export const REASON_STATUS_UNKNOWN = 'NodeStatusUnknown';
export const MESSAGE_STATUS_UNKNOWN = 'Kubelet stopped posting node status.';
export const REASON_NEVER_UPDATED = 'NodeStatusNeverUpdated';
export const MESSAGE_NEVER_UPDATED = 'Kubelet never posted node status.';

/** What the controller remembers of a node between syncs (lost on restart: a restart grants a fresh grace period). */
export interface NodeHealth {
  /** The Ready condition's lastHeartbeatTime last seen ("" when it has none). */
  heartbeat: string;
  /** When (controller clock, ms) that heartbeat was first seen. */
  probeMs: number;
  /** The Ready status at the last sync, for transition events. */
  readyStatus: string;
}

/** Updates (or starts) the health record with the node's current heartbeat. */
export function observe(prev: NodeHealth | undefined, node: Node, nowMs: number): NodeHealth {
  const ready = getCondition(node, 'Ready');
  const heartbeat = ready?.lastHeartbeatTime ?? '';
  if (!prev) return { heartbeat, probeMs: nowMs, readyStatus: ready?.status || 'Unknown' };
  if (heartbeat !== prev.heartbeat) return { ...prev, heartbeat, probeMs: nowMs };
  return prev;
}

/**
 * The node's conditions with every kubelet condition Unknown (the ones it
 * never posted added as "never updated"); undefined when they already are.
 */
export function unknownConditions(node: Node, now: string): NodeCondition[] | undefined {
  const conditions = (node.status?.conditions ?? []).map((c) => ({ ...c }));
  let changed = false;
  for (const type of KUBELET_CONDITIONS) {
    const c = conditions.find((x) => x.type === type);
    if (!c) {
      conditions.push({
        type,
        status: 'Unknown',
        reason: REASON_NEVER_UPDATED,
        message: MESSAGE_NEVER_UPDATED,
        lastHeartbeatTime: node.metadata?.creationTimestamp ?? now,
        lastTransitionTime: now,
      });
      changed = true;
    } else if (c.status !== 'Unknown') {
      Object.assign(c, { status: 'Unknown', reason: REASON_STATUS_UNKNOWN, message: MESSAGE_STATUS_UNKNOWN, lastTransitionTime: now });
      changed = true;
    }
  }
  return changed ? conditions : undefined;
}
