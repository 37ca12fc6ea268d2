// The service proxy against real iptables, inside network namespaces this
// test creates: a "node" namespace with a bridge, three "pod" namespaces
// joined to it by veth pairs, each running busybox httpd that answers with
// its pod's name. Nothing links to the host namespace and nothing routes out.
// The proxy runs as a child process in the node namespace and reaches the
// API server (in this process) through a unix socket. The host's iptables
// are only read, before and after, to check they are untouched.

import test, { type ExecutionContext } from 'ava';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Endpoints, Service } from '../api/gen/tsk/v1/core';
import { Clientset } from '../client/clientset';
import { startTestApiServer } from './support/apiserver';
import { startTestEtcd } from './support/etcd';
import { tempDir } from './support/temp';
import { eventually } from './support/wait';
import { testTls, writeTestKubeconfig } from './support/pki';

const CLI = resolve(__dirname, '..', 'proxy', 'cli.js');
const NODE_IP = '10.250.0.1';
const POD_IPS = ['10.250.0.11', '10.250.0.12', '10.250.0.13'];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command without blocking the event loop (the API server answers from this process). */
function run(cmd: string, args: string[], timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolveRun) => {
    execFile(cmd, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolveRun({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

async function must(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** The host's rules without counters and timestamps: what must not change. */
async function hostRules(): Promise<string> {
  const out = await must('iptables-save', []);
  return out
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.replace(/\[\d+:\d+\]$/, ''))
    .join('\n');
}

interface Cluster {
  node: string;
  pods: string[];
  /** GET http://ADDR/ from namespace ns with busybox wget. */
  get(ns: string, addr: string): Promise<Run>;
  /** One datagram to addr:port from the node namespace, from a fixed source port: the reply, or "timeout". */
  udp(addr: string, port: number, sourcePort: number): Promise<string>;
  nodeRules(): Promise<string>;
}

/** The node and pod namespaces; all removed on teardown (which removes their iptables too). */
async function startNetwork(t: ExecutionContext, dir: string): Promise<Cluster> {
  const id = randomBytes(3).toString('hex');
  const node = `tsk-pt-${id}-node`;
  const pods = POD_IPS.map((_, i) => `tsk-pt-${id}-p${i + 1}`);
  const children: ChildProcess[] = [];
  t.teardown(async () => {
    for (const c of children) c.kill('SIGKILL');
    for (const ns of [...pods, node]) await run('ip', ['netns', 'delete', ns]);
  });
  await must('ip', ['netns', 'add', node]);
  const inNode = (...args: string[]): Promise<string> => must('ip', ['-n', node, ...args]);
  await inNode('link', 'set', 'lo', 'up');
  await inNode('link', 'add', 'br0', 'type', 'bridge');
  await inNode('addr', 'add', `${NODE_IP}/24`, 'dev', 'br0');
  await inNode('link', 'set', 'br0', 'up');
  // Cluster IPs are virtual: a route sends them to the bridge, where the proxy's DNAT takes over.
  await inNode('route', 'add', '10.96.0.0/16', 'dev', 'br0');
  await must('ip', ['netns', 'exec', node, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  for (const [i, ns] of pods.entries()) {
    await must('ip', ['netns', 'add', ns]);
    await inNode('link', 'add', `veth${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    await inNode('link', 'set', `veth${i}`, 'master', 'br0', 'up');
    // As the kubelet's bridge does (hairpin-veth): a pod reaching itself through a service gets its
    // packets back out of the port they came in by.
    await inNode('link', 'set', `veth${i}`, 'type', 'bridge_slave', 'hairpin', 'on');
    const inPod = (...args: string[]): Promise<string> => must('ip', ['-n', ns, ...args]);
    await inPod('link', 'set', 'lo', 'up');
    await inPod('addr', 'add', `${POD_IPS[i]}/24`, 'dev', 'eth0');
    await inPod('link', 'set', 'eth0', 'up');
    await inPod('route', 'add', 'default', 'via', NODE_IP);
    const www = join(dir, `www-p${i + 1}`);
    mkdirSync(www);
    writeFileSync(join(www, 'index.html'), `pod-${i + 1}\n`);
    children.push(spawn('ip', ['netns', 'exec', ns, '/bin/busybox', 'httpd', '-f', '-p', '8080', '-h', www], { stdio: 'ignore' }));
    const udpServer = `const s = require('dgram').createSocket('udp4'); s.on('message', (m, r) => s.send('pod-${i + 1}', r.port, r.address)); s.bind(5353);`;
    children.push(spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', udpServer], { stdio: 'ignore' }));
  }
  const get = (ns: string, addr: string): Promise<Run> =>
    run('ip', ['netns', 'exec', ns, '/bin/busybox', 'wget', '-q', '-O', '-', `http://${addr}${addr.includes('/') ? '' : '/'}`], 15_000);
  for (const [i, ip] of POD_IPS.entries()) {
    await eventually(async () => (await get(node, `${ip}:8080`)).stdout.trim() === `pod-${i + 1}`, 30_000, `httpd in pod ${i + 1}`);
  }
  const udp = async (addr: string, port: number, sourcePort: number): Promise<string> => {
    const client = `const s = require('dgram').createSocket('udp4');
      setTimeout(() => { console.log('timeout'); process.exit(0); }, 2000);
      s.on('message', (m) => { console.log(String(m)); process.exit(0); });
      s.bind(${sourcePort}, () => s.send('hi', ${port}, '${addr}'));`;
    return (await must('ip', ['netns', 'exec', node, process.execPath, '-e', client])).trim();
  };
  for (const [i, ip] of POD_IPS.entries())
    await eventually(async () => (await udp(ip, 5353, 40_100 + i)) === `pod-${i + 1}`, 30_000, `the UDP server of pod ${i + 1}`);
  return { node, pods, get, udp, nodeRules: () => must('ip', ['netns', 'exec', node, 'iptables-save']) };
}

/** Starts `node dist/proxy/cli.js` in the node namespace; killed on teardown. */
function startProxyProcess(
  t: ExecutionContext,
  cluster: Cluster,
  sock: string,
  kubeconfig: string,
): { output: () => string; stop: () => Promise<number | null> } {
  let output = '';
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      cluster.node,
      process.execPath,
      CLI,
      '--server',
      `unix:${sock}`,
      '--kubeconfig',
      kubeconfig,
      '--hostname-override',
      'node-1',
      '--node-ip',
      NODE_IP,
      '--min-sync-period',
      '200ms',
      '--sync-period',
      '10s',
      '--http-address',
      '127.0.0.1:10256',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return {
    output: () => output,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

async function bodies(cluster: Cluster, ns: string, addr: string, n: number): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const r = await cluster.get(ns, addr);
    const body = r.code === 0 ? r.stdout.trim() : `error: ${r.stderr.trim()}`;
    seen.set(body, (seen.get(body) ?? 0) + 1);
  }
  return seen;
}

function endpoints(name: string, ips: string[]): Endpoints {
  return {
    metadata: { namespace: 'default', name },
    subsets: ips.length ? [{ addresses: ips.map((ip) => ({ ip })), ports: [{ port: 8080, protocol: 'TCP' }] }] : [],
  };
}

test('cluster IPs balance over every endpoint, follow endpoint changes, reject without endpoints; NodePorts, ClientIP affinity and UDP work; cleanup removes everything', async (t) => {
  const hostBefore = await hostRules();
  t.is((await run('sh', ['-c', 'command -v conntrack'])).code, 0, 'the conntrack tool is needed (Debian package "conntrack")');
  const dir = tempDir(t, 'tsk-proxy-');
  const etcd = await startTestEtcd(t);
  const sock = join(dir, 'api.sock');
  const { server } = await startTestApiServer(t, etcd, { address: `127.0.0.1:0,unix:${sock}` });
  const cs = new Clientset(server.grpcAddress, (await testTls()).admin);
  t.teardown(() => cs.close());
  const kubeconfig = await writeTestKubeconfig(join(dir, 'config'), `unix:${sock}`);
  const cluster = await startNetwork(t, dir);

  const svc = (name: string, spec: Service['spec']): Promise<Service> => cs.services.create({ metadata: { namespace: 'default', name }, spec });
  const web = await svc('web', { type: 'NodePort', ports: [{ port: 80, protocol: 'TCP', targetPort: { intVal: 8080 } }] });
  const sticky = await svc('sticky', { sessionAffinity: 'ClientIP', ports: [{ port: 80, protocol: 'TCP', targetPort: { intVal: 8080 } }] });
  const empty = await svc('empty', { ports: [{ port: 80, protocol: 'TCP' }] });
  const dns = await svc('dns', { ports: [{ name: 'dns', port: 53, protocol: 'UDP', targetPort: { intVal: 5353 } }] });
  const dnsEndpoints = (ip: string): Endpoints => ({
    metadata: { namespace: 'default', name: 'dns' },
    subsets: [{ addresses: [{ ip }], ports: [{ name: 'dns', port: 5353, protocol: 'UDP' }] }],
  });
  await cs.endpoints.create(dnsEndpoints(POD_IPS[0] ?? ''));
  await cs.endpoints.create(endpoints('web', POD_IPS));
  await cs.endpoints.create(endpoints('sticky', POD_IPS));
  const webIP = web.spec?.clusterIP ?? '';
  const nodePort = web.spec?.ports?.[0]?.nodePort ?? 0;
  t.regex(webIP, /^10\.96\./);
  t.true(nodePort >= 30000);

  const proxy = startProxyProcess(t, cluster, sock, kubeconfig);
  t.teardown(() => {
    if (!t.passed) t.log(proxy.output());
  });
  await eventually(async () => (await cluster.get(cluster.node, `${webIP}:80`)).code === 0, 30_000, 'the service to answer');
  const health = await cluster.get(cluster.node, '127.0.0.1:10256/healthz');
  t.is(health.code, 0, health.stderr);
  t.regex(health.stdout, /"lastUpdated":"\d{4}-/);
  const metrics = await cluster.get(cluster.node, '127.0.0.1:10256/metrics');
  t.regex(metrics.stdout, /kubeproxy_sync_proxy_rules_duration_seconds_count [1-9]/);

  // Every endpoint gets traffic (missing one of three in 45 tries: p < 1e-7).
  const all = await bodies(cluster, cluster.node, `${webIP}:80`, 45);
  t.deepEqual([...all.keys()].sort(), ['pod-1', 'pod-2', 'pod-3'], JSON.stringify([...all]));

  // From a pod too, itself included (hairpin: masqueraded so its reply returns through the node).
  const fromAPod = await bodies(cluster, cluster.pods[0] ?? '', `${webIP}:80`, 45);
  t.deepEqual([...fromAPod.keys()].sort(), ['pod-1', 'pod-2', 'pod-3'], JSON.stringify([...fromAPod]));

  // NodePort on the node's address, from the node and from a pod (through PREROUTING, masqueraded).
  const fromNode = await bodies(cluster, cluster.node, `${NODE_IP}:${nodePort}`, 10);
  t.true(
    [...fromNode.keys()].every((b) => /^pod-\d$/.test(b)),
    JSON.stringify([...fromNode]),
  );
  const fromPod = await bodies(cluster, cluster.pods[0] ?? '', `${NODE_IP}:${nodePort}`, 10);
  t.true(
    [...fromPod.keys()].every((b) => /^pod-\d$/.test(b)),
    JSON.stringify([...fromPod]),
  );

  // ClientIP affinity: one client always reaches the same pod.
  const stickyBodies = await bodies(cluster, cluster.node, `${sticky.spec?.clusterIP ?? ''}:80`, 12);
  t.is(stickyBodies.size, 1, JSON.stringify([...stickyBodies]));

  // No endpoints: refused at once by the REJECT rule, not a timeout.
  const started = Date.now();
  const refused = await cluster.get(cluster.node, `${empty.spec?.clusterIP ?? ''}:80`);
  t.not(refused.code, 0);
  t.regex(refused.stderr, /refused/i);
  t.true(Date.now() - started < 4000, `took ${Date.now() - started} ms`);

  // Removing an endpoint through the API stops traffic to it after the next sync.
  const current = await cs.endpoints.get('web', 'default');
  await cs.endpoints.update({ ...endpoints('web', POD_IPS.slice(0, 2)), metadata: current.metadata });
  await eventually(async () => !(await cluster.nodeRules()).includes(`default/web -> ${POD_IPS[2]}:8080`), 30_000, 'the rules to drop pod 3');
  const two = await bodies(cluster, cluster.node, `${webIP}:80`, 30);
  t.deepEqual([...two.keys()].sort(), ['pod-1', 'pod-2'], JSON.stringify([...two]));

  // UDP: a flow (same client port) moves to the new endpoint once the old one is removed, though the
  // old pod still answers: the proxy deleted the conntrack entry that kept sending it there.
  const dnsIP = dns.spec?.clusterIP ?? '';
  t.is(await cluster.udp(dnsIP, 53, 40_000), 'pod-1');
  const dnsNow = await cs.endpoints.get('dns', 'default');
  await cs.endpoints.update({ ...dnsEndpoints(POD_IPS[1] ?? ''), metadata: dnsNow.metadata });
  await eventually(async () => (await cluster.udp(dnsIP, 53, 40_000)) === 'pod-2', 15_000, 'the UDP flow to move to pod 2');

  // The endpoints come back for the service that had none; a deleted service's chains go.
  await cs.endpoints.create(endpoints('empty', [POD_IPS[2] ?? '']));
  await cs.services.delete('sticky');
  await eventually(
    async () => (await cluster.get(cluster.node, `${empty.spec?.clusterIP ?? ''}:80`)).stdout.trim() === 'pod-3',
    30_000,
    'the empty service to answer',
  );
  await eventually(async () => !(await cluster.nodeRules()).includes('default/sticky'), 30_000, 'the sticky chains to go');

  // Stopping leaves the rules; a service deleted meanwhile loses its chains when the next proxy starts.
  t.is(await proxy.stop(), 0, proxy.output());
  t.is((await cluster.get(cluster.node, `${webIP}:80`)).code, 0, 'traffic still flows while the proxy is down');
  await cs.services.delete('empty');
  const emptyChains = (await cluster.nodeRules()).match(/^:TSK-(SVC|SEP)-\w+/gm)?.length ?? 0;
  const again = startProxyProcess(t, cluster, sock, kubeconfig);
  t.teardown(() => {
    if (!t.passed) t.log(again.output());
  });
  await eventually(async () => !(await cluster.nodeRules()).includes('default/empty'), 30_000, 'the stale chains of the deleted service to go');
  const rules = await cluster.nodeRules();
  t.is(rules.match(/^:TSK-(SVC|SEP)-\w+/gm)?.length ?? 0, emptyChains - 2, 'its service and endpoint chains are deleted');
  t.is(rules.match(/-j TSK-SERVICES$/gm)?.length, 4, 'one jump from each of nat PREROUTING, OUTPUT and filter FORWARD, OUTPUT: none added twice');
  t.is((await cluster.get(cluster.node, `${webIP}:80`)).code, 0);
  t.is(await again.stop(), 0, again.output());

  // --cleanup removes every chain and jump of the proxy.
  const cleanup = await run('ip', ['netns', 'exec', cluster.node, process.execPath, CLI, '--cleanup']);
  t.is(cleanup.code, 0, cleanup.stderr);
  t.regex(cleanup.stdout, /removed the proxy's rules and \d+ chain/);
  t.notRegex(await cluster.nodeRules(), /TSK-/);
  t.not((await cluster.get(cluster.node, `${webIP}:80`)).code, 0, 'the cluster IP no longer answers');

  t.is(await hostRules(), hostBefore, "the host's iptables are unchanged");
});
