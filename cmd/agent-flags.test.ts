import test from 'ava';
import { AGENT_HELP, parseAgentFlags } from './agent-flags';

test("the agent takes the kubelet's flags and its own", (t) => {
  const f = parseAgentFlags([
    '--hostname-override',
    'n1',
    '--proxy-http-address',
    '127.0.0.1:20256',
    '--cluster-cidr=10.244.0.0/16',
    '--cgroup-root',
    'lab/n1',
    '--node-ip',
    '10.0.1.2',
  ]);
  t.is(f.kubelet.nodeName, 'n1');
  t.is(f.kubelet.cgroupRoot, 'lab/n1');
  t.is(f.proxyHttpAddress, '127.0.0.1:20256');
  t.is(f.clusterCidr, '10.244.0.0/16');
  t.true(f.routes, 'routes by default with the bridge network');
  t.is(f.backend, 'vxlan', 'vxlan by default, as k3s');
  t.false(parseAgentFlags(['--network', 'loopback']).routes, 'no routes without pod IPs');
  t.false(parseAgentFlags(['--node-routes', 'false']).routes);
  t.is(parseAgentFlags([]).proxyHttpAddress, '127.0.0.1:10256');
  t.is(parseAgentFlags(['--pod-network-backend', 'host-gw']).backend, 'host-gw', 'host-gw needs no --node-ip to parse');
});

test('bad agent flags name the flag', (t) => {
  t.throws(() => parseAgentFlags(['--node-routes', 'maybe']), { message: /--node-routes: "maybe" must be true or false/ });
  t.throws(() => parseAgentFlags(['--node-ip', '10.0.1.2', '--cluster-cidr', '10.244.0.0']), { message: /--cluster-cidr/ });
  t.throws(() => parseAgentFlags(['--node-ip', '10.0.1.2', '--proxy-http-address', 'x']), { message: /--proxy-http-address/ });
  t.throws(() => parseAgentFlags(['--pod-network-backend', 'udp']), { message: '--pod-network-backend: "udp" must be vxlan or host-gw' });
  t.throws(() => parseAgentFlags(['--max-pods', '0']), { message: /--max-pods/ });
  t.regex(AGENT_HELP, /--cgroup-root/);
  t.regex(AGENT_HELP, /--node-routes/);
  t.regex(AGENT_HELP, /--pod-network-backend vxlan\|host-gw/);
});

test('--proxy-mode: iptables by default, nftables on request, anything else a one-line error', (t) => {
  t.is(parseAgentFlags([]).proxyMode, 'iptables');
  t.is(parseAgentFlags(['--proxy-mode', 'nftables']).proxyMode, 'nftables');
  t.throws(() => parseAgentFlags(['--proxy-mode=userspace']), { message: '--proxy-mode: "userspace" must be iptables or nftables' });
});
