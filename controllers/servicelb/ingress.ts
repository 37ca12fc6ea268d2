// What ServiceLB publishes for a LoadBalancer Service, as a pure function of
// the Service, the Nodes and the Service's Endpoints (k3s's servicelb
// getStatus/podIPs without its per-node pods: tsk's proxy on every node
// answers on the node's addresses itself). The ingress is the addresses of
// the ready nodes: their ExternalIPs when any node has one, else their
// InternalIPs; with externalTrafficPolicy Local only the nodes that run a
// ready endpoint. Sorted, so equal inputs give equal status.

import type { Endpoints, LoadBalancerIngress, Node, Service } from '../../api/gen/tsk/v1/core';
import { parseIPv4 } from '../../util/ipv4';
import { getCondition } from '../nodelifecycle/taints';

/** The loadBalancerClass ServiceLB answers to besides none at all (the cluster's default load balancer). */
export const SERVICELB_CLASS = 'tsk.dev/servicelb';

/** Whether ServiceLB implements this Service: a LoadBalancer of no class or of its own class. */
export function ownsService(svc: Service): boolean {
  if (svc.spec?.type !== 'LoadBalancer') return false;
  const cls = svc.spec.loadBalancerClass;
  return cls === undefined || cls === '' || cls === SERVICELB_CLASS;
}

export function isNodeReady(node: Node): boolean {
  return getCondition(node, 'Ready')?.status === 'True';
}

/** Everything of a node the ingress depends on: a node update that keeps it equal (a heartbeat) changes nothing. */
export function nodeIngressState(node: Node): string {
  return JSON.stringify([isNodeReady(node), (node.status?.addresses ?? []).map((a) => `${a.type ?? ''}=${a.address ?? ''}`)]);
}

/** The nodes that run a ready endpoint of the service (externalTrafficPolicy Local). */
function nodesWithReadyEndpoints(endpoints: Endpoints | undefined): Set<string> {
  const names = new Set<string>();
  for (const s of endpoints?.subsets ?? []) for (const a of s.addresses ?? []) if (a.nodeName) names.add(a.nodeName);
  return names;
}

function familyOf(ip: string): 'IPv4' | 'IPv6' {
  return ip.includes(':') ? 'IPv6' : 'IPv4';
}

function compareIPs(a: string, b: string): number {
  const na = parseIPv4(a);
  const nb = parseIPv4(b);
  if (na !== undefined && nb !== undefined) return na - nb;
  if (na !== undefined) return -1;
  if (nb !== undefined) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The ingress ServiceLB publishes for an owned service: one entry per address, ipMode VIP. */
export function desiredIngress(svc: Service, nodes: readonly Node[], endpoints: Endpoints | undefined): LoadBalancerIngress[] {
  const local = svc.spec?.externalTrafficPolicy === 'Local' ? nodesWithReadyEndpoints(endpoints) : undefined;
  const eligible = nodes.filter((n) => isNodeReady(n) && (!local || local.has(n.metadata?.name ?? '')));
  const external = new Set<string>();
  const internal = new Set<string>();
  for (const node of eligible) {
    for (const a of node.status?.addresses ?? []) {
      if (!a.address) continue;
      if (a.type === 'ExternalIP') external.add(a.address);
      else if (a.type === 'InternalIP') internal.add(a.address);
    }
  }
  const families = svc.spec?.ipFamilies ?? [];
  const ips = [...(external.size > 0 ? external : internal)].filter((ip) => families.length === 0 || families.includes(familyOf(ip)));
  return ips.sort(compareIPs).map((ip) => ({ ip, ipMode: 'VIP' }));
}

/** The published addresses, for comparisons and event messages. */
export function ingressAddresses(ingress: readonly LoadBalancerIngress[] | undefined): string[] {
  return (ingress ?? []).map((i) => i.ip || i.hostname || '');
}

/** Equality of two ingress lists, order included (unset fields equal empty ones). */
export function ingressEqual(a: readonly LoadBalancerIngress[] | undefined, b: readonly LoadBalancerIngress[] | undefined): boolean {
  const key = (l: readonly LoadBalancerIngress[] | undefined): string => JSON.stringify((l ?? []).map((i) => [i.ip ?? '', i.hostname ?? '', i.ipMode ?? '']));
  return key(a) === key(b);
}
