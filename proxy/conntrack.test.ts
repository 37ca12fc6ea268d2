import test from 'ava';
import { staleUdpFlowFilters } from './conntrack';
import type { ServicePortState } from './service-ports';

function port(protocol: 'TCP' | 'UDP', ips: string[], extra: Partial<ServicePortState> = {}): ServicePortState {
  return {
    namespace: 'default',
    name: 'dns',
    portName: 'dns',
    protocol,
    clusterIP: '10.96.0.10',
    port: 53,
    externalIPs: [],
    loadBalancerIPs: [],
    loadBalancerSourceRanges: [],
    endpoints: ips.map((ip) => ({ ip, port: 5353 })),
    ...extra,
  };
}

test('a removed UDP endpoint: its flows to the cluster IP, external IPs and NodePort are deleted', (t) => {
  const before = port('UDP', ['10.244.1.2', '10.244.1.3'], { nodePort: 30053, externalIPs: ['192.0.2.7'] });
  const after = port('UDP', ['10.244.1.3'], { nodePort: 30053, externalIPs: ['192.0.2.7'] });
  t.deepEqual(staleUdpFlowFilters([before], [after]), [
    ['-p', 'udp', '--orig-dst', '10.96.0.10', '--dst-nat', '10.244.1.2'],
    ['-p', 'udp', '--orig-dst', '192.0.2.7', '--dst-nat', '10.244.1.2'],
    ['-p', 'udp', '--orig-port-dst', '30053', '--dst-nat', '10.244.1.2'],
  ]);
});

test('a deleted UDP service: flows to all its endpoints are deleted', (t) => {
  t.deepEqual(staleUdpFlowFilters([port('UDP', ['10.244.1.2'])], []), [['-p', 'udp', '--orig-dst', '10.96.0.10', '--dst-nat', '10.244.1.2']]);
});

test('a UDP service gets its first endpoints (also at the first sync): the flows to its addresses are deleted', (t) => {
  t.deepEqual(staleUdpFlowFilters([port('UDP', [])], [port('UDP', ['10.244.1.2'])]), [['-p', 'udp', '--orig-dst', '10.96.0.10']]);
  t.deepEqual(staleUdpFlowFilters([], [port('UDP', ['10.244.1.2'], { nodePort: 30053 })]), [
    ['-p', 'udp', '--orig-dst', '10.96.0.10'],
    ['-p', 'udp', '--orig-port-dst', '30053'],
  ]);
});

test('nothing for TCP, unchanged endpoints, added endpoints of a service that had some, or a service losing its last endpoint twice', (t) => {
  t.deepEqual(staleUdpFlowFilters([port('TCP', ['10.244.1.2'])], [port('TCP', [])]), []);
  t.deepEqual(staleUdpFlowFilters([port('UDP', ['10.244.1.2'])], [port('UDP', ['10.244.1.2'])]), []);
  t.deepEqual(staleUdpFlowFilters([port('UDP', ['10.244.1.2'])], [port('UDP', ['10.244.1.2', '10.244.1.3'])]), []);
  t.deepEqual(staleUdpFlowFilters([port('UDP', [])], [port('UDP', [])]), []);
});
