// The cluster zone's records against Kubernetes' DNS specification: each
// kind of name, NXDOMAIN against NODATA, and what is left to the upstream.

import test from 'ava';
import type { Answer } from 'dns-packet';
import type { Endpoints, EndpointSubset, Service, ServiceSpec } from '../api/gen/tsk/v1/core';
import { RecordIndex, reverseName, type Authoritative, type Lookup } from './records';

const ZONE = { domain: 'cluster.local', dnsIP: '10.96.0.10' };

function svc(ns: string, name: string, spec: ServiceSpec): Service {
  return { metadata: { namespace: ns, name }, spec };
}

function eps(ns: string, name: string, subsets: EndpointSubset[]): Endpoints {
  return { metadata: { namespace: ns, name }, subsets };
}

function index(services: Service[], endpoints: Endpoints[] = []): RecordIndex {
  const byKey = new Map(endpoints.map((e) => [`${e.metadata?.namespace ?? ''}/${e.metadata?.name ?? ''}`, e]));
  return new RecordIndex(ZONE, services, (k) => byKey.get(k), 42);
}

function auth(l: Lookup): Authoritative {
  if (l.kind !== 'authoritative') throw new Error('expected an authoritative answer, got a forward');
  return l;
}

/** The answers' data, sorted: what a resolver gets. */
function data(l: Lookup): unknown[] {
  return auth(l)
    .answers.map((a: Answer) => ('data' in a ? a.data : undefined))
    .sort((x, y) => (JSON.stringify(x) < JSON.stringify(y) ? -1 : 1));
}

const web = svc('demo', 'web', { clusterIP: '10.96.0.20', ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { port: 81 }] });
const headless = svc('demo', 'web-pods', { clusterIP: 'None', ports: [{ name: 'http', port: 80 }] });
const headlessEps = eps('demo', 'web-pods', [
  {
    addresses: [{ ip: '10.244.1.5', hostname: 'web-0' }, { ip: '10.244.2.7' }],
    notReadyAddresses: [{ ip: '10.244.1.9' }],
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  },
]);

test('a ClusterIP service: A of its ClusterIP, any case and with the trailing dot', (t) => {
  const idx = index([web]);
  t.deepEqual(data(idx.lookup('web.demo.svc.cluster.local', 'A')), ['10.96.0.20']);
  t.deepEqual(data(idx.lookup('WEB.Demo.svc.cluster.local.', 'A')), ['10.96.0.20']);
  const a = auth(idx.lookup('web.demo.svc.cluster.local', 'A')).answers[0];
  t.is(a && 'ttl' in a ? a.ttl : undefined, 5);
});

test('SRV for named ports only, targeting the service name, with its A in the additional section', (t) => {
  const idx = index([web]);
  const l = auth(idx.lookup('_http._tcp.web.demo.svc.cluster.local', 'SRV'));
  t.deepEqual(data(l), [{ priority: 0, weight: 100, port: 80, target: 'web.demo.svc.cluster.local' }]);
  t.deepEqual(
    l.additionals.map((a) => ('data' in a ? a.data : '')),
    ['10.96.0.20'],
  );
  // The unnamed port has no SRV name; the protocol label must match.
  t.is(auth(idx.lookup('_http._udp.web.demo.svc.cluster.local', 'SRV')).rcode, 'NXDOMAIN');
});

test('PTR of a ClusterIP', (t) => {
  const idx = index([web]);
  t.is(reverseName('10.96.0.20'), '20.0.96.10.in-addr.arpa');
  t.deepEqual(data(idx.lookup('20.0.96.10.in-addr.arpa', 'PTR')), ['web.demo.svc.cluster.local']);
});

test('a headless service: every ready endpoint, hostnames, dashed names, SRV per endpoint, PTR for hostnames', (t) => {
  const idx = index([headless], [headlessEps]);
  t.deepEqual(data(idx.lookup('web-pods.demo.svc.cluster.local', 'A')), ['10.244.1.5', '10.244.2.7']);
  t.deepEqual(data(idx.lookup('web-0.web-pods.demo.svc.cluster.local', 'A')), ['10.244.1.5']);
  t.deepEqual(data(idx.lookup('10-244-2-7.web-pods.demo.svc.cluster.local', 'A')), ['10.244.2.7']);
  t.deepEqual(data(idx.lookup('_http._tcp.web-pods.demo.svc.cluster.local', 'SRV')), [
    { priority: 0, weight: 50, port: 8080, target: '10-244-2-7.web-pods.demo.svc.cluster.local' },
    { priority: 0, weight: 50, port: 8080, target: 'web-0.web-pods.demo.svc.cluster.local' },
  ]);
  t.deepEqual(data(idx.lookup(reverseName('10.244.1.5'), 'PTR')), ['web-0.web-pods.demo.svc.cluster.local']);
  // Without a hostname there is no PTR here: the upstream is asked.
  t.is(idx.lookup(reverseName('10.244.2.7'), 'PTR').kind, 'forward');
});

test('not-ready endpoints only with publishNotReadyAddresses', (t) => {
  const publishing = svc('demo', 'web-pods', { clusterIP: 'None', publishNotReadyAddresses: true });
  t.deepEqual(data(index([publishing], [headlessEps]).lookup('web-pods.demo.svc.cluster.local', 'A')), ['10.244.1.5', '10.244.1.9', '10.244.2.7']);
});

test('a headless service without endpoints exists: NODATA, not NXDOMAIN', (t) => {
  const l = auth(index([headless]).lookup('web-pods.demo.svc.cluster.local', 'A'));
  t.is(l.rcode, 'NOERROR');
  t.deepEqual(l.answers, []);
  t.is(l.authorities[0]?.type, 'SOA');
});

test('ExternalName: a CNAME, chased for other types, alone for CNAME questions', (t) => {
  const ext = svc('demo', 'db', { type: 'ExternalName', externalName: 'db.example.com.' });
  const idx = index([ext]);
  const a = auth(idx.lookup('db.demo.svc.cluster.local', 'A'));
  t.deepEqual(data(a), ['db.example.com']);
  t.is(a.chase, 'db.example.com');
  const c = auth(idx.lookup('db.demo.svc.cluster.local', 'CNAME'));
  t.deepEqual(data(c), ['db.example.com']);
  t.is(c.chase, undefined);
});

test('pod names: A-B-C-D.NS.pod.ZONE in any namespace; AAAA is NODATA; a bad address is NXDOMAIN', (t) => {
  const idx = index([]);
  t.deepEqual(data(idx.lookup('10-244-1-5.any.pod.cluster.local', 'A')), ['10.244.1.5']);
  t.is(auth(idx.lookup('10-244-1-5.any.pod.cluster.local', 'AAAA')).rcode, 'NOERROR');
  t.deepEqual(auth(idx.lookup('10-244-1-5.any.pod.cluster.local', 'AAAA')).answers, []);
  t.is(auth(idx.lookup('10-244-1-999.any.pod.cluster.local', 'A')).rcode, 'NXDOMAIN');
  t.is(auth(idx.lookup('x.10-244-1-5.any.pod.cluster.local', 'A')).rcode, 'NXDOMAIN');
});

test('NXDOMAIN for a missing name, NODATA for an existing name of another type or an empty non-terminal', (t) => {
  const idx = index([web]);
  const missing = auth(idx.lookup('nope.demo.svc.cluster.local', 'A'));
  t.is(missing.rcode, 'NXDOMAIN');
  t.is(missing.authorities[0]?.type, 'SOA');
  t.is(auth(idx.lookup('web.other.svc.cluster.local', 'A')).rcode, 'NXDOMAIN');
  for (const [name, type] of [
    ['web.demo.svc.cluster.local', 'AAAA'],
    ['web.demo.svc.cluster.local', 'TXT'],
    ['demo.svc.cluster.local', 'A'],
    ['svc.cluster.local', 'A'],
    ['_tcp.web.demo.svc.cluster.local', 'SRV'],
  ] as const) {
    const l = auth(idx.lookup(name, type));
    t.is(l.rcode, 'NOERROR', `${name} ${type}`);
    t.deepEqual(l.answers, [], `${name} ${type}`);
    t.is(l.authorities[0]?.type, 'SOA', `${name} ${type}`);
  }
});

test('the zone apex: SOA and NS, and ns.dns.ZONE is the cluster DNS address', (t) => {
  const idx = index([]);
  t.deepEqual(data(idx.lookup('cluster.local', 'SOA')), [
    { mname: 'ns.dns.cluster.local', rname: 'hostmaster.cluster.local', serial: 42, refresh: 7200, retry: 1800, expire: 86400, minimum: 5 },
  ]);
  t.deepEqual(data(idx.lookup('cluster.local', 'NS')), ['ns.dns.cluster.local']);
  t.deepEqual(data(idx.lookup('ns.dns.cluster.local', 'A')), ['10.96.0.10']);
});

test('other zones and unknown reverse names go upstream', (t) => {
  const idx = index([web]);
  t.is(idx.lookup('example.com', 'A').kind, 'forward');
  t.is(idx.lookup('cluster.local.example.com', 'A').kind, 'forward');
  t.is(idx.lookup('notcluster.local', 'A').kind, 'forward');
  t.is(idx.lookup('1.2.0.192.in-addr.arpa', 'PTR').kind, 'forward');
});

test('another cluster domain', (t) => {
  const idx = new RecordIndex({ domain: 'corp.example', dnsIP: '10.0.0.10' }, [web], () => undefined);
  t.deepEqual(data(idx.lookup('web.demo.svc.corp.example', 'A')), ['10.96.0.20']);
  t.is(idx.lookup('web.demo.svc.cluster.local', 'A').kind, 'forward');
});
