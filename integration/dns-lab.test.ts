// Cluster DNS end to end on a two-node `tsk lab` (its own --name and data
// dir, so it never meets another lab): a web RC behind a Service and a
// headless Service; from a client pod on each node, the pod's resolv.conf,
// `nslookup web`, the full name, the headless name's pod IPs, an SRV
// lookup, a name of another namespace, an ExternalName's CNAME, a name
// forwarded to the node's upstream (a fake resolver inside the lab's
// network, never the internet), `wget http://web/`; scaling the RC changes
// the headless answer within 1 s; deleting the Service gives NXDOMAIN.

import test, { type ExecutionContext } from 'ava';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Pod, PodSpec } from '../api/gen/tsk/v1/core';
import { Clientset } from '../client/clientset';
import { resolveClient } from '../client/config';
import { freePort } from '../util/free-port';
import { busyboxImage, dockerSaveArchive } from '../kubelet/runtime/image/builder';
import { planLab } from '../lab/topology';
import { killProcess } from './support/netns';
import { UPSTREAM_ADDRESS, UPSTREAM_NAME } from './support/fake-dns-upstream';

const exec = promisify(execFile);
const ROOT = resolve(__dirname, '..', '..');
const TSK = join(ROOT, 'dist', 'cmd', 'tsk.js');
const TSCTL = join(ROOT, 'dist', 'cmd', 'tsctl.js');
const UPSTREAM = join(ROOT, 'dist', 'integration', 'support', 'fake-dns-upstream.js');
const NS = 'dnstest';
const OTHER_NS = 'dnsother';
/** The lab's default node network is 172.30.0.0/24 with .1 left for a gateway: the fake upstream takes it. */
const UPSTREAM_IP = '172.30.0.1';
const CLUSTER_DNS = '10.96.0.10';

async function eventually<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>, everyMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const isReady = (p: Pod): boolean => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

function busybox(command: string[], extra: Partial<PodSpec> = {}): PodSpec {
  return { containers: [{ name: 'main', image: 'busybox:1.36', imagePullPolicy: 'IfNotPresent', command }], terminationGracePeriodSeconds: 1, ...extra };
}

/** The addresses nslookup printed for the name (not the server's own "Address:" line, which has a port). */
function addresses(out: string): string[] {
  return [...out.matchAll(/^Address:\s+(\d+\.\d+\.\d+\.\d+)\s*$/gm)].map((m) => m[1] ?? '').sort();
}

test('cluster DNS on a 2-node lab: names, headless, SRV, other namespaces, ExternalName, forwarding, changes within 1 s, NXDOMAIN', async (t: ExecutionContext) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsk-dnslab-'));
  const name = `d${randomBytes(3).toString('hex')}`;
  const address = `127.0.0.1:${await freePort()}`;
  const httpAddress = `127.0.0.1:${await freePort()}`;
  const env = { ...process.env, TSK_CONFIG: join(dir, 'config') };
  const lab = (...args: string[]) => exec(process.execPath, [TSK, 'lab', ...args, '--name', name, '--data-dir', dir], { env, timeout: 240_000 });
  t.teardown(async () => {
    await lab('down').catch((err: unknown) => t.log(`lab down: ${String(err)}`));
    rmSync(dir, { recursive: true, force: true });
  });
  // The nodes' resolver config: the fake upstream on the lab's network.
  const resolvConf = join(dir, 'resolv.conf');
  writeFileSync(resolvConf, `nameserver 127.0.0.53\nnameserver ${UPSTREAM_IP}\nsearch corp.example\n`);
  await lab('up', '--nodes', '2', '--address', address, '--http-address', httpAddress, '--timeout', '180', '--resolv-conf', resolvConf);
  const switchNs = `/var/run/netns/tsk-${name}-sw`;
  await exec('nsenter', [`--net=${switchNs}`, 'ip', 'addr', 'add', `${UPSTREAM_IP}/24`, 'dev', 'br0']);
  const upstream = spawn('nsenter', [`--net=${switchNs}`, process.execPath, UPSTREAM, UPSTREAM_IP, '53'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => killProcess(upstream));
  await new Promise<void>((ok, fail) => {
    upstream.stdout?.once('data', () => ok());
    upstream.once('exit', (code) => fail(new Error(`fake upstream exited with ${code}`)));
  });
  const image = join(dir, 'busybox.tar');
  writeFileSync(image, await dockerSaveArchive([{ image: await busyboxImage(), repoTags: ['busybox:1.36'] }]));
  await lab('load', image);

  const target = await resolveClient({ server: address, env });
  const cs = new Clientset(target.server, target.credentials);
  t.teardown(() => cs.close());
  const kubeDns = await cs.services.get('kube-dns', 'kube-system');
  t.is(kubeDns.spec?.clusterIP, CLUSTER_DNS, 'the server keeps the kube-dns Service at the 10th address of the service CIDR');

  for (const ns of [NS, OTHER_NS]) await cs.namespaces.create({ metadata: { name: ns } });
  const web = ['sh', '-c', 'mkdir -p /www && echo "web replica $(hostname)" > /www/index.html && exec httpd -f -p 8080 -h /www'];
  await cs.replicationControllers.create({
    metadata: { name: 'web', namespace: NS },
    spec: {
      replicas: 2,
      selector: { app: 'web' },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: busybox(web, {
          containers: [
            {
              name: 'httpd',
              image: 'busybox:1.36',
              imagePullPolicy: 'IfNotPresent',
              command: web,
              ports: [{ name: 'http', containerPort: 8080 }],
              readinessProbe: { tcpSocket: { port: { intVal: 8080 } }, periodSeconds: 1 },
            },
          ],
        }),
      },
    },
  });
  const ports = [{ name: 'http', port: 80, protocol: 'TCP', targetPort: { intVal: 8080 } }];
  const svc = await cs.services.create({ metadata: { name: 'web', namespace: NS }, spec: { selector: { app: 'web' }, ports } });
  await cs.services.create({ metadata: { name: 'web-pods', namespace: NS }, spec: { clusterIP: 'None', selector: { app: 'web' }, ports } });
  await cs.services.create({ metadata: { name: 'ext', namespace: NS }, spec: { type: 'ExternalName', externalName: UPSTREAM_NAME } });
  const other = await cs.services.create({ metadata: { name: 'other', namespace: OTHER_NS }, spec: { ports: [{ port: 80, targetPort: { intVal: 80 } }] } });
  const nodes = [`${name}-node-1`, `${name}-node-2`];
  for (const [i, node] of nodes.entries()) {
    const hostAliases = [{ ip: '192.0.2.7', hostnames: ['foo.local', 'bar.local'] }];
    await cs.pods.create({ metadata: { name: `client-${i + 1}`, namespace: NS }, spec: busybox(['sleep', '3600'], { nodeName: node, hostAliases }) });
  }
  const readyWeb = async (n: number): Promise<Pod[] | undefined> => {
    const items = (await cs.pods.list({ namespace: NS, labelSelector: 'app=web' })).items ?? [];
    const ready = items.filter(isReady);
    return ready.length === n && items.length === n ? ready : undefined;
  };
  const pods = await eventually('2 ready web pods', 150_000, () => readyWeb(2));
  await eventually('running clients', 120_000, async () => {
    const items = (await cs.pods.list({ namespace: NS, labelSelector: '' })).items ?? [];
    return items.filter((p) => p.metadata?.name?.startsWith('client-') && p.status?.phase === 'Running').length === 2 ? true : undefined;
  });
  await eventually('2 endpoints', 30_000, async () => {
    const ep = await cs.endpoints.get('web-pods', NS);
    return (ep.subsets ?? []).flatMap((s) => s.addresses ?? []).length === 2 ? true : undefined;
  });
  const podIPs = pods.map((p) => p.status?.podIP ?? '').sort();

  const inPod = async (pod: string, ...cmd: string[]): Promise<string> => {
    const r = await exec(process.execPath, [TSCTL, 'exec', pod, '-n', NS, '--server', address, '--', ...cmd], { env, timeout: 30_000 }).catch(
      (err: { stdout?: string; stderr?: string }) => ({ stdout: `${err.stdout ?? ''}${err.stderr ?? ''}` }),
    );
    return r.stdout;
  };
  for (const client of ['client-1', 'client-2']) {
    const resolv = await inPod(client, 'cat', '/etc/resolv.conf');
    t.is(
      resolv,
      `search ${NS}.svc.cluster.local svc.cluster.local cluster.local corp.example\nnameserver ${CLUSTER_DNS}\noptions ndots:5\n`,
      `${client}: ClusterFirst resolv.conf (the node's search kept, its loopback nameserver not)`,
    );
    t.regex(await inPod(client, 'cat', '/etc/hosts'), /\n192\.0\.2\.7\tfoo\.local\tbar\.local\n/, `${client}: hostAliases in /etc/hosts`);
    t.deepEqual(addresses(await inPod(client, 'nslookup', 'web')), [svc.spec?.clusterIP ?? ''], `${client}: nslookup web`);
    t.deepEqual(addresses(await inPod(client, 'nslookup', `web.${NS}.svc.cluster.local`)), [svc.spec?.clusterIP ?? ''], `${client}: full name`);
    t.deepEqual(addresses(await inPod(client, 'nslookup', 'web-pods')), podIPs, `${client}: headless name -> each ready pod`);
    const srv = await inPod(client, 'nslookup', '-type=srv', `_http._tcp.web.${NS}.svc.cluster.local`);
    t.regex(srv, new RegExp(`service = 0 100 80 web\\.${NS}\\.svc\\.cluster\\.local`), `${client}: SRV`);
    t.deepEqual(
      addresses(await inPod(client, 'nslookup', `other.${OTHER_NS}.svc.cluster.local`)),
      [other.spec?.clusterIP ?? ''],
      `${client}: another namespace`,
    );
    // busybox nslookup applies the search list to dotless names only; the C library (ping's lookup) to "other.NS" too (ndots:5).
    t.regex(
      await inPod(client, 'ping', '-c', '1', '-W', '1', `other.${OTHER_NS}`),
      new RegExp(`PING other\\.${OTHER_NS} \\(${other.spec?.clusterIP ?? ''}\\)`),
    );
    const ext = await inPod(client, 'nslookup', 'ext');
    t.regex(ext, new RegExp(`canonical name = ${UPSTREAM_NAME.replace('.', '\\.')}`), `${client}: ExternalName CNAME`);
    t.deepEqual(addresses(await inPod(client, 'nslookup', `${UPSTREAM_NAME}.`)), [UPSTREAM_ADDRESS], `${client}: forwarded to the node's upstream`);
    t.regex(await inPod(client, 'wget', '-qO-', 'http://web/'), /^web replica web-/, `${client}: wget http://web/`);
    t.is((await inPod(client, 'sh', '-c', 'echo $WEB_SERVICE_HOST')).trim(), svc.spec?.clusterIP ?? '', `${client}: WEB_SERVICE_HOST`);
    t.is((await inPod(client, 'sh', '-c', 'echo $WEB_PORT_80_TCP_ADDR')).trim(), svc.spec?.clusterIP ?? '', `${client}: the Docker-link variable`);
  }

  // Scaling: the headless answer follows the Endpoints within 1 s (asked on node 1 at the cluster DNS address).
  const node1 = `/var/run/netns/tsk-${name}-n1`;
  const lookupOnNode = async (fqdn: string): Promise<string> =>
    (
      await exec('nsenter', [`--net=${node1}`, 'busybox', 'nslookup', fqdn, CLUSTER_DNS], { timeout: 10_000 }).catch((err: { stdout?: string }) => ({
        stdout: err.stdout ?? '',
      }))
    ).stdout;
  const rc = await cs.replicationControllers.get('web', NS);
  await cs.replicationControllers.update({ ...rc, spec: { ...rc.spec, replicas: 3 } });
  const three = await eventually(
    '3 ready endpoints',
    120_000,
    async () => {
      const ep = await cs.endpoints.get('web-pods', NS);
      const ips = (ep.subsets ?? []).flatMap((s) => s.addresses ?? []).map((a) => a.ip ?? '');
      return ips.length === 3 ? ips.sort() : undefined;
    },
    50,
  );
  const seen = Date.now();
  await eventually(
    'the headless answer with 3 pods',
    5_000,
    async () => (addresses(await lookupOnNode(`web-pods.${NS}.svc.cluster.local`)).join() === three.join() ? true : undefined),
    50,
  );
  const lag = Date.now() - seen;
  t.log(`headless answer changed ${lag} ms after the Endpoints`);
  t.true(lag <= 1000, `the headless answer changed ${lag} ms after the Endpoints did`);

  // The cluster DNS's metrics are on the agent's proxy metrics port, which the lab binds on the node's address as on a VM:
  // HTTPS there, for a client certificate of the cluster CA (the server's admin's).
  const plan = planLab({ name, nodes: 2, dataDir: dir, network: '172.30.0.0/24' });
  const tls = join(plan.serverDataDir, 'tls');
  const metrics = await exec(
    'nsenter',
    [
      `--net=${node1}`,
      'curl',
      '-sSf',
      '--max-time',
      '10',
      '--cacert',
      join(tls, 'ca.crt'),
      '--cert',
      join(tls, 'admin.crt'),
      '--key',
      join(tls, 'admin.key'),
      `https://${plan.nodes[0]?.ip ?? ''}:10256/metrics`,
    ],
    { timeout: 15_000 },
  );
  t.regex(metrics.stdout, /coredns_dns_requests_total\{type="A",proto="udp"\} \d+/);
  t.regex(metrics.stdout, /coredns_forward_requests_total\{to="172\.30\.0\.1:53"\} \d+/);

  // Deleting the Service: NXDOMAIN.
  await cs.services.delete('web', { namespace: NS });
  await eventually(
    'NXDOMAIN for the deleted Service',
    5_000,
    async () => (/NXDOMAIN/.test(await lookupOnNode(`web.${NS}.svc.cluster.local`)) ? true : undefined),
    100,
  );
  t.regex(await inPod('client-2', 'nslookup', `web.${NS}.svc.cluster.local`), /server can't find web\.dnstest\.svc\.cluster\.local: NXDOMAIN/);
});
