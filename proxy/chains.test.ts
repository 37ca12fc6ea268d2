import test from 'ava';
import { MAX_CHAIN_NAME, base32, chainHash, endpointChain, externalChain, ownsChain, serviceChain, servicePortName } from './chains';

test("chain hashes are kube-proxy's: base32(sha256(port name + protocol)), first 16 characters", (t) => {
  // Chain names seen in real clusters: KUBE-SVC-NPX46M4PTMTKRN6Y is default/kubernetes:https over TCP.
  t.is(serviceChain(servicePortName('default', 'kubernetes', 'https'), 'TCP'), 'TSK-SVC-NPX46M4PTMTKRN6Y');
  t.is(serviceChain(servicePortName('kube-system', 'kube-dns', 'dns'), 'UDP'), 'TSK-SVC-TCOU7JCQXEZGVUNU');
  t.is(serviceChain(servicePortName('kube-system', 'kube-dns', 'dns-tcp'), 'TCP'), 'TSK-SVC-ERIFXISQEP7F7OF4');
  t.is(chainHash('kube-system/kube-dns:metricstcp'), 'JD5MR3NA4I4DYORP');
});

test('base32 is RFC 4648 without padding', (t) => {
  const enc = (s: string): string => base32(Buffer.from(s));
  t.is(enc(''), '');
  t.is(enc('f'), 'MY');
  t.is(enc('fo'), 'MZXQ');
  t.is(enc('foobar'), 'MZXW6YTBOI');
});

test('names fit iptables, differ by protocol and endpoint, and are all owned', (t) => {
  const spn = servicePortName('a-very-long-namespace-name', 'a-very-long-service-name', 'http');
  const names = [
    serviceChain(spn, 'TCP'),
    serviceChain(spn, 'UDP'),
    externalChain(spn, 'TCP'),
    endpointChain(spn, 'TCP', '10.0.0.1:80'),
    endpointChain(spn, 'TCP', '10.0.0.2:80'),
  ];
  t.is(new Set(names).size, names.length);
  for (const n of names) {
    t.true(n.length <= MAX_CHAIN_NAME, n);
    t.true(ownsChain(n), n);
  }
  t.is(servicePortName('ns', 'svc', ''), 'ns/svc');
});

test('ownsChain: only the proxy chains, never a kubelet TSK- chain or a built-in one', (t) => {
  for (const c of ['TSK-SERVICES', 'TSK-EXTERNAL-SERVICES', 'TSK-NODEPORTS', 'TSK-FORWARD', 'TSK-POSTROUTING', 'TSK-MARK-MASQ', 'TSK-SEP-ABCDEFGHIJKLMNOP'])
    t.true(ownsChain(c), c);
  for (const c of ['TSK-HOSTPORTS', 'TSK-SVC-SHORT', 'KUBE-SERVICES', 'KUBE-SVC-NPX46M4PTMTKRN6Y', 'PREROUTING', 'TSK-SVC-ABCDEFGHIJKLMNOPQ'])
    t.false(ownsChain(c), c);
});
