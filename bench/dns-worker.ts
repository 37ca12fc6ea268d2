// The processes of `npm run bench:dns`, each started by bench/dns.ts inside
// one of its network namespaces (never the host's):
//
//   serve IP FLOOR_IP SERVICES   in the "node" namespace: the cluster DNS
//       (tsk's dns/ server, the record index of SERVICES Services with their
//       Endpoints) on IP:53, and the floor on FLOOR_IP:53: a responder that
//       decodes each query and encodes one fixed A answer with the same
//       dns-packet library, nothing else. Prints "ready".
//   load IP NAME COUNT INFLIGHT  in the "pod" namespace: COUNT UDP queries
//       for NAME with INFLIGHT outstanding, prints one JSON line with qps and
//       latency percentiles.

import * as dgram from 'node:dgram';
import * as dnsPacket from 'dns-packet';
import { Registry } from 'prom-client';
import type { Endpoints, Service } from '../api/gen/tsk/v1/core';
import { listenDns, newDnsMetrics, newUpstream, RecordIndex } from '../dns';
import { percentile } from './pool';

export interface LoadResult {
  readonly qps: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly errors: number;
}

/** SERVICES Services svc-0..N-1 in namespace bench, each with 3 endpoints; svc-0 is the one asked for. */
function clusterState(n: number): { services: Service[]; endpoints: Map<string, Endpoints> } {
  const services: Service[] = [];
  const endpoints = new Map<string, Endpoints>();
  for (let i = 0; i < n; i++) {
    const name = `svc-${i}`;
    services.push({
      metadata: { namespace: 'bench', name },
      spec: { clusterIP: `10.96.${10 + Math.floor(i / 250)}.${(i % 250) + 1}`, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
    });
    endpoints.set(`bench/${name}`, {
      metadata: { namespace: 'bench', name },
      subsets: [{ addresses: [1, 2, 3].map((k) => ({ ip: `10.244.${k}.${(i % 250) + 1}` })), ports: [{ name: 'http', port: 8080 }] }],
    });
  }
  return { services, endpoints };
}

async function serve(ip: string, floorIp: string, services: number): Promise<void> {
  const state = clusterState(services);
  const index = new RecordIndex({ domain: 'cluster.local', dnsIP: ip }, state.services, (k) => state.endpoints.get(k), 1);
  const metrics = newDnsMetrics(new Registry());
  await listenDns({ address: ip, port: 53, records: () => index, upstream: newUpstream([], metrics), metrics });
  const floor = dgram.createSocket('udp4');
  floor.on('message', (msg, rinfo) => {
    const q = dnsPacket.decode(msg);
    const name = q.questions?.[0]?.name ?? '';
    const answer = dnsPacket.encode({
      type: 'response',
      id: q.id,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_AVAILABLE,
      questions: q.questions,
      answers: [{ type: 'A', name, ttl: 5, data: '10.96.10.1' }],
    });
    floor.send(answer, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => floor.bind(53, floorIp, r));
  console.log('ready');
}

/** COUNT queries with INFLIGHT outstanding over one UDP socket; a query unanswered after 1 s counts as an error. */
async function load(ip: string, name: string, count: number, inflight: number): Promise<LoadResult> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, r));
  const pending = new Map<number, { sent: number; done: () => void }>();
  sock.on('message', (msg) => {
    const id = msg.readUInt16BE(0);
    pending.get(id)?.done();
  });
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  let nextId = 0;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const id = nextId++ & 0xffff;
      const query = dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name }] });
      const sent = performance.now();
      const timer = setTimeout(() => {
        pending.delete(id);
        errors++;
        resolve();
      }, 1000);
      pending.set(id, {
        sent,
        done: () => {
          clearTimeout(timer);
          pending.delete(id);
          latencies.push(performance.now() - sent);
          resolve();
        },
      });
      sock.send(query, 53, ip);
    });
  const start = performance.now();
  await Promise.all(
    Array.from({ length: inflight }, async () => {
      while (next++ < count) await one();
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  sock.close();
  latencies.sort((a, b) => a - b);
  return { qps: Math.round(latencies.length / seconds), p50_ms: percentile(latencies, 50), p99_ms: percentile(latencies, 99), errors };
}

if (require.main === module) {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === 'serve') {
    serve(args[0] ?? '', args[1] ?? '', Number(args[2] ?? '1000')).catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
  } else if (mode === 'load') {
    load(args[0] ?? '', args[1] ?? '', Number(args[2]), Number(args[3])).then(
      (r) => console.log(JSON.stringify(r)),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  } else {
    console.error('usage: dns-worker serve IP FLOOR_IP SERVICES | load IP NAME COUNT INFLIGHT');
    process.exit(2);
  }
}
