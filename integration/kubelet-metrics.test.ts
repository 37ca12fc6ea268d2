// The kubelet's port (10250) end to end: a real etcd and API server in this
// process, `tsk kubelet` in a network namespace of its own (node IP
// 127.0.0.1 there, so the port is 127.0.0.1:10250 inside the namespace and
// reaches nothing outside it), the bridge pod network inside it, a busybox
// pod that burns CPU, knocks at its gateway, writes a file and then sleeps.
// curl, run inside the namespace, scrapes the port over HTTPS, checking the
// kubelet's serving certificate against the cluster CA.
//
// Checked: /metrics/cadvisor with the admin's certificate has the
// container's CPU (> 0 after the burn), working set, limits, processes and
// writable-layer usage with cAdvisor's labels, and the pod's own cgroup
// with container="" and its eth0 counters; the system:monitoring group may
// read metrics but nothing else; no certificate or a bearer token is 401; a
// user without the right is 403 with the kubelet's message; /metrics,
// /metrics/resource, /healthz.
// Then Debian's prometheus, run in the namespace with static targets (its
// build has no Kubernetes discovery) and the system:monitoring certificate,
// scrapes both paths: up == 1 and the pod's CPU series through its query API.
//
// Everything (processes, namespace, containers, cgroups, temp dirs, the
// registry) is removed in after.always, also when a test fails.

import anyTest, { type TestFn } from 'ava';
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { ClientCredentials } from '../client/connection';
import { killProcess } from './support/netns';
import { eventually } from './support/wait';
import { newNodeEnv, startNodeEnv, waitPod, type NodeEnv } from './support/node-env';
import { testTls } from './support/pki';

const exec = promisify(execFile);

interface Env extends NodeEnv {
  /** PEM files for curl: the CA, and a certificate and key per user. */
  caFile: string;
  certs: Record<'admin' | 'monitoring' | 'nobody', { cert: string; key: string }>;
}

const test = anyTest as TestFn<Env>;

const PORT_URL = 'https://127.0.0.1:10250';
/** The bridge network's pod range inside the namespace; its first address is the pods' gateway. */
const POD_CIDR = '10.244.31.0/24';
const GATEWAY = '10.244.31.1';

function writeCredentials(env: Env, name: keyof Env['certs'], c: ClientCredentials): void {
  const cert = path.join(env.dir, `${name}.crt`);
  const key = path.join(env.dir, `${name}.key`);
  fs.writeFileSync(cert, c.certPem ?? '', { mode: 0o600 });
  fs.writeFileSync(key, c.keyPem ?? '', { mode: 0o600 });
  env.certs[name] = { cert, key };
}

test.before(async (t) => {
  t.context = newNodeEnv<Env>('km');
  const env = t.context;
  const tls = await testTls();
  env.caFile = path.join(env.dir, 'ca.crt');
  fs.writeFileSync(env.caFile, tls.ca.certPem);
  env.certs = {} as Env['certs'];
  writeCredentials(env, 'admin', tls.admin);
  writeCredentials(env, 'monitoring', await tls.credentialsFor('prometheus', ['system:monitoring']));
  writeCredentials(env, 'nobody', await tls.credentialsFor('bob', ['developers']));
  await startNodeEnv(env, { bootstrap: true, kubelet: { network: ['--network', 'bridge', '--pod-cidr', POD_CIDR] } });
});

test.after.always((t) => t.context?.cleanups?.run());

test.afterEach.always((t) => {
  if (!t.passed && t.context.log.length > 0) t.log(`kubelet log (last lines):\n${t.context.log.slice(-60).join('\n')}`);
});

interface Answer {
  code: number;
  body: string;
}

/** GET url inside the node's namespace with curl, verifying the kubelet's certificate against the cluster CA. */
async function scrape(env: Env, urlPath: string, as?: keyof Env['certs'], extra: string[] = []): Promise<Answer> {
  const creds = as ? ['--cert', env.certs[as].cert, '--key', env.certs[as].key] : [];
  const { stdout } = await exec(
    'nsenter',
    [
      `--net=/var/run/netns/${env.netns}`,
      'curl',
      '-sS',
      '--max-time',
      '20',
      '--cacert',
      env.caFile,
      ...creds,
      ...extra,
      '-w',
      '\n%{http_code}',
      `${PORT_URL}${urlPath}`,
    ],
    { maxBuffer: 32 * 1024 * 1024 },
  );
  const cut = stdout.lastIndexOf('\n');
  return { code: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
}

/** The value of the series `name` whose labels include every one of `labels`; undefined when there is none. */
function valueOf(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const set = line.slice(name.length + 1, line.lastIndexOf('}'));
    if (Object.entries(labels).every(([k, v]) => set.includes(`${k}="${v}"`)))
      return Number(
        line
          .slice(line.lastIndexOf('}') + 1)
          .trim()
          .split(' ')[0],
      );
  }
  return undefined;
}

test.serial('/metrics/cadvisor: the container and its pod with cAdvisor names and labels, CPU burnt, working set, limits', async (t) => {
  const env = t.context;
  await env.clientset.pods.create({
    metadata: { name: 'burner', namespace: 'default' },
    spec: {
      nodeName: env.nodeName,
      containers: [
        {
          name: 'burn',
          image: env.image,
          // Burn a few hundred milliseconds of CPU, send a packet to the gateway (refused), write 4 MiB to the writable layer, then wait.
          command: [
            'sh',
            '-c',
            `i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; wget -q -T 2 -O /dev/null http://${GATEWAY}:1/; dd if=/dev/urandom of=/ballast bs=1M count=4; sleep 3600`,
          ],
          resources: { limits: { cpu: '500m', memory: '64Mi' }, requests: { cpu: '500m', memory: '64Mi' } },
        },
      ],
      terminationGracePeriodSeconds: 0,
    },
  });
  const pod = await waitPod(env, 'burner', (p) => p.status?.phase === 'Running', 'the pod runs');
  const uid = pod.metadata?.uid ?? '';
  const containerId = (pod.status?.containerStatuses?.[0]?.containerID ?? '').replace(/^tsk:\/\//, '');
  const container = { namespace: 'default', pod: 'burner', container: 'burn' };
  let text = '';
  await eventually(
    async () => {
      const a = await scrape(env, '/metrics/cadvisor', 'admin');
      text = a.body;
      // The burn is over when the ballast is in the writable layer.
      return a.code === 200 && (valueOf(text, 'container_fs_usage_bytes', container) ?? 0) >= 4_000_000;
    },
    60_000,
    'the container wrote its ballast',
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last scrape:\n${text.slice(0, 4000)}`);
  });
  t.true(text.includes('# TYPE container_cpu_usage_seconds_total counter'));
  t.true(text.includes('# HELP container_memory_working_set_bytes Current working set in bytes.'));
  const cpu = valueOf(text, 'container_cpu_usage_seconds_total', { ...container, cpu: 'total' });
  t.true(cpu !== undefined && cpu > 0, `container_cpu_usage_seconds_total ${cpu}`);
  t.true(text.includes(`id="/tsk/pod${uid}/${containerId}"`), 'the container series is identified by its cgroup');
  t.true(text.includes(`name="${containerId}"`));
  t.true((valueOf(text, 'container_memory_working_set_bytes', container) ?? 0) > 0, 'working set');
  t.true((valueOf(text, 'container_memory_usage_bytes', container) ?? 0) > 0, 'usage');
  t.not(valueOf(text, 'container_memory_rss', container), undefined);
  t.not(valueOf(text, 'container_memory_cache', container), undefined);
  t.is(valueOf(text, 'container_spec_memory_limit_bytes', container), 64 * 1024 * 1024);
  t.is(valueOf(text, 'container_spec_cpu_quota', container), 50_000);
  t.is(valueOf(text, 'container_spec_cpu_period', container), 100_000);
  t.true((valueOf(text, 'container_processes', container) ?? 0) >= 1, 'processes');
  t.true((valueOf(text, 'container_threads', container) ?? 0) >= 1, 'threads');
  t.true((valueOf(text, 'container_start_time_seconds', container) ?? 0) > Date.now() / 1000 - 600, 'start time');
  t.true((valueOf(text, 'container_last_seen', container) ?? 0) > Date.now() / 1000 - 60, 'last seen');
  // The pod's own cgroup: container="", its CPU holds the container's.
  const podCpu = valueOf(text, 'container_cpu_usage_seconds_total', { container: '', id: `/tsk/pod${uid}`, pod: 'burner', namespace: 'default' });
  t.true(podCpu !== undefined && podCpu >= (cpu ?? 0), `pod cpu ${podCpu} >= container cpu ${cpu}`);
  // The pod's network namespace (its eth0 on the bridge), on the pod's series; lo is left out.
  const eth0 = { container: '', pod: 'burner', namespace: 'default', interface: 'eth0' };
  t.true((valueOf(text, 'container_network_transmit_packets_total', eth0) ?? 0) > 0, 'packets sent from eth0');
  t.true((valueOf(text, 'container_network_transmit_bytes_total', eth0) ?? 0) > 0, 'bytes sent from eth0');
  t.true((valueOf(text, 'container_network_receive_packets_total', eth0) ?? 0) > 0, 'packets received on eth0 (the refusal)');
  t.is(valueOf(text, 'container_network_receive_errors_total', eth0), 0);
  t.false(text.includes('interface="lo"'));
  t.true(text.endsWith('container_scrape_error 0\n'));
});

test.serial('/metrics/resource, /metrics and /healthz for the admin', async (t) => {
  const env = t.context;
  const resource = await scrape(env, '/metrics/resource', 'admin');
  t.is(resource.code, 200);
  t.true((valueOf(resource.body, 'pod_cpu_usage_seconds_total', { namespace: 'default', pod: 'burner' }) ?? 0) > 0, resource.body.slice(0, 2000));
  t.true((valueOf(resource.body, 'container_memory_working_set_bytes', { container: 'burn', namespace: 'default', pod: 'burner' }) ?? 0) > 0);
  const own = await scrape(env, '/metrics', 'admin');
  t.is(own.code, 200);
  t.regex(own.body, /^kubelet_running_pods 1$/m);
  t.deepEqual(await scrape(env, '/healthz', 'admin'), { code: 200, body: 'ok' });
  t.is((await scrape(env, '/nothing', 'admin')).code, 404);
});

test.serial('authentication and authorization: 401 without a certificate or with a bearer token, 403 for a user without nodes/metrics', async (t) => {
  const env = t.context;
  const anonymous = await scrape(env, '/metrics/cadvisor');
  t.is(anonymous.code, 401);
  t.regex(anonymous.body, /^Unauthorized/);
  const bearer = await scrape(env, '/metrics/cadvisor', undefined, ['-H', 'Authorization: Bearer abcdef.0123456789abcdef']);
  t.is(bearer.code, 401);
  const bob = await scrape(env, '/metrics/cadvisor', 'nobody');
  t.is(bob.code, 403);
  t.is(bob.body.trim(), 'Forbidden (user=bob, verb=get, resource=nodes, subresource=metrics)');
  const monitoring = await scrape(env, '/metrics/cadvisor', 'monitoring');
  t.is(monitoring.code, 200);
  t.true(monitoring.body.includes('container_cpu_usage_seconds_total{'));
  const proxy = await scrape(env, '/pods', 'monitoring');
  t.is(proxy.code, 403);
  t.regex(proxy.body, /subresource=proxy/);
});

/** A PromQL query through Prometheus' HTTP API inside the namespace: the result vector. */
async function promQuery(env: Env, query: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const { stdout } = await exec('nsenter', [
    `--net=/var/run/netns/${env.netns}`,
    'curl',
    '-sS',
    '--max-time',
    '10',
    '-G',
    '--data-urlencode',
    `query=${query}`,
    'http://127.0.0.1:9090/api/v1/query',
  ]);
  const answer = JSON.parse(stdout) as { status: string; data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
  return answer.status === 'success' ? (answer.data?.result ?? []) : [];
}

test.serial("Debian's prometheus scrapes /metrics and /metrics/cadvisor over HTTPS with a system:monitoring certificate", async (t) => {
  const env = t.context;
  const dir = path.join(env.dir, 'prometheus');
  fs.mkdirSync(dir);
  const tls = `    scheme: https
    tls_config:
      ca_file: ${env.caFile}
      cert_file: ${env.certs.monitoring.cert}
      key_file: ${env.certs.monitoring.key}
    static_configs:
      - targets: ['127.0.0.1:10250']
`;
  const config = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(
    config,
    `global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: kubelet
${tls}  - job_name: cadvisor
    metrics_path: /metrics/cadvisor
${tls}`,
  );
  const out: string[] = [];
  // nsenter execs prometheus itself: the child's PID is prometheus's, killed by the cleanup.
  const proc = spawn(
    'nsenter',
    [
      `--net=/var/run/netns/${env.netns}`,
      'prometheus',
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      '--web.listen-address=127.0.0.1:9090',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  env.cleanups.push(() => killProcess(proc));
  const keep = (d: Buffer): void =>
    void out.push(
      ...d
        .toString()
        .split('\n')
        .filter((l) => l !== ''),
    );
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  try {
    await eventually(
      async () => {
        if (proc.exitCode !== null) throw new Error(`prometheus exited with code ${proc.exitCode}`);
        const up = await promQuery(env, 'up == 1').catch(() => []);
        return ['kubelet', 'cadvisor'].every((job) => up.some((r) => r.metric.job === job));
      },
      90_000,
      'prometheus has both kubelet targets up',
    );
    let cpu: Array<{ metric: Record<string, string>; value: [number, string] }> = [];
    await eventually(
      async () => {
        cpu = await promQuery(env, 'container_cpu_usage_seconds_total{namespace="default",pod="burner",container="burn"}');
        return cpu.length === 1;
      },
      30_000,
      "the pod's CPU series in prometheus",
    );
    t.is(cpu[0]?.metric.job, 'cadvisor');
    t.true(Number(cpu[0]?.value[1]) > 0);
    const running = await promQuery(env, 'kubelet_running_pods');
    t.is(running[0]?.value[1], '1');
  } catch (err) {
    t.log(`prometheus output (last lines):\n${out.slice(-30).join('\n')}`);
    throw err;
  }
});
