// Kubernetes service discovery against tsk (issue 10 section 2): the shipped
// manifests/prometheus/prometheus.yml, with only its EDIT values filled in,
// finds and scrapes every component of a `tsk lab up --servers 2 --nodes 2`
// cluster through tsk's Kubernetes REST API.
//
// The scraper is VictoriaMetrics (Debian's victoria-metrics), which reads
// Prometheus' configuration and implements kubernetes_sd_configs itself,
// with the same roles and __meta_kubernetes_* labels: Debian's prometheus is
// built without Kubernetes discovery ("field kubernetes_sd_configs not
// found"), and this machine can fetch no other Prometheus build. It runs in
// node-1's namespace, as a Prometheus on one of the cluster's machines would, and is asked through its Prometheus query API (/api/v1/query).
//
// Checked: up == 1 for both API servers, schedulers and controller managers,
// for both nodes' kubelets, cAdvisor endpoints and proxies, and for a pod and
// a Service that opt in with prometheus.io/scrape (roles pod and endpoints;
// and the service role, whose job lists the Service as a blackbox exporter's
// probe target, up == 0 since the lab has no exporter); a
// running pod's container_cpu_usage_seconds_total with cAdvisor's labels, the
// node label copied by the manifest's labelmap, and the opted-in pod's own
// series with the labels the manifest copies. `tsk lab down` removes the
// lab and the scraper is killed at the end, also when the test fails.

import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { busyboxImage, dockerSaveArchive } from '../kubelet/runtime/image/builder';
import { planLab, type LabPlan } from '../lab/topology';
import { killProcess } from './support/netns';
import { runProcess, runTsctl, runTsk, type Run } from './support/run';
import { eventually } from './support/wait';

const MANIFEST = resolve(__dirname, '..', '..', 'manifests', 'prometheus', 'prometheus.yml');
/** The scraper's query API, on loopback inside server-1's namespace. */
const QUERY = 'http://127.0.0.1:8428';

/** The manifest with its EDIT values filled in for server-1 of `plan`, scraping every 2 s so the test is short. */
function labPrometheusConfig(manifest: string, plan: LabPlan): string {
  const s1 = plan.servers[0];
  if (!s1?.ha) throw new Error('the lab has no HA server-1');
  const tls = join(s1.dataDir, 'tls');
  return manifest
    .replace(/^( {2}scrape_interval:) 15s$/m, '$1 2s')
    .replace('https://127.0.0.1:6444', `https://${s1.ha.ip}:6444`)
    .replaceAll('/var/lib/tsk/tls/', `${tls}/`);
}

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

/** An instant query inside the namespace (the host has no route into the lab). */
async function query(netns: string, promql: string): Promise<Sample[]> {
  const r = await runProcess(
    'nsenter',
    [`--net=/var/run/netns/${netns}`, 'curl', '-sS', '--max-time', '10', '--get', '--data-urlencode', `query=${promql}`, `${QUERY}/api/v1/query`],
    {
      timeoutMs: 20_000,
    },
  );
  if (r.code !== 0) throw new Error(`query ${promql}: ${r.stderr}`);
  const body = JSON.parse(r.stdout) as { status: string; data?: { result?: Sample[] }; error?: string };
  if (body.status !== 'success') throw new Error(`query ${promql}: ${body.error ?? r.stdout}`);
  return body.data?.result ?? [];
}

function startScraper(netns: string, dir: string, config: string): ChildProcess {
  const data = join(dir, 'vm-data');
  mkdirSync(data, { recursive: true });
  const child = spawn(
    'nsenter',
    [
      `--net=/var/run/netns/${netns}`,
      'victoria-metrics',
      `-httpListenAddr=127.0.0.1:8428`,
      `-storageDataPath=${data}`,
      `-promscrape.config=${config}`,
      // Prometheus' own fields VictoriaMetrics does not use (evaluation_interval) are skipped, not refused.
      '-promscrape.config.strictParse=false',
      '-search.latencyOffset=0s',
      '-loggerLevel=WARN',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return child;
}

test("manifests/prometheus/prometheus.yml discovers every component of a lab through the REST API: up == 1, a pod's CPU", async (t) => {
  t.timeout(15 * 60_000);
  const dir = mkdtempSync(join(tmpdir(), 'tsk-promsd-'));
  const name = `p${randomBytes(3).toString('hex')}`;
  const env = { TSK_CONFIG: join(dir, 'config') };
  const lab = (...args: string[]): Promise<Run> => runTsk(['lab', ...args, '--name', name, '--data-dir', dir], { env, timeoutMs: 400_000 });
  const plan = planLab({ name, nodes: 2, servers: 2, dataDir: dir, network: '172.30.0.0/24' });
  const tsctl = (...args: string[]): Promise<Run> => runTsctl(['--kubeconfig', join(plan.dir, 'kubeconfig'), ...args], { env, timeoutMs: 120_000 });
  let scraper: ChildProcess | undefined;
  let scraperLog = '';
  t.teardown(async () => {
    if (scraper) await killProcess(scraper);
    const down = await lab('down');
    if (down.code !== 0) t.log(`lab down: ${down.stderr}`);
    rmSync(dir, { recursive: true, force: true });
  });

  const up = await lab('up', '--servers', '2', '--nodes', '2', '--timeout', '300');
  t.is(up.code, 0, up.stderr);
  const image = join(dir, 'busybox.tar');
  writeFileSync(image, await dockerSaveArchive([{ image: await busyboxImage(), repoTags: ['busybox:1.36'] }]));
  t.is((await lab('load', image)).code, 0);
  const podFile = join(dir, 'objects.json');
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'burner', namespace: 'default' },
    spec: {
      terminationGracePeriodSeconds: 1,
      // Burns some CPU, then waits.
      containers: [{ name: 'burn', image: 'busybox:1.36', command: ['sh', '-c', 'i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; sleep 100000'] }],
    },
  };
  // A pod serving a metrics file, opted in by annotation, and a Service over it that opts in too.
  const exporter = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'exporter',
      namespace: 'default',
      labels: { app: 'exporter' },
      annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '8080' },
    },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: 'httpd',
          image: 'busybox:1.36',
          command: ['sh', '-c', 'mkdir -p /www && echo "demo_requests_total 42" > /www/metrics && exec httpd -f -p 8080 -h /www'],
          ports: [{ containerPort: 8080, name: 'metrics' }],
        },
      ],
    },
  };
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'exporter',
      namespace: 'default',
      labels: { tier: 'demo' },
      annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/probe': 'true' },
    },
    spec: { selector: { app: 'exporter' }, ports: [{ name: 'metrics', port: 9100, targetPort: 8080 }] },
  };
  for (const [i, o] of [pod, exporter, service].entries()) {
    const file = `${podFile}.${i}`;
    writeFileSync(file, JSON.stringify(o));
    const applied = await tsctl('apply', '-f', file);
    t.is(applied.code, 0, applied.stderr);
  }
  let exporterIp = '';
  await eventually(
    async () => {
      const r = await tsctl('get', 'pod', 'exporter', '-o', 'json');
      const p = r.code === 0 ? (JSON.parse(r.stdout) as { status?: { phase?: string; podIP?: string } }) : {};
      exporterIp = p.status?.phase === 'Running' ? (p.status.podIP ?? '') : '';
      return exporterIp !== '';
    },
    120_000,
    'the exporter pod to run',
  );

  // On node-1, as a Prometheus run by a cluster's node: it reaches the servers and nodes on the lab network, and every pod.
  const node1 = plan.nodes[0];
  if (!node1) throw new Error('no node-1');
  const config = join(dir, 'prometheus.yml');
  writeFileSync(config, labPrometheusConfig(readFileSync(MANIFEST, 'utf8'), plan));
  scraper = startScraper(node1.netns, dir, config);
  scraper.stderr?.on('data', (d: Buffer) => (scraperLog = (scraperLog + d.toString()).slice(-8000)));

  const jobs = [
    'kubernetes-apiservers',
    'kube-scheduler',
    'kube-controller-manager',
    'kubernetes-nodes',
    'kubernetes-cadvisor',
    'kube-proxy',
    'kubernetes-pods',
    'kubernetes-service-endpoints',
  ];
  const serverIps = plan.servers.map((s) => s.ha?.ip ?? '').sort();
  // The node role names its targets by the node's name (Prometheus' instance label), whatever their address.
  const nodeNames = plan.nodes.map((n) => n.name).sort();
  const wanted: Record<string, string[]> = {
    'kubernetes-apiservers': serverIps.map((ip) => `${ip}:6080`),
    'kube-scheduler': serverIps.map((ip) => `${ip}:6080`),
    'kube-controller-manager': serverIps.map((ip) => `${ip}:6080`),
    'kubernetes-nodes': nodeNames,
    'kubernetes-cadvisor': nodeNames,
    'kube-proxy': nodeNames,
    // Targets by address: the pod's IP and the annotated port.
    'kubernetes-pods': [`${exporterIp}:8080`],
    'kubernetes-service-endpoints': [`${exporterIp}:8080`],
  };
  let last = '';
  await eventually(
    async () => {
      // Until the scraper listens, a refused query is only a wait.
      const up = await query(node1.netns, `up{job=~"${jobs.join('|')}"}`).catch((err: Error) => {
        last = err.message;
        return undefined;
      });
      if (!up) return false;
      const seen = (job: string, value: string): string[] =>
        up
          .filter((s) => s.metric['job'] === job && s.value[1] === value)
          .map((s) => s.metric['instance'] ?? '')
          .sort();
      last = jobs.map((j) => `${j}: up ${JSON.stringify(seen(j, '1'))} down ${JSON.stringify(seen(j, '0'))}`).join('; ');
      return jobs.every((j) => JSON.stringify(seen(j, '1')) === JSON.stringify(wanted[j]));
    },
    180_000,
    'every component discovered and up',
  ).catch((err: Error) => {
    throw new Error(`${err.message}: ${last}\nscraper log:\n${scraperLog}`);
  });
  t.pass(last);

  // The kubelets' own series carry the node's labels (labelmap), as in Kubernetes.
  const running = await query(node1.netns, 'kubelet_running_pods');
  t.deepEqual(running.map((s) => s.metric['kubernetes_io_hostname'] ?? '').sort(), plan.nodes.map((n) => n.name).sort(), JSON.stringify(running));

  // The running pod's container CPU, from the cAdvisor job, with cAdvisor's labels.
  let cpu: Sample[] = [];
  await eventually(
    async () => {
      cpu = await query(node1.netns, 'container_cpu_usage_seconds_total{namespace="default",pod="burner",container="burn"}');
      return cpu.length > 0 && Number(cpu[0]?.value[1]) > 0;
    },
    120_000,
    "the pod's container_cpu_usage_seconds_total",
  ).catch((err: Error) => {
    throw new Error(`${err.message}: ${JSON.stringify(cpu)}\nscraper log:\n${scraperLog}`);
  });
  t.is(cpu[0]?.metric['job'], 'kubernetes-cadvisor');
  t.true(nodeNames.includes(cpu[0]?.metric['instance'] ?? ''), JSON.stringify(cpu[0]?.metric));

  // The opted-in pod's own series, with the labels the manifest copies from the pod and the Service.
  const fromPod = await query(node1.netns, 'demo_requests_total{job="kubernetes-pods"}');
  t.like(fromPod[0]?.metric, { namespace: 'default', pod: 'exporter', app: 'exporter' }, JSON.stringify(fromPod));
  t.is(fromPod[0]?.value[1], '42');
  const fromService = await query(node1.netns, 'demo_requests_total{job="kubernetes-service-endpoints"}');
  t.like(fromService[0]?.metric, { namespace: 'default', service: 'exporter', tier: 'demo' }, JSON.stringify(fromService));
  // The service role: the Service asks to be probed, so its DNS name is a target of the (absent) blackbox exporter.
  const probed = await query(node1.netns, 'up{job="kubernetes-services"}');
  t.deepEqual(
    probed.map((p) => p.metric['instance']),
    ['exporter.default.svc:9100'],
    JSON.stringify(probed),
  );
});
