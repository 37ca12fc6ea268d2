import test from 'ava';
import type { Node } from '../../api/gen/tsk/v1/core';
import { ROUTE_PROTO } from './node-routes';
import { applyVxlan, backendAnnotations, desiredPeers, ensureVxlanDevice, planVxlan, readVxlanState, underlayDevice, vtepAddress, vtepMac } from './vxlan';

const MAC2 = '0a:00:00:00:00:02';
const node = (name: string, podCIDR: string, ip?: string, mac?: string): Node => ({
  metadata: { name, ...(mac ? { annotations: backendAnnotations(mac, ip ?? '') } : {}) },
  spec: { podCIDR },
  status: { addresses: ip ? [{ type: 'InternalIP', address: ip }] : [] },
});

test("a node's VTEP address is its pod CIDR's network address, as flannel's", (t) => {
  t.is(vtepAddress('10.244.2.0/24'), '10.244.2.0');
  t.is(vtepAddress('10.42.17.0/24'), '10.42.17.0');
});

test('the VTEP MAC is read from a vxlan backend-data annotation only', (t) => {
  t.is(vtepMac(node('a', '10.244.1.0/24', '10.0.0.1', '0A:00:00:00:00:01')), '0a:00:00:00:00:01');
  t.is(vtepMac(node('a', '10.244.1.0/24', '10.0.0.1')), undefined);
  t.is(vtepMac({ metadata: { annotations: { 'tsk.io/backend-type': 'vxlan', 'tsk.io/backend-data': '{' } } }), undefined, 'bad JSON');
  t.is(vtepMac({ metadata: { annotations: { 'tsk.io/backend-type': 'host-gw', 'tsk.io/backend-data': `{"VtepMAC":"${MAC2}"}` } } }), undefined);
  t.deepEqual(backendAnnotations(MAC2, '10.0.1.2'), {
    'tsk.io/backend-type': 'vxlan',
    'tsk.io/backend-data': `{"VNI":1,"VtepMAC":"${MAC2}"}`,
    'tsk.io/public-ip': '10.0.1.2',
  });
});

test('peers: every other node with a pod CIDR, an InternalIP and a VTEP MAC', (t) => {
  const going = node('going', '10.244.8.0/24', '10.0.8.2', '0a:00:00:00:00:08');
  going.metadata = { ...going.metadata, deletionTimestamp: '2026-01-01T00:00:00Z' };
  const nodes = [
    node('n1', '10.244.1.0/24', '10.0.1.2', '0a:00:00:00:00:01'),
    node('n3', '10.244.3.0/24', '10.0.3.2', '0a:00:00:00:00:03'),
    node('n2', '10.244.2.0/24', '10.0.2.2', MAC2),
    node('no-mac', '10.244.4.0/24', '10.0.4.2'),
    node('no-cidr', '', '10.0.5.2', '0a:00:00:00:00:05'),
    node('no-ip', '10.244.6.0/24', undefined, '0a:00:00:00:00:06'),
    going,
  ];
  t.deepEqual(desiredPeers(nodes, 'n1'), [
    { node: 'n2', dst: '10.244.2.0/24', vtep: '10.244.2.0', mac: MAC2, nodeIp: '10.0.2.2' },
    { node: 'n3', dst: '10.244.3.0/24', vtep: '10.244.3.0', mac: '0a:00:00:00:00:03', nodeIp: '10.0.3.2' },
  ]);
});

test('the plan adds what is missing, fixes what differs, removes what no node needs, and moves host-gw routes onto the overlay', (t) => {
  const peers = [
    { node: 'n2', dst: '10.244.2.0/24', vtep: '10.244.2.0', mac: MAC2, nodeIp: '10.0.2.2' },
    { node: 'n3', dst: '10.244.3.0/24', vtep: '10.244.3.0', mac: '0a:00:00:00:00:03', nodeIp: '10.0.3.2' },
  ];
  const plan = planVxlan(peers, {
    routes: new Map([
      ['10.244.2.0/24', '10.244.2.0@tsk.1'],
      ['10.244.3.0/24', '10.0.3.2@eth0'],
      ['10.244.9.0/24', '10.244.9.0@tsk.1'],
    ]),
    neigh: new Map([
      ['10.244.2.0', MAC2],
      ['10.244.9.0', '0a:00:00:00:00:09'],
    ]),
    fdb: new Map([
      [MAC2, '10.0.2.99'],
      ['0a:00:00:00:00:09', '10.0.9.2'],
    ]),
  });
  t.deepEqual(plan, {
    fdb: {
      replace: [
        { mac: MAC2, dst: '10.0.2.2' },
        { mac: '0a:00:00:00:00:03', dst: '10.0.3.2' },
      ],
      remove: ['0a:00:00:00:00:09'],
    },
    neigh: { replace: [{ ip: '10.244.3.0', mac: '0a:00:00:00:00:03' }], remove: ['10.244.9.0'] },
    routes: { replace: [{ dst: '10.244.3.0/24', via: '10.244.3.0' }], remove: ['10.244.9.0/24'] },
  });
});

test('state is read from ip -j and the plan applied with exact commands, removals after additions', async (t) => {
  const calls: string[] = [];
  const out: Record<string, string> = {
    route: JSON.stringify([{ dst: '10.244.9.0/24', gateway: '10.244.9.0', dev: 'tsk.1', protocol: '116' }]),
    neigh: JSON.stringify([{ dst: '10.244.9.0', lladdr: '0A:00:00:00:00:09', state: ['PERMANENT'] }]),
    fdb: JSON.stringify([
      { mac: '0a:00:00:00:00:09', dst: '10.0.9.2', state: 'permanent' },
      { mac: '33:33:00:00:00:01', state: 'permanent' },
    ]),
  };
  const ip = async (args: readonly string[]): Promise<string> => {
    calls.push(args.join(' '));
    return args[0] === '-j' ? (out[args[1] ?? ''] ?? '') : '';
  };
  const bridge = async (args: readonly string[]): Promise<string> => {
    calls.push(`bridge ${args.join(' ')}`);
    return args[0] === '-j' ? (out[args[1] ?? ''] ?? '') : '';
  };
  const have = await readVxlanState({ ip, bridge });
  t.deepEqual([...have.routes], [['10.244.9.0/24', '10.244.9.0@tsk.1']]);
  t.deepEqual([...have.neigh], [['10.244.9.0', '0a:00:00:00:00:09']]);
  t.deepEqual([...have.fdb], [['0a:00:00:00:00:09', '10.0.9.2']], 'entries without a dst are not ours');
  calls.length = 0;
  const lines = await applyVxlan({ ip, bridge }, planVxlan([{ node: 'n2', dst: '10.244.2.0/24', vtep: '10.244.2.0', mac: MAC2, nodeIp: '10.0.2.2' }], have));
  t.deepEqual(calls, [
    `bridge fdb replace ${MAC2} dev tsk.1 dst 10.0.2.2 self permanent`,
    `neigh replace 10.244.2.0 lladdr ${MAC2} dev tsk.1 nud permanent`,
    `route replace 10.244.2.0/24 via 10.244.2.0 dev tsk.1 onlink proto ${ROUTE_PROTO}`,
    `route del 10.244.9.0/24 proto ${ROUTE_PROTO}`,
    'neigh del 10.244.9.0 dev tsk.1',
    'bridge fdb del 0a:00:00:00:00:09 dev tsk.1 self',
  ]);
  t.is(lines.length, 6);
});

test('the device is re-created when its local address is not the node IP, on the device holding that IP', async (t) => {
  const calls: string[] = [];
  let deleted = false;
  const ip = async (args: readonly string[]): Promise<string> => {
    const cmd = args.join(' ');
    calls.push(cmd);
    if (cmd === '-j -d link show tsk.1') {
      const local = deleted ? '172.30.0.2' : '172.30.0.9';
      return JSON.stringify([{ address: '0A:00:00:00:00:01', linkinfo: { info_kind: 'vxlan', info_data: { id: 1, local, port: 8472, learning: false } } }]);
    }
    if (cmd === 'link del tsk.1') deleted = true;
    if (cmd === '-j addr show dev tsk.1') {
      return JSON.stringify([
        {
          addr_info: [
            { family: 'inet', local: '10.244.1.0', prefixlen: 32 },
            { family: 'inet', local: '10.244.7.0', prefixlen: 32 },
            { family: 'inet6', local: 'fe80::1', prefixlen: 64 },
          ],
        },
      ]);
    }
    if (cmd === '-j addr show')
      return JSON.stringify([
        { ifname: 'lo', mtu: 65536, addr_info: [{ local: '127.0.0.1' }] },
        { ifname: 'eth0', mtu: 1500, addr_info: [{ local: '172.30.0.2' }] },
      ]);
    return '';
  };
  t.is(await ensureVxlanDevice(ip, '172.30.0.2', '10.244.1.0/24'), '0a:00:00:00:00:01');
  t.deepEqual(calls.slice(1), [
    'link del tsk.1',
    '-j addr show',
    'link add tsk.1 type vxlan id 1 dev eth0 local 172.30.0.2 dstport 8472 nolearning',
    'addr replace 10.244.1.0/32 dev tsk.1',
    '-j addr show dev tsk.1',
    'addr del 10.244.7.0/32 dev tsk.1',
    'link set tsk.1 up',
    '-j -d link show tsk.1',
  ]);
  t.deepEqual(await underlayDevice(ip, '172.30.0.2'), { dev: 'eth0', mtu: 1500 });
  await t.throwsAsync(underlayDevice(ip, '10.0.0.1'), { message: 'no network device holds the node IP 10.0.0.1 (--node-ip)' });
});
