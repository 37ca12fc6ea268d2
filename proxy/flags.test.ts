import test from 'ava';
import { FLAG_HELP, UsageError, parseFlags } from './flags';

test('defaults as kube-proxy', (t) => {
  t.deepEqual(parseFlags([], 'Node-1'), {
    server: undefined,
    kubeconfig: undefined,
    nodeName: 'node-1',
    nodeIPs: undefined,
    httpAddress: '127.0.0.1:10256',
    syncPeriodMs: 30_000,
    minSyncPeriodMs: 1000,
    clusterCIDR: undefined,
    masqueradeBit: 14,
    proxyMode: 'iptables',
    cleanup: false,
    token: undefined,
    dataDir: '/var/lib/tsk',
    help: false,
  });
});

test('every flag', (t) => {
  const f = parseFlags(
    [
      '--server',
      'unix:/run/tsk.sock',
      '--hostname-override',
      'n2',
      '--node-ip',
      '172.30.0.2, 172.30.1.2',
      '--http-address',
      '0.0.0.0:0',
      '--sync-period',
      '1m30s',
      '--min-sync-period',
      '500ms',
      '--cluster-cidr',
      '10.244.0.0/16',
      '--iptables-masquerade-bit',
      '15',
      '--cleanup',
    ],
    'host',
  );
  t.is(f.server, 'unix:/run/tsk.sock');
  t.is(f.nodeName, 'n2');
  t.deepEqual(f.nodeIPs, ['172.30.0.2', '172.30.1.2']);
  t.is(f.httpAddress, '0.0.0.0:0');
  t.is(f.syncPeriodMs, 90_000);
  t.is(f.minSyncPeriodMs, 500);
  t.is(f.clusterCIDR, '10.244.0.0/16');
  t.is(f.masqueradeBit, 15);
  t.true(f.cleanup);
  t.true(parseFlags(['-h'], 'host').help);
});

test('bad values are usage errors naming the flag', (t) => {
  const cases: [string[], RegExp][] = [
    [['--node-ip', 'fe80::1'], /--node-ip: "fe80::1"/],
    [['--node-ip', ''], /--node-ip/],
    [['--http-address', '10256'], /--http-address/],
    [['--sync-period', '30'], /--sync-period: "30" is not a duration/],
    [['--sync-period', '500ms'], /--sync-period: "500ms" must be at least 1s/],
    [['--min-sync-period', '1m'], /--min-sync-period: 1m is longer than --sync-period 30s/],
    [['--cluster-cidr', '10.244.0.0'], /--cluster-cidr/],
    [['--iptables-masquerade-bit', '32'], /--iptables-masquerade-bit/],
    [['--hostname-override', 'bad_name'], /--hostname-override/],
    [['--bogus'], /bogus/],
  ];
  for (const [argv, message] of cases) t.throws(() => parseFlags(argv, 'host'), { instanceOf: UsageError, message }, argv.join(' '));
});

test('durations are Go durations', (t) => {
  const f = parseFlags(['--sync-period', '1m30s', '--min-sync-period', '500ms'], 'host');
  t.is(f.syncPeriodMs, 90_000);
  t.is(f.minSyncPeriodMs, 500);
  t.throws(() => parseFlags(['--sync-period', '5 s'], 'host'), { instanceOf: UsageError, message: /--sync-period/ });
  t.throws(() => parseFlags(['--server', 'unix:rel.sock'], 'host'), { instanceOf: UsageError, message: /--server/ });
});

test('the help lists every flag with its default', (t) => {
  for (const flag of [
    '--server',
    '--hostname-override',
    '--node-ip',
    '--http-address',
    '--sync-period',
    '--min-sync-period',
    '--cluster-cidr',
    '--iptables-masquerade-bit',
    '--cleanup',
    '--help',
  ]) {
    t.true(FLAG_HELP.includes(flag), flag);
  }
  t.regex(FLAG_HELP, /default 127\.0\.0\.1:10256/);
});

test('--proxy-mode: iptables or nftables, anything else named in a one-line error', (t) => {
  t.is(parseFlags(['--proxy-mode', 'nftables'], 'n').proxyMode, 'nftables');
  t.is(parseFlags(['--proxy-mode=iptables'], 'n').proxyMode, 'iptables');
  t.throws(() => parseFlags(['--proxy-mode', 'ipvs'], 'n'), { instanceOf: UsageError, message: '--proxy-mode: "ipvs" must be iptables or nftables' });
});
