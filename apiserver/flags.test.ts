import test from 'ava';
import { UsageError, parseFlags } from './flags';

test('defaults match Kubernetes habits', (t) => {
  const f = parseFlags([]);
  t.is(f.address, '127.0.0.1:6443');
  t.is(f.httpAddress, '127.0.0.1:6080');
  t.is(f.dataDir, '/var/lib/tsk');
  t.deepEqual(f.etcdServers, []);
  t.is(f.serviceCidr, '10.96.0.0/16');
  t.is(f.nodePortRange, '30000-32767');
  t.true(f.writeConfig);
  t.is(f.eventTtlSeconds, 3600, "Kubernetes' --event-ttl default");
});

test('--event-ttl takes Go durations', (t) => {
  t.is(parseFlags(['--event-ttl', '30m']).eventTtlSeconds, 1800);
  t.is(parseFlags(['--event-ttl=1h30m0s']).eventTtlSeconds, 5400);
  t.is(parseFlags(['--event-ttl', '90s']).eventTtlSeconds, 90);
  t.is(parseFlags(['--event-ttl', '1.5h']).eventTtlSeconds, 5400, 'fractions, as Go parses them');
  for (const bad of ['', '10', '1d', '0s', '-1h', '500ms']) {
    t.throws(() => parseFlags(['--event-ttl', bad]), { instanceOf: UsageError, message: /--event-ttl/ }, bad);
  }
});

test('flags are parsed', (t) => {
  const f = parseFlags([
    '--address',
    '127.0.0.1:7443',
    '--etcd-servers',
    'http://127.0.0.1:2379, http://127.0.0.1:22379',
    '--service-cidr=10.0.0.0/24',
    '--write-config=false',
  ]);
  t.is(f.address, '127.0.0.1:7443');
  t.deepEqual(f.etcdServers, ['http://127.0.0.1:2379', 'http://127.0.0.1:22379']);
  t.is(f.serviceCidr, '10.0.0.0/24');
  t.false(f.writeConfig);
});

test('--address takes several addresses, TCP and unix sockets', (t) => {
  t.is(parseFlags(['--address', '127.0.0.1:6443,unix:/run/tsk/api.sock']).address, '127.0.0.1:6443,unix:/run/tsk/api.sock');
});

test('bad flags are usage errors naming the flag', (t) => {
  t.throws(() => parseFlags(['--bogus']), { instanceOf: UsageError, message: /bogus/ });
  t.throws(() => parseFlags(['--address', 'nowhere']), { instanceOf: UsageError, message: /--address/ });
  t.throws(() => parseFlags(['--address', '127.0.0.1:6443,unix:rel.sock']), { instanceOf: UsageError, message: /--address: "unix:rel.sock"/ });
  t.throws(() => parseFlags(['--service-cidr', '10.96.0.0/33']), { instanceOf: UsageError, message: /service CIDR/ });
  t.throws(() => parseFlags(['--etcd-servers', 'localhost:2379']), { instanceOf: UsageError, message: /--etcd-servers/ });
  t.throws(() => parseFlags(['--write-config=maybe']), { instanceOf: UsageError, message: /--write-config/ });
});

test('--pod-security-default-enforce takes a Pod Security level, privileged by default as Kubernetes', (t) => {
  t.is(parseFlags([]).podSecurityDefaultEnforce, 'privileged');
  t.is(parseFlags(['--pod-security-default-enforce', 'baseline']).podSecurityDefaultEnforce, 'baseline');
  t.is(parseFlags(['--pod-security-default-enforce=restricted']).podSecurityDefaultEnforce, 'restricted');
  t.throws(() => parseFlags(['--pod-security-default-enforce', 'strict']), {
    instanceOf: UsageError,
    message: '--pod-security-default-enforce: "strict" must be one of privileged, baseline, restricted',
  });
});

test('--tls-san repeated or comma-separated; --cluster-name; plaintext only by its loud flag', (t) => {
  const f = parseFlags(['--tls-san', 'api.example.com,10.0.0.5', '--tls-san=node-1', '--cluster-name', 'lab-a']);
  t.deepEqual(f.tlsSans, ['api.example.com', '10.0.0.5', 'node-1']);
  t.is(f.clusterName, 'lab-a');
  t.false(f.insecurePlaintext);
  t.true(parseFlags(['--insecure-plaintext-for-benchmarks-only']).insecurePlaintext);
  t.throws(() => parseFlags(['--tls-san', 'a b']), { instanceOf: UsageError, message: '--tls-san: "a b" is not a host name or IP address' });
  t.throws(() => parseFlags(['--cluster-name', '../x']), { instanceOf: UsageError, message: /^--cluster-name:/ });
});

test('etcd client TLS flags: cert and key go together', (t) => {
  const f = parseFlags(['--etcd-servers', 'https://10.0.0.1:2379', '--etcd-cafile', '/ca', '--etcd-certfile', '/c', '--etcd-keyfile', '/k']);
  t.deepEqual([f.etcdCaFile, f.etcdCertFile, f.etcdKeyFile], ['/ca', '/c', '/k']);
  t.throws(() => parseFlags(['--etcd-certfile', '/c']), { instanceOf: UsageError, message: '--etcd-certfile and --etcd-keyfile go together' });
});

test("etcd upkeep flags: compaction interval, k3s's snapshot flags and cluster reset", (t) => {
  const f = parseFlags(['--data-dir', '/d']);
  t.is(f.etcdCompactionIntervalMs, 5 * 60_000, "kube-apiserver's default");
  t.deepEqual(f.etcdSnapshots, { enabled: true, cron: '0 */12 * * *', retention: 5, dir: '/d/snapshots' });
  t.false(f.clusterReset);
  t.is(parseFlags(['--etcd-compaction-interval', '0']).etcdCompactionIntervalMs, 0, '0: never');
  t.like(parseFlags(['--etcd-disable-snapshots', '--etcd-snapshot-retention', '9', '--etcd-snapshot-dir', '/s']).etcdSnapshots, {
    enabled: false,
    retention: 9,
    dir: '/s',
  });
  t.like(parseFlags(['--cluster-reset', '--cluster-reset-restore-path', '/s/x']), { clusterReset: true, clusterResetRestorePath: '/s/x' });
  t.throws(() => parseFlags(['--etcd-snapshot-schedule-cron', 'every day']), {
    instanceOf: UsageError,
    message: /--etcd-snapshot-schedule-cron: "every day" is not a cron schedule/,
  });
  t.throws(() => parseFlags(['--etcd-snapshot-retention', '0']), { instanceOf: UsageError, message: /--etcd-snapshot-retention/ });
  t.throws(() => parseFlags(['--cluster-reset-restore-path', '/s/x']), { instanceOf: UsageError, message: /needs --cluster-reset/ });
  t.throws(() => parseFlags(['--etcd-compaction-interval', '10ms']), { instanceOf: UsageError, message: /--etcd-compaction-interval/ });
});

test('--encryption-provider-config: a file, default none (the data dir gets its own)', (t) => {
  t.is(parseFlags([]).encryptionProviderConfig, undefined);
  t.is(parseFlags(['--encryption-provider-config', '/etc/tsk/enc.yaml']).encryptionProviderConfig, '/etc/tsk/enc.yaml');
  t.throws(() => parseFlags(['--encryption-provider-config=']), { instanceOf: UsageError, message: /--encryption-provider-config: must not be empty/ });
});

test("--cluster-dns defaults to the service CIDR's 10th address (kubeadm's 10.96.0.10); --cluster-domain to cluster.local", (t) => {
  t.is(parseFlags([]).clusterDns, '10.96.0.10');
  t.is(parseFlags([]).clusterDomain, 'cluster.local');
  t.is(parseFlags(['--service-cidr', '10.0.0.0/24']).clusterDns, '10.0.0.10');
  const f = parseFlags(['--cluster-dns', '10.96.0.53', '--cluster-domain', 'corp.example.']);
  t.is(f.clusterDns, '10.96.0.53');
  t.is(f.clusterDomain, 'corp.example');
  t.throws(() => parseFlags(['--cluster-dns', 'ten']), { instanceOf: UsageError, message: /^--cluster-dns: "ten" is not an IPv4 address/ });
  t.throws(() => parseFlags(['--cluster-dns', '10.97.0.10']), {
    instanceOf: UsageError,
    message: /^--cluster-dns: "10.97.0.10" is not an address --service-cidr/,
  });
  t.throws(() => parseFlags(['--cluster-domain', 'Cluster_Local']), { instanceOf: UsageError, message: /^--cluster-domain:/ });
});

test('a service CIDR too small for a 10th address has no default cluster DNS', (t) => {
  t.is(parseFlags(['--service-cidr', '10.96.0.0/29']).clusterDns, undefined);
  t.is(parseFlags(['--service-cidr', '10.96.0.0/29', '--cluster-dns', '10.96.0.5']).clusterDns, '10.96.0.5');
});

test('--rest-address: beside the first TCP --address on 6444, a free port when gRPC is off 6443, off with ""', (t) => {
  t.is(parseFlags([]).restAddress, '127.0.0.1:6444');
  t.is(parseFlags(['--address', 'unix:/run/tsk.sock,0.0.0.0:6443']).restAddress, '0.0.0.0:6444');
  t.is(parseFlags(['--address', 'unix:/run/tsk.sock']).restAddress, '127.0.0.1:6444');
  t.is(parseFlags(['--address', '127.0.0.1:0']).restAddress, '127.0.0.1:0');
  t.is(parseFlags(['--address', '127.0.0.1:41234']).restAddress, '127.0.0.1:0', 'no fixed port beside a moved server');
  t.is(parseFlags(['--rest-address', '10.0.0.1:7000']).restAddress, '10.0.0.1:7000');
  t.is(parseFlags(['--rest-address', '']).restAddress, '');
  t.throws(() => parseFlags(['--rest-address', 'nowhere']), { instanceOf: UsageError, message: /^--rest-address: "nowhere" is not HOST:PORT/ });
});

test('--write-kubeconfig defaults to DATA-DIR/admin.kubeconfig', (t) => {
  t.is(parseFlags(['--data-dir', '/srv/tsk']).writeKubeconfig, '/srv/tsk/admin.kubeconfig');
  t.is(parseFlags(['--write-kubeconfig', '/tmp/k']).writeKubeconfig, '/tmp/k');
  t.throws(() => parseFlags(['--write-kubeconfig', '']), { instanceOf: UsageError, message: '--write-kubeconfig: must not be empty' });
});
