import test from 'ava';
import { downCommands, upCommands } from './net';
import { parseCidr, planLab } from './topology';

test('a plan names every namespace, port and address from the lab name', (t) => {
  const p = planLab({ name: 'demo', nodes: 2, dataDir: '/var/lib/tsk/', network: '172.30.0.0/24' });
  t.is(p.dir, '/var/lib/tsk/lab/demo');
  t.is(p.switchNetns, 'tsk-demo-sw');
  t.is(p.apiSocket, '/var/lib/tsk/lab/demo/api.sock');
  t.deepEqual(
    p.nodes.map((n) => [n.name, n.netns, n.ip, n.switchPort, n.dataDir, n.cgroupRoot]),
    [
      ['demo-node-1', 'tsk-demo-n1', '172.30.0.2', 'n1', '/var/lib/tsk/lab/demo/demo-node-1', 'tsk-demo-n1'],
      ['demo-node-2', 'tsk-demo-n2', '172.30.0.3', 'n2', '/var/lib/tsk/lab/demo/demo-node-2', 'tsk-demo-n2'],
    ],
  );
});

test('bad names, node counts and networks are refused with the reason', (t) => {
  const ok = { name: 'lab', nodes: 3, dataDir: '/d', network: '172.30.0.0/24' };
  t.throws(() => planLab({ ...ok, name: 'Lab' }), { message: /lab name "Lab"/ });
  t.throws(() => planLab({ ...ok, name: 'a-very-long-lab-name-x' }), { message: /1-20 lower-case/ });
  t.throws(() => planLab({ ...ok, nodes: 0 }), { message: /--nodes must be 1-250, not 0/ });
  t.throws(() => planLab({ ...ok, network: '172.30.0.0/29', nodes: 6 }), { message: /room for 5 nodes, not 6/ });
  t.throws(() => planLab({ ...ok, network: '172.30.0.0' }), { message: /not an IPv4 CIDR/ });
  t.throws(() => planLab({ ...ok, network: '300.1.1.0/24' }), { message: /not an IPv4 address/ });
});

test('CIDR bases are masked', (t) => {
  t.deepEqual(parseCidr('172.30.7.9/16'), { base: '172.30.0.0', prefix: 16 });
});

test('the network commands: a bridge in the switch namespace, a veth per node, nothing in the host namespace', (t) => {
  const p = planLab({ name: 'x', nodes: 1, dataDir: '/d', network: '172.30.0.0/24' });
  t.deepEqual(upCommands(p), [
    ['ip', 'netns', 'add', 'tsk-x-sw'],
    ['ip', '-n', 'tsk-x-sw', 'link', 'set', 'lo', 'up'],
    ['ip', '-n', 'tsk-x-sw', 'link', 'add', 'br0', 'type', 'bridge'],
    ['ip', '-n', 'tsk-x-sw', 'link', 'set', 'br0', 'up'],
    ['ip', 'netns', 'add', 'tsk-x-n1'],
    ['ip', '-n', 'tsk-x-n1', 'link', 'set', 'lo', 'up'],
    ['ip', '-n', 'tsk-x-sw', 'link', 'add', 'n1', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', 'tsk-x-n1'],
    ['ip', '-n', 'tsk-x-sw', 'link', 'set', 'n1', 'master', 'br0', 'up'],
    ['ip', '-n', 'tsk-x-n1', 'addr', 'add', '172.30.0.2/24', 'dev', 'eth0'],
    ['ip', '-n', 'tsk-x-n1', 'link', 'set', 'eth0', 'up'],
    ['ip', '-n', 'tsk-x-n1', 'route', 'add', '10.96.0.0/16', 'dev', 'eth0'],
  ]);
  for (const cmd of upCommands(p)) t.true(cmd[1] === '-n' || cmd[1] === 'netns', `${cmd.join(' ')} names a namespace`);
  t.deepEqual(downCommands(p), [
    ['ip', 'netns', 'delete', 'tsk-x-n1'],
    ['ip', 'netns', 'delete', 'tsk-x-sw'],
  ]);
});

test('a plan names the servers (server-1 keeps the one-server directory) and each node its link socket', (t) => {
  const p = planLab({ name: 'demo', nodes: 1, dataDir: '/d', network: '172.30.0.0/24' });
  t.deepEqual(p.servers, [{ name: 'demo-server-1', dataDir: '/d/lab/demo/server' }]);
  t.is(p.serverDataDir, '/d/lab/demo/server');
  t.is(p.nodes[0]?.apiSocket, '/d/lab/demo/demo-node-1/api.sock');
});

test('several servers: each in its own namespace on br0, at the top addresses of the first subnet', (t) => {
  const ok = { name: 'lab', nodes: 1, dataDir: '/d', network: '172.30.0.0/24' };
  const p = planLab({ ...ok, servers: 3 });
  t.deepEqual(
    p.servers.map((s) => [s.name, s.dataDir, s.ha?.netns, s.ha?.ip, s.ha?.switchPort, s.ha?.apiSocket]),
    [
      ['lab-server-1', '/d/lab/lab/server', 'tsk-lab-s1', '172.30.0.254', 's1', '/d/lab/lab/lab-server-1.sock'],
      ['lab-server-2', '/d/lab/lab/server-2', 'tsk-lab-s2', '172.30.0.253', 's2', '/d/lab/lab/lab-server-2.sock'],
      ['lab-server-3', '/d/lab/lab/server-3', 'tsk-lab-s3', '172.30.0.252', 's3', '/d/lab/lab/lab-server-3.sock'],
    ],
  );
  t.is(p.nodes[0]?.ip, '172.30.0.2');
  const cmds = upCommands(p);
  t.true(cmds.some((c) => c.join(' ') === 'ip -n tsk-lab-sw link set s2 master br0 up'));
  t.true(cmds.some((c) => c.join(' ') === 'ip -n tsk-lab-s2 addr add 172.30.0.253/24 dev eth0'));
  t.true(downCommands(p).some((c) => c.join(' ') === 'ip netns delete tsk-lab-s3'));
  t.throws(() => planLab({ ...ok, network: '172.30.0.0/29', nodes: 3, servers: 3 }), {
    message: /room for 5 machines in its first subnet, not 3 node\(s\) and 3 servers/,
  });
  t.throws(() => planLab({ ...ok, servers: 0 }), { message: /--servers must be 1 or more, not 0/ });
});

test('two subnets: nodes alternate between two bridges, a router namespace joins them, each node routes the other subnet via its .1', (t) => {
  const p = planLab({ name: 'x', nodes: 3, dataDir: '/d', network: '172.30.0.0/24', subnets: 2 });
  t.is(p.routerNetns, 'tsk-x-rt');
  t.deepEqual(
    p.nodes.map((n) => [n.ip, n.subnet]),
    [
      ['172.30.0.2', 0],
      ['172.30.1.2', 1],
      ['172.30.0.3', 0],
    ],
  );
  const cmds = upCommands(p).map((c) => c.join(' '));
  for (const want of [
    'ip -n tsk-x-sw link add br0 type bridge',
    'ip -n tsk-x-sw link add br1 type bridge',
    'ip netns exec tsk-x-rt sysctl -qw net.ipv4.ip_forward=1',
    'ip -n tsk-x-sw link add r1 type veth peer name eth1 netns tsk-x-rt',
    'ip -n tsk-x-sw link set r1 master br1 up',
    'ip -n tsk-x-rt addr add 172.30.1.1/24 dev eth1',
    'ip -n tsk-x-sw link set n2 master br1 up',
    'ip -n tsk-x-n1 route add 172.30.1.0/24 via 172.30.0.1',
    'ip -n tsk-x-n2 route add 172.30.0.0/24 via 172.30.1.1',
  ]) {
    t.true(cmds.includes(want), want);
  }
  t.false(
    cmds.some((c) => c.includes('MASQUERADE') || c.includes('iptables')),
    'no NAT',
  );
  for (const cmd of upCommands(p)) t.true(cmd[1] === '-n' || cmd[1] === 'netns', `${cmd.join(' ')} names a namespace`);
  t.deepEqual(downCommands(p).at(-2), ['ip', 'netns', 'delete', 'tsk-x-rt']);
  t.throws(() => planLab({ name: 'x', nodes: 3, dataDir: '/d', network: '172.30.0.0/24', subnets: 9 }), { message: /--subnets must be 1-8, not 9/ });
});
