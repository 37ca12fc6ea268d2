// The DNS handler on the wire format: what goes in a response (rcodes, AA,
// SOA, EDNS0), UDP truncation, forwarding and ExternalName chasing, with a
// fake upstream (no sockets).

import test from 'ava';
import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Question } from 'dns-packet';
import { Registry } from 'prom-client';
import type { Service } from '../api/gen/tsk/v1/core';
import { newDnsMetrics } from './metrics';
import { RecordIndex } from './records';
import { DnsHandler } from './server';
import type { Transport, Upstream } from './upstream';

const web: Service = { metadata: { namespace: 'demo', name: 'web' }, spec: { clusterIP: '10.96.0.20', ports: [{ name: 'http', port: 80 }] } };
const ext: Service = { metadata: { namespace: 'demo', name: 'db' }, spec: { type: 'ExternalName', externalName: 'db.example.com' } };

/** A fake upstream: answers every query with 192.0.2.1 (or not at all), recording what it was asked. */
function fakeUpstream(answering = true): Upstream & { asked: Array<{ q: Question | undefined; transport: Transport }> } {
  const asked: Array<{ q: Question | undefined; transport: Transport }> = [];
  return {
    servers: ['192.0.2.53:53'],
    asked,
    forward(query: Buffer, transport: Transport): Promise<Buffer | undefined> {
      const q = dnsPacket.decode(query);
      asked.push({ q: q.questions?.[0], transport });
      if (!answering) return Promise.resolve(undefined);
      const name = q.questions?.[0]?.name ?? '';
      return Promise.resolve(
        dnsPacket.encode({
          type: 'response',
          id: q.id,
          flags: dnsPacket.RECURSION_AVAILABLE,
          questions: q.questions,
          answers: [{ type: 'A', name, ttl: 60, data: '192.0.2.1' }],
        }),
      );
    },
  };
}

function handler(services: Service[], upstream: Upstream = fakeUpstream()): { h: DnsHandler; registry: Registry } {
  const registry = new Registry();
  const index = new RecordIndex({ domain: 'cluster.local', dnsIP: '10.96.0.10' }, services, () => undefined);
  return { h: new DnsHandler({ records: () => index, upstream, metrics: newDnsMetrics(registry) }), registry };
}

function query(name: string, type: Question['type'], opts: { edns?: number } = {}): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: 4242,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name }],
    ...(opts.edns
      ? { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: opts.edns, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] }
      : {}),
  });
}

async function ask(h: DnsHandler, raw: Buffer, transport: Transport = 'udp'): Promise<DecodedPacket & { rcode?: string }> {
  const answer = await h.handle(raw, transport);
  if (!answer) throw new Error('no answer');
  return dnsPacket.decode(answer) as DecodedPacket & { rcode?: string };
}

const datas = (answers: Answer[] | undefined): unknown[] => (answers ?? []).map((a) => ('data' in a ? a.data : undefined));

test('a cluster name: authoritative, the question echoed, the ID kept, RD copied and RA set', async (t) => {
  const { h } = handler([web]);
  const r = await ask(h, query('web.demo.svc.cluster.local', 'A'));
  t.is(r.id, 4242);
  t.true(r.flag_aa);
  t.true(r.flag_rd);
  t.true(r.flag_ra);
  t.is(r.rcode, 'NOERROR');
  t.deepEqual(r.questions, [{ type: 'A', class: 'IN', name: 'web.demo.svc.cluster.local' }]);
  t.deepEqual(datas(r.answers), ['10.96.0.20']);
});

test('NXDOMAIN and NODATA carry the SOA in the authority section', async (t) => {
  const { h } = handler([web]);
  const nx = await ask(h, query('nope.demo.svc.cluster.local', 'A'));
  t.is(nx.rcode, 'NXDOMAIN');
  t.is(nx.authorities?.[0]?.type, 'SOA');
  const nodata = await ask(h, query('web.demo.svc.cluster.local', 'AAAA'));
  t.is(nodata.rcode, 'NOERROR');
  t.deepEqual(nodata.answers, []);
  t.is(nodata.authorities?.[0]?.type, 'SOA');
});

test('other zones are forwarded over the transport they came in on; no upstream answer is SERVFAIL', async (t) => {
  const upstream = fakeUpstream();
  const { h } = handler([web], upstream);
  const r = await ask(h, query('example.com', 'A'), 'tcp');
  t.deepEqual(datas(r.answers), ['192.0.2.1']);
  t.deepEqual(upstream.asked, [{ q: { type: 'A', class: 'IN', name: 'example.com' }, transport: 'tcp' }]);
  const { h: silent } = handler([web], fakeUpstream(false));
  t.is((await ask(silent, query('example.com', 'A'))).rcode, 'SERVFAIL');
});

test('an ExternalName: the CNAME, then its target asked upstream', async (t) => {
  const upstream = fakeUpstream();
  const { h } = handler([ext], upstream);
  const r = await ask(h, query('db.demo.svc.cluster.local', 'A'));
  t.deepEqual(
    (r.answers ?? []).map((a) => [a.type, a.name, 'data' in a ? a.data : undefined]),
    [
      ['CNAME', 'db.demo.svc.cluster.local', 'db.example.com'],
      ['A', 'db.example.com', '192.0.2.1'],
    ],
  );
  t.is(upstream.asked[0]?.q?.name, 'db.example.com');
});

test('UDP answers too big for the client are truncated (TC, no records); TCP and EDNS0 get them whole', async (t) => {
  const many: Service = { metadata: { namespace: 'demo', name: 'big' }, spec: { clusterIP: 'None' } };
  const addresses = Array.from({ length: 20 }, (_, i) => ({ ip: `10.244.${Math.floor(i / 250)}.${(i % 250) + 1}` }));
  const index = new RecordIndex({ domain: 'cluster.local', dnsIP: '10.96.0.10' }, [many], () => ({ subsets: [{ addresses }] }));
  const h = new DnsHandler({ records: () => index, upstream: fakeUpstream(), metrics: newDnsMetrics(new Registry()) });
  const udp = await ask(h, query('big.demo.svc.cluster.local', 'A'));
  t.true(udp.flag_tc);
  t.deepEqual(udp.answers, []);
  const tcp = await ask(h, query('big.demo.svc.cluster.local', 'A'), 'tcp');
  t.false(tcp.flag_tc);
  t.is(tcp.answers?.length, 20);
  const edns = await ask(h, query('big.demo.svc.cluster.local', 'A', { edns: 4096 }));
  t.false(edns.flag_tc);
  t.is(edns.answers?.length, 20);
  t.is(edns.additionals?.find((a) => a.type === 'OPT')?.type, 'OPT');
});

test('a message that is no DNS gets FORMERR; two questions get FORMERR', async (t) => {
  const { h } = handler([web]);
  const garbage = Buffer.from('0102030405060708090a0b0cffffffff', 'hex');
  const r = await h.handle(garbage, 'udp');
  t.truthy(r);
  t.is(r ? r.readUInt16BE(0) : 0, 0x0102);
  t.is(r ? r[3]! & 0xf : -1, 1);
  const two = dnsPacket.encode({
    type: 'query',
    id: 7,
    questions: [
      { type: 'A', name: 'a.example' },
      { type: 'A', name: 'b.example' },
    ],
  });
  t.is((await ask(h, two)).rcode, 'FORMERR');
});

test('metrics count requests by type and transport, responses by rcode, and durations', async (t) => {
  const { h, registry } = handler([web]);
  await ask(h, query('web.demo.svc.cluster.local', 'A'));
  await ask(h, query('nope.demo.svc.cluster.local', 'SRV'), 'tcp');
  const text = await registry.metrics();
  t.regex(text, /coredns_dns_requests_total\{type="A",proto="udp"\} 1/);
  t.regex(text, /coredns_dns_requests_total\{type="SRV",proto="tcp"\} 1/);
  t.regex(text, /coredns_dns_responses_total\{rcode="NOERROR"\} 1/);
  t.regex(text, /coredns_dns_responses_total\{rcode="NXDOMAIN"\} 1/);
  t.regex(text, /coredns_dns_request_duration_seconds_count\{type="A"\} 1/);
});
