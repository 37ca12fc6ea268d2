// Golden tests of the rule builder: the exact iptables-restore input for each
// kind of service, and the reconciliation with what iptables holds already.

import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Endpoints, EndpointSubset, Service, ServiceSpec } from '../api/gen/tsk/v1/core';
import { parseIptablesSave } from './iptables';
import { buildCleanupInput, buildRestoreInput, matchesSaved, ownedRuleCounts, type RulesOptions } from './rules';
import { buildServicePorts } from './service-ports';

function svc(name: string, spec: ServiceSpec): Service {
  return { metadata: { namespace: 'default', name }, spec: { clusterIP: '10.96.0.10', ...spec } };
}

function eps(name: string, subsets: EndpointSubset[]): Endpoints {
  return { metadata: { namespace: 'default', name }, subsets };
}

function render(services: Service[], endpoints: Endpoints[], options: RulesOptions = { nodeIPs: [] }, saved = ''): string {
  const byKey = new Map(endpoints.map((e) => [`default/${e.metadata?.name ?? ''}`, e]));
  return buildRestoreInput(
    buildServicePorts(services, (k) => byKey.get(k)),
    parseIptablesSave(saved),
    options,
  );
}

/** The lines a ruleset adds to the one of no services at all: what the service itself brings. */
function serviceLines(text: string, options: RulesOptions = { nodeIPs: [] }): string {
  const base = new Set(render([], [], options).split('\n'));
  return text
    .split('\n')
    .filter((l) => !base.has(l))
    .join('\n');
}

/** The lines every ruleset starts its tables with: the proxy's fixed chains and rules. */
const FILTER_HEAD = `*filter
:TSK-SERVICES - [0:0]
:TSK-EXTERNAL-SERVICES - [0:0]
:TSK-FORWARD - [0:0]
-A TSK-FORWARD -m comment --comment "tsk forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A TSK-FORWARD -m comment --comment "tsk forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`;
const NAT_HEAD = `*nat
:TSK-SERVICES - [0:0]
:TSK-NODEPORTS - [0:0]
:TSK-POSTROUTING - [0:0]
:TSK-MARK-MASQ - [0:0]`;
const NAT_FIXED_RULES = `-A TSK-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A TSK-POSTROUTING -j MARK --xor-mark 0x4000
-A TSK-POSTROUTING -m comment --comment "tsk service traffic requiring SNAT" -j MASQUERADE --random-fully
-A TSK-MARK-MASQ -j MARK --or-mark 0x4000`;

const JUMP_INSERTS = {
  filter: `-I OUTPUT -m conntrack --ctstate NEW -m comment --comment "tsk service portals" -j TSK-SERVICES
-I FORWARD -m comment --comment "tsk forwarding rules" -j TSK-FORWARD
-I FORWARD -m conntrack --ctstate NEW -m comment --comment "tsk externally-visible service portals" -j TSK-EXTERNAL-SERVICES
-I FORWARD -m conntrack --ctstate NEW -m comment --comment "tsk service portals" -j TSK-SERVICES
-I INPUT -m conntrack --ctstate NEW -m comment --comment "tsk externally-visible service portals" -j TSK-EXTERNAL-SERVICES`,
  nat: `-I POSTROUTING -m comment --comment "tsk postrouting rules" -j TSK-POSTROUTING
-I OUTPUT -m comment --comment "tsk service portals" -j TSK-SERVICES
-I PREROUTING -m comment --comment "tsk service portals" -j TSK-SERVICES`,
};

test('one service, three endpoints: the whole ruleset, probabilities 1/3, 1/2, rest; endpoints in address order', (t) => {
  const text = render(
    [svc('web', { ports: [{ port: 80, protocol: 'TCP', targetPort: { intVal: 8080 } }] })],
    [eps('web', [{ addresses: [{ ip: '10.244.1.2' }, { ip: '10.244.1.10' }, { ip: '10.244.1.3' }], ports: [{ port: 8080, protocol: 'TCP' }] }])],
  );
  t.is(
    text,
    `${FILTER_HEAD}
${JUMP_INSERTS.filter}
COMMIT
${NAT_HEAD}
:TSK-SVC-LOLE4ISW44XBNF3G - [0:0]
:TSK-SEP-PXJ2U7QYT2QW5545 - [0:0]
:TSK-SEP-BSJG54EXAHTH4INO - [0:0]
:TSK-SEP-23NJSXDYUSXY5E7Q - [0:0]
${NAT_FIXED_RULES}
-A TSK-SERVICES -m comment --comment "default/web cluster IP" -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j TSK-SVC-LOLE4ISW44XBNF3G
-A TSK-SVC-LOLE4ISW44XBNF3G -m comment --comment "default/web -> 10.244.1.2:8080" -m statistic --mode random --probability 0.3333333333 -j TSK-SEP-PXJ2U7QYT2QW5545
-A TSK-SVC-LOLE4ISW44XBNF3G -m comment --comment "default/web -> 10.244.1.3:8080" -m statistic --mode random --probability 0.5000000000 -j TSK-SEP-23NJSXDYUSXY5E7Q
-A TSK-SVC-LOLE4ISW44XBNF3G -m comment --comment "default/web -> 10.244.1.10:8080" -j TSK-SEP-BSJG54EXAHTH4INO
-A TSK-SEP-PXJ2U7QYT2QW5545 -m comment --comment "default/web" -s 10.244.1.2/32 -j TSK-MARK-MASQ
-A TSK-SEP-PXJ2U7QYT2QW5545 -m comment --comment "default/web" -p tcp -m tcp -j DNAT --to-destination 10.244.1.2:8080
-A TSK-SEP-23NJSXDYUSXY5E7Q -m comment --comment "default/web" -s 10.244.1.3/32 -j TSK-MARK-MASQ
-A TSK-SEP-23NJSXDYUSXY5E7Q -m comment --comment "default/web" -p tcp -m tcp -j DNAT --to-destination 10.244.1.3:8080
-A TSK-SEP-BSJG54EXAHTH4INO -m comment --comment "default/web" -s 10.244.1.10/32 -j TSK-MARK-MASQ
-A TSK-SEP-BSJG54EXAHTH4INO -m comment --comment "default/web" -p tcp -m tcp -j DNAT --to-destination 10.244.1.10:8080
-A TSK-SERVICES -m comment --comment "tsk service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j TSK-NODEPORTS
${JUMP_INSERTS.nat}
COMMIT
`,
  );
});

test('no ready endpoints: REJECT in filter for the cluster IP, external IPs and NodePort on each node address; no nat chains', (t) => {
  const options = { nodeIPs: ['172.30.0.2', '172.31.0.2'] };
  const text = render(
    [svc('web', { type: 'NodePort', externalIPs: ['192.0.2.7'], ports: [{ port: 80, protocol: 'TCP', nodePort: 30080 }] })],
    [eps('web', [{ notReadyAddresses: [{ ip: '10.244.1.2' }], ports: [{ port: 8080, protocol: 'TCP' }] }])],
    options,
  );
  t.is(
    serviceLines(text, options),
    `-A TSK-SERVICES -m comment --comment "default/web has no endpoints" -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable
-A TSK-EXTERNAL-SERVICES -m comment --comment "default/web has no endpoints" -d 192.0.2.7/32 -p tcp -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable
-A TSK-EXTERNAL-SERVICES -m comment --comment "default/web has no endpoints" -d 172.30.0.2/32 -p tcp -m tcp --dport 30080 -j REJECT --reject-with icmp-port-unreachable
-A TSK-EXTERNAL-SERVICES -m comment --comment "default/web has no endpoints" -d 172.31.0.2/32 -p tcp -m tcp --dport 30080 -j REJECT --reject-with icmp-port-unreachable`,
  );
  t.regex(
    text,
    /-A TSK-SERVICES -m comment --comment "tsk service nodeports; NOTE: this must be the last rule in this chain" -d 172\.31\.0\.2\/32 -j TSK-NODEPORTS\n/,
  );
});

test('NodePort: TSK-NODEPORTS -> TSK-EXT (marked for masquerade) -> TSK-SVC', (t) => {
  const text = render(
    [svc('web', { type: 'NodePort', ports: [{ port: 80, protocol: 'TCP', nodePort: 30080 }] })],
    [eps('web', [{ addresses: [{ ip: '10.244.1.2' }], ports: [{ port: 8080, protocol: 'TCP' }] }])],
  );
  t.is(
    serviceLines(text),
    `:TSK-SVC-LOLE4ISW44XBNF3G - [0:0]
:TSK-SEP-PXJ2U7QYT2QW5545 - [0:0]
:TSK-EXT-LOLE4ISW44XBNF3G - [0:0]
-A TSK-SERVICES -m comment --comment "default/web cluster IP" -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j TSK-SVC-LOLE4ISW44XBNF3G
-A TSK-NODEPORTS -m comment --comment "default/web" -p tcp -m tcp --dport 30080 -j TSK-EXT-LOLE4ISW44XBNF3G
-A TSK-EXT-LOLE4ISW44XBNF3G -m comment --comment "masquerade traffic for default/web external destinations" -j TSK-MARK-MASQ
-A TSK-EXT-LOLE4ISW44XBNF3G -j TSK-SVC-LOLE4ISW44XBNF3G
-A TSK-SVC-LOLE4ISW44XBNF3G -m comment --comment "default/web -> 10.244.1.2:8080" -j TSK-SEP-PXJ2U7QYT2QW5545
-A TSK-SEP-PXJ2U7QYT2QW5545 -m comment --comment "default/web" -s 10.244.1.2/32 -j TSK-MARK-MASQ
-A TSK-SEP-PXJ2U7QYT2QW5545 -m comment --comment "default/web" -p tcp -m tcp -j DNAT --to-destination 10.244.1.2:8080`,
  );
});

test('a ClusterIP service ignores a nodePort; --cluster-cidr masquerades cluster IP traffic from outside the pods', (t) => {
  const options = { nodeIPs: ['172.30.0.2'], clusterCIDR: '10.244.0.0/16' };
  const text = render(
    [svc('web', { type: 'ClusterIP', ports: [{ port: 80, protocol: 'TCP', nodePort: 30080 }] })],
    [eps('web', [{ addresses: [{ ip: '10.244.1.2' }], ports: [{ port: 80, protocol: 'TCP' }] }])],
    options,
  );
  t.notRegex(text, /TSK-EXT-|--dport 30080/);
  t.regex(
    text,
    /\n-A TSK-SVC-LOLE4ISW44XBNF3G -m comment --comment "default\/web cluster IP" -d 10\.96\.0\.10\/32 -p tcp -m tcp --dport 80 ! -s 10\.244\.0\.0\/16 -j TSK-MARK-MASQ\n-A TSK-SVC-LOLE4ISW44XBNF3G -m comment --comment "default\/web -> /,
  );
});

test('ClientIP session affinity: -m recent checks before the random choice, and sets in the endpoint chain', (t) => {
  const text = render(
    [svc('web', { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } }, ports: [{ port: 80, protocol: 'TCP' }] })],
    [eps('web', [{ addresses: [{ ip: '10.244.1.2' }, { ip: '10.244.1.3' }], ports: [{ port: 80, protocol: 'TCP' }] }])],
  );
  t.is(
    serviceLines(text),
    `:TSK-SVC-LOLE4ISW44XBNF3G - [0:0]
:TSK-SEP-MQ4W7Q2CV67URU6Q - [0:0]
:TSK-SEP-MHDQ23KUGG7EGFMW - [0:0]
-A TSK-SERVICES -m comment --comment "default/web cluster IP" -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j TSK-SVC-LOLE4ISW44XBNF3G
-A TSK-SVC-LOLE4ISW44XBNF3G -m comment --comment "default/web -> 10.244.1.2:80" -m recent --name TSK-SEP-MQ4W7Q2CV67URU6Q --rcheck --seconds 60 --reap -j TSK-SEP-MQ4W7Q2CV67URU6Q
-A TSK-SVC-LOLE4ISW44XBNF3G -m comment --comment "default/web -> 10.244.1.3:80" -m recent --name TSK-SEP-MHDQ23KUGG7EGFMW --rcheck --seconds 60 --reap -j TSK-SEP-MHDQ23KUGG7EGFMW
-A TSK-SVC-LOLE4ISW44XBNF3G -m comment --comment "default/web -> 10.244.1.2:80" -m statistic --mode random --probability 0.5000000000 -j TSK-SEP-MQ4W7Q2CV67URU6Q
-A TSK-SVC-LOLE4ISW44XBNF3G -m comment --comment "default/web -> 10.244.1.3:80" -j TSK-SEP-MHDQ23KUGG7EGFMW
-A TSK-SEP-MQ4W7Q2CV67URU6Q -m comment --comment "default/web" -s 10.244.1.2/32 -j TSK-MARK-MASQ
-A TSK-SEP-MQ4W7Q2CV67URU6Q -m comment --comment "default/web" -p tcp -m recent --name TSK-SEP-MQ4W7Q2CV67URU6Q --set -m tcp -j DNAT --to-destination 10.244.1.2:80
-A TSK-SEP-MHDQ23KUGG7EGFMW -m comment --comment "default/web" -s 10.244.1.3/32 -j TSK-MARK-MASQ
-A TSK-SEP-MHDQ23KUGG7EGFMW -m comment --comment "default/web" -p tcp -m recent --name TSK-SEP-MHDQ23KUGG7EGFMW --set -m tcp -j DNAT --to-destination 10.244.1.3:80`,
  );
  const defaulted = render(
    [svc('web', { sessionAffinity: 'ClientIP', ports: [{ port: 80, protocol: 'TCP' }] })],
    [eps('web', [{ addresses: [{ ip: '10.244.1.2' }], ports: [{ port: 80, protocol: 'TCP' }] }])],
  );
  t.regex(defaulted, /--rcheck --seconds 10800 --reap/, "Kubernetes' default timeout: 3 hours");
});

test('UDP: -p udp -m udp; a TCP port of the same number without endpoints is rejected on its own', (t) => {
  const text = render(
    [
      svc('dns', {
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP' },
          { name: 'dns-tcp', port: 53, protocol: 'TCP' },
        ],
      }),
    ],
    [eps('dns', [{ addresses: [{ ip: '10.244.1.5' }], ports: [{ name: 'dns', port: 5353, protocol: 'UDP' }] }])],
  );
  t.is(
    serviceLines(text),
    `-A TSK-SERVICES -m comment --comment "default/dns:dns-tcp has no endpoints" -d 10.96.0.10/32 -p tcp -m tcp --dport 53 -j REJECT --reject-with icmp-port-unreachable
:TSK-SVC-2MBSHUE5GJKPO227 - [0:0]
:TSK-SEP-VHTL55OPWU24HBWQ - [0:0]
-A TSK-SERVICES -m comment --comment "default/dns:dns cluster IP" -d 10.96.0.10/32 -p udp -m udp --dport 53 -j TSK-SVC-2MBSHUE5GJKPO227
-A TSK-SVC-2MBSHUE5GJKPO227 -m comment --comment "default/dns:dns -> 10.244.1.5:5353" -j TSK-SEP-VHTL55OPWU24HBWQ
-A TSK-SEP-VHTL55OPWU24HBWQ -m comment --comment "default/dns:dns" -s 10.244.1.5/32 -j TSK-MARK-MASQ
-A TSK-SEP-VHTL55OPWU24HBWQ -m comment --comment "default/dns:dns" -p udp -m udp -j DNAT --to-destination 10.244.1.5:5353`,
  );
});

test('named ports: endpoints match by port name across subsets; not-ready addresses are left out', (t) => {
  const text = render(
    [
      svc('app', {
        ports: [
          { name: 'http', port: 80, protocol: 'TCP', targetPort: { strVal: 'web' } },
          { name: 'metrics', port: 9090, protocol: 'TCP' },
        ],
      }),
    ],
    [
      eps('app', [
        {
          addresses: [{ ip: '10.244.1.2' }],
          ports: [
            { name: 'http', port: 8080, protocol: 'TCP' },
            { name: 'metrics', port: 9100, protocol: 'TCP' },
          ],
        },
        { addresses: [{ ip: '10.244.2.2' }], notReadyAddresses: [{ ip: '10.244.2.3' }], ports: [{ name: 'http', port: 8081, protocol: 'TCP' }] },
      ]),
    ],
  );
  t.is(
    serviceLines(text),
    `:TSK-SVC-KEGXTB7QME74AEFI - [0:0]
:TSK-SVC-HMG3V2FJFP2BCWQZ - [0:0]
:TSK-SEP-ZU6XCPXBO7PDP3YU - [0:0]
:TSK-SEP-QZ3JEGWNBWQAE4OT - [0:0]
:TSK-SEP-HLDEC2HINLNJSOWK - [0:0]
-A TSK-SERVICES -m comment --comment "default/app:http cluster IP" -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j TSK-SVC-HMG3V2FJFP2BCWQZ
-A TSK-SVC-HMG3V2FJFP2BCWQZ -m comment --comment "default/app:http -> 10.244.1.2:8080" -m statistic --mode random --probability 0.5000000000 -j TSK-SEP-HLDEC2HINLNJSOWK
-A TSK-SVC-HMG3V2FJFP2BCWQZ -m comment --comment "default/app:http -> 10.244.2.2:8081" -j TSK-SEP-ZU6XCPXBO7PDP3YU
-A TSK-SEP-HLDEC2HINLNJSOWK -m comment --comment "default/app:http" -s 10.244.1.2/32 -j TSK-MARK-MASQ
-A TSK-SEP-HLDEC2HINLNJSOWK -m comment --comment "default/app:http" -p tcp -m tcp -j DNAT --to-destination 10.244.1.2:8080
-A TSK-SEP-ZU6XCPXBO7PDP3YU -m comment --comment "default/app:http" -s 10.244.2.2/32 -j TSK-MARK-MASQ
-A TSK-SEP-ZU6XCPXBO7PDP3YU -m comment --comment "default/app:http" -p tcp -m tcp -j DNAT --to-destination 10.244.2.2:8081
-A TSK-SERVICES -m comment --comment "default/app:metrics cluster IP" -d 10.96.0.10/32 -p tcp -m tcp --dport 9090 -j TSK-SVC-KEGXTB7QME74AEFI
-A TSK-SVC-KEGXTB7QME74AEFI -m comment --comment "default/app:metrics -> 10.244.1.2:9100" -j TSK-SEP-QZ3JEGWNBWQAE4OT
-A TSK-SEP-QZ3JEGWNBWQAE4OT -m comment --comment "default/app:metrics" -s 10.244.1.2/32 -j TSK-MARK-MASQ
-A TSK-SEP-QZ3JEGWNBWQAE4OT -m comment --comment "default/app:metrics" -p tcp -m tcp -j DNAT --to-destination 10.244.1.2:9100`,
  );
});

test('headless and ExternalName services get no rules', (t) => {
  const none = render(
    [svc('headless', { clusterIP: 'None', ports: [{ port: 80 }] }), svc('ext', { type: 'ExternalName', clusterIP: '', ports: [{ port: 80 }] })],
    [eps('headless', [{ addresses: [{ ip: '10.244.1.2' }], ports: [{ port: 80 }] }])],
  );
  t.is(serviceLines(none), '');
});

// A dump as iptables-save prints it after a previous run: a stale service's
// chains, a duplicated jump, a built-in chain jumping to a stale chain, and
// chains of others (KUBE-SERVICES, TSK-HOSTPORTS) that must be left alone.
const SAVED = readFileSync(join(__dirname, '..', '..', 'proxy', 'testdata', 'previous-run.iptables-save'), 'utf8');

test('against a previous run: present jumps kept, duplicates and jumps to stale chains deleted, stale owned chains deleted, others untouched', (t) => {
  const text = render(
    [svc('web', { ports: [{ port: 80, protocol: 'TCP' }] })],
    [eps('web', [{ addresses: [{ ip: '10.244.1.2' }], ports: [{ port: 80, protocol: 'TCP' }] }])],
    { nodeIPs: ['172.30.0.2'] },
    SAVED,
  );
  t.is(
    text,
    `${FILTER_HEAD}
COMMIT
${NAT_HEAD}
:TSK-SVC-OLDOLDOLDOLDOLDO - [0:0]
:TSK-SVC-LOLE4ISW44XBNF3G - [0:0]
:TSK-SEP-OLDOLDOLDOLDOLDO - [0:0]
:TSK-SEP-MQ4W7Q2CV67URU6Q - [0:0]
${NAT_FIXED_RULES}
-A TSK-SERVICES -m comment --comment "default/web cluster IP" -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j TSK-SVC-LOLE4ISW44XBNF3G
-A TSK-SVC-LOLE4ISW44XBNF3G -m comment --comment "default/web -> 10.244.1.2:80" -j TSK-SEP-MQ4W7Q2CV67URU6Q
-A TSK-SEP-MQ4W7Q2CV67URU6Q -m comment --comment "default/web" -s 10.244.1.2/32 -j TSK-MARK-MASQ
-A TSK-SEP-MQ4W7Q2CV67URU6Q -m comment --comment "default/web" -p tcp -m tcp -j DNAT --to-destination 10.244.1.2:80
-A TSK-SERVICES -m comment --comment "tsk service nodeports; NOTE: this must be the last rule in this chain" -d 172.30.0.2/32 -j TSK-NODEPORTS
-D OUTPUT -m comment --comment "tsk service portals" -j TSK-SERVICES
-D OUTPUT -d 10.96.0.99/32 -j TSK-SVC-OLDOLDOLDOLDOLDO
-X TSK-SEP-OLDOLDOLDOLDOLDO
-X TSK-SVC-OLDOLDOLDOLDOLDO
COMMIT
`,
  );
});

test('cleanup: every jump into the proxy, then every owned chain; nothing of others; nothing at all when clean', (t) => {
  t.is(
    buildCleanupInput(parseIptablesSave(SAVED)),
    `*filter
:TSK-EXTERNAL-SERVICES - [0:0]
:TSK-FORWARD - [0:0]
:TSK-SERVICES - [0:0]
-D INPUT -m conntrack --ctstate NEW -m comment --comment "tsk externally-visible service portals" -j TSK-EXTERNAL-SERVICES
-D FORWARD -m conntrack --ctstate NEW -m comment --comment "tsk service portals" -j TSK-SERVICES
-D FORWARD -m conntrack --ctstate NEW -m comment --comment "tsk externally-visible service portals" -j TSK-EXTERNAL-SERVICES
-D FORWARD -m comment --comment "tsk forwarding rules" -j TSK-FORWARD
-D OUTPUT -m conntrack --ctstate NEW -m comment --comment "tsk service portals" -j TSK-SERVICES
-X TSK-EXTERNAL-SERVICES
-X TSK-FORWARD
-X TSK-SERVICES
COMMIT
*nat
:TSK-MARK-MASQ - [0:0]
:TSK-NODEPORTS - [0:0]
:TSK-POSTROUTING - [0:0]
:TSK-SERVICES - [0:0]
:TSK-SVC-OLDOLDOLDOLDOLDO - [0:0]
:TSK-SEP-OLDOLDOLDOLDOLDO - [0:0]
-D PREROUTING -m comment --comment "tsk service portals" -j TSK-SERVICES
-D OUTPUT -m comment --comment "tsk service portals" -j TSK-SERVICES
-D OUTPUT -m comment --comment "tsk service portals" -j TSK-SERVICES
-D OUTPUT -d 10.96.0.99/32 -j TSK-SVC-OLDOLDOLDOLDOLDO
-D POSTROUTING -m comment --comment "tsk postrouting rules" -j TSK-POSTROUTING
-X TSK-MARK-MASQ
-X TSK-NODEPORTS
-X TSK-POSTROUTING
-X TSK-SEP-OLDOLDOLDOLDOLDO
-X TSK-SERVICES
-X TSK-SVC-OLDOLDOLDOLDOLDO
COMMIT
`,
  );
  const clean = '*nat\n:PREROUTING ACCEPT [0:0]\n:TSK-HOSTPORTS - [0:0]\n-A PREROUTING -j TSK-HOSTPORTS\nCOMMIT\n';
  t.is(buildCleanupInput(parseIptablesSave(clean)), '');
});

test('ownedRuleCounts/matchesSaved: what was applied is recognised in the dump; a flushed chain or an extra chain is not', (t) => {
  const text = render([svc('web', { ports: [{ port: 80 }] })], [eps('web', [{ addresses: [{ ip: '10.244.1.2' }], ports: [{ port: 80 }] }])]);
  const expected = ownedRuleCounts(text);
  t.is(expected.get('nat TSK-SVC-LOLE4ISW44XBNF3G'), 1);
  t.is(expected.get('nat TSK-SERVICES'), 2);
  // What iptables-save prints after applying it (its own order of matches does not matter, only counts).
  const dump = (extra: string, dropSep: boolean): string =>
    text
      .split('\n')
      .filter((l) => !l.startsWith('-I ') && !(dropSep && l.startsWith('-A TSK-SEP-')))
      .join('\n')
      .replace('*nat\n', `*nat\n${extra}`);
  t.true(matchesSaved(expected, parseIptablesSave(dump('', false))));
  t.false(matchesSaved(expected, parseIptablesSave(dump('', true))), 'a chain lost its rules');
  t.false(matchesSaved(expected, parseIptablesSave(dump(':TSK-SVC-AAAAAAAAAAAAAAAA - [0:0]\n', false))), 'an owned chain too many');
  t.true(matchesSaved(expected, parseIptablesSave(dump(':TSK-HOSTPORTS - [0:0]\n', false))), "others' chains do not count");
});

const lbService = (
  extra: ServiceSpec = {},
  ingress: { ip: string; ipMode?: string }[] = [{ ip: '172.30.0.3', ipMode: 'VIP' }, { ip: '172.30.0.2' }],
): Service => ({
  ...svc('web', { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP', nodePort: 30080 }], ...extra }),
  status: { loadBalancer: { ingress } },
});
const oneEndpoint = eps('web', [{ addresses: [{ ip: '10.244.1.2' }], ports: [{ port: 8080, protocol: 'TCP' }] }]);

test('LoadBalancer: each ingress IP at the service port -> TSK-EXT, beside the NodePort', (t) => {
  const text = render([lbService()], [oneEndpoint]);
  t.is(
    serviceLines(text),
    `:TSK-SVC-LOLE4ISW44XBNF3G - [0:0]
:TSK-SEP-PXJ2U7QYT2QW5545 - [0:0]
:TSK-EXT-LOLE4ISW44XBNF3G - [0:0]
-A TSK-SERVICES -m comment --comment "default/web cluster IP" -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j TSK-SVC-LOLE4ISW44XBNF3G
-A TSK-SERVICES -m comment --comment "default/web loadbalancer IP" -d 172.30.0.2/32 -p tcp -m tcp --dport 80 -j TSK-EXT-LOLE4ISW44XBNF3G
-A TSK-SERVICES -m comment --comment "default/web loadbalancer IP" -d 172.30.0.3/32 -p tcp -m tcp --dport 80 -j TSK-EXT-LOLE4ISW44XBNF3G
-A TSK-NODEPORTS -m comment --comment "default/web" -p tcp -m tcp --dport 30080 -j TSK-EXT-LOLE4ISW44XBNF3G
-A TSK-EXT-LOLE4ISW44XBNF3G -m comment --comment "masquerade traffic for default/web external destinations" -j TSK-MARK-MASQ
-A TSK-EXT-LOLE4ISW44XBNF3G -j TSK-SVC-LOLE4ISW44XBNF3G
-A TSK-SVC-LOLE4ISW44XBNF3G -m comment --comment "default/web -> 10.244.1.2:8080" -j TSK-SEP-PXJ2U7QYT2QW5545
-A TSK-SEP-PXJ2U7QYT2QW5545 -m comment --comment "default/web" -s 10.244.1.2/32 -j TSK-MARK-MASQ
-A TSK-SEP-PXJ2U7QYT2QW5545 -m comment --comment "default/web" -p tcp -m tcp -j DNAT --to-destination 10.244.1.2:8080`,
  );
  // The load balancer rules come before the NodePorts catch-all (the ingress IPs are node addresses).
  t.true(text.indexOf('loadbalancer IP') < text.indexOf('tsk service nodeports'));
});

test('LoadBalancer with loadBalancerSourceRanges: TSK-FW lets the ranges through, filter drops the rest', (t) => {
  const text = render([lbService({ loadBalancerSourceRanges: ['192.0.2.0/24', ' 198.51.100.0/24'] }, [{ ip: '172.30.0.2' }])], [oneEndpoint]);
  const lines = serviceLines(text);
  t.true(
    lines.includes(
      `-A TSK-EXTERNAL-SERVICES -m comment --comment "default/web traffic not accepted by TSK-FW-LOLE4ISW44XBNF3G" -d 172.30.0.2/32 -p tcp -m tcp --dport 80 -j DROP`,
    ),
    lines,
  );
  t.true(lines.includes(':TSK-FW-LOLE4ISW44XBNF3G - [0:0]'), lines);
  t.true(
    lines.includes(
      `-A TSK-SERVICES -m comment --comment "default/web loadbalancer IP" -d 172.30.0.2/32 -p tcp -m tcp --dport 80 -j TSK-FW-LOLE4ISW44XBNF3G
-A TSK-FW-LOLE4ISW44XBNF3G -m comment --comment "default/web loadbalancer IP" -s 192.0.2.0/24 -j TSK-EXT-LOLE4ISW44XBNF3G
-A TSK-FW-LOLE4ISW44XBNF3G -m comment --comment "default/web loadbalancer IP" -s 198.51.100.0/24 -j TSK-EXT-LOLE4ISW44XBNF3G
-A TSK-FW-LOLE4ISW44XBNF3G -m comment --comment "other traffic to default/web will be dropped by TSK-EXTERNAL-SERVICES"`,
    ),
    lines,
  );
});

test('LoadBalancer without endpoints: REJECT at the ingress IPs; ipMode Proxy and other types get no load balancer rules', (t) => {
  const noEndpoints = render([lbService({}, [{ ip: '172.30.0.2' }])], []);
  t.true(
    serviceLines(noEndpoints).includes(
      '-A TSK-EXTERNAL-SERVICES -m comment --comment "default/web has no endpoints" -d 172.30.0.2/32 -p tcp -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable',
    ),
  );
  const proxied = render([lbService({}, [{ ip: '172.30.0.2', ipMode: 'Proxy' }])], [oneEndpoint]);
  t.false(proxied.includes('loadbalancer IP'));
  const notLb: Service = { ...lbService({ type: 'NodePort' }), status: { loadBalancer: { ingress: [{ ip: '172.30.0.2' }] } } };
  t.false(render([notLb], [oneEndpoint]).includes('loadbalancer IP'));
});

test('ExternalName services get no rules at all', (t) => {
  const text = render(
    [{ metadata: { namespace: 'default', name: 'db' }, spec: { type: 'ExternalName', externalName: 'db.example.com', ports: [{ port: 5432 }] } }],
    [],
  );
  t.is(serviceLines(text), '');
});

test('a node-local Service (kube-dns: every node answers on its address) gets no rules at all, not even REJECT', (t) => {
  const dns = svc('kube-dns', { ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] });
  dns.metadata = { ...dns.metadata, annotations: { 'tsk.io/node-local': 'true' } };
  t.is(serviceLines(render([dns], [])), '');
});
