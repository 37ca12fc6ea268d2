// The two ways a node reaches the other nodes' pod CIDRs (flannel's
// backends, k3s's --flannel-backend): host-gw, a route via each node's
// InternalIP (one layer-2 network), and vxlan, a VXLAN overlay between the
// nodes (any routed network). The route syncer runs one of them on every
// change of the Nodes; each sync is level-triggered and idempotent.

import type { Node } from '../../api/gen/tsk/v1/core';
import type { ResourceClient } from '../../client';
import { ConflictError } from '../../api/errors';
import { applyRoutes, desiredRoutes, planRoutes, readRoutes, type IpRunner } from './node-routes';
import { applyVxlan, backendAnnotations, desiredPeers, ensureVxlanDevice, planVxlan, readVxlanState } from './vxlan';

export type PodNetworkBackend = 'vxlan' | 'host-gw';
export const POD_NETWORK_BACKENDS: readonly PodNetworkBackend[] = ['vxlan', 'host-gw'];

/** One backend's sync: brings the node's state in step with the Nodes; returns a log line per change. */
export interface RoutesBackend {
  readonly name: PodNetworkBackend;
  sync(nodes: readonly Node[]): Promise<string[]>;
}

export function hostGwBackend(ip: IpRunner, nodeName: string): RoutesBackend {
  return {
    name: 'host-gw',
    sync: async (nodes) => {
      const plan = planRoutes(desiredRoutes(nodes, nodeName), await readRoutes(ip));
      await applyRoutes(ip, plan);
      return [...plan.replace.map((r) => `route ${r.dst} via ${r.via} (node ${r.node})`), ...plan.remove.map((dst) => `route ${dst} removed`)];
    },
  };
}

export interface VxlanBackendOptions {
  readonly ip: IpRunner;
  /** iproute2's `bridge`, for the FDB entries. */
  readonly bridge: IpRunner;
  readonly nodeName: string;
  /** The node's InternalIP: the VXLAN device's local address. */
  readonly nodeIp: string;
  /** Writes this node's own Node (the node authorizer lets a node update its own). */
  readonly nodes: Pick<ResourceClient<Node>, 'get' | 'update'>;
}

/** Publishes the annotations on this node's Node unless they are there already (get + update, retried on conflicts). */
async function publish(nodes: VxlanBackendOptions['nodes'], name: string, want: Record<string, string>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const cur = await nodes.get(name);
    const have = cur.metadata?.annotations ?? {};
    if (Object.entries(want).every(([k, v]) => have[k] === v)) return;
    try {
      await nodes.update({ ...cur, metadata: { ...cur.metadata, annotations: { ...have, ...want } } });
      return;
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt >= 5) throw err;
    }
  }
}

export function vxlanBackend(o: VxlanBackendOptions): RoutesBackend {
  return {
    name: 'vxlan',
    sync: async (nodes) => {
      const self = nodes.find((n) => n.metadata?.name === o.nodeName);
      const podCidr = self?.spec?.podCIDR ?? '';
      // No pod CIDR yet: no VTEP address to give the device; the Node update that brings one syncs again.
      if (!podCidr) return [];
      const mac = await ensureVxlanDevice(o.ip, o.nodeIp, podCidr);
      const want = backendAnnotations(mac, o.nodeIp);
      const out: string[] = [];
      const have = self?.metadata?.annotations ?? {};
      if (!Object.entries(want).every(([k, v]) => have[k] === v)) {
        await publish(o.nodes, o.nodeName, want);
        out.push(`published VTEP MAC ${mac} on node ${o.nodeName}`);
      }
      const plan = planVxlan(desiredPeers(nodes, o.nodeName), await readVxlanState(o));
      return [...out, ...(await applyVxlan(o, plan))];
    },
  };
}
