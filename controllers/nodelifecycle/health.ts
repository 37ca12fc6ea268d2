// Node health as the node lifecycle controller sees it (Kubernetes'
// tryUpdateNodeHealth): a heartbeat counts from when the controller OBSERVED
// a new Ready.lastHeartbeatTime or a later renewTime of the node's Lease in
// kube-node-lease (the kubelet renews it every 10 s and posts its status only
// on change), on its own clock, so clock skew between a node and the control
// plane cannot make a node look dead or alive. A node
// silent for longer than its grace period gets every kubelet-owned
// condition set to Unknown.

import type { Lease, Node, NodeCondition } from '../../api/gen/tsk/v1/core';
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
  /** The renewTime of the node's Lease last seen ("" when none). */
  leaseRenew: string;
  /** When (controller clock, ms) that heartbeat or renewal was first seen. */
  probeMs: number;
  /** The Ready status at the last sync, for transition events. */
  readyStatus: string;
}

/** Whether renewTime `next` is later than `prev` (RFC 3339 with microseconds; "" is never). */
function renewedAfter(next: string, prev: string): boolean {
  if (next === '' || next === prev) return false;
  if (prev === '') return true;
  const a = Date.parse(next);
  const b = Date.parse(prev);
  // Same millisecond: the microseconds decide (same format, so the strings compare).
  return a > b || (a === b && next > prev);
}

/** Updates (or starts) the health record with the node's current heartbeat and Lease. */
export function observe(prev: NodeHealth | undefined, node: Node, lease: Lease | undefined, nowMs: number): NodeHealth {
  const ready = getCondition(node, 'Ready');
  const heartbeat = ready?.lastHeartbeatTime ?? '';
  const leaseRenew = lease?.spec?.renewTime ?? '';
  if (!prev) return { heartbeat, leaseRenew, probeMs: nowMs, readyStatus: ready?.status || 'Unknown' };
  const renewed = renewedAfter(leaseRenew, prev.leaseRenew);
  if (heartbeat !== prev.heartbeat || renewed) {
    return { ...prev, heartbeat, leaseRenew: renewed ? leaseRenew : prev.leaseRenew, probeMs: nowMs };
  }
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
