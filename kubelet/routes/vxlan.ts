// The vxlan backend of the pod network between nodes, as flannel's default
// `vxlan` backend: one VXLAN device per node (tsk.1, VNI 1, UDP 8472 as
// flannel on Linux, no learning) holding the address `<pod CIDR network>.0/32`
// (the node's VTEP address). Its MAC is published on the node's own Node
// (annotation tsk.io/backend-data, flannel's flannel.alpha.coreos.com/backend-data).
// For every other node with a pod CIDR, an InternalIP and a published MAC,
// this node keeps:
//   route  <their pod CIDR> via <their .0> dev tsk.1 onlink   (proto 116, as host-gw's)
//   neigh  <their .0> lladdr <their MAC> PERMANENT            (no ARP over the overlay)
//   fdb    <their MAC> dst <their InternalIP>                 (where to send the UDP)
// so pods reach pods on nodes of other subnets: only the nodes' IPs must
// route to each other. The device is tsk's alone, so every neighbour and
// FDB entry on it is tsk's; routes are told apart by their protocol number.

import type { Node } from '../../api/gen/tsk/v1/core';
import { formatIPv4, parseIPv4Cidr } from '../../util/ipv4';
import { ROUTE_PROTO, type IpRunner } from './node-routes';

export const VXLAN_DEVICE = 'tsk.1';
export const VXLAN_VNI = 1;
/** flannel's port on Linux (the kernel's pre-IANA default); open UDP 8472 between nodes. */
export const VXLAN_PORT = 8472;
/** Outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14) headers: pods' MTU is the node device's minus this. */
export const VXLAN_OVERHEAD = 50;
export const BACKEND_TYPE_ANNOTATION = 'tsk.io/backend-type';
/** JSON {"VNI":1,"VtepMAC":"..."}, as flannel's backend-data. */
export const BACKEND_DATA_ANNOTATION = 'tsk.io/backend-data';
/** The node's underlay address the VXLAN packets go to (flannel's public-ip). */
export const PUBLIC_IP_ANNOTATION = 'tsk.io/public-ip';

export interface VxlanPeer {
  readonly node: string;
  /** Their pod CIDR. */
  readonly dst: string;
  /** Their VTEP address: the network address of their pod CIDR. */
  readonly vtep: string;
  readonly mac: string;
  /** Their InternalIP (the FDB entry's dst). */
  readonly nodeIp: string;
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** The network address of a pod CIDR ("10.244.2.0/24" -> "10.244.2.0"): the node's VTEP address, as flannel's. */
export function vtepAddress(podCidr: string): string {
  return formatIPv4(parseIPv4Cidr(podCidr, '10.244.1.0/24').network);
}

/** The VTEP MAC a Node publishes, if its backend-data is a well-formed vxlan one. */
export function vtepMac(node: Node): string | undefined {
  const a = node.metadata?.annotations ?? {};
  if (a[BACKEND_TYPE_ANNOTATION] !== 'vxlan') return undefined;
  try {
    const data = JSON.parse(a[BACKEND_DATA_ANNOTATION] ?? '') as { VtepMAC?: unknown };
    const mac = typeof data.VtepMAC === 'string' ? data.VtepMAC.toLowerCase() : '';
    return MAC_RE.test(mac) ? mac : undefined;
  } catch {
    return undefined;
  }
}

/** The annotations a node with this VTEP MAC and InternalIP publishes. */
export function backendAnnotations(mac: string, nodeIp: string): Record<string, string> {
  return {
    [BACKEND_TYPE_ANNOTATION]: 'vxlan',
    [BACKEND_DATA_ANNOTATION]: JSON.stringify({ VNI: VXLAN_VNI, VtepMAC: mac }),
    [PUBLIC_IP_ANNOTATION]: nodeIp,
  };
}

function internalIp(node: Node): string | undefined {
  return node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address || undefined;
}

/** Every other node this one tunnels to (pod CIDR, InternalIP and VTEP MAC known, not being deleted), sorted by destination. */
export function desiredPeers(nodes: readonly Node[], self: string): VxlanPeer[] {
  const out: VxlanPeer[] = [];
  for (const n of nodes) {
    const name = n.metadata?.name ?? '';
    const dst = n.spec?.podCIDR ?? '';
    const nodeIp = internalIp(n);
    const mac = vtepMac(n);
    if (name === self || !dst || !nodeIp || !mac || n.metadata?.deletionTimestamp) continue;
    out.push({ node: name, dst, vtep: vtepAddress(dst), mac, nodeIp });
  }
  return out.sort((a, b) => (a.dst < b.dst ? -1 : a.dst > b.dst ? 1 : 0));
}

/** The tsk-owned state of the overlay as it is now. */
export interface VxlanState {
  /** Routes of tsk's protocol: dst -> "via@dev". */
  readonly routes: ReadonlyMap<string, string>;
  /** Permanent neighbours on the device: IP -> MAC. */
  readonly neigh: ReadonlyMap<string, string>;
  /** FDB entries on the device: MAC -> dst IP. */
  readonly fdb: ReadonlyMap<string, string>;
}

export interface VxlanPlan {
  readonly fdb: { readonly replace: { mac: string; dst: string }[]; readonly remove: string[] };
  readonly neigh: { readonly replace: { ip: string; mac: string }[]; readonly remove: string[] };
  readonly routes: { readonly replace: { dst: string; via: string }[]; readonly remove: string[] };
}

function diff<T>(want: ReadonlyMap<string, string>, have: ReadonlyMap<string, string>, make: (k: string, v: string) => T): { replace: T[]; remove: string[] } {
  return {
    replace: [...want].filter(([k, v]) => have.get(k) !== v).map(([k, v]) => make(k, v)),
    remove: [...have.keys()].filter((k) => !want.has(k)).sort(),
  };
}

/** What to change so the state matches the peers; also moves host-gw routes (same protocol, other dev) onto the overlay. */
export function planVxlan(peers: readonly VxlanPeer[], have: VxlanState): VxlanPlan {
  return {
    fdb: diff(new Map(peers.map((p) => [p.mac, p.nodeIp])), have.fdb, (mac, dst) => ({ mac, dst })),
    neigh: diff(new Map(peers.map((p) => [p.vtep, p.mac])), have.neigh, (ip, mac) => ({ ip, mac })),
    routes: diff(new Map(peers.map((p) => [p.dst, `${p.vtep}@${VXLAN_DEVICE}`])), have.routes, (dst, v) => ({ dst, via: v.split('@')[0] ?? '' })),
  };
}

function rows<T>(text: string): T[] {
  return (text.trim() ? JSON.parse(text) : []) as T[];
}

/** iproute2's two tools: `ip` for links, addresses, routes and neighbours; `bridge` for FDB entries. */
export interface VxlanTools {
  readonly ip: IpRunner;
  readonly bridge: IpRunner;
}

/** Reads routes (tsk's protocol), permanent neighbours and FDB entries of the device. */
export async function readVxlanState({ ip, bridge }: VxlanTools): Promise<VxlanState> {
  const routes = rows<{ dst?: string; gateway?: string; dev?: string }>(await ip(['-j', 'route', 'show', 'proto', String(ROUTE_PROTO)]));
  const neigh = rows<{ dst?: string; lladdr?: string; state?: string[] }>(await ip(['-j', 'neigh', 'show', 'dev', VXLAN_DEVICE, 'nud', 'permanent']));
  const fdb = rows<{ mac?: string; dst?: string }>(await bridge(['-j', 'fdb', 'show', 'dev', VXLAN_DEVICE]));
  return {
    routes: new Map(routes.filter((r) => r.dst).map((r) => [r.dst ?? '', `${r.gateway ?? ''}@${r.dev ?? ''}`])),
    neigh: new Map(neigh.filter((n) => n.dst && n.lladdr).map((n) => [n.dst ?? '', (n.lladdr ?? '').toLowerCase()])),
    fdb: new Map(fdb.filter((f) => f.mac && f.dst).map((f) => [(f.mac ?? '').toLowerCase(), f.dst ?? ''])),
  };
}

/** Applies a plan: adds in the order a packet needs them (fdb, neigh, route), removes in reverse. Returns log lines. */
export async function applyVxlan({ ip, bridge }: VxlanTools, plan: VxlanPlan): Promise<string[]> {
  const log: string[] = [];
  const dev = VXLAN_DEVICE;
  for (const f of plan.fdb.replace) {
    await bridge(['fdb', 'replace', f.mac, 'dev', dev, 'dst', f.dst, 'self', 'permanent']);
    log.push(`fdb ${f.mac} dst ${f.dst}`);
  }
  for (const n of plan.neigh.replace) {
    await ip(['neigh', 'replace', n.ip, 'lladdr', n.mac, 'dev', dev, 'nud', 'permanent']);
    log.push(`neigh ${n.ip} lladdr ${n.mac}`);
  }
  for (const r of plan.routes.replace) {
    await ip(['route', 'replace', r.dst, 'via', r.via, 'dev', dev, 'onlink', 'proto', String(ROUTE_PROTO)]);
    log.push(`route ${r.dst} via ${r.via} dev ${dev} onlink`);
  }
  for (const dst of plan.routes.remove) {
    await ip(['route', 'del', dst, 'proto', String(ROUTE_PROTO)]);
    log.push(`route ${dst} removed`);
  }
  for (const addr of plan.neigh.remove) {
    await ip(['neigh', 'del', addr, 'dev', dev]);
    log.push(`neigh ${addr} removed`);
  }
  for (const mac of plan.fdb.remove) {
    await bridge(['fdb', 'del', mac, 'dev', dev, 'self']);
    log.push(`fdb ${mac} removed`);
  }
  return log;
}

/** The device as `ip -j -d link show` reports it (only what we look at). */
interface VxlanLink {
  address?: string;
  operstate?: string;
  flags?: string[];
  linkinfo?: { info_kind?: string; info_data?: { id?: number; local?: string; port?: number; learning?: boolean } };
}

/** The underlay device holding the node IP and its MTU, from `ip -j addr show`. */
export async function underlayDevice(ip: IpRunner, nodeIp: string): Promise<{ dev: string; mtu: number }> {
  const links = rows<{ ifname?: string; mtu?: number; addr_info?: { local?: string }[] }>(await ip(['-j', 'addr', 'show']));
  const l = links.find((x) => x.addr_info?.some((a) => a.local === nodeIp));
  if (!l?.ifname || !l.mtu) throw new Error(`no network device holds the node IP ${nodeIp} (--node-ip)`);
  return { dev: l.ifname, mtu: l.mtu };
}

/**
 * Makes the VXLAN device as it should be (created, or re-created when its
 * VNI, local address or port differ), with the VTEP address and up.
 * Idempotent. Returns its MAC.
 */
export async function ensureVxlanDevice(ip: IpRunner, nodeIp: string, podCidr: string): Promise<string> {
  const dev = VXLAN_DEVICE;
  const read = async (): Promise<VxlanLink | undefined> => {
    try {
      return rows<VxlanLink>(await ip(['-j', '-d', 'link', 'show', dev]))[0];
    } catch (err) {
      if (/does not exist|Cannot find device/.test(String(err))) return undefined;
      throw err;
    }
  };
  let link = await read();
  const d = link?.linkinfo?.info_data;
  const right = link?.linkinfo?.info_kind === 'vxlan' && d?.id === VXLAN_VNI && d.local === nodeIp && d.port === VXLAN_PORT && d.learning === false;
  if (link && !right) {
    await ip(['link', 'del', dev]);
    link = undefined;
  }
  if (!link) {
    const under = await underlayDevice(ip, nodeIp);
    await ip(['link', 'add', dev, 'type', 'vxlan', 'id', String(VXLAN_VNI), 'dev', under.dev, 'local', nodeIp, 'dstport', String(VXLAN_PORT), 'nolearning']);
  }
  const vtep = vtepAddress(podCidr);
  await ip(['addr', 'replace', `${vtep}/32`, 'dev', dev]);
  // The VTEP address of an earlier pod CIDR would answer for a range that is not this node's any more.
  const addrs = rows<{ addr_info?: { family?: string; local?: string; prefixlen?: number }[] }>(await ip(['-j', 'addr', 'show', 'dev', dev]));
  for (const a of addrs[0]?.addr_info ?? []) {
    if (a.family === 'inet' && a.local && a.local !== vtep) await ip(['addr', 'del', `${a.local}/${a.prefixlen ?? 32}`, 'dev', dev]);
  }
  await ip(['link', 'set', dev, 'up']);
  const mac = (await read())?.address?.toLowerCase() ?? '';
  if (!MAC_RE.test(mac)) throw new Error(`${dev}: no MAC address after creation`);
  return mac;
}
