// The DNS server: UDP and TCP on one address, each query answered from the
// current record index or forwarded upstream. The wire format is
// dns-packet's; this file decides only what goes in a response.
//
// UDP answers larger than the client can take (512 bytes, or its EDNS0
// payload size) are sent truncated (TC, no records), so the client asks
// again over TCP (RFC 1035 4.2.1, RFC 6891 6.2.5).

import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, OptAnswer, Packet } from 'dns-packet';
import type { DnsMetrics } from './metrics';
import { typeLabel } from './metrics';
import { canonicalName, type Authoritative, type QType, type RecordIndex } from './records';
import { rcodeOf, type Transport, type Upstream } from './upstream';

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4 } as const;
type RcodeName = keyof typeof RCODE;
/** The largest EDNS0 UDP payload we send, the DNS flag day 2020 value. */
const MAX_UDP_PAYLOAD = 1232;
const CLASSIC_UDP_PAYLOAD = 512;
/** How many CNAME hops an ExternalName chain is followed inside the zone. */
const MAX_CHASE = 8;

export interface DnsServerOptions {
  /** The address to bind (the cluster DNS address); port 0 picks a free one (tests, bench). */
  readonly address: string;
  readonly port: number;
  /** The current records; called per query, so it must be cheap (see ClusterRecords). */
  readonly records: () => RecordIndex;
  readonly upstream: Upstream;
  readonly metrics: DnsMetrics;
  readonly log?: (line: string) => void;
}

function optOf(query: Packet): OptAnswer | undefined {
  return query.additionals?.find((a): a is OptAnswer => a.type === 'OPT');
}

/** The UDP payload size the client can take. */
function udpLimit(query: Packet): number {
  const opt = optOf(query);
  return opt ? Math.min(Math.max(opt.udpPayloadSize ?? CLASSIC_UDP_PAYLOAD, CLASSIC_UDP_PAYLOAD), MAX_UDP_PAYLOAD) : CLASSIC_UDP_PAYLOAD;
}

/** A bare error response echoing the query's ID (and question, when it was readable). */
function errorResponse(raw: Buffer, rcode: RcodeName, query?: DecodedPacket): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id: raw.length >= 2 ? raw.readUInt16BE(0) : 0,
    flags: (query?.flag_rd ? dnsPacket.RECURSION_DESIRED : 0) | dnsPacket.RECURSION_AVAILABLE | RCODE[rcode],
    questions: query?.questions ?? [],
  });
}

/** Answers DNS messages; no sockets (those are in listen()), so tests and the bench can call it directly. */
export class DnsHandler {
  constructor(private readonly opts: Omit<DnsServerOptions, 'address' | 'port'>) {}

  /** The response to one raw query, or undefined when there is nothing to answer (not a query). */
  async handle(raw: Buffer, transport: Transport): Promise<Buffer | undefined> {
    const started = performance.now();
    let query: DecodedPacket;
    try {
      query = dnsPacket.decode(raw);
    } catch {
      return raw.length >= 12 ? this.count(errorResponse(raw, 'FORMERR'), 'other', transport, started) : undefined;
    }
    if (query.type !== 'query') return undefined;
    const question = query.questions?.[0];
    const type = typeLabel(question?.type ?? 'other');
    if (!question || query.questions?.length !== 1) return this.count(errorResponse(raw, 'FORMERR', query), type, transport, started);
    // Only standard queries (opcode 0): the opcode is bits 11-14 of the flags.
    if (((query.flags ?? 0) >> 11) & 0xf) return this.count(errorResponse(raw, 'NOTIMP', query), type, transport, started);
    const lookup = this.opts.records().lookup(question.name, question.type as QType);
    if (lookup.kind === 'forward') {
      const answer = await this.opts.upstream.forward(raw, transport);
      return this.count(answer ?? errorResponse(raw, 'SERVFAIL', query), type, transport, started);
    }
    const answered = lookup.chase !== undefined ? await this.chase(lookup, question.type as QType, transport) : lookup;
    return this.count(this.encode(query, answered, transport), type, transport, started);
  }

  private count(response: Buffer, type: string, transport: Transport, started: number): Buffer {
    const m = this.opts.metrics;
    m.requests.inc({ type, proto: transport });
    m.responses.inc({ rcode: rcodeOf(response) });
    m.duration.observe({ type }, (performance.now() - started) / 1000);
    return response;
  }

  /**
   * An ExternalName's CNAME with the records of its target: followed inside
   * the zone, asked upstream outside it, as CoreDNS does; the CNAME alone if
   * the upstream does not answer (the client may still follow it).
   */
  private async chase(first: Authoritative, qtype: QType, transport: Transport): Promise<Authoritative> {
    const answers: Answer[] = [...first.answers];
    let target = first.chase;
    for (let hop = 0; target !== undefined && hop < MAX_CHASE; hop++) {
      const records = this.opts.records();
      if (!records.inZone(target)) {
        answers.push(...(await this.upstreamAnswers(target, qtype, transport)));
        break;
      }
      const next = records.lookup(target, qtype);
      if (next.kind !== 'authoritative') break;
      answers.push(...next.answers);
      target = next.chase;
    }
    return { ...first, answers };
  }

  private async upstreamAnswers(name: string, qtype: QType, transport: Transport): Promise<Answer[]> {
    const query = dnsPacket.encode({
      type: 'query',
      id: Math.floor(Math.random() * 65536),
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type: qtype as Answer['type'], name: canonicalName(name) }],
    });
    const raw = await this.opts.upstream.forward(query, transport);
    if (!raw) return [];
    try {
      return dnsPacket.decode(raw).answers ?? [];
    } catch {
      return [];
    }
  }

  private encode(query: DecodedPacket, a: Authoritative, transport: Transport): Buffer {
    const opt = optOf(query);
    const ourOpt: OptAnswer[] = opt
      ? [{ type: 'OPT', name: '.', udpPayloadSize: MAX_UDP_PAYLOAD, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }]
      : [];
    const header = {
      type: 'response' as const,
      id: query.id ?? 0,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | (query.flag_rd ? dnsPacket.RECURSION_DESIRED : 0) | dnsPacket.RECURSION_AVAILABLE | RCODE[a.rcode],
      questions: query.questions ?? [],
    };
    const full = dnsPacket.encode({ ...header, answers: a.answers, authorities: a.authorities, additionals: [...a.additionals, ...ourOpt] });
    if (transport === 'tcp' || full.length <= udpLimit(query)) return full;
    return dnsPacket.encode({ ...header, flags: header.flags | dnsPacket.TRUNCATED_RESPONSE, additionals: ourOpt });
  }
}

export interface ListeningDnsServer {
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

function listenUdp(handler: DnsHandler, address: string, port: number, log: (line: string) => void): Promise<dgram.Socket> {
  const sock = dgram.createSocket({ type: net.isIPv6(address) ? 'udp6' : 'udp4' });
  sock.on('message', (msg, rinfo) => {
    handler.handle(msg, 'udp').then(
      (answer) => answer && sock.send(answer, rinfo.port, rinfo.address),
      (err: unknown) => log(`udp query from ${rinfo.address}: ${String(err)}`),
    );
  });
  return new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, address, () => {
      sock.off('error', reject);
      sock.on('error', (err) => log(`udp socket: ${err.message}`));
      resolve(sock);
    });
  });
}

/** One TCP connection: length-prefixed messages, answered in order. */
function serveTcpConnection(handler: DnsHandler, conn: net.Socket, log: (line: string) => void): void {
  let buf = Buffer.alloc(0);
  let chain = Promise.resolve();
  conn.setTimeout(10_000, () => conn.destroy());
  conn.on('error', () => undefined);
  conn.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
      buf = buf.subarray(2 + msg.length);
      chain = chain.then(async () => {
        const answer = await handler.handle(msg, 'tcp').catch((err: unknown) => {
          log(`tcp query: ${String(err)}`);
          return undefined;
        });
        if (!answer || conn.destroyed) return;
        const len = Buffer.alloc(2);
        len.writeUInt16BE(answer.length);
        conn.write(Buffer.concat([len, answer]));
      });
    }
  });
}

interface TcpListener {
  readonly server: net.Server;
  /** Open connections: closing the server waits for them, so close() ends them. */
  readonly conns: Set<net.Socket>;
}

function listenTcp(handler: DnsHandler, address: string, port: number, log: (line: string) => void): Promise<TcpListener> {
  const conns = new Set<net.Socket>();
  const server = net.createServer((conn) => {
    conns.add(conn);
    conn.on('close', () => conns.delete(conn));
    serveTcpConnection(handler, conn, log);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.off('error', reject);
      resolve({ server, conns });
    });
  });
}

/** Binds UDP and TCP on the same address and port (port 0: UDP's free port, then TCP on it). */
export async function listenDns(opts: DnsServerOptions): Promise<ListeningDnsServer> {
  const log = opts.log ?? (() => undefined);
  const handler = new DnsHandler(opts);
  const udp = await listenUdp(handler, opts.address, opts.port, log);
  const port = udp.address().port;
  let tcp: TcpListener;
  try {
    tcp = await listenTcp(handler, opts.address, port, log);
  } catch (err) {
    udp.close();
    throw err;
  }
  return {
    address: opts.address,
    port,
    close: async () => {
      await new Promise<void>((resolve) => udp.close(() => resolve()));
      await new Promise<void>((resolve) => {
        tcp.server.close(() => resolve());
        for (const conn of tcp.conns) conn.destroy();
      });
    },
  };
}
