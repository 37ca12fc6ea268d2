// Routes between nodes' pod networks (as flannel's host-gw backend, or the
// routes Kubernetes' route controller asks a cloud for): on every node, one
// route per other node, "its spec.podCIDR via its InternalIP". Pods then
// reach pods on other nodes directly, without encapsulation or NAT, as long
// as the nodes share a layer-2 network (the lab's bridge, one VLAN of VMs).
//
// The routes tsk owns carry their own routing protocol number, so a sync
// replaces and deletes only those and never a route somebody else made.

import { execFile } from 'node:child_process';
import type { Node } from '../../api/gen/tsk/v1/core';

/** rtnetlink protocol id of tsk's routes (unassigned in iproute2's rt_protos). */
export const ROUTE_PROTO = 116;

export interface PodRoute {
  /** The other node's pod CIDR. */
  readonly dst: string;
  /** The other node's InternalIP. */
  readonly via: string;
  /** The node it leads to, for logs. */
  readonly node: string;
}

function internalIp(node: Node): string | undefined {
  return node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address || undefined;
}

/** The routes this node should have: every other node with a pod CIDR and an InternalIP, sorted by destination. */
export function desiredRoutes(nodes: readonly Node[], self: string): PodRoute[] {
  const out: PodRoute[] = [];
  for (const n of nodes) {
    const name = n.metadata?.name ?? '';
    const dst = n.spec?.podCIDR ?? '';
    const via = internalIp(n);
    if (name === self || !dst || !via || n.metadata?.deletionTimestamp) continue;
    out.push({ dst, via, node: name });
  }
  return out.sort((a, b) => (a.dst < b.dst ? -1 : a.dst > b.dst ? 1 : 0));
}

export interface RoutePlan {
  /** Routes to add or change (ip route replace). */
  readonly replace: PodRoute[];
  /** Destinations of tsk routes that must go. */
  readonly remove: string[];
}

/** What to change to get from the tsk routes that exist (dst -> via) to the desired ones. */
export function planRoutes(desired: readonly PodRoute[], actual: ReadonlyMap<string, string>): RoutePlan {
  const want = new Map(desired.map((r) => [r.dst, r]));
  return {
    replace: desired.filter((r) => actual.get(r.dst) !== r.via),
    remove: [...actual.keys()].filter((dst) => !want.has(dst)).sort(),
  };
}

/** Runs `ip ARGS` (in a namespace when the runner was made for one) and returns stdout. */
export type IpRunner = (args: readonly string[]) => Promise<string>;

/**
 * The real runner of iproute2's `ip` (or, with `tool`, its `bridge`, for FDB
 * entries); with `netns`, every command acts in that namespace (-n), never in
 * this process's own.
 */
export function ipRunner(netns?: string, tool: 'ip' | 'bridge' = 'ip'): IpRunner {
  return (args) =>
    new Promise((resolve, reject) => {
      const full = netns ? ['-n', netns, ...args] : [...args];
      execFile(tool, full, { timeout: 10_000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${tool} ${full.join(' ')}: ${String(stderr).trim() || err.message}`));
        else resolve(String(stdout));
      });
    });
}

/** The tsk routes that exist now, dst -> via, from `ip -j route show proto N`. */
export async function readRoutes(ip: IpRunner): Promise<Map<string, string>> {
  const text = await ip(['-j', 'route', 'show', 'proto', String(ROUTE_PROTO)]);
  const rows = (text.trim() ? JSON.parse(text) : []) as { dst?: string; gateway?: string }[];
  return new Map(rows.filter((r) => r.dst && r.gateway).map((r) => [r.dst ?? '', r.gateway ?? '']));
}

/** Applies a plan; each failure names the route. Returns the number of changes made. */
export async function applyRoutes(ip: IpRunner, plan: RoutePlan): Promise<number> {
  for (const r of plan.replace) await ip(['route', 'replace', r.dst, 'via', r.via, 'proto', String(ROUTE_PROTO)]);
  for (const dst of plan.remove) await ip(['route', 'del', dst, 'proto', String(ROUTE_PROTO)]);
  return plan.replace.length + plan.remove.length;
}
