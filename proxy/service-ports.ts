// From API objects to what the rules are made of: one entry per service port
// with a cluster IP, with its ready endpoints. Pure; sorted, so the same
// objects always give the same rules.

import type { Endpoints, Service } from '../api/gen/tsk/v1/core';
import { parseIPv4 } from '../util/ipv4';
import { isNodeLocal } from '../api/cluster-dns';
import { servicePortName } from './chains';

/** Kubernetes' default ClientIP affinity timeout (3 hours). */
export const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10_800;

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface Endpoint {
  readonly ip: string;
  readonly port: number;
  /**
   * The node the endpoint runs on (the address's nodeName); absent when the
   * Endpoints object does not say (hand-written ones). kube-proxy's
   * Endpoint.IsLocal() compares it with the proxy's own node name.
   */
  readonly nodeName?: string;
}

export interface ServicePortState {
  readonly namespace: string;
  readonly name: string;
  /** The ServicePort's name; "" when the service has one unnamed port. */
  readonly portName: string;
  readonly protocol: Protocol;
  readonly clusterIP: string;
  readonly port: number;
  /** Set for NodePort (and LoadBalancer) services. */
  readonly nodePort?: number;
  readonly externalIPs: readonly string[];
  /** The load balancer ingress IPs (status.loadBalancer.ingress of ipMode VIP) of a LoadBalancer service. */
  readonly loadBalancerIPs: readonly string[];
  /** loadBalancerSourceRanges: when set, only these sources reach the load balancer IPs. */
  readonly loadBalancerSourceRanges: readonly string[];
  /** Set when sessionAffinity is ClientIP. */
  readonly affinityTimeoutSeconds?: number;
  /** Ready endpoints, sorted by address then port, without duplicates. */
  readonly endpoints: readonly Endpoint[];
}

/** "ns/name" or "ns/name:port": how the port appears in comments and chain hashes. */
export function spnOf(sp: ServicePortState): string {
  return servicePortName(sp.namespace, sp.name, sp.portName);
}

function protocolOf(p: string | undefined): Protocol {
  return p === 'UDP' || p === 'SCTP' ? p : 'TCP';
}

/** A dotted quad as a number, without the full parser's cost (sorting runs it for every endpoint); else the full parser's answer. */
function quadNumber(text: string): number | undefined {
  let n = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57 && digits < 3 && !(digits === 1 && octet === 0)) {
      octet = octet * 10 + (c - 48);
      digits++;
    } else if (c === 46 && digits > 0 && octet <= 255 && dots < 3) {
      n = n * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else return parseIPv4(text);
  }
  return dots === 3 && digits > 0 && octet <= 255 ? n * 256 + octet : parseIPv4(text);
}

/** Orders dotted IPv4 addresses numerically (others after, as strings). */
function compareIPs(a: string, b: string): number {
  const na = quadNumber(a);
  const nb = quadNumber(b);
  if (na !== undefined && nb !== undefined) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The ready endpoints of one service port: the addresses (not the
 * notReadyAddresses) of every subset that has a port of the same name and
 * protocol, as kube-proxy matches them.
 */
export function readyEndpoints(endpoints: Endpoints | undefined, portName: string, protocol: Protocol): Endpoint[] {
  // Each address parsed once, not once per comparison; duplicates (the same address and port twice) removed after sorting, where they are neighbours.
  const keyed: { ep: Endpoint; n: number | undefined }[] = [];
  for (const subset of endpoints?.subsets ?? []) {
    const port = (subset.ports ?? []).find((p) => (p.name ?? '') === portName && protocolOf(p.protocol) === protocol);
    if (port?.port === undefined) continue;
    for (const addr of subset.addresses ?? []) {
      if (!addr.ip) continue;
      const ep: Endpoint = addr.nodeName ? { ip: addr.ip, port: port.port, nodeName: addr.nodeName } : { ip: addr.ip, port: port.port };
      keyed.push({ ep, n: quadNumber(addr.ip) });
    }
  }
  keyed.sort((a, b) => (a.n !== undefined && b.n !== undefined ? a.n - b.n : compareIPs(a.ep.ip, b.ep.ip)) || a.ep.port - b.ep.port || cmp(a.ep.ip, b.ep.ip));
  const out: Endpoint[] = [];
  for (const { ep } of keyed) {
    const last = out[out.length - 1];
    if (last === undefined || last.ip !== ep.ip || last.port !== ep.port) out.push(ep);
  }
  return out;
}

/**
 * The load balancer IPs the proxy answers on: the ingress IPs of a
 * LoadBalancer, except those of ipMode Proxy (a load balancer that proxies
 * sends traffic to the nodes itself, so kube-proxy leaves them alone).
 */
function loadBalancerIPs(svc: Service): string[] {
  if (svc.spec?.type !== 'LoadBalancer') return [];
  const ips = (svc.status?.loadBalancer?.ingress ?? []).filter((i) => i.ip && (i.ipMode ?? 'VIP') !== 'Proxy').map((i) => i.ip ?? '');
  return [...new Set(ips)].sort(compareIPs);
}

/**
 * True for a service the proxy programs: it has a cluster IP (not headless,
 * not ExternalName) and is not node-local (the kube-dns Service: every node
 * answers on its address itself, so no DNAT and no "has no endpoints" REJECT).
 */
function hasClusterIP(svc: Service): boolean {
  const ip = svc.spec?.clusterIP ?? '';
  return ip !== '' && ip !== 'None' && svc.spec?.type !== 'ExternalName' && !isNodeLocal(svc);
}

/** The programmable ports of one service, with their ready endpoints (none when it has no cluster IP). */
function portsOfService(svc: Service, eps: Endpoints | undefined): ServicePortState[] {
  if (!hasClusterIP(svc)) return [];
  const out: ServicePortState[] = [];
  const namespace = svc.metadata?.namespace ?? '';
  const name = svc.metadata?.name ?? '';
  const spec = svc.spec ?? {};
  const withNodePorts = spec.type === 'NodePort' || spec.type === 'LoadBalancer';
  const lbIPs = loadBalancerIPs(svc);
  const affinity =
    spec.sessionAffinity === 'ClientIP'
      ? { affinityTimeoutSeconds: spec.sessionAffinityConfig?.clientIP?.timeoutSeconds || DEFAULT_AFFINITY_TIMEOUT_SECONDS }
      : {};
  for (const port of spec.ports ?? []) {
    if (!port.port) continue;
    const portName = port.name ?? '';
    const protocol = protocolOf(port.protocol);
    out.push({
      namespace,
      name,
      portName,
      protocol,
      clusterIP: spec.clusterIP ?? '',
      port: port.port,
      ...(withNodePorts && port.nodePort ? { nodePort: port.nodePort } : {}),
      externalIPs: [...(spec.externalIPs ?? [])].sort(compareIPs),
      loadBalancerIPs: lbIPs,
      loadBalancerSourceRanges: lbIPs.length > 0 ? (spec.loadBalancerSourceRanges ?? []).map((r) => r.trim()).filter((r) => r !== '') : [],
      ...affinity,
      endpoints: readyEndpoints(eps, portName, protocol),
    });
  }
  return out.sort((a, b) => cmp(a.portName, b.portName) || cmp(a.protocol, b.protocol));
}

/** The ports of the services changed since the last call: those they had (gone) and those they have now. */
export interface PortChanges {
  readonly removed: readonly ServicePortState[];
  readonly added: readonly ServicePortState[];
}

/**
 * What a sync hands the proxy mode: every port (built on demand: a partial
 * sync of the nftables mode never asks) and, when known, what changed
 * since the last sync.
 */
export interface PortUpdate {
  /** Every programmable service port, sorted as buildServicePorts sorts them. */
  all(): readonly ServicePortState[];
  readonly changes?: PortChanges;
}

/**
 * The net change of `a` then `b`: a port `a` added and `b` removed was
 * never seen by anyone after, so it is in neither list.
 */
export function mergeChanges(a: PortChanges | undefined, b: PortChanges): PortChanges {
  if (!a) return b;
  const addedByA = new Set(a.added);
  const removedByB = new Set(b.removed);
  return {
    removed: [...a.removed, ...b.removed.filter((sp) => !addedByA.has(sp))],
    added: [...a.added.filter((sp) => !removedByB.has(sp)), ...b.added],
  };
}

/** An update of `ports` without changes (the mode compares them with its last sync). */
export function allPorts(ports: readonly ServicePortState[]): PortUpdate {
  return { all: () => ports };
}

/**
 * Builds the service ports again and again (once per sync), handing out the
 * very same ServicePortState objects for a service whose Service and
 * Endpoints objects are the ones of the last build: informer caches replace
 * an object on every change and never modify one, so identity means
 * unchanged. The rule builder keys its reuse on those objects. Every call
 * reports the ports of the entries it replaced, added or removed.
 */
export class ServicePortCache {
  private entries = new Map<string, CacheEntry>();
  /** The keys of `entries` sorted by namespace, then name; kept sorted as services come or go. */
  private order: string[] = [];
  /** Each Service object's "ns/name", made once: the same string each sync, whose hash V8 keeps. */
  private keys = new WeakMap<Service, string>();
  private removed: ServicePortState[] = [];
  private added: ServicePortState[] = [];

  /** Every programmable service port, sorted as buildServicePorts sorts them. */
  build(services: readonly Service[], endpointsByKey: (key: string) => Endpoints | undefined): ServicePortState[] {
    this.rebuildAll(services, endpointsByKey);
    return this.list();
  }

  /** Rebuilds from every service (the first sync; a large batch of changes), then what changed. */
  rebuildAll(services: readonly Service[], endpointsByKey: (key: string) => Endpoints | undefined): PortChanges {
    if (!this.update(services, endpointsByKey)) this.rebuild(services, endpointsByKey);
    return this.takeChanges();
  }

  /**
   * Brings only the entries of `keys` up to date (services whose Service or
   * Endpoints object changed, came or went), leaving the others alone:
   * O(changed services), not a pass over every service. Returns what changed.
   */
  apply(keys: Iterable<string>, serviceByKey: (key: string) => Service | undefined, endpointsByKey: (key: string) => Endpoints | undefined): PortChanges {
    for (const key of keys) {
      const last = this.entries.get(key);
      const svc = serviceByKey(key);
      const eps = svc ? endpointsByKey(key) : undefined;
      if (last && last.svc === svc && last.eps === eps) continue;
      if (!svc) {
        if (last) this.remove(key, last);
        continue;
      }
      const entry = entryOf(svc, eps);
      this.added.push(...entry.ports);
      if (last) this.removed.push(...last.ports);
      else this.order.splice(this.position(entry), 0, key);
      this.entries.set(key, entry);
    }
    return this.takeChanges();
  }

  /** Every port of the current entries, sorted. */
  list(): ServicePortState[] {
    const out: ServicePortState[] = [];
    for (const key of this.order) for (const sp of this.entries.get(key)?.ports ?? []) out.push(sp);
    return out;
  }

  /** How many services the cache holds. */
  get size(): number {
    return this.entries.size;
  }

  private takeChanges(): PortChanges {
    const changes = { removed: this.removed, added: this.added };
    this.removed = [];
    this.added = [];
    return changes;
  }

  private remove(key: string, last: CacheEntry): void {
    this.removed.push(...last.ports);
    const at = this.position(last);
    if (this.order[at] === key) this.order.splice(at, 1);
    else this.order = this.order.filter((k) => k !== key); // not where sorting puts it: a bug, but never a lost key
    this.entries.delete(key);
  }

  /** Where `entry` is, or would go, in `order` (binary search by namespace, then name). */
  private position(entry: { readonly namespace: string; readonly name: string }): number {
    let lo = 0;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const other = this.entries.get(this.order[mid] ?? '');
      if ((cmp(other?.namespace ?? '', entry.namespace) || cmp(other?.name ?? '', entry.name)) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * The common case, no service added or removed (as many services as
   * entries, each found: the same keys): only the changed entries are
   * replaced, in place. False when services came or went.
   */
  private update(services: readonly Service[], endpointsByKey: (key: string) => Endpoints | undefined): boolean {
    if (services.length !== this.entries.size) return false;
    for (const svc of services) if (!this.entries.has(this.keyOf(svc))) return false;
    for (const svc of services) {
      const key = this.keyOf(svc);
      const last = this.entries.get(key);
      const eps = endpointsByKey(key);
      if (!last || last.svc !== svc || last.eps !== eps) {
        const entry = entryOf(svc, eps);
        if (last) this.removed.push(...last.ports);
        this.added.push(...entry.ports);
        this.entries.set(key, entry);
      }
    }
    return true;
  }

  private rebuild(services: readonly Service[], endpointsByKey: (key: string) => Endpoints | undefined): void {
    const next = new Map<string, CacheEntry>();
    for (const svc of services) {
      const key = this.keyOf(svc);
      const eps = endpointsByKey(key);
      const last = this.entries.get(key);
      if (last && last.svc === svc && last.eps === eps) next.set(key, last);
      else {
        const entry = entryOf(svc, eps);
        if (last) this.removed.push(...last.ports);
        this.added.push(...entry.ports);
        next.set(key, entry);
      }
    }
    for (const [key, last] of this.entries) if (!next.has(key)) this.removed.push(...last.ports);
    this.entries = next;
    this.order = [...next.keys()].sort((a, b) => {
      const x = next.get(a);
      const y = next.get(b);
      return cmp(x?.namespace ?? '', y?.namespace ?? '') || cmp(x?.name ?? '', y?.name ?? '');
    });
  }

  private keyOf(svc: Service): string {
    let key = this.keys.get(svc);
    if (key === undefined) {
      key = `${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}`;
      this.keys.set(svc, key);
    }
    return key;
  }
}

/**
 * The ports last made from each Service object, with the Endpoints object
 * they were made with: proxies that share informers (the hollow nodes of one
 * process) share one ServicePortState per service port instead of each
 * building its own copy of every endpoint, and the rule pieces keyed on it
 * (rules.ts) are shared with it. The ports are a pure function of the two
 * objects, which informers never modify.
 */
const portsBySvc = new WeakMap<Service, { readonly eps: Endpoints | undefined; readonly ports: ServicePortState[] }>();

function sharedPortsOf(svc: Service, eps: Endpoints | undefined): ServicePortState[] {
  const last = portsBySvc.get(svc);
  if (last && last.eps === eps) return last.ports;
  const ports = portsOfService(svc, eps);
  portsBySvc.set(svc, { eps, ports });
  return ports;
}

function entryOf(svc: Service, eps: Endpoints | undefined): CacheEntry {
  return { namespace: svc.metadata?.namespace ?? '', name: svc.metadata?.name ?? '', svc, eps, ports: sharedPortsOf(svc, eps) };
}

interface CacheEntry {
  readonly namespace: string;
  readonly name: string;
  readonly svc: Service;
  readonly eps: Endpoints | undefined;
  /** Sorted by port name, then protocol; shared with other caches (never modified). */
  readonly ports: readonly ServicePortState[];
}

/**
 * Every programmable service port with its ready endpoints, sorted by
 * namespace, name and port name. `endpointsByKey` maps "ns/name" to the
 * service's Endpoints object.
 */
export function buildServicePorts(services: readonly Service[], endpointsByKey: (key: string) => Endpoints | undefined): ServicePortState[] {
  return new ServicePortCache().build(services, endpointsByKey);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
