// A pod's resolv.conf by dnsPolicy and dnsConfig, as Kubernetes'
// pkg/kubelet/network/dns tests check it.

import test from 'ava';
import type { Pod, PodSpec } from '../api/gen/tsk/v1/core';
import { mergeDnsOptions, podDnsConfig, type NodeDns } from './pod-dns';

const NODE: NodeDns = {
  clusterDNS: ['10.96.0.10'],
  clusterDomain: 'cluster.local',
  host: { nameservers: ['192.0.2.1', '192.0.2.2'], searches: ['corp.example'], options: ['timeout:2', 'rotate'] },
};

function pod(spec: PodSpec = {}): Pod {
  return { metadata: { namespace: 'demo', name: 'p' }, spec };
}

test("ClusterFirst (and no policy): the cluster DNS, the cluster searches then the node's, ndots:5", (t) => {
  for (const spec of [{}, { dnsPolicy: 'ClusterFirst' }]) {
    t.deepEqual(podDnsConfig(pod(spec), NODE), {
      config: { nameservers: ['10.96.0.10'], searches: ['demo.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'corp.example'], options: ['ndots:5'] },
      warnings: [],
    });
  }
});

test('ClusterFirst on hostNetwork falls back to Default; ClusterFirstWithHostNet does not', (t) => {
  t.deepEqual(podDnsConfig(pod({ hostNetwork: true }), NODE).config, NODE.host);
  t.deepEqual(podDnsConfig(pod({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }), NODE).config.nameservers, ['10.96.0.10']);
});

test("Default: the node's resolv.conf as it is", (t) => {
  t.deepEqual(podDnsConfig(pod({ dnsPolicy: 'Default' }), NODE), { config: NODE.host!, warnings: [] });
});

test('None: only dnsConfig', (t) => {
  const p = pod({
    dnsPolicy: 'None',
    dnsConfig: { nameservers: ['1.2.3.4'], searches: ['ns1.svc.cluster-domain.example'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] },
  });
  t.deepEqual(podDnsConfig(p, NODE).config, { nameservers: ['1.2.3.4'], searches: ['ns1.svc.cluster-domain.example'], options: ['ndots:2', 'edns0'] });
});

test("dnsConfig merges: nameservers and searches appended without duplicates, options by name with the pod's value winning", (t) => {
  const p = pod({
    dnsConfig: {
      nameservers: ['10.96.0.10', '192.0.2.9'],
      searches: ['cluster.local', 'extra.example'],
      options: [{ name: 'ndots', value: '2' }, { name: 'single-request' }],
    },
  });
  t.deepEqual(podDnsConfig(p, NODE).config, {
    nameservers: ['10.96.0.10', '192.0.2.9'],
    searches: ['demo.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'corp.example', 'extra.example'],
    options: ['ndots:2', 'single-request'],
  });
  t.deepEqual(
    mergeDnsOptions(
      ['ndots:5', 'edns0'],
      [
        { name: 'edns0', value: '' },
        { name: 'timeout', value: '1' },
      ],
    ),
    ['ndots:5', 'edns0', 'timeout:1'],
  );
});

test('without a cluster DNS, ClusterFirst falls back to Default with a MissingClusterDNS warning', (t) => {
  const r = podDnsConfig(pod(), { ...NODE, clusterDNS: [] });
  t.deepEqual(r.config, NODE.host);
  t.is(r.warnings[0]?.reason, 'MissingClusterDNS');
  t.regex(
    r.warnings[0]?.message ?? '',
    /^kubelet does not have ClusterDNS IP configured and cannot create Pod using "ClusterFirst" policy\. Falling back to "Default" policy\.$/,
  );
});

test('--resolv-conf "": Default and None get no node servers (localhost, search "."), as the kubelet', (t) => {
  t.deepEqual(podDnsConfig(pod({ dnsPolicy: 'Default' }), { ...NODE, host: undefined }).config, { nameservers: ['127.0.0.1'], searches: ['.'], options: [] });
  t.deepEqual(podDnsConfig(pod(), { ...NODE, host: undefined }).config.searches, ['demo.svc.cluster.local', 'svc.cluster.local', 'cluster.local', '.']);
});

test('limits: 3 nameservers, 32 search paths, 2048 characters, each with a DNSConfigForming warning', (t) => {
  const many = pod({ dnsConfig: { nameservers: ['192.0.2.3', '192.0.2.4', '192.0.2.5'] } });
  const r = podDnsConfig(many, NODE);
  t.deepEqual(r.config.nameservers, ['10.96.0.10', '192.0.2.3', '192.0.2.4']);
  t.deepEqual(r.warnings, [
    {
      reason: 'DNSConfigForming',
      message: 'Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: 10.96.0.10 192.0.2.3 192.0.2.4',
    },
  ]);
  const searches = Array.from({ length: 40 }, (_, i) => `s${i}.example`);
  const s = podDnsConfig(pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['192.0.2.1'], searches } }), NODE);
  t.is(s.config.searches.length, 32);
  t.is(s.warnings[0]?.reason, 'DNSConfigForming');
  const long = Array.from({ length: 20 }, (_, i) => `${'x'.repeat(120)}${i}.example`);
  const l = podDnsConfig(pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['192.0.2.1'], searches: long } }), NODE);
  t.true(l.config.searches.join(' ').length <= 2048);
  t.is(l.config.searches.length, 15);
});
