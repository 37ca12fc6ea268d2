import test from 'ava';
import type { Node } from '../../api/gen/tsk/v1/core';
import { applyRoutes, desiredRoutes, planRoutes, readRoutes, ROUTE_PROTO } from './node-routes';

const node = (name: string, podCIDR: string, ip?: string, deleting = false): Node => ({
  metadata: { name, ...(deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
  spec: { podCIDR },
  status: {
    addresses: ip
      ? [
          { type: 'Hostname', address: name },
          { type: 'InternalIP', address: ip },
        ]
      : [],
  },
});

test('a route to every other node that has a pod CIDR and an InternalIP', (t) => {
  const nodes = [
    node('n3', '10.244.3.0/24', '172.30.0.4'),
    node('n1', '10.244.1.0/24', '172.30.0.2'),
    node('n2', '10.244.2.0/24', '172.30.0.3'),
    node('no-cidr', '', '172.30.0.9'),
    node('no-ip', '10.244.9.0/24'),
    node('going', '10.244.8.0/24', '172.30.0.8', true),
  ];
  t.deepEqual(desiredRoutes(nodes, 'n1'), [
    { dst: '10.244.2.0/24', via: '172.30.0.3', node: 'n2' },
    { dst: '10.244.3.0/24', via: '172.30.0.4', node: 'n3' },
  ]);
});

test('the plan replaces missing or changed routes and removes stale ones only', (t) => {
  const desired = [
    { dst: '10.244.2.0/24', via: '172.30.0.3', node: 'n2' },
    { dst: '10.244.3.0/24', via: '172.30.0.4', node: 'n3' },
  ];
  const actual = new Map([
    ['10.244.2.0/24', '172.30.0.3'],
    ['10.244.3.0/24', '172.30.0.99'],
    ['10.244.7.0/24', '172.30.0.7'],
  ]);
  t.deepEqual(planRoutes(desired, actual), { replace: [desired[1]], remove: ['10.244.7.0/24'] });
  t.deepEqual(planRoutes(desired, new Map(desired.map((r) => [r.dst, r.via]))), { replace: [], remove: [] });
});

test("routes are read and written with tsk's own protocol number", async (t) => {
  const calls: string[] = [];
  const ip = async (args: readonly string[]): Promise<string> => {
    calls.push(args.join(' '));
    return args[0] === '-j'
      ? JSON.stringify([
          { dst: '10.244.7.0/24', gateway: '172.30.0.7', protocol: '116' },
          { dst: '10.0.0.0/8', dev: 'eth0' },
        ])
      : '';
  };
  t.deepEqual([...(await readRoutes(ip))], [['10.244.7.0/24', '172.30.0.7']]);
  await applyRoutes(ip, { replace: [{ dst: '10.244.2.0/24', via: '172.30.0.3', node: 'n2' }], remove: ['10.244.7.0/24'] });
  t.deepEqual(calls, [
    `-j route show proto ${ROUTE_PROTO}`,
    `route replace 10.244.2.0/24 via 172.30.0.3 proto ${ROUTE_PROTO}`,
    `route del 10.244.7.0/24 proto ${ROUTE_PROTO}`,
  ]);
  t.deepEqual([...(await readRoutes(async () => '\n'))], [], 'no routes: empty output');
});
