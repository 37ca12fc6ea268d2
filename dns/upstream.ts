// The upstream resolvers: names outside the cluster go to the node's own
// resolvers (kubeadm's Corefile: `forward . /etc/resolv.conf`), read from
// the file the kubelet's --resolv-conf names, without loopback servers (a
// systemd-resolved stub on 127.0.0.53 is the node's, not reachable from the
// address pods ask). A query goes out over the transport it came in on, so
// a truncated UDP answer makes the client retry over TCP through us.

import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { isLoopbackNameserver, parseResolvConf } from '../util/resolv-conf';
import type { DnsMetrics } from './metrics';

export type Transport = 'udp' | 'tcp';

/** CoreDNS's forward plugin gives an upstream a few seconds before trying the next. */
export const UPSTREAM_TIMEOUT_MS = 2000;

export interface Upstream {
  /** The raw answer of the first resolver that answers; undefined when none does (the caller says SERVFAIL). */
  forward(query: Buffer, transport: Transport): Promise<Buffer | undefined>;
  readonly servers: readonly string[];
}

/** The upstream servers of a resolv.conf: its nameservers, without loopback ones, as HOST:53 or [v6]:53. */
export function upstreamServers(resolvConfText: string): string[] {
  return parseResolvConf(resolvConfText)
    .nameservers.filter((s) => !isLoopbackNameserver(s))
    .map((s) => (s.includes(':') ? `[${s}]:53` : `${s}:53`));
}

export function readUpstreamServers(file: string): string[] {
  return upstreamServers(fs.readFileSync(file, 'utf8'));
}

function splitHostPort(server: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(server);
  if (!m) throw new Error(`upstream "${server}" is not HOST:PORT`);
  return { host: m[1]!, port: Number(m[2]) };
}

/** One UDP exchange; resolves undefined on timeout or socket error. */
export function queryUdp(server: string, query: Buffer, timeoutMs = UPSTREAM_TIMEOUT_MS): Promise<Buffer | undefined> {
  const { host, port } = splitHostPort(server);
  const id = query.readUInt16BE(0);
  return new Promise((resolve) => {
    const sock = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    const done = (answer: Buffer | undefined): void => {
      clearTimeout(timer);
      sock.close();
      resolve(answer);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    sock.on('error', () => done(undefined));
    // Only the answer to this query's ID: a late answer to an earlier one is not it.
    sock.on('message', (msg) => {
      if (msg.length >= 12 && msg.readUInt16BE(0) === id) done(msg);
    });
    sock.send(query, port, host);
  });
}

/** One TCP exchange (two-byte length prefixes, RFC 1035 4.2.2); resolves undefined on timeout or error. */
export function queryTcp(server: string, query: Buffer, timeoutMs = UPSTREAM_TIMEOUT_MS): Promise<Buffer | undefined> {
  const { host, port } = splitHostPort(server);
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    let buf = Buffer.alloc(0);
    const done = (answer: Buffer | undefined): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    sock.on('error', () => done(undefined));
    sock.on('close', () => done(undefined));
    sock.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(query.length);
      sock.write(Buffer.concat([len, query]));
    });
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) done(buf.subarray(2, 2 + buf.readUInt16BE(0)));
    });
  });
}

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

/** The rcode's name from a raw message's header. */
export function rcodeOf(message: Buffer): string {
  const code = message.length >= 4 ? message[3]! & 0xf : 2;
  return RCODES[code] ?? `RCODE${code}`;
}

/** Forwards to `servers` in order, each with its own timeout, counting in `metrics`. */
export function newUpstream(servers: readonly string[], metrics: DnsMetrics, timeoutMs = UPSTREAM_TIMEOUT_MS): Upstream {
  return {
    servers,
    async forward(query: Buffer, transport: Transport): Promise<Buffer | undefined> {
      for (const to of servers) {
        metrics.forwardRequests.inc({ to });
        const answer = transport === 'udp' ? await queryUdp(to, query, timeoutMs) : await queryTcp(to, query, timeoutMs);
        if (answer) {
          metrics.forwardResponses.inc({ rcode: rcodeOf(answer), to });
          return answer;
        }
        metrics.forwardErrors.inc({ to });
      }
      return undefined;
    },
  };
}
