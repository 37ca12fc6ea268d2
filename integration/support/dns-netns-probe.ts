// Run inside a test's network namespace (never the host's) by
// integration/dns-server.test.ts: starts tsk's DNS server on 127.0.0.1:53
// with a fixed record index and the fake upstream 127.0.0.2:53 as its
// resolver, asks it the queries of the test over UDP and TCP with the
// server's own client functions, and prints one JSON line of the answers.

import * as dnsPacket from 'dns-packet';
import { Registry } from 'prom-client';
import type { Service } from '../../api/gen/tsk/v1/core';
import { listenDns, newDnsMetrics, newUpstream, queryTcp, queryUdp, RecordIndex } from '../../dns';

export interface ProbeAnswer {
  readonly rcode: string;
  readonly tc: boolean;
  readonly aa: boolean;
  readonly answers: Array<[string, string, unknown]>;
  readonly authorities: string[];
}

export type ProbeResult = Record<string, ProbeAnswer | null>;

const SERVICES: Service[] = [
  { metadata: { namespace: 'demo', name: 'web' }, spec: { clusterIP: '10.96.0.20', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } },
  { metadata: { namespace: 'demo', name: 'ext' }, spec: { type: 'ExternalName', externalName: 'upstream.example' } },
  { metadata: { namespace: 'demo', name: 'big' }, spec: { clusterIP: 'None' } },
];
const BIG = { subsets: [{ addresses: Array.from({ length: 40 }, (_, i) => ({ ip: `10.244.1.${i + 1}` })) }] };

function summary(raw: Buffer | undefined): ProbeAnswer | null {
  if (!raw) return null;
  const p = dnsPacket.decode(raw) as dnsPacket.DecodedPacket & { rcode?: string };
  return {
    rcode: p.rcode ?? '',
    tc: p.flag_tc,
    aa: p.flag_aa,
    answers: (p.answers ?? []).map((a) => [a.type, a.name, 'data' in a ? a.data : null]),
    authorities: (p.authorities ?? []).map((a) => a.type),
  };
}

async function main(): Promise<void> {
  const index = new RecordIndex({ domain: 'cluster.local', dnsIP: '127.0.0.1' }, SERVICES, (k) => (k === 'demo/big' ? BIG : undefined), 1);
  const metrics = newDnsMetrics(new Registry());
  const server = await listenDns({ address: '127.0.0.1', port: 53, records: () => index, upstream: newUpstream(['127.0.0.2:53'], metrics, 500), metrics });
  const q = (name: string, type: dnsPacket.RecordType): Buffer =>
    dnsPacket.encode({ type: 'query', id: Math.floor(Math.random() * 65535), flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] });
  const at = '127.0.0.1:53';
  const result: ProbeResult = {
    udpA: summary(await queryUdp(at, q('web.demo.svc.cluster.local', 'A'))),
    tcpA: summary(await queryTcp(at, q('web.demo.svc.cluster.local', 'A'))),
    srv: summary(await queryUdp(at, q('_http._tcp.web.demo.svc.cluster.local', 'SRV'))),
    nxdomain: summary(await queryUdp(at, q('nope.demo.svc.cluster.local', 'A'))),
    nodata: summary(await queryUdp(at, q('web.demo.svc.cluster.local', 'AAAA'))),
    forwarded: summary(await queryUdp(at, q('upstream.example', 'A'))),
    forwardedTcp: summary(await queryTcp(at, q('upstream.example', 'A'))),
    forwardedNx: summary(await queryUdp(at, q('other.example', 'A'))),
    cname: summary(await queryUdp(at, q('ext.demo.svc.cluster.local', 'A'))),
    bigUdp: summary(await queryUdp(at, q('big.demo.svc.cluster.local', 'A'))),
    bigTcp: summary(await queryTcp(at, q('big.demo.svc.cluster.local', 'A'))),
  };
  await server.close();
  console.log(JSON.stringify(result));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
