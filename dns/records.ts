// The cluster zone's records, as Kubernetes' DNS specification
// (kubernetes/dns docs/specification.md) and CoreDNS's kubernetes plugin
// answer them. Pure: an index built from Services and Endpoints, and a
// lookup of one question against it; no I/O, no clock.
//
//   SVC.NS.svc.ZONE                      A: the ClusterIP; headless: every ready endpoint
//                                          (and not-ready ones with publishNotReadyAddresses)
//                                        CNAME: spec.externalName of type ExternalName
//   HOST.SVC.NS.svc.ZONE                 A of a headless endpoint: HOST is its hostname,
//                                          else its dashed IP (CoreDNS's choice)
//   _PORT._PROTO.SVC.NS.svc.ZONE         SRV per named port (headless: one per endpoint)
//   A-B-C-D.NS.pod.ZONE                  A A.B.C.D for any namespace (CoreDNS's `pods insecure`,
//                                          kubeadm's default)
//   D.C.B.A.in-addr.arpa                 PTR of ClusterIPs and of headless endpoints with hostnames
//   ZONE                                 SOA and NS (ns.dns.ZONE, the cluster DNS address)
//
// A name that exists without records of the asked type (including empty
// non-terminals such as NS.svc.ZONE) is NODATA; one that does not exist is
// NXDOMAIN; both carry the zone's SOA. Reverse names the index does not
// hold, and names of other zones, are forwarded (kubeadm's Corefile:
// `fallthrough in-addr.arpa ip6.arpa`, then `forward . /etc/resolv.conf`).

import type { Answer, RecordType, SoaAnswer } from 'dns-packet';
import type { EndpointAddress, Endpoints, Service } from '../api/gen/tsk/v1/core';
import { parseIPv4 } from '../util/ipv4';

/** CoreDNS's kubernetes plugin default TTL. */
export const TTL_SECONDS = 5;

export interface ZoneConfig {
  /** The cluster domain, without a trailing dot (cluster.local). */
  readonly domain: string;
  /** The cluster DNS address, served as ns.dns.ZONE. */
  readonly dnsIP: string;
}

export type Rcode = 'NOERROR' | 'NXDOMAIN';

/** A question's type: dns-packet's RecordType lacks the meta-type ANY (255). */
export type QType = RecordType | 'ANY';

/** An answer from the cluster's records. */
export interface Authoritative {
  readonly kind: 'authoritative';
  readonly rcode: Rcode;
  readonly answers: Answer[];
  readonly authorities: Answer[];
  readonly additionals: Answer[];
  /** An ExternalName's CNAME target, to be resolved further (not for CNAME questions). */
  readonly chase?: string;
}

/** Not a name of the cluster: ask the upstream resolvers. */
export interface Forward {
  readonly kind: 'forward';
}

export type Lookup = Authoritative | Forward;

const FORWARD: Forward = { kind: 'forward' };

/** DNS names compare without case and without the trailing dot. */
export function canonicalName(name: string): string {
  return name.replace(/\.$/, '').toLowerCase();
}

function dashed(ip: string): string {
  return ip.replace(/\./g, '-');
}

/** d.c.b.a.in-addr.arpa of an IPv4 address. */
export function reverseName(ip: string): string {
  return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
}

function isUnder(name: string, zone: string): boolean {
  return name === zone || name.endsWith(`.${zone}`);
}

function addressesOf(svc: Service, eps: Endpoints | undefined): EndpointAddress[] {
  const out: EndpointAddress[] = [];
  for (const subset of eps?.subsets ?? []) {
    out.push(...(subset.addresses ?? []));
    if (svc.spec?.publishNotReadyAddresses) out.push(...(subset.notReadyAddresses ?? []));
  }
  return out.filter((a) => a.ip && parseIPv4(a.ip) !== undefined);
}

/**
 * The records of one cluster state. Immutable once built; the server builds
 * a new one when a Service or Endpoints changes.
 */
export class RecordIndex {
  private readonly records = new Map<string, Answer[]>();
  /** Every name that exists: the names with records and all their ancestors up to the zone. */
  private readonly names = new Set<string>();
  private readonly zone: string;
  private readonly soa: SoaAnswer;

  /**
   * `endpointsOf` gives the Endpoints of "ns/name"; `serial` is the SOA serial
   * (a number that grows with each change: the server uses seconds since the epoch).
   */
  constructor(
    private readonly config: ZoneConfig,
    services: readonly Service[],
    endpointsOf: (key: string) => Endpoints | undefined,
    serial = 1,
  ) {
    this.zone = canonicalName(config.domain);
    this.soa = {
      type: 'SOA',
      name: this.zone,
      ttl: TTL_SECONDS,
      data: {
        mname: `ns.dns.${this.zone}`,
        rname: `hostmaster.${this.zone}`,
        serial: serial >>> 0,
        refresh: 7200,
        retry: 1800,
        expire: 86400,
        minimum: TTL_SECONDS,
      },
    };
    this.add(this.soa);
    this.add({ type: 'NS', name: this.zone, ttl: TTL_SECONDS, data: `ns.dns.${this.zone}` });
    this.add({ type: 'A', name: `ns.dns.${this.zone}`, ttl: TTL_SECONDS, data: config.dnsIP });
    this.exists(`svc.${this.zone}`);
    this.exists(`pod.${this.zone}`);
    for (const svc of services) this.addService(svc, endpointsOf);
  }

  private exists(name: string): void {
    for (let n = name; isUnder(n, this.zone); n = n.slice(n.indexOf('.') + 1)) {
      if (this.names.has(n)) return;
      this.names.add(n);
      if (n === this.zone) return;
    }
  }

  private add(record: Answer): void {
    const name = canonicalName(record.name);
    const list = this.records.get(name);
    const same = (r: Answer): boolean => r.type === record.type && JSON.stringify(r) === JSON.stringify(record);
    if (list?.some(same)) return;
    if (list) list.push(record);
    else this.records.set(name, [record]);
    this.exists(name);
  }

  private a(name: string, ip: string): void {
    this.add({ type: 'A', name, ttl: TTL_SECONDS, data: ip });
  }

  private ptr(ip: string, target: string): void {
    this.add({ type: 'PTR', name: reverseName(ip), ttl: TTL_SECONDS, data: target });
  }

  private srv(name: string, target: string, port: number, weight: number): void {
    this.add({ type: 'SRV', name, ttl: TTL_SECONDS, data: { priority: 0, weight, port, target } });
  }

  private addService(svc: Service, endpointsOf: (key: string) => Endpoints | undefined): void {
    const ns = svc.metadata?.namespace ?? '';
    const name = svc.metadata?.name ?? '';
    if (!ns || !name) return;
    const base = `${name}.${ns}.svc.${this.zone}`.toLowerCase();
    const spec = svc.spec ?? {};
    this.exists(base);
    if (spec.type === 'ExternalName') {
      if (spec.externalName) this.add({ type: 'CNAME', name: base, ttl: TTL_SECONDS, data: canonicalName(spec.externalName) });
      return;
    }
    const clusterIP = spec.clusterIP ?? '';
    if (clusterIP !== '' && clusterIP !== 'None') {
      if (parseIPv4(clusterIP) === undefined) return;
      this.a(base, clusterIP);
      this.ptr(clusterIP, base);
      for (const p of spec.ports ?? []) {
        if (p.name && p.port) this.srv(`_${p.name}._${(p.protocol || 'TCP').toLowerCase()}.${base}`, base, p.port, 100);
      }
      return;
    }
    this.addHeadless(svc, base, endpointsOf(`${ns}/${name}`));
  }

  private addHeadless(svc: Service, base: string, eps: Endpoints | undefined): void {
    for (const subset of eps?.subsets ?? []) {
      const addrs = addressesOf(svc, { subsets: [subset] });
      const weight = addrs.length > 0 ? Math.max(1, Math.floor(100 / addrs.length)) : 0;
      for (const addr of addrs) {
        const ip = addr.ip ?? '';
        const host = `${(addr.hostname || dashed(ip)).toLowerCase()}.${base}`;
        this.a(base, ip);
        this.a(host, ip);
        if (addr.hostname) this.ptr(ip, host);
        for (const p of subset.ports ?? []) {
          if (p.name && p.port) this.srv(`_${p.name}._${(p.protocol || 'TCP').toLowerCase()}.${base}`, host, p.port, weight);
        }
      }
    }
  }

  /** Answers one question. `qname` may have any case and a trailing dot. */
  lookup(qname: string, qtype: QType): Lookup {
    const name = canonicalName(qname);
    if (name.endsWith('.in-addr.arpa')) return this.lookupReverse(name, qtype);
    if (!isUnder(name, this.zone)) return FORWARD;
    const podIP = this.podAddress(name);
    if (podIP !== undefined) {
      return this.answer(qtype === 'A' || qtype === 'ANY' ? [{ type: 'A', name, ttl: TTL_SECONDS, data: podIP }] : []);
    }
    const records = this.records.get(name) ?? [];
    const cname = records.find((r) => r.type === 'CNAME');
    if (cname && qtype !== 'CNAME') {
      return { ...this.answer([cname]), chase: (cname as { data: string }).data };
    }
    if (!this.names.has(name)) return this.nxdomain();
    const matching = records.filter((r) => qtype === 'ANY' || r.type === qtype);
    return this.answer(matching, this.additionalsFor(matching));
  }

  private lookupReverse(name: string, qtype: QType): Lookup {
    const records = this.records.get(name);
    if (!records) return FORWARD;
    return this.answer(records.filter((r) => qtype === 'ANY' || r.type === qtype));
  }

  /** A.B.C.D of A-B-C-D.NS.pod.ZONE, or undefined for any other name. */
  private podAddress(name: string): string | undefined {
    const suffix = `.pod.${this.zone}`;
    if (!name.endsWith(suffix)) return undefined;
    const labels = name.slice(0, -suffix.length).split('.');
    if (labels.length !== 2) return undefined;
    const ip = labels[0]!.replace(/-/g, '.');
    return parseIPv4(ip) === undefined ? undefined : ip;
  }

  /** The A records of SRV targets, as CoreDNS adds them. */
  private additionalsFor(answers: readonly Answer[]): Answer[] {
    const out: Answer[] = [];
    for (const r of answers) {
      if (r.type !== 'SRV') continue;
      for (const a of this.records.get(r.data.target) ?? []) if (a.type === 'A' && !out.includes(a)) out.push(a);
    }
    return out;
  }

  private answer(answers: Answer[], additionals: Answer[] = []): Authoritative {
    // NODATA: NOERROR with nothing answered, and the SOA for negative caching (RFC 2308).
    return { kind: 'authoritative', rcode: 'NOERROR', answers, authorities: answers.length === 0 ? [this.soa] : [], additionals };
  }

  private nxdomain(): Authoritative {
    return { kind: 'authoritative', rcode: 'NXDOMAIN', answers: [], authorities: [this.soa], additionals: [] };
  }

  /** Whether `name` is in the cluster zone (a CNAME target there is resolved here, not upstream). */
  inZone(name: string): boolean {
    return isUnder(canonicalName(name), this.zone);
  }
}
