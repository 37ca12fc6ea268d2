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
//
// A sync is full (every chain written, iptables-save consulted for stale
// chains and jumps: renderFullInput) or, as kube-proxy's since KEP-3453,
// partial: only the chains that differ from the last successful write
// (renderPartialInput). The rules are built in pieces, one per service port,
// that RuleBuilder reuses while the port is unchanged, so the work of a sync
// after one change does not grow with the number of services.

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

/**
 * Lines of one table, or of one piece of it (the fixed chains, one service
 * port's share): chain declarations, then rules in the order they were made,
 * also grouped by chain so a partial sync can tell which chains changed.
 */
class TableText implements RulePiece {
  readonly chains: string[] = [];
  readonly rules: string[] = [];
  readonly byChain = new Map<string, string[]>();

  chain(name: string): void {
    this.chains.push(name);
  }

  add(chain: string, ...parts: string[]): void {
    let line = `-A ${chain}`;
    for (const p of parts) if (p !== '') line += ` ${p}`;
    this.rules.push(line);
    const lines = this.byChain.get(chain);
    if (lines) lines.push(line);
    else this.byChain.set(chain, [line]);
  }
}

/** One piece of a table's rules; pieces are immutable once built, so a sync may reuse those of unchanged service ports. */
export interface RulePiece {
  /** The chains the piece declares (the fixed ones in the first piece of a table only). */
  readonly chains: readonly string[];
  /** Its "-A CHAIN ..." lines, in order. */
  readonly rules: readonly string[];
  readonly byChain: ReadonlyMap<string, readonly string[]>;
}

/** The proxy's rules for one sync: per table, the fixed piece, one per service port, then the closing piece. */
export interface RuleSet {
  readonly filter: readonly RulePiece[];
  readonly nat: readonly RulePiece[];
}

/**
 * The iptables-restore text of a table: declarations, rules, then `tail`
 * (jump and chain deletions). Chains are declared in descending name order:
 * iptables-nft (1.8) keeps a table's chains in a list sorted by name and
 * inserts each new one by walking it from the start, so declarations in
 * ascending or hash (random) order cost time quadratic in the number of
 * chains (6.4 s of CPU for 20,000 chains in random order against 0.15 s in
 * descending order, iptables v1.8.9 in a network namespace of its own).
 */
function renderTable(table: TableName, chains: readonly string[], rules: Iterable<string>, tail: readonly string[]): string {
  const lines = [`*${table}`];
  // The few fixed chains first, as they come; the per-service ones after them in descending order.
  for (const c of chains) if (FIXED.has(c)) lines.push(`:${c} - [0:0]`);
  for (const c of chains.filter((name) => !FIXED.has(name)).sort(descending)) lines.push(`:${c} - [0:0]`);
  for (const r of rules) lines.push(r);
  lines.push(...tail, 'COMMIT', '');
  return lines.join('\n');
}

const FIXED: ReadonlySet<string> = new Set(Object.values(CHAIN));

function descending(a: string, b: string): number {
  return a < b ? 1 : a > b ? -1 : 0;
}

function* allRules(pieces: readonly RulePiece[]): Iterable<string> {
  for (const p of pieces) yield* p.rules;
}

function allChains(pieces: readonly RulePiece[]): string[] {
  return pieces.flatMap((p) => p.chains);
}

/** The destinations where NodePorts answer, as iptables matches. */
function nodeAddressMatches(options: RulesOptions): string[] {
  return options.nodeIPs.length > 0 ? options.nodeIPs.map((ip) => `-d ${ip}/32`) : ['-m addrtype --dst-type LOCAL ! -d 127.0.0.0/8'];
}

/** The filter rules of one service port: REJECT without endpoints, DROP of load balancer traffic outside its source ranges. */
function filterServicePort(sp: ServicePortState, options: RulesOptions): TableText {
  const t = new TableText();
  if (sp.endpoints.length > 0) {
    // Traffic to a load balancer IP that TSK-FW- did not let through (so not DNATed): kube-proxy's KUBE-PROXY-FIREWALL.
    if (sp.loadBalancerSourceRanges.length === 0) return t;
    const fw = firewallChain(spnOf(sp), sp.protocol);
    for (const ip of sp.loadBalancerIPs) {
      t.add(CHAIN.externalServices, comment(`${spnOf(sp)} traffic not accepted by ${fw}`), `-d ${ip}/32`, portMatch(sp.protocol, sp.port), '-j DROP');
    }
    return t;
  }
  const reject = [comment(`${spnOf(sp)} has no endpoints`)];
  const tail = '-j REJECT --reject-with icmp-port-unreachable';
  t.add(CHAIN.services, ...reject, `-d ${sp.clusterIP}/32`, portMatch(sp.protocol, sp.port), tail);
  for (const ip of [...sp.externalIPs, ...sp.loadBalancerIPs]) t.add(CHAIN.externalServices, ...reject, `-d ${ip}/32`, portMatch(sp.protocol, sp.port), tail);
  if (sp.nodePort !== undefined) {
    for (const dst of nodeAddressMatches(options)) t.add(CHAIN.externalServices, ...reject, dst, portMatch(sp.protocol, sp.nodePort), tail);
  }
  return t;
}

function filterHead(): TableText {
  const t = new TableText();
  for (const name of [CHAIN.services, CHAIN.externalServices, CHAIN.forward]) t.chain(name);
  return t;
}

function filterTail(mark: string): TableText {
  const t = new TableText();
  t.add(CHAIN.forward, comment('tsk forwarding rules'), `-m mark --mark ${mark}/${mark}`, '-j ACCEPT');
  t.add(CHAIN.forward, comment('tsk forwarding conntrack rule'), '-m conntrack --ctstate RELATED,ESTABLISHED', '-j ACCEPT');
  return t;
}

function natHead(mark: string): TableText {
  const t = new TableText();
  for (const name of [CHAIN.services, CHAIN.nodePorts, CHAIN.postrouting, CHAIN.markMasq]) t.chain(name);
  t.add(CHAIN.postrouting, `-m mark ! --mark ${mark}/${mark}`, '-j RETURN');
  // Clear the mark so a packet re-entering the stack (hairpin over a bridge) is judged afresh.
  t.add(CHAIN.postrouting, `-j MARK --xor-mark ${mark}`);
  t.add(CHAIN.postrouting, comment('tsk service traffic requiring SNAT'), '-j MASQUERADE --random-fully');
  t.add(CHAIN.markMasq, `-j MARK --or-mark ${mark}`);
  return t;
}

/** The nat rules of one service port (none without endpoints). */
function natServicePort(sp: ServicePortState, options: RulesOptions): TableText {
  const t = new TableText();
  if (sp.endpoints.length === 0) return t;
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
  return t;
}

/** The closing nat piece: NodePorts, which must be the last rules of TSK-SERVICES. */
function natTail(options: RulesOptions): TableText {
  const t = new TableText();
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
function reconcileJumps(tail: string[], table: TableName, saved: SavedTable | undefined, jumps: readonly BuiltinJump[]): void {
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
  tail.push(...deletes, ...inserts.reverse());
}

/** Owned chains that iptables has and `declared` does not: they are flushed (declared) and deleted. */
function staleChains(declared: ReadonlySet<string>, saved: SavedTable | undefined): string[] {
  return [...(saved?.chains.keys() ?? [])].filter((c) => ownsChain(c) && !declared.has(c)).sort();
}

function markOf(options: RulesOptions): string {
  const bit = options.masqueradeBit ?? 14;
  if (!Number.isInteger(bit) || bit < 0 || bit > 31) throw new Error(`masquerade bit ${bit} is not between 0 and 31`);
  return `0x${(2 ** bit).toString(16)}`;
}

/**
 * Builds RuleSets, reusing the pieces of service ports whose state is the
 * very object of an earlier build (ServicePortCache hands out the same
 * object while a service and its endpoints are unchanged): a sync after one
 * change builds one piece, not ten thousand.
 */
export class RuleBuilder {
  private readonly mark: string;
  private readonly head: { readonly filter: RulePiece; readonly nat: RulePiece };
  private readonly tail: { readonly filter: RulePiece; readonly nat: RulePiece };
  private pieces = new Map<ServicePortState, { readonly filter: RulePiece; readonly nat: RulePiece }>();

  constructor(private readonly options: RulesOptions) {
    this.mark = markOf(options);
    this.head = { filter: filterHead(), nat: natHead(this.mark) };
    this.tail = { filter: filterTail(this.mark), nat: natTail(options) };
  }

  build(ports: readonly ServicePortState[]): RuleSet {
    const next = new Map<ServicePortState, { readonly filter: RulePiece; readonly nat: RulePiece }>();
    const filter: RulePiece[] = [this.head.filter];
    const nat: RulePiece[] = [this.head.nat];
    for (const sp of ports) {
      const piece = this.pieces.get(sp) ?? next.get(sp) ?? sharedPiece(sp, this.options);
      next.set(sp, piece);
      filter.push(piece.filter);
      nat.push(piece.nat);
    }
    filter.push(this.tail.filter);
    nat.push(this.tail.nat);
    this.pieces = next;
    return { filter, nat };
  }
}

/**
 * The pieces made for each service port, by the options they depend on:
 * proxies that share ServicePortState objects (service-ports.ts: the hollow
 * nodes of one process) share the pieces too, so each holds references to
 * one copy of every rule instead of its own. The nat piece depends on the
 * cluster CIDR only, the filter piece on the node IPs only when it rejects a
 * NodePort without endpoints.
 */
const piecesBySp = new WeakMap<ServicePortState, Map<string, { readonly filter: RulePiece; readonly nat: RulePiece }>>();

function sharedPiece(sp: ServicePortState, options: RulesOptions): { readonly filter: RulePiece; readonly nat: RulePiece } {
  const nodeIPs = sp.nodePort !== undefined && sp.endpoints.length === 0 ? options.nodeIPs.join(',') : '';
  const key = `${options.clusterCIDR ?? ''} ${nodeIPs}`;
  let byKey = piecesBySp.get(sp);
  if (!byKey) piecesBySp.set(sp, (byKey = new Map()));
  let piece = byKey.get(key);
  if (!piece) byKey.set(key, (piece = { filter: filterServicePort(sp, options), nat: natServicePort(sp, options) }));
  return piece;
}

/**
 * The iptables-restore --noflush input of a full sync: every chain of
 * `rules` written whole, the built-in chains' jumps reconciled and the owned
 * chains that `saved` (parsed iptables-save output) shows and `rules` lacks
 * deleted.
 */
export function renderFullInput(rules: RuleSet, saved: SavedRules): string {
  return (['filter', 'nat'] as const)
    .map((name) => {
      const pieces = rules[name];
      const chains = allChains(pieces);
      const tail: string[] = [];
      reconcileJumps(tail, name, saved.get(name), BUILTIN_JUMPS);
      const stale = staleChains(new Set(chains), saved.get(name));
      tail.push(...stale.map((c) => `-X ${c}`));
      return renderTable(name, [...chains, ...stale], allRules(pieces), tail);
    })
    .join('');
}

/**
 * The iptables-restore --noflush input that makes the filter and nat tables
 * hold exactly the proxy's rules for `ports`, given what `saved` (parsed
 * iptables-save output) shows they hold now.
 */
export function buildRestoreInput(ports: readonly ServicePortState[], saved: SavedRules, options: RulesOptions): string {
  return renderFullInput(new RuleBuilder(options).build(ports), saved);
}

function sameLines(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((line, i) => line === b[i]);
}

function rulesOf(pieces: readonly RulePiece[], chain: string): string[] {
  return pieces.flatMap((p) => p.byChain.get(chain) ?? []);
}

/**
 * The pieces that differ between two builds: what lies between their common
 * prefix and common suffix (by identity). Builds keep the ports' order, so a
 * sync after one change compares one piece with one piece; pieces inside
 * that range that did not change are compared again by content below.
 */
function changedRange(prev: readonly RulePiece[], next: readonly RulePiece[]): { removed: readonly RulePiece[]; added: readonly RulePiece[] } {
  let head = 0;
  while (head < prev.length && head < next.length && prev[head] === next[head]) head++;
  let tail = 0;
  while (tail < prev.length - head && tail < next.length - head && prev[prev.length - 1 - tail] === next[next.length - 1 - tail]) tail++;
  return { removed: prev.slice(head, prev.length - tail), added: next.slice(head, next.length - tail) };
}

/**
 * What a partial sync writes for one table: the chains whose rules differ
 * between `prev` (what iptables holds) and `next`, whole, and the -X of the
 * chains `next` no longer has. Only the pieces in the changed range can
 * differ. The fixed chains (those the first piece declares) gather rules
 * from every piece: one differs when the changed range's share of it does.
 */
export function partialTableChanges(prev: readonly RulePiece[], next: readonly RulePiece[]): { chains: string[]; rules: string[]; deleted: string[] } {
  const { removed, added } = changedRange(prev, next);
  const chains: string[] = [];
  const rules: string[] = [];
  if (removed.length === 0 && added.length === 0) return { chains, rules, deleted: [] };
  const fixed = new Set([...(prev[0]?.chains ?? []), ...(next[0]?.chains ?? [])]);
  const touched = new Set<string>();
  for (const p of [...removed, ...added]) {
    for (const c of [...p.chains, ...p.byChain.keys()]) if (fixed.has(c)) touched.add(c);
  }
  for (const c of touched) {
    const head = removed[0] === prev[0] || added[0] === next[0];
    // The range's share decides, unless the fixed piece itself changed (then compare whole).
    if (!head && sameLines(rulesOf(removed, c), rulesOf(added, c))) continue;
    const lines = rulesOf(next, c);
    if (head && sameLines(rulesOf(prev, c), lines)) continue;
    chains.push(c);
    rules.push(...lines);
  }
  const old = new Map<string, readonly string[]>();
  for (const p of removed) for (const c of p.chains) if (!fixed.has(c)) old.set(c, p.byChain.get(c) ?? []);
  const declared = new Set<string>();
  for (const p of added) {
    for (const c of p.chains) {
      if (fixed.has(c)) continue;
      declared.add(c);
      const lines = p.byChain.get(c) ?? [];
      const was = old.get(c);
      if (was && sameLines(was, lines)) continue;
      chains.push(c);
      rules.push(...lines);
    }
  }
  const deleted = [...old.keys()].filter((c) => !declared.has(c)).sort();
  return { chains: [...chains, ...deleted], rules, deleted };
}

/**
 * The iptables-restore --noflush input of a partial sync (kube-proxy's,
 * KEP-3453): from `prev`, the rules iptables holds since the last
 * successful sync, to `next`, only the chains that changed are written and
 * the ones gone are deleted; the rest, and the built-in chains' jumps, are
 * left alone. Empty when nothing changed.
 */
export function renderPartialInput(prev: RuleSet, next: RuleSet): string {
  let out = '';
  for (const name of ['filter', 'nat'] as const) {
    const change = partialTableChanges(prev[name], next[name]);
    if (change.chains.length === 0) continue;
    out += renderTable(
      name,
      change.chains,
      change.rules,
      change.deleted.map((c) => `-X ${c}`),
    );
  }
  return out;
}

/** Rules per table of a RuleSet (the kubeproxy_sync_proxy_rules_iptables_total gauge). */
export function ruleCounts(rules: RuleSet): { filter: number; nat: number } {
  const count = (pieces: readonly RulePiece[]): number => pieces.reduce((n, p) => n + p.rules.length, 0);
  return { filter: count(rules.filter), nat: count(rules.nat) };
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
    const tail: string[] = [];
    reconcileJumps(tail, name, table, []);
    const stale = staleChains(new Set(), table);
    tail.push(...stale.map((c) => `-X ${c}`));
    if (tail.length > 0) out += renderTable(name, stale, [], tail);
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
