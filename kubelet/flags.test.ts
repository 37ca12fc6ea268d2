// `tsk kubelet` flags: defaults, values, and errors that name the flag.

import test from 'ava';
import { FLAG_HELP, kubeletPortAddress, parseFlags, UsageError } from './flags';

const host = (): string => 'Worker-1';

test('defaults', (t) => {
  t.deepEqual(parseFlags([], host), {
    server: undefined,
    servers: [],
    kubeconfig: undefined,
    nodeName: 'worker-1',
    nodeIP: '',
    podCIDR: '',
    dataDir: '/var/lib/tsk',
    cgroupRoot: 'tsk',
    maxPods: 110,
    nodeStatusUpdateFrequencyMs: 10_000,
    nodeStatusReportFrequencyMs: 300_000,
    nodeLeaseDurationSeconds: 40,
    syncFrequencyMs: 10_000,
    httpAddress: '127.0.0.1:10248',
    address: '',
    port: 10250,
    systemReserved: {},
    network: 'bridge',
    allowedUnsafeSysctls: [],
    clusterDNS: undefined,
    clusterDomain: undefined,
    resolvConf: '/etc/resolv.conf',
    token: undefined,
    help: false,
  });
});

test('--server repeated: every API server, the first tried first', (t) => {
  const f = parseFlags(['--server', 'https://10.0.0.1:6443', '--server', '10.0.0.2:6443', '--server', 'unix:/run/api.sock'], host);
  t.is(f.server, '10.0.0.1:6443');
  t.deepEqual(f.servers, ['10.0.0.1:6443', '10.0.0.2:6443', 'unix:/run/api.sock']);
  t.throws(() => parseFlags(['--server', '10.0.0.1:6443', '--server', 'nohost'], host), { instanceOf: UsageError, message: /^--server: "nohost"/ });
});

test('--cluster-dns, --cluster-domain and --resolv-conf', (t) => {
  const f = parseFlags(['--cluster-dns', '10.96.0.10', '--cluster-domain', 'corp.example', '--resolv-conf', ''], host);
  t.is(f.clusterDNS, '10.96.0.10');
  t.is(f.clusterDomain, 'corp.example');
  t.is(f.resolvConf, '');
  t.throws(() => parseFlags(['--cluster-dns', '10.96.0'], host), { instanceOf: UsageError, message: /^--cluster-dns: "10.96.0" is not an IPv4 address/ });
  t.throws(() => parseFlags(['--cluster-domain', 'Bad_Domain'], host), { instanceOf: UsageError, message: /^--cluster-domain:/ });
});

test('every flag', (t) => {
  const f = parseFlags(
    [
      '--server',
      'unix:/run/tsk/api.sock',
      '--kubeconfig',
      '/var/lib/tsk/admin.conf',
      '--hostname-override',
      'Node-A',
      '--node-ip',
      '10.0.0.5',
      '--pod-cidr',
      '10.244.3.0/24',
      '--data-dir',
      '/srv/tsk',
      '--max-pods',
      '50',
      '--node-status-update-frequency',
      '1m30s',
      '--sync-frequency',
      '2s',
      '--http-address',
      '0.0.0.0:10250',
      '--system-reserved',
      'cpu=200m,memory=1Gi',
      '--network',
      'loopback',
      '--cgroup-root',
      '/tsk-lab/n1/',
      '--allowed-unsafe-sysctls',
      'net.core.somaxconn, kernel.msg*',
    ],
    host,
  );
  t.like(f, {
    server: 'unix:/run/tsk/api.sock',
    kubeconfig: '/var/lib/tsk/admin.conf',
    nodeName: 'node-a',
    nodeIP: '10.0.0.5',
    podCIDR: '10.244.3.0/24',
    dataDir: '/srv/tsk',
    maxPods: 50,
    nodeStatusUpdateFrequencyMs: 90_000,
    syncFrequencyMs: 2_000,
    httpAddress: '0.0.0.0:10250',
    systemReserved: { cpu: '200m', memory: '1Gi' },
    network: 'loopback',
    cgroupRoot: 'tsk-lab/n1',
    allowedUnsafeSysctls: ['net.core.somaxconn', 'kernel.msg*'],
  });
  t.true(parseFlags(['-h'], host).help);
  t.is(parseFlags(['--token', 'abcdef.0123456789abcdef', '--server', 'https://10.0.0.1:6443'], host).server, '10.0.0.1:6443');
  t.is(parseFlags(['--token', 'abcdef.0123456789abcdef'], host).token, 'abcdef.0123456789abcdef');
});

const bad: Array<[string[], RegExp]> = [
  [['--hostname-override', 'bad_name'], /--hostname-override: "bad_name" is not a valid node name/],
  [['--node-ip', '10.0.0'], /--node-ip: "10.0.0" is not an IP address/],
  [['--pod-cidr', '10.244.0.0'], /--pod-cidr: "10.244.0.0" is not an IPv4 CIDR/],
  [['--max-pods', '0'], /--max-pods: "0" must be a positive integer/],
  [['--node-status-update-frequency', '10'], /--node-status-update-frequency: "10" is not a duration/],
  [['--http-address', 'localhost'], /--http-address: "localhost" is not HOST:PORT/],
  [['--system-reserved', 'gpu=1'], /--system-reserved: "gpu=1" is not RESOURCE=QUANTITY/],
  [['--system-reserved', 'memory=lots'], /--system-reserved: .*lots/],
  [['--network', 'flannel'], /--network: "flannel" must be bridge or loopback/],
  [['--cgroup-root', 'a/../b'], /--cgroup-root: "a\/..\/b" is not a cgroup path/],
  [['--server', 'unix:rel.sock'], /--server: "unix:rel.sock" must be unix:\/ABSOLUTE\/PATH/],
  [['--allowed-unsafe-sysctls', 'kernel.panic'], /--allowed-unsafe-sysctls: the sysctl "kernel.panic" is not known to be namespaced/],
  [['--address', '10.0.0'], /--address: "10.0.0" is not an IP address/],
  [['--port', '70000'], /--port: "70000" is not a port number/],
  [['--port', 'http'], /--port: "http" is not a port number/],
  [['--bogus'], /bogus/],
];
for (const [argv, message] of bad) {
  test(`refused: ${argv.join(' ')}`, (t) => {
    t.throws(() => parseFlags(argv, host), { instanceOf: UsageError, message });
  });
}

test('--node-lease-duration-seconds: a positive integer; --node-status-report-frequency: a duration', (t) => {
  t.is(parseFlags(['--node-lease-duration-seconds', '10'], host).nodeLeaseDurationSeconds, 10);
  t.is(parseFlags(['--node-status-report-frequency', '1m'], host).nodeStatusReportFrequencyMs, 60_000);
  t.throws(() => parseFlags(['--node-lease-duration-seconds', '0'], host), { message: '--node-lease-duration-seconds: "0" must be a positive integer' });
  t.throws(() => parseFlags(['--node-lease-duration-seconds', '4s'], host), { message: '--node-lease-duration-seconds: "4s" must be a positive integer' });
});

test("the kubelet's port: --address, else the node IP, with --port; none without an IP or with port 0", (t) => {
  const at = (argv: string[]): string | undefined => kubeletPortAddress(parseFlags(argv, host));
  t.is(at(['--node-ip', '10.0.0.5']), '10.0.0.5:10250');
  t.is(at(['--node-ip', '10.0.0.5', '--address', '0.0.0.0', '--port', '11250']), '0.0.0.0:11250');
  t.is(at(['--address', 'fd00::1']), '[fd00::1]:10250');
  t.is(at([]), undefined);
  t.is(at(['--node-ip', '10.0.0.5', '--port', '0']), undefined);
});

test('--node-status-update-frequency: a positive Go duration', (t) => {
  const freq = (v: string): number => parseFlags(['--node-status-update-frequency', v], host).nodeStatusUpdateFrequencyMs;
  t.is(freq('500ms'), 500);
  t.is(freq('1h2m3s'), 3_723_000);
  t.is(freq('1.5s'), 1500);
  t.throws(() => freq('0s'), { message: /--node-status-update-frequency: "0s" must be more than zero/ });
  t.throws(() => freq('5 s'), { message: /not a duration/ });
});

test('the help lists every flag with its default', (t) => {
  for (const flag of [
    '--server',
    '--hostname-override',
    '--node-ip',
    '--pod-cidr',
    '--network',
    '--data-dir',
    '--cgroup-root',
    '--max-pods',
    '--system-reserved',
    '--node-status-update-frequency',
    '--http-address',
    '--address',
    '--port',
    '--help',
  ]) {
    t.true(FLAG_HELP.includes(flag), flag);
  }
  t.regex(FLAG_HELP, /default 110/);
  t.regex(FLAG_HELP, /default 127\.0\.0\.1:10248/);
  t.regex(FLAG_HELP, /default 10250/);
});
