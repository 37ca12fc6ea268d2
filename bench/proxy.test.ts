import test from 'ava';
import { parseBenchFlags } from './proxy';
import { benchEndpoints, clusterIP, podIP } from './proxy-source';

test('bench:proxy flags: defaults, both spellings, one-line errors naming the flag', (t) => {
  t.deepEqual(parseBenchFlags([]), { services: 10_000, endpoints: 5, repeats: 3, changes: 10, modes: ['iptables', 'nftables'] });
  t.deepEqual(parseBenchFlags(['--services', '50', '--endpoints=2', '--repeats', '1', '--changes=3', '--modes', 'nftables']), {
    services: 50,
    endpoints: 2,
    repeats: 1,
    changes: 3,
    modes: ['nftables'],
  });
  t.deepEqual(parseBenchFlags(['--modes=nftables,iptables']).modes, ['iptables', 'nftables']);
  t.throws(() => parseBenchFlags(['--modes', 'ipvs']), { message: '--modes must be iptables, nftables or both comma-separated, got ipvs' });
  t.throws(() => parseBenchFlags(['--services', '0']), { message: '--services must be a positive integer, got 0' });
  t.throws(() => parseBenchFlags(['--endpoints']), { message: '--endpoints must be a positive integer, got nothing' });
  t.throws(() => parseBenchFlags(['--nodes', '3']), { message: /^unknown flag --nodes \(flags: --services, --endpoints, --repeats, --changes, --modes\)$/ });
  t.throws(() => parseBenchFlags(['--services', '5']), { message: /at least 10/ });
  t.throws(() => parseBenchFlags(['--services', '70000']), { message: /at most 65000/ });
});

test('bench objects: distinct cluster IPs and pod IPs, extra endpoints after the first ones', (t) => {
  t.is(clusterIP(0), '10.96.0.1');
  t.is(clusterIP(9999), '10.96.39.16');
  t.is(podIP(0), '10.128.0.1');
  t.is(podIP(65_535), '10.129.0.0');
  const ips = new Set(Array.from({ length: 60_000 }, (_, k) => podIP(k)));
  t.is(ips.size, 60_000);
  const eps = benchEndpoints(3, 15, 2, 100, 1);
  t.deepEqual(
    eps.subsets?.[0]?.addresses?.map((a) => a.ip),
    [podIP(15), podIP(16), podIP(100)],
  );
});
