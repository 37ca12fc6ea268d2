// The nftables rule builder (kube-proxy's --proxy-mode=nftables, KEP-3866):
// from the service ports with their ready endpoints, the `nft -f` input that
// makes the proxy's own table, `ip tsk-proxy`, hold exactly its rules. Pure,
// so it is tested with golden strings. The layout is kube-proxy's:
//
//   base chains (filter at priority dstnat-10, before DNAT; nat at dstnat/srcnat):
//     filter-prerouting, filter-output: new connections -> firewall-check
//       (vmap @firewall-ips: load balancer IP:port -> firewall-<svc>: drop
//       sources outside loadBalancerSourceRanges)
//     filter-input, -forward, -output: new connections -> endpoints-check
//       (vmap @no-endpoint-services / @no-endpoint-nodeports -> reject-chain)
//     nat-prerouting, nat-output -> services:
//       ip daddr . l4proto . dport vmap @service-ips   (cluster, external, LB IPs)
//       node address l4proto . dport vmap @service-nodeports
//     nat-postrouting -> masquerading: masquerade what carries the mark
//   service-<hash>-ns/name/proto/port: masquerade off-cluster sources, ClientIP
//     affinity (a timeout set per endpoint), then a random pick among the
//     endpoints, each rule DNATing to one
//   external-<hash>-...: mark for masquerade, then the service chain
//
// Measured departures from kube-proxy, all because of what this kernel's
// nf_tables and nft 1.0.6 cost (bench:proxy, `nft -f` at 10,000 services):
// - No chain per service (nor per endpoint) for the common case: a service
//   port without ClientIP affinity and with at most MAX_SHARED_PICK ready
//   endpoints goes from service-ips straight to one of the shared chains
//   pick-N (external-pick-N for external IPs, load balancer IPs and
//   NodePorts: mark for masquerade first), whose one rule DNATs through the
//   map service-endpoints, keyed "ip daddr . l4proto . dport . numgen random
//   mod N" (nodeport-endpoints: "l4proto . dport . index" for NodePorts, on
//   whatever node address). A service then costs map elements only: every
//   chain and rule costs nft's parser and the kernel's expression set-up
//   (10,000 service chains were most of a full sync), and one endpoint
//   added changes elements only, so nft never reads the table's chains.
//   The pick cannot be a rule per service chain: an anonymous map per rule
//   (kube-proxy's "numgen random mod N vmap { ... }") makes the kernel walk
//   every set of the table to name each one, a named map per service
//   makes it walk them to find each one (23 s of kernel time at 10,000),
//   and one shared map bound from 10,000 chains makes it check every
//   element against every binding chain (12 s; 93 s with the elements
//   first). Few chains bind the shared maps, so that check stays small.
// - Affinity and larger services keep a chain each (service-..., external-...)
//   with iptables' cascade ("numgen random mod 5 == 0", then "mod 4", ...),
//   each rule DNATing itself (no chain per endpoint).
// - Hairpin traffic (a pod reaching itself through its service) is
//   recognised after DNAT in nat-postrouting by one set of "ip . ip" pairs
//   of the node's own endpoints (isHairpinCandidate), not by a rule per
//   endpoint.
//
// A sync is full (renderNftFull: every rule written after "flush table",
// the fixed maps refilled, stale chains and sets deleted) or partial
// (renderNftPartial: only the chains, sets and map elements of the service
// ports that changed since the last successful write). Either is one nft
// transaction, applied whole or not at all. Affinity sets are never flushed,
// so a full sync keeps the clients' endpoints.

import { chainHash } from './chains';
import type { Endpoint, ServicePortState } from './service-ports';

/** The proxy's table: everything it writes lives in `ip tsk-proxy`. */
export const NFT_TABLE = 'tsk-proxy';
const T = `ip ${NFT_TABLE}`;

export interface NftRulesOptions {
  /** IPv4 addresses where NodePorts answer; empty: every local address but loopback. */
  readonly nodeIPs: readonly string[];
  /** The pods' range: traffic to a cluster IP from outside it is masqueraded. */
  readonly clusterCIDR?: string;
  /** The packet mark bit meaning "masquerade me" (default 14). */
  readonly masqueradeBit?: number;
  /**
   * The proxy's own node: only endpoints on it (or of no known node) get a
   * hairpin pair (isHairpinCandidate). Unset: every endpoint does.
   */
  readonly nodeName?: string;
}

/** The fixed maps and sets, kube-proxy's names (hairpin-endpoints is tsk's). */
export const NFT_MAP = {
  serviceIPs: 'service-ips',
  serviceNodePorts: 'service-nodeports',
  noEndpointServices: 'no-endpoint-services',
  noEndpointNodePorts: 'no-endpoint-nodeports',
  firewallIPs: 'firewall-ips',
  nodePortIPs: 'nodeport-ips',
  hairpin: 'hairpin-endpoints',
  serviceEndpoints: 'service-endpoints',
  nodePortEndpoints: 'nodeport-endpoints',
} as const;

/**
 * The most ready endpoints a service port may have to use the shared pick
 * chains (more, or ClientIP affinity: a chain of its own). Every pick chain
 * binds the endpoint maps, and the kernel checks each element added against
 * each chain bound (measured: 50,000 elements x 32 chains, a few ms).
 */
export const MAX_SHARED_PICK = 16;

const REJECT_CHAIN = 'reject-chain';
const MARK_MASQ = 'mark-for-masquerade';

/** One map or set element: its key, and for a map its value. */
export interface NftElement {
  readonly set: string;
  readonly key: string;
  readonly value?: string;
}

/** What one service port brings: immutable once built, so syncs reuse the pieces of unchanged ports. */
export interface NftPiece {
  /** Its chains (in the order they are written), name -> rules (the text after "add rule ip tsk-proxy NAME "). */
  readonly chains: ReadonlyMap<string, readonly string[]>;
  /** Its ClientIP affinity sets, name -> timeout in seconds. */
  readonly sets: ReadonlyMap<string, number>;
  readonly elements: readonly NftElement[];
}

/** The rules of one sync: the fixed part (only options decide it) and one piece per service port. */
export interface NftRuleSet {
  readonly pieces: ReadonlyMap<ServicePortState, NftPiece>;
  /**
   * What changed since `from` (the builder's previous rule set): a partial
   * sync from it need not compare every piece. The builder drops it from a
   * set when it builds the next, so rule sets never hold a chain of all
   * earlier ones.
   */
  changes?: { readonly from: NftRuleSet; readonly added: readonly NftPiece[]; readonly removed: readonly NftPiece[] } | undefined;
}

/** kube-proxy's name base: 8 characters of the hash, then the readable name ("ULMVA6XW-ns1/svc1/tcp/p80"). */
function nameBase(name: string): string {
  return `${chainHash(name).slice(0, 8)}-${name}`;
}

/** "ns/name/tcp/port": kube-proxy's service port name in its nftables chain names. */
function portPath(sp: ServicePortState): string {
  return `${sp.namespace}/${sp.name}/${sp.protocol.toLowerCase()}/${sp.portName}`;
}

export function nftServiceChain(sp: ServicePortState): string {
  return `service-${nameBase(portPath(sp))}`;
}

export function nftExternalChain(sp: ServicePortState): string {
  return `external-${nameBase(portPath(sp))}`;
}

export function nftFirewallChain(sp: ServicePortState): string {
  return `firewall-${nameBase(portPath(sp))}`;
}

/**
 * The affinity set of one endpoint. The timeout is part of the hashed name:
 * nft cannot change a set's timeout, so a new timeout makes a new set (and
 * the old one goes as stale).
 */
export function nftAffinitySet(sp: ServicePortState, ip: string, port: number, timeoutSeconds: number): string {
  const name = `${portPath(sp)}__${ip}/${port}`;
  return `affinity-${chainHash(`${name}@${timeoutSeconds}`).slice(0, 8)}-${name}`;
}

/** True for the names of per-service chains and sets: only they contain "/" (kube-proxy's test). */
export function isServiceObject(name: string): boolean {
  return name.includes('/');
}

function markOf(options: NftRulesOptions): string {
  const bit = options.masqueradeBit ?? 14;
  if (!Number.isInteger(bit) || bit < 0 || bit > 31) throw new Error(`masquerade bit ${bit} is not between 0 and 31`);
  return `0x${(2 ** bit).toString(16)}`;
}

/** How a rule matches "to a node address": the nodeport-ips set, or any local address but loopback. */
function nodeAddressMatch(options: NftRulesOptions): string {
  return options.nodeIPs.length > 0 ? `ip daddr @${NFT_MAP.nodePortIPs}` : 'fib daddr type local ip daddr != 127.0.0.0/8';
}

const BASE_CHAINS: readonly (readonly [name: string, spec: string])[] = [
  ['filter-prerouting', 'type filter hook prerouting priority -110 ;'],
  ['filter-input', 'type filter hook input priority -110 ;'],
  ['filter-forward', 'type filter hook forward priority -110 ;'],
  ['filter-output', 'type filter hook output priority -110 ;'],
  ['nat-prerouting', 'type nat hook prerouting priority -100 ;'],
  ['nat-output', 'type nat hook output priority -100 ;'],
  ['nat-postrouting', 'type nat hook postrouting priority 100 ;'],
];

const KEY_SERVICE = 'ipv4_addr . inet_proto . inet_service';
const KEY_NODEPORT = 'inet_proto . inet_service';
/** "numgen" in a key needs typeof (no named type fits it); the modulus is not part of the type. */
const KEY_ENDPOINT_PICK = 'typeof ip daddr . meta l4proto . th dport . numgen random mod 1 : ip daddr . th dport';
const KEY_NODEPORT_PICK = 'typeof meta l4proto . th dport . numgen random mod 1 : ip daddr . th dport';

/** The shared pick chains (at most MAX_SHARED_PICK endpoints, no affinity). */
export function nftPickChain(endpoints: number): string {
  return `pick-${endpoints}`;
}

export function nftExternalPickChain(endpoints: number): string {
  return `external-pick-${endpoints}`;
}

/** The fixed maps and sets: name, type and comment. */
function fixedSets(options: NftRulesOptions): [kind: 'set' | 'map', name: string, type: string, comment: string][] {
  return [
    ['map', NFT_MAP.serviceIPs, `${KEY_SERVICE} : verdict`, 'ClusterIP, ExternalIP and LoadBalancer IP traffic'],
    ['map', NFT_MAP.serviceNodePorts, `${KEY_NODEPORT} : verdict`, 'NodePort traffic'],
    ['map', NFT_MAP.noEndpointServices, `${KEY_SERVICE} : verdict`, 'vmap to reject packets to services with no endpoints'],
    ['map', NFT_MAP.noEndpointNodePorts, `${KEY_NODEPORT} : verdict`, 'vmap to reject packets to service nodeports with no endpoints'],
    ['map', NFT_MAP.firewallIPs, `${KEY_SERVICE} : verdict`, 'destinations that are subject to LoadBalancerSourceRanges'],
    ['set', NFT_MAP.hairpin, 'ipv4_addr . ipv4_addr', 'endpoint . endpoint: traffic a pod sent itself through a service'],
    ['map', NFT_MAP.serviceEndpoints, KEY_ENDPOINT_PICK, 'service IP . protocol . port . index -> endpoint, for pick-N'],
    ['map', NFT_MAP.nodePortEndpoints, KEY_NODEPORT_PICK, 'protocol . NodePort . index -> endpoint, for pick-N'],
    ...(options.nodeIPs.length > 0 ? [['set', NFT_MAP.nodePortIPs, 'ipv4_addr', 'IPs that accept NodePort traffic'] as ['set', string, string, string]] : []),
  ];
}

/**
 * The fixed part of a full sync, after "add table" and "flush table": the
 * base and helper chains with their rules, the fixed maps and sets (created
 * if missing, emptied: the pieces refill them) and the node addresses.
 */
export function renderNftFixed(options: NftRulesOptions): string {
  const mark = markOf(options);
  const lines: string[] = [];
  for (const [name, spec] of BASE_CHAINS) lines.push(`add chain ${T} ${name} { ${spec} }`);
  for (const name of ['services', 'masquerading', MARK_MASQ, 'endpoints-check', 'firewall-check', REJECT_CHAIN]) lines.push(`add chain ${T} ${name}`);
  for (const [kind, name, type, comment] of fixedSets(options)) {
    const spec = type.startsWith('typeof ') ? type : `type ${type}`;
    const add = `add ${kind} ${T} ${name} { ${spec} ; comment "${comment}" ; }`;
    // A typeof map is made anew (added first, so the delete cannot fail): nft 1.0.6 reads "ip daddr
    // ... th dport" back from the kernel as conflicting protocols and rejects any rule then added
    // using it; a typeof of "udp dport" instead makes it add a "udp" match to the first such rule.
    if (type.startsWith('typeof ')) lines.push(add, `delete ${kind} ${T} ${name}`, add);
    else lines.push(add, `flush ${kind} ${T} ${name}`);
  }
  if (options.nodeIPs.length > 0) lines.push(`add element ${T} ${NFT_MAP.nodePortIPs} { ${options.nodeIPs.join(', ')} }`);
  // NodePorts on every local address: a set left by a run with node IPs goes (added first, so the delete cannot fail).
  else lines.push(`add set ${T} ${NFT_MAP.nodePortIPs} { type ipv4_addr ; }`, `delete set ${T} ${NFT_MAP.nodePortIPs}`);
  const rule = (chain: string, text: string): number => lines.push(`add rule ${T} ${chain} ${text}`);
  rule('filter-prerouting', 'ct state new jump firewall-check');
  rule('filter-input', 'ct state new jump endpoints-check');
  rule('filter-forward', 'ct state new jump endpoints-check');
  rule('filter-output', 'ct state new jump endpoints-check');
  rule('filter-output', 'ct state new jump firewall-check');
  rule('nat-prerouting', 'jump services');
  rule('nat-output', 'jump services');
  rule('nat-postrouting', 'jump masquerading');
  rule(MARK_MASQ, `meta mark set meta mark or ${mark}`);
  // A pod reaching itself through a service: after DNAT its source and destination are the same endpoint.
  rule('masquerading', `ct status dnat ip saddr . ip daddr @${NFT_MAP.hairpin} jump ${MARK_MASQ}`);
  rule('masquerading', `meta mark & ${mark} == 0 return`);
  // Clear the mark so a packet re-entering the stack (hairpin over a bridge) is judged afresh.
  rule('masquerading', `meta mark set meta mark ^ ${mark}`);
  rule('masquerading', 'masquerade fully-random');
  rule('services', `ip daddr . meta l4proto . th dport vmap @${NFT_MAP.serviceIPs}`);
  rule('services', `${nodeAddressMatch(options)} meta l4proto . th dport vmap @${NFT_MAP.serviceNodePorts}`);
  rule('endpoints-check', `ip daddr . meta l4proto . th dport vmap @${NFT_MAP.noEndpointServices}`);
  rule('endpoints-check', `${nodeAddressMatch(options)} meta l4proto . th dport vmap @${NFT_MAP.noEndpointNodePorts}`);
  rule('firewall-check', `ip daddr . meta l4proto . th dport vmap @${NFT_MAP.firewallIPs}`);
  rule(REJECT_CHAIN, 'reject');
  pickChains(lines, options);
  return lines.join('\n') + '\n';
}

/**
 * pick-N: masquerade off-cluster sources (kube-proxy's service chain rule;
 * external traffic is marked anyway), then DNAT to endpoint "numgen random
 * mod N" of the destination: service-endpoints has the cluster, external
 * and load balancer IPs' ports, nodeport-endpoints the NodePorts (a
 * NodePort's destination is any node address, so it is not part of its
 * key; such a packet misses the first map, whose keys all lead elsewhere
 * from the services chain). external-pick-N marks first.
 */
function pickChains(lines: string[], options: NftRulesOptions): void {
  for (let n = 1; n <= MAX_SHARED_PICK; n++) {
    const pick = nftPickChain(n);
    const ext = nftExternalPickChain(n);
    lines.push(`add chain ${T} ${pick}`, `add chain ${T} ${ext}`);
    if (options.clusterCIDR) lines.push(`add rule ${T} ${pick} ip saddr != ${options.clusterCIDR} jump ${MARK_MASQ}`);
    const index = `numgen random mod ${n}`;
    lines.push(`add rule ${T} ${pick} dnat ip to ip daddr . meta l4proto . th dport . ${index} map @${NFT_MAP.serviceEndpoints}`);
    lines.push(`add rule ${T} ${pick} dnat ip to meta l4proto . th dport . ${index} map @${NFT_MAP.nodePortEndpoints}`);
    lines.push(`add rule ${T} ${ext} jump ${MARK_MASQ}`, `add rule ${T} ${ext} goto ${pick}`);
  }
}

/**
 * The chains and sets of the pieces that have none (most: the shared pick):
 * one empty map for all rather than two each (20,000 at 10,000 services,
 * all garbage for the collector of a full sync). Pieces are never modified.
 */
const NO_CHAINS: ReadonlyMap<string, readonly string[]> = new Map();
const NO_SETS: ReadonlyMap<string, number> = new Map();

/** The piece of one service port: its chains, affinity sets and map elements. */
export function buildNftPiece(sp: ServicePortState, options: NftRulesOptions): NftPiece {
  const elements: NftElement[] = [];
  const proto = sp.protocol.toLowerCase();
  const key = (ip: string): string => `${ip} . ${proto} . ${sp.port}`;
  const external = sp.externalIPs.length + sp.loadBalancerIPs.length === 0 ? [] : [...sp.externalIPs, ...sp.loadBalancerIPs];
  if (sp.endpoints.length === 0) {
    // No endpoints: refused at once (icmp port-unreachable), not left to time out.
    for (const ip of [sp.clusterIP, ...external]) elements.push({ set: NFT_MAP.noEndpointServices, key: key(ip), value: `goto ${REJECT_CHAIN}` });
    if (sp.nodePort !== undefined) elements.push({ set: NFT_MAP.noEndpointNodePorts, key: `${proto} . ${sp.nodePort}`, value: `goto ${REJECT_CHAIN}` });
    return { chains: NO_CHAINS, sets: NO_SETS, elements };
  }
  for (const ep of sp.endpoints) if (isHairpinCandidate(ep, options)) elements.push({ set: NFT_MAP.hairpin, key: `${ep.ip} . ${ep.ip}` });
  const firewall = sp.loadBalancerIPs.length > 0 && sp.loadBalancerSourceRanges.length > 0;
  if (!firewall && sp.affinityTimeoutSeconds === undefined && sp.endpoints.length <= MAX_SHARED_PICK) {
    sharedPick(sp, elements, key, external);
    return { chains: NO_CHAINS, sets: NO_SETS, elements };
  }
  const chains = new Map<string, string[]>();
  const sets = new Map<string, number>();
  if (firewall) addFirewall(sp, chains, elements, key);
  if (sp.affinityTimeoutSeconds === undefined && sp.endpoints.length <= MAX_SHARED_PICK) {
    sharedPick(sp, elements, key, external);
    return { chains, sets, elements };
  }
  const svc = nftServiceChain(sp);
  const ext = nftExternalChain(sp);
  const rules: string[] = [];
  chains.set(svc, rules);
  if (options.clusterCIDR) rules.push(`ip daddr ${sp.clusterIP} ${proto} dport ${sp.port} ip saddr != ${options.clusterCIDR} jump ${MARK_MASQ}`);
  const timeout = sp.affinityTimeoutSeconds;
  const eps = sp.endpoints.map((ep) => ({
    dnat: `meta l4proto ${proto}`,
    to: `dnat to ${ep.ip}:${ep.port}`,
    set: timeout !== undefined ? nftAffinitySet(sp, ep.ip, ep.port, timeout) : undefined,
  }));
  for (const ep of eps) {
    if (ep.set === undefined || timeout === undefined) continue;
    sets.set(ep.set, timeout);
    rules.push(`ip saddr @${ep.set} ${ep.dnat} update @${ep.set} { ip saddr } ${ep.to}`);
  }
  eps.forEach((ep, i) => {
    const left = eps.length - i;
    const pick = left > 1 ? ` numgen random mod ${left} == 0` : '';
    const remember = ep.set !== undefined ? ` update @${ep.set} { ip saddr }` : '';
    rules.push(`${ep.dnat}${pick}${remember} ${ep.to}`);
  });
  elements.push({ set: NFT_MAP.serviceIPs, key: key(sp.clusterIP), value: `goto ${svc}` });
  if (external.length > 0 || sp.nodePort !== undefined) {
    // Replies must come back through this node to be un-NATed: masquerade traffic from outside.
    chains.set(ext, [`jump ${MARK_MASQ}`, `goto ${svc}`]);
    for (const ip of external) elements.push({ set: NFT_MAP.serviceIPs, key: key(ip), value: `goto ${ext}` });
    if (sp.nodePort !== undefined) elements.push({ set: NFT_MAP.serviceNodePorts, key: `${proto} . ${sp.nodePort}`, value: `goto ${ext}` });
  }
  return { chains, sets, elements };
}

/**
 * Whether hairpin traffic can reach this node for `ep`: a pod reaching
 * itself through a service is DNATed by the proxy of its own node (the
 * client's node), so only local endpoints need their "E . E" pair. At
 * 10,000 services x 5 endpoints over many nodes that is a few hundred pairs
 * instead of 50,000 (nearly half of all map elements). kube-proxy writes the
 * hairpin match in every endpoint's chain; it knows locality the same way
 * (Endpoint.IsLocal: the address's nodeName is the proxy's). An address
 * without a nodeName (a hand-written Endpoints) may be local: it keeps its
 * pair, which costs one element where leaving it out would break hairpin.
 */
export function isHairpinCandidate(ep: Endpoint, options: NftRulesOptions): boolean {
  return ep.nodeName === undefined || options.nodeName === undefined || ep.nodeName === options.nodeName;
}

/** loadBalancerSourceRanges: the load balancer IPs go through a chain dropping other sources. */
function addFirewall(sp: ServicePortState, chains: Map<string, string[]>, elements: NftElement[], key: (ip: string) => string): void {
  if (sp.loadBalancerIPs.length === 0 || sp.loadBalancerSourceRanges.length === 0) return;
  const fw = nftFirewallChain(sp);
  const ranges = sp.loadBalancerSourceRanges;
  chains.set(fw, [`ip saddr != ${ranges.length === 1 ? ranges[0] : `{ ${ranges.join(', ')} }`} drop`]);
  for (const ip of sp.loadBalancerIPs) elements.push({ set: NFT_MAP.firewallIPs, key: key(ip), value: `goto ${fw}` });
}

/** A service port on the shared pick chains: map elements only, endpoint i under index i of every destination. */
function sharedPick(sp: ServicePortState, elements: NftElement[], key: (ip: string) => string, external: readonly string[]): void {
  const n = sp.endpoints.length;
  const to = sp.endpoints.map((ep) => `${ep.ip} . ${ep.port}`);
  elements.push({ set: NFT_MAP.serviceIPs, key: key(sp.clusterIP), value: `goto ${nftPickChain(n)}` });
  for (const ip of external) elements.push({ set: NFT_MAP.serviceIPs, key: key(ip), value: `goto ${nftExternalPickChain(n)}` });
  for (const ip of [sp.clusterIP, ...external]) to.forEach((value, i) => elements.push({ set: NFT_MAP.serviceEndpoints, key: `${key(ip)} . ${i}`, value }));
  if (sp.nodePort === undefined) return;
  const np = `${sp.protocol.toLowerCase()} . ${sp.nodePort}`;
  elements.push({ set: NFT_MAP.serviceNodePorts, key: np, value: `goto ${nftExternalPickChain(n)}` });
  to.forEach((value, i) => elements.push({ set: NFT_MAP.nodePortEndpoints, key: `${np} . ${i}`, value }));
}

/** Builds rule sets, reusing the piece of every service port whose state is the very object of the last build. */
export class NftRuleBuilder {
  private last: NftRuleSet = { pieces: new Map() };
  /** The pieces of `last`, changed in place by apply(). */
  private pieces = new Map<ServicePortState, NftPiece>();
  /** Rules in the pieces of `last`, kept as pieces come and go (the rules gauge, without a pass over every piece). */
  private pieceRules = 0;

  constructor(private readonly options: NftRulesOptions) {
    markOf(options);
  }

  build(ports: readonly ServicePortState[]): NftRuleSet {
    const pieces = this.pieces;
    const next = new Map<ServicePortState, NftPiece>();
    const added: NftPiece[] = [];
    let reused = 0;
    let rules = 0;
    for (const sp of ports) {
      let piece = pieces.get(sp);
      if (piece) reused++;
      else added.push((piece = buildNftPiece(sp, this.options)));
      next.set(sp, piece);
      rules += piece.chains.size === 0 ? 0 : rulesOf(piece);
    }
    // Every old piece reused (the common case: one service's endpoints changed): none removed, no second walk.
    const removed = reused === pieces.size ? [] : [...pieces].filter(([sp]) => !next.has(sp)).map(([, piece]) => piece);
    const from = this.last;
    from.changes = undefined;
    this.pieces = next;
    this.pieceRules = rules;
    this.last = { pieces: next, changes: { from, added, removed } };
    return this.last;
  }

  /**
   * The rule set of the last build with the pieces of `removed` ports taken
   * out and pieces for `added` ports put in, in place: O(changed ports).
   * Returns the pieces that went and came (renderNftChanges writes them).
   */
  apply(removed: readonly ServicePortState[], added: readonly ServicePortState[]): { removed: NftPiece[]; added: NftPiece[] } {
    const out = { removed: [] as NftPiece[], added: [] as NftPiece[] };
    for (const sp of removed) {
      const piece = this.pieces.get(sp);
      if (!piece) continue;
      this.pieces.delete(sp);
      this.pieceRules -= rulesOf(piece);
      out.removed.push(piece);
    }
    for (const sp of added) {
      if (this.pieces.has(sp)) continue;
      const piece = buildNftPiece(sp, this.options);
      this.pieces.set(sp, piece);
      this.pieceRules += rulesOf(piece);
      out.added.push(piece);
    }
    this.last.changes = undefined;
    return out;
  }

  /** The current rule set (the last build, with what apply() changed since). */
  current(): NftRuleSet {
    return this.last;
  }

  /** Rules of the per-service pieces of the current rule set. */
  rules(): number {
    return this.pieceRules;
  }

  fixed(): string {
    return renderNftFixed(this.options);
  }
}

function rulesOf(piece: NftPiece): number {
  let n = 0;
  for (const r of piece.chains.values()) n += r.length;
  return n;
}

/** The names of per-service chains and sets in the proxy's table, as listed by nft. */
export interface NftObjects {
  readonly chains: ReadonlySet<string>;
  readonly sets: ReadonlySet<string>;
}

/** The chains and sets of the proxy's table in `nft -t list chains ip; list sets ip` output. */
export function parseNftList(text: string): NftObjects {
  const chains = new Set<string>();
  const sets = new Set<string>();
  let inTable = false;
  for (const line of text.split('\n')) {
    const table = /^table (\S+) (\S+) \{/.exec(line);
    if (table) {
      inTable = table[1] === 'ip' && table[2] === NFT_TABLE;
      continue;
    }
    const m = inTable ? /^\s+(chain|set|map) (\S+) \{/.exec(line) : null;
    if (m?.[2] === undefined) continue;
    (m[1] === 'chain' ? chains : sets).add(m[2]);
  }
  return { chains, sets };
}

/** "add element ip tsk-proxy SET { k : v, ... }" lines, grouped by set (elements in the order given). */
function elementLines(verb: 'add' | 'delete', elements: Iterable<NftElement>): string[] {
  const bySet = new Map<string, string[]>();
  for (const e of elements) {
    const text = verb === 'add' && e.value !== undefined ? `${e.key} : ${e.value}` : e.key;
    const list = bySet.get(e.set);
    if (list) list.push(text);
    else bySet.set(e.set, [text]);
  }
  return [...bySet].map(([set, items]) => `${verb} element ${T} ${set} { ${items.join(', ')} }`);
}

function setLine(name: string, timeout: number): string {
  return `add set ${T} ${name} { type ipv4_addr ; flags dynamic,timeout ; timeout ${timeout}s ; }`;
}

/** Adds a chain and its rules; returns about how many characters it added. */
function chainLines(lines: string[], name: string, rules: readonly string[]): number {
  lines.push(`add chain ${T} ${name}`);
  let size = name.length + 32;
  for (const r of rules) {
    lines.push(`add rule ${T} ${name} ${r}`);
    size += name.length + r.length + 32;
  }
  return size;
}

/** Element identity across pieces: set, then key. */
function elementKey(e: NftElement): string {
  return `${e.set} ${e.key}`;
}

/**
 * The input of a full sync: the table created if missing and flushed (every
 * rule of every chain; sets keep their elements), the fixed part, every
 * piece, then the per-service chains and sets `existing` shows and the rules
 * no longer want deleted. One transaction.
 */
export function renderNftFull(rules: NftRuleSet, fixed: string, existing: NftObjects): string {
  return [...renderNftFullChunks(rules, fixed, existing)].join('');
}

/** Characters a chunk of renderNftFullChunks holds at least (but the last): a pipe's worth, so nft has work while the next is made. */
const FULL_CHUNK = 64 * 1024;
/**
 * Elements per "add element" line of a full sync. A set's line goes out as
 * soon as it has this many, not once every piece was seen: nft parses the
 * first elements while the proxier makes the rest (measured: lines of a
 * few thousand elements cost nft no more than one line per set).
 */
export const ELEMENTS_PER_LINE = 2048;

/**
 * renderNftFull's text in chunks of about FULL_CHUNK characters, made as
 * they are asked for: a caller that sends each chunk as it comes
 * (HelperNftables.run) has nft parse the start of the input while the rest
 * is rendered. Joined, the chunks are renderNftFull's text. `counts`, empty
 * when given, is filled as the elements are rendered (countElements of the
 * pieces, for the partial syncs after): the one pass that finds the
 * elements several pieces hold also counts them.
 */
export function* renderNftFullChunks(rules: NftRuleSet, fixed: string, existing: NftObjects, counts = new ElementCounts()): Generator<string, void, undefined> {
  let lines = [`add table ${T} { comment "rules for the tsk service proxy" ; }`, `flush table ${T}`, fixed.trimEnd()];
  let size = 0;
  const take = (): string => {
    const chunk = lines.join('\n') + '\n';
    lines = [];
    size = 0;
    return chunk;
  };
  const chains = new Set<string>();
  const sets = new Set<string>();
  for (const piece of rules.pieces.values()) {
    // Most pieces (shared pick) have neither: no iterator made for them.
    if (piece.sets.size > 0) {
      for (const [name, timeout] of piece.sets) {
        sets.add(name);
        lines.push(setLine(name, timeout));
        size += name.length + 64;
      }
    }
    if (piece.chains.size > 0) {
      for (const [name, r] of piece.chains) {
        chains.add(name);
        size += chainLines(lines, name, r);
      }
    }
    if (size >= FULL_CHUNK) yield take();
  }
  // The first piece's value wins for a key two services share (kube-proxy's order decides alike), as countElements keeps it.
  for (const line of firstElementLines(rules.pieces.values(), counts)) {
    lines.push(line);
    size += line.length;
    if (size >= FULL_CHUNK) yield take();
  }
  // Stale: flushed above with the table, no element refers to them any more.
  for (const c of [...existing.chains].filter((c) => isServiceObject(c) && !chains.has(c)).sort()) lines.push(`delete chain ${T} ${c}`);
  for (const s of [...existing.sets].filter((s) => isServiceObject(s) && !sets.has(s)).sort()) lines.push(`delete set ${T} ${s}`);
  yield take();
}

/**
 * The "add element" lines of `pieces`, the first piece's element for a key
 * several hold, in the order countElements keeps them, each counted into
 * `counts` (empty when given) as it passes. A set's line is given out once
 * it holds ELEMENTS_PER_LINE elements, the rest set by set at the end. One
 * pass: 60,000 elements at 10,000 services.
 */
function* firstElementLines(pieces: Iterable<NftPiece>, counts: ElementCounts): Generator<string, void, undefined> {
  const bySet = new Map<string, string[]>();
  for (const p of pieces) {
    for (const e of p.elements) {
      if (!counts.hold(e)) continue;
      let items = bySet.get(e.set);
      if (!items) bySet.set(e.set, (items = []));
      items.push(e.value === undefined ? e.key : e.key + ' : ' + e.value);
      if (items.length >= ELEMENTS_PER_LINE) {
        yield `add element ${T} ${e.set} { ${items.join(', ')} }`;
        bySet.set(e.set, []);
      }
    }
  }
  for (const [set, items] of bySet) if (items.length > 0) yield `add element ${T} ${set} { ${items.join(', ')} }`;
}

/** One element and how many pieces hold it. */
export interface ElementCount {
  element: NftElement;
  count: number;
}

/**
 * Map elements by set, then key, with how many pieces hold each (endpoints
 * shared by services share a hairpin element). Two levels rather than one
 * joined "set key" string: the keys are the pieces' own strings, whose hash
 * V8 keeps, so the 100,000 elements of 10,000 services are counted without
 * building and hashing a string each.
 */
export class ElementCounts {
  private readonly bySet = new Map<string, Map<string, ElementCount>>();

  get(set: string, key: string): ElementCount | undefined {
    return this.bySet.get(set)?.get(key);
  }

  /** Adds n holders (negative: removes); a key no piece held any more takes the value of the piece that brings it back. */
  add(e: NftElement, n: number): void {
    let keys = this.bySet.get(e.set);
    if (!keys) this.bySet.set(e.set, (keys = new Map()));
    const c = keys.get(e.key);
    if (c) {
      if (c.count <= 0 && n > 0) c.element = e;
      c.count += n;
    } else keys.set(e.key, { element: e, count: n });
  }

  /** Counts one more piece holding `e`; true when none held its key before (then `e` is the element written). */
  hold(e: NftElement): boolean {
    let keys = this.bySet.get(e.set);
    if (!keys) this.bySet.set(e.set, (keys = new Map()));
    const c = keys.get(e.key);
    if (!c) {
      keys.set(e.key, { element: e, count: 1 });
      return true;
    }
    const first = c.count <= 0;
    if (first) c.element = e;
    c.count++;
    return first;
  }

  delete(set: string, key: string): void {
    this.bySet.get(set)?.delete(key);
  }

  /** Every count, set by set in the order the sets came, keys in the order they came. */
  *values(): IterableIterator<ElementCount> {
    for (const keys of this.bySet.values()) yield* keys.values();
  }
}

/** The elements of `pieces`, with how many pieces hold each. */
export function countElements(pieces: Iterable<NftPiece>): ElementCounts {
  const counts = new ElementCounts();
  for (const p of pieces) for (const e of p.elements) counts.add(e, 1);
  return counts;
}

function sameRules(a: readonly string[] | undefined, b: readonly string[]): boolean {
  return a !== undefined && a.length === b.length && a.every((r, i) => r === b[i]);
}

/** The pieces of `prev` that `next` does not have (the very object), and the reverse. */
function changedPieces(prev: NftRuleSet, next: NftRuleSet): { removed: NftPiece[]; added: NftPiece[] } {
  const removed: NftPiece[] = [];
  const added: NftPiece[] = [];
  for (const [sp, piece] of prev.pieces) if (next.pieces.get(sp) !== piece) removed.push(piece);
  for (const [sp, piece] of next.pieces) if (prev.pieces.get(sp) !== piece) added.push(piece);
  return { removed, added };
}

/**
 * The input of a partial sync (KEP-3453's idea in nftables): from `prev`,
 * what the table holds since the last successful write, to `next`, only the
 * pieces that are not the very same objects are compared, and only what
 * differs is written: chains rewritten (flushed, refilled), created or
 * deleted, affinity sets created or deleted, map elements added or deleted.
 * `counts` (from countElements of prev) is updated to next's. Empty when
 * nothing changed. Ordered so every reference is valid at each step: chains
 * are emptied before the elements, chains and sets they point to go.
 */
export function renderNftPartial(prev: NftRuleSet, next: NftRuleSet, counts: ElementCounts): string {
  const { removed, added } = next.changes?.from === prev ? next.changes : changedPieces(prev, next);
  return renderNftChanges(removed, added, counts);
}

/**
 * The input of a partial sync from the pieces that went (`removed`) and
 * came (`added`) since the last successful write; `counts` is updated to
 * the new rules. Empty when they write the same.
 */
export function renderNftChanges(removed: readonly NftPiece[], added: readonly NftPiece[], counts: ElementCounts): string {
  if (removed.length === 0 && added.length === 0) return '';
  const oldChains = new Map<string, readonly string[]>();
  const oldSets = new Map<string, number>();
  for (const p of removed) {
    for (const [n, r] of p.chains) oldChains.set(n, r);
    for (const [n, t] of p.sets) oldSets.set(n, t);
  }
  const newChains = new Map<string, readonly string[]>();
  const newSets = new Map<string, number>();
  for (const p of added) {
    for (const [n, r] of p.chains) newChains.set(n, r);
    for (const [n, t] of p.sets) newSets.set(n, t);
  }
  const rewrite = [...newChains].filter(([n, r]) => !sameRules(oldChains.get(n), r));
  const goneChains = [...oldChains.keys()].filter((n) => !newChains.has(n));
  const goneSets = [...oldSets.keys()].filter((n) => !newSets.has(n));
  const freshSets = [...newSets].filter(([n]) => !oldSets.has(n));
  // Element changes: what no piece holds any more goes, what no piece held comes; a changed value is both.
  const before = new Map<string, { set: string; key: string; was: NftElement | undefined }>();
  const change = (e: NftElement, n: number): void => {
    const k = elementKey(e);
    if (!before.has(k)) before.set(k, { set: e.set, key: e.key, was: counts.get(e.set, e.key)?.element });
    counts.add(e, n);
  };
  for (const p of removed) for (const e of p.elements) change(e, -1);
  for (const p of added) for (const e of p.elements) change(e, 1);
  const deletes: NftElement[] = [];
  const adds: NftElement[] = [];
  for (const { set, key, was } of before.values()) {
    const now = counts.get(set, key);
    if (now && now.count <= 0) counts.delete(set, key);
    const live = now && now.count > 0 ? now.element : undefined;
    if (was && live && was.value === live.value) continue;
    if (was) deletes.push(was);
    if (live) adds.push(live);
  }
  if (rewrite.length === 0 && goneChains.length === 0 && goneSets.length === 0 && freshSets.length === 0 && deletes.length === 0 && adds.length === 0)
    return '';
  const lines: string[] = [];
  for (const n of [...goneChains, ...rewrite.map(([n]) => n)]) if (oldChains.has(n)) lines.push(`flush chain ${T} ${n}`);
  lines.push(...elementLines('delete', deletes));
  for (const n of goneChains) lines.push(`delete chain ${T} ${n}`);
  for (const n of goneSets) lines.push(`delete set ${T} ${n}`);
  for (const [n, t] of freshSets) lines.push(setLine(n, t));
  for (const [n, r] of rewrite) chainLines(lines, n, r);
  lines.push(...elementLines('add', adds));
  return lines.join('\n') + '\n';
}

/** The input that removes the proxy's table and everything in it (also when there is none). */
export const NFT_CLEANUP_INPUT = `add table ${T}\ndelete table ${T}\n`;

/** Rules of a rule set, fixed ones included (the rules gauge). */
export function nftRuleCount(rules: NftRuleSet, fixed: string): number {
  let n = 0;
  for (const p of rules.pieces.values()) n += rulesOf(p);
  return n + nftFixedRuleCount(fixed);
}

/** Rules of the fixed part. */
export function nftFixedRuleCount(fixed: string): number {
  let n = 0;
  for (let at = fixed.indexOf('add rule '); at >= 0; at = fixed.indexOf('add rule ', at + 1)) n++;
  return n;
}
