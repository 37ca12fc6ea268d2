// The rule builder: from the service ports (with their ready endpoints) and
// what iptables holds now, the complete iptables-restore --noflush input that
// makes iptables hold exactly the proxy's rules. Pure, so it is tested with
// golden strings. The layout is kube-proxy's (iptables mode):
//
//   nat PREROUTING, OUTPUT -> TSK-SERVICES
//     cluster IP:port        -> TSK-SVC-<hash>  (one per service port)
//     external IP:port       -> TSK-EXT-<hash>  (mark for masquerade, then TSK-SVC)
//     load balancer IP:port  -> TSK-EXT-<hash>, or with loadBalancerSourceRanges
//                               TSK-FW-<hash>: -s RANGE -> TSK-EXT-<hash>; the rest,
//                               not DNATed, is dropped in filter TSK-EXTERNAL-SERVICES
//     last: node addresses   -> TSK-NODEPORTS -> nodePort -> TSK-EXT-<hash>
//   TSK-SVC-<hash>: [ClientIP affinity: -m recent --rcheck per endpoint], then
//     -m statistic --mode random --probability 1/n, 1/(n-1), ... -> TSK-SEP-<hash>
//   TSK-SEP-<hash>: mark hairpin traffic (from the endpoint itself), DNAT to ip:port
//   nat POSTROUTING -> TSK-POSTROUTING: masquerade what carries the mark
//   filter INPUT, FORWARD, OUTPUT (new connections) -> TSK-SERVICES / TSK-EXTERNAL-SERVICES:
//     REJECT for service ports without endpoints ("has no endpoints")
//
// Declaring a chain (":NAME - [0:0]") in iptables-restore --noflush flushes
// it, so every chain written here is replaced whole; owned chains that are no
// longer wanted are flushed and deleted (-X). Jumps from the built-in chains
// cannot be written that way without flushing those chains (which belong to
// everyone), so they are inserted only when missing, and deleted when they
// lead to a chain that is going away or appear twice.

import { CHAIN, endpointChain, externalChain, firewallChain, ownsChain, serviceChain } from './chains';
import type { SavedRules, SavedTable } from './iptables';
import { spnOf, type ServicePortState } from './service-ports';

export interface RulesOptions {
  /**
   * The node's IPv4 addresses where NodePorts answer. Empty: every local
   * address but loopback (-m addrtype --dst-type LOCAL).
   */
  readonly nodeIPs: readonly string[];
  /** The pods' range: traffic to a cluster IP from outside it is masqueraded. Unset: none is. */
  readonly clusterCIDR?: string;
  /** The packet mark bit meaning "masquerade me" (kube-proxy's --iptables-masquerade-bit, default 14). */
  readonly masqueradeBit?: number;
}

type TableName = 'filter' | 'nat';

/** A jump from a built-in chain into one of the proxy's chains. */
interface BuiltinJump {
  readonly table: TableName;
  readonly chain: string;
  readonly spec: string;
  readonly target: string;
}

const NEW_CONN = '-m conntrack --ctstate NEW';

/** The jumps the proxy keeps in the built-in chains, in their order. */
export const BUILTIN_JUMPS: readonly BuiltinJump[] = [
  { table: 'filter', chain: 'INPUT', spec: `${NEW_CONN} ${comment('tsk externally-visible service portals')}`, target: CHAIN.externalServices },
  { table: 'filter', chain: 'FORWARD', spec: `${NEW_CONN} ${comment('tsk service portals')}`, target: CHAIN.services },
  { table: 'filter', chain: 'FORWARD', spec: `${NEW_CONN} ${comment('tsk externally-visible service portals')}`, target: CHAIN.externalServices },
  { table: 'filter', chain: 'FORWARD', spec: comment('tsk forwarding rules'), target: CHAIN.forward },
  { table: 'filter', chain: 'OUTPUT', spec: `${NEW_CONN} ${comment('tsk service portals')}`, target: CHAIN.services },
  { table: 'nat', chain: 'PREROUTING', spec: comment('tsk service portals'), target: CHAIN.services },
  { table: 'nat', chain: 'OUTPUT', spec: comment('tsk service portals'), target: CHAIN.services },
  { table: 'nat', chain: 'POSTROUTING', spec: comment('tsk postrouting rules'), target: CHAIN.postrouting },
];

const BUILTIN_CHAINS = new Set(['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING']);

function comment(text: string): string {
  return `-m comment --comment "${text}"`;
}

function portMatch(protocol: string, port: number): string {
  const p = protocol.toLowerCase();
  return `-p ${p} -m ${p} --dport ${port}`;
}

/** kube-proxy's probability format: ten decimals. */
export function probability(n: number): string {
  return (1 / n).toFixed(10);
}

/** Lines of one table being built: chain declarations first, then rules. */
class TableText {
  readonly chains: string[] = [];
  readonly rules: string[] = [];
  readonly tail: string[] = [];

  chain(name: string): void {
    this.chains.push(`:${name} - [0:0]`);
  }

  add(chain: string, ...parts: string[]): void {
    this.rules.push(['-A', chain, ...parts.filter((p) => p !== '')].join(' '));
  }

  declared(): Set<string> {
    return new Set(this.chains.map((l) => l.slice(1).split(' ')[0] ?? ''));
  }

  text(table: TableName): string {
    return [`*${table}`, ...this.chains, ...this.rules, ...this.tail, 'COMMIT', ''].join('\n');
  }
}

/** The destinations where NodePorts answer, as iptables matches. */
function nodeAddressMatches(options: RulesOptions): string[] {
  return options.nodeIPs.length > 0 ? options.nodeIPs.map((ip) => `-d ${ip}/32`) : ['-m addrtype --dst-type LOCAL ! -d 127.0.0.0/8'];
}

function filterRules(ports: readonly ServicePortState[], options: RulesOptions, mark: string): TableText {
  const t = new TableText();
  for (const name of [CHAIN.services, CHAIN.externalServices, CHAIN.forward]) t.chain(name);
  for (const sp of ports) {
    if (sp.endpoints.length > 0) {
      // Traffic to a load balancer IP that TSK-FW- did not let through (so not DNATed): kube-proxy's KUBE-PROXY-FIREWALL.
      if (sp.loadBalancerSourceRanges.length === 0) continue;
      const fw = firewallChain(spnOf(sp), sp.protocol);
      for (const ip of sp.loadBalancerIPs) {
        t.add(CHAIN.externalServices, comment(`${spnOf(sp)} traffic not accepted by ${fw}`), `-d ${ip}/32`, portMatch(sp.protocol, sp.port), '-j DROP');
      }
      continue;
    }
    const reject = [comment(`${spnOf(sp)} has no endpoints`)];
    const tail = '-j REJECT --reject-with icmp-port-unreachable';
    t.add(CHAIN.services, ...reject, `-d ${sp.clusterIP}/32`, portMatch(sp.protocol, sp.port), tail);
    for (const ip of [...sp.externalIPs, ...sp.loadBalancerIPs]) t.add(CHAIN.externalServices, ...reject, `-d ${ip}/32`, portMatch(sp.protocol, sp.port), tail);
    if (sp.nodePort !== undefined) {
      for (const dst of nodeAddressMatches(options)) t.add(CHAIN.externalServices, ...reject, dst, portMatch(sp.protocol, sp.nodePort), tail);
    }
  }
  t.add(CHAIN.forward, comment('tsk forwarding rules'), `-m mark --mark ${mark}/${mark}`, '-j ACCEPT');
  t.add(CHAIN.forward, comment('tsk forwarding conntrack rule'), '-m conntrack --ctstate RELATED,ESTABLISHED', '-j ACCEPT');
  return t;
}

function natFixedRules(t: TableText, mark: string): void {
  for (const name of [CHAIN.services, CHAIN.nodePorts, CHAIN.postrouting, CHAIN.markMasq]) t.chain(name);
  t.add(CHAIN.postrouting, `-m mark ! --mark ${mark}/${mark}`, '-j RETURN');
  // Clear the mark so a packet re-entering the stack (hairpin over a bridge) is judged afresh.
  t.add(CHAIN.postrouting, `-j MARK --xor-mark ${mark}`);
  t.add(CHAIN.postrouting, comment('tsk service traffic requiring SNAT'), '-j MASQUERADE --random-fully');
  t.add(CHAIN.markMasq, `-j MARK --or-mark ${mark}`);
}

/** The nat rules of one service port that has endpoints. */
function natServicePort(t: TableText, sp: ServicePortState, options: RulesOptions): void {
  const spn = spnOf(sp);
  const svc = serviceChain(spn, sp.protocol);
  const dport = portMatch(sp.protocol, sp.port);
  const seps = sp.endpoints.map((ep) => ({ ep: `${ep.ip}:${ep.port}`, ip: ep.ip, chain: endpointChain(spn, sp.protocol, `${ep.ip}:${ep.port}`) }));
  const external = sp.nodePort !== undefined || sp.externalIPs.length > 0 || sp.loadBalancerIPs.length > 0;
  const ext = externalChain(spn, sp.protocol);
  const fw = sp.loadBalancerIPs.length > 0 && sp.loadBalancerSourceRanges.length > 0 ? firewallChain(spn, sp.protocol) : undefined;
  t.chain(svc);
  if (external) t.chain(ext);
  if (fw) t.chain(fw);
  for (const s of seps) t.chain(s.chain);

  t.add(CHAIN.services, comment(`${spn} cluster IP`), `-d ${sp.clusterIP}/32`, dport, `-j ${svc}`);
  for (const ip of sp.externalIPs) t.add(CHAIN.services, comment(`${spn} external IP`), `-d ${ip}/32`, dport, `-j ${ext}`);
  for (const ip of sp.loadBalancerIPs) t.add(CHAIN.services, comment(`${spn} loadbalancer IP`), `-d ${ip}/32`, dport, `-j ${fw ?? ext}`);
  if (fw) {
    for (const range of sp.loadBalancerSourceRanges) t.add(fw, comment(`${spn} loadbalancer IP`), `-s ${range}`, `-j ${ext}`);
    t.add(fw, comment(`other traffic to ${spn} will be dropped by ${CHAIN.externalServices}`));
  }
  if (sp.nodePort !== undefined) t.add(CHAIN.nodePorts, comment(spn), portMatch(sp.protocol, sp.nodePort), `-j ${ext}`);
  if (external) {
    // Replies must come back through this node to be un-NATed: masquerade traffic from outside.
    t.add(ext, comment(`masquerade traffic for ${spn} external destinations`), `-j ${CHAIN.markMasq}`);
    t.add(ext, `-j ${svc}`);
  }

  if (options.clusterCIDR) {
    t.add(svc, comment(`${spn} cluster IP`), `-d ${sp.clusterIP}/32`, dport, `! -s ${options.clusterCIDR}`, `-j ${CHAIN.markMasq}`);
  }
  if (sp.affinityTimeoutSeconds !== undefined) {
    for (const s of seps) {
      t.add(svc, comment(`${spn} -> ${s.ep}`), `-m recent --name ${s.chain} --rcheck --seconds ${sp.affinityTimeoutSeconds} --reap`, `-j ${s.chain}`);
    }
  }
  seps.forEach((s, i) => {
    const left = seps.length - i;
    const stat = left > 1 ? `-m statistic --mode random --probability ${probability(left)}` : '';
    t.add(svc, comment(`${spn} -> ${s.ep}`), stat, `-j ${s.chain}`);
  });
  const p = sp.protocol.toLowerCase();
  for (const s of seps) {
    // A pod reaching itself through the service: masquerade so the reply returns through the node.
    t.add(s.chain, comment(spn), `-s ${s.ip}/32`, `-j ${CHAIN.markMasq}`);
    const recent = sp.affinityTimeoutSeconds !== undefined ? `-m recent --name ${s.chain} --set` : '';
    t.add(s.chain, comment(spn), `-p ${p}`, recent, `-m ${p}`, `-j DNAT --to-destination ${s.ep}`);
  }
}

function natRules(ports: readonly ServicePortState[], options: RulesOptions, mark: string): TableText {
  const t = new TableText();
  natFixedRules(t, mark);
  for (const sp of ports) if (sp.endpoints.length > 0) natServicePort(t, sp, options);
  for (const dst of nodeAddressMatches(options)) {
    t.add(CHAIN.services, comment('tsk service nodeports; NOTE: this must be the last rule in this chain'), dst, `-j ${CHAIN.nodePorts}`);
  }
  return t;
}

/**
 * Brings the built-in chains' jumps into line: inserts missing ones (at the
 * top, as kube-proxy does), deletes duplicates and jumps to owned chains that
 * are not wanted. Deleting uses the spec exactly as iptables-save printed it.
 */
function reconcileJumps(t: TableText, table: TableName, saved: SavedTable | undefined, jumps: readonly BuiltinJump[]): void {
  const desired = jumps.filter((j) => j.table === table);
  const seen = new Map<string, number>();
  const deletes: string[] = [];
  for (const rule of saved?.rules ?? []) {
    if (!BUILTIN_CHAINS.has(rule.chain) || rule.target === undefined || !ownsChain(rule.target)) continue;
    const key = `${rule.chain} ${rule.target}`;
    const count = (seen.get(key) ?? 0) + 1;
    seen.set(key, count);
    const isDesired = desired.some((j) => j.chain === rule.chain && j.target === rule.target);
    if (!isDesired || count > 1) deletes.push(`-D ${rule.chain} ${rule.spec}`);
  }
  const inserts = desired.filter((j) => !seen.has(`${j.chain} ${j.target}`)).map((j) => `-I ${j.chain} ${j.spec} -j ${j.target}`);
  // Inserting each at the top reverses them: insert in reverse to keep BUILTIN_JUMPS' order.
  t.tail.push(...deletes, ...inserts.reverse());
}

/** Flushes and deletes owned chains that iptables has and this ruleset does not declare. */
function deleteStaleChains(t: TableText, saved: SavedTable | undefined): void {
  const declared = t.declared();
  const stale = [...(saved?.chains.keys() ?? [])].filter((c) => ownsChain(c) && !declared.has(c)).sort();
  for (const c of stale) t.chain(c);
  t.tail.push(...stale.map((c) => `-X ${c}`));
}

function markOf(options: RulesOptions): string {
  const bit = options.masqueradeBit ?? 14;
  if (!Number.isInteger(bit) || bit < 0 || bit > 31) throw new Error(`masquerade bit ${bit} is not between 0 and 31`);
  return `0x${(2 ** bit).toString(16)}`;
}

/**
 * The iptables-restore --noflush input that makes the filter and nat tables
 * hold exactly the proxy's rules for `ports`, given what `saved` (parsed
 * iptables-save output) shows they hold now.
 */
export function buildRestoreInput(ports: readonly ServicePortState[], saved: SavedRules, options: RulesOptions): string {
  const mark = markOf(options);
  const tables: [TableName, TableText][] = [
    ['filter', filterRules(ports, options, mark)],
    ['nat', natRules(ports, options, mark)],
  ];
  return tables
    .map(([name, t]) => {
      reconcileJumps(t, name, saved.get(name), BUILTIN_JUMPS);
      deleteStaleChains(t, saved.get(name));
      return t.text(name);
    })
    .join('');
}

/**
 * The input that removes every rule and chain of the proxy (tsk proxy
 * --cleanup): the jumps from built-in chains, then the owned chains, flushed
 * and deleted. Empty when there is nothing to remove.
 */
export function buildCleanupInput(saved: SavedRules): string {
  let out = '';
  for (const name of ['filter', 'nat'] as const) {
    const table = saved.get(name);
    if (!table) continue;
    const t = new TableText();
    reconcileJumps(t, name, table, []);
    deleteStaleChains(t, table);
    if (t.tail.length > 0) out += t.text(name);
  }
  return out;
}

/** Rules per owned chain in a restore input: what iptables-save should show after it applied. */
export function ownedRuleCounts(input: string): Map<string, number> {
  const counts = new Map<string, number>();
  let table = '';
  for (const line of input.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    else if (line.startsWith(':')) counts.set(`${table} ${line.slice(1).split(' ')[0] ?? ''}`, 0);
    else if (line.startsWith('-X ')) counts.delete(`${table} ${line.slice(3)}`);
    else if (line.startsWith('-A ')) {
      const key = `${table} ${line.split(' ')[1] ?? ''}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return counts;
}

/** True when `saved` holds the owned chains `expected` describes, with as many rules each, and no others. */
export function matchesSaved(expected: Map<string, number>, saved: SavedRules): boolean {
  let owned = 0;
  for (const [table, t] of saved) {
    for (const [chain, n] of t.chains) {
      if (!ownsChain(chain)) continue;
      owned++;
      if (expected.get(`${table} ${chain}`) !== n) return false;
    }
  }
  return owned === expected.size;
}
