// The Service types users write, with the real components: the API server on
// etcd (allocations of LoadBalancer and ExternalName services, type changes),
// the ServiceLB and endpoints controllers, and the proxy in network
// namespaces this test creates. Topology: a "node" namespace with a bridge
// to three "pod" namespaces (busybox httpd answering with the pod's name)
// and a veth to a "client" namespace outside the cluster, which reaches the
// node only at its InternalIP. Nothing links to the host namespace; the
// host's iptables are only read, before and after, to check they are
// untouched.

import test, { type ExecutionContext } from 'ava';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Node, Service } from '../api/gen/tsk/v1/core';
import { Clientset } from '../client/clientset';
import { newEndpointsController } from '../controllers/endpoints/controller';
import { newServiceLbController } from '../controllers/servicelb/controller';
import { nftCommand, type ProxyMode } from '../proxy';
import { startTestApiServer } from './support/apiserver';
import { runControllers } from './support/controllers';
import { startTestEtcd } from './support/etcd';
import { testTls, writeTestKubeconfig } from './support/pki';
import { tempDir } from './support/temp';
import { eventually } from './support/wait';

const PROXY_CLI = resolve(__dirname, '..', 'proxy', 'cli.js');
/** The node's address on the pods' bridge (their gateway). */
const BRIDGE_IP = '10.250.0.1';
const POD_IPS = ['10.250.0.11', '10.250.0.12', '10.250.0.13'];
/** The node's InternalIP, on the link to the client; node-2's is on no link here (only published). */
const NODE1_IP = '10.251.0.1';
const NODE2_IP = '10.251.0.9';
const CLIENT_IP = '10.251.0.2';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

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

async function hostRules(): Promise<string> {
  const out = await must('iptables-save', []);
  return out
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.replace(/\[\d+:\d+\]$/, ''))
    .join('\n');
}

interface Network {
  node: string;
  client: string;
  pods: string[];
  /** GET http://ADDR/ from namespace ns (busybox wget, killed after 4 s). */
  get(ns: string, addr: string): Promise<Run>;
  nodeRules(): Promise<string>;
  /** The node namespace's nftables ruleset. */
  nodeNft(): Promise<string>;
}

/** The node, pod and client namespaces; all removed on teardown (with their iptables). */
async function startNetwork(t: ExecutionContext, dir: string): Promise<Network> {
  const id = randomBytes(3).toString('hex');
  const node = `tsk-lb-${id}-node`;
  const client = `tsk-lb-${id}-client`;
  const pods = POD_IPS.map((_, i) => `tsk-lb-${id}-p${i + 1}`);
  const children: ChildProcess[] = [];
  t.teardown(async () => {
    for (const c of children) c.kill('SIGKILL');
    for (const ns of [...pods, client, node]) await run('ip', ['netns', 'delete', ns]);
  });
  await must('ip', ['netns', 'add', node]);
  const inNode = (...args: string[]): Promise<string> => must('ip', ['-n', node, ...args]);
  await inNode('link', 'set', 'lo', 'up');
  await inNode('link', 'add', 'br0', 'type', 'bridge');
  await inNode('addr', 'add', `${BRIDGE_IP}/24`, 'dev', 'br0');
  await inNode('link', 'set', 'br0', 'up');
  await inNode('route', 'add', '10.96.0.0/16', 'dev', 'br0');
  await must('ip', ['netns', 'exec', node, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  // The outside client: a link to the node's InternalIP, no route to the pods.
  await must('ip', ['netns', 'add', client]);
  await inNode('link', 'add', 'ext0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', client);
  await inNode('addr', 'add', `${NODE1_IP}/24`, 'dev', 'ext0');
  await inNode('link', 'set', 'ext0', 'up');
  await must('ip', ['-n', client, 'link', 'set', 'lo', 'up']);
  await must('ip', ['-n', client, 'addr', 'add', `${CLIENT_IP}/24`, 'dev', 'eth0']);
  await must('ip', ['-n', client, 'link', 'set', 'eth0', 'up']);
  for (const [i, ns] of pods.entries()) {
    await must('ip', ['netns', 'add', ns]);
    await inNode('link', 'add', `veth${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    await inNode('link', 'set', `veth${i}`, 'master', 'br0', 'up');
    await inNode('link', 'set', `veth${i}`, 'type', 'bridge_slave', 'hairpin', 'on');
    const inPod = (...args: string[]): Promise<string> => must('ip', ['-n', ns, ...args]);
    await inPod('link', 'set', 'lo', 'up');
    await inPod('addr', 'add', `${POD_IPS[i]}/24`, 'dev', 'eth0');
    await inPod('link', 'set', 'eth0', 'up');
    await inPod('route', 'add', 'default', 'via', BRIDGE_IP);
    const www = join(dir, `www-p${i + 1}`);
    mkdirSync(www);
    writeFileSync(join(www, 'index.html'), `pod-${i + 1}\n`);
    children.push(spawn('ip', ['netns', 'exec', ns, '/bin/busybox', 'httpd', '-f', '-p', '8080', '-h', www], { stdio: 'ignore' }));
  }
  // busybox wget's own -T crashes in some builds: the process timeout bounds a dropped request.
  const get = (ns: string, addr: string): Promise<Run> => run('ip', ['netns', 'exec', ns, '/bin/busybox', 'wget', '-q', '-O', '-', `http://${addr}/`], 4_000);
  for (const [i, ip] of POD_IPS.entries()) {
    await eventually(async () => (await get(node, `${ip}:8080`)).stdout.trim() === `pod-${i + 1}`, 30_000, `httpd in pod ${i + 1}`);
  }
  return {
    node,
    client,
    pods,
    get,
    nodeRules: () => must('ip', ['netns', 'exec', node, 'iptables-save']),
    nodeNft: () => must('ip', ['netns', 'exec', node, nftCommand(), 'list', 'ruleset']),
  };
}

function startProxy(t: ExecutionContext, net: Network, sock: string, kubeconfig: string, mode: ProxyMode): () => string {
  let output = '';
  const args = ['netns', 'exec', net.node, process.execPath, PROXY_CLI, '--server', `unix:${sock}`, '--kubeconfig', kubeconfig];
  args.push(
    '--hostname-override',
    'node-1',
    '--node-ip',
    NODE1_IP,
    '--min-sync-period',
    '200ms',
    '--sync-period',
    '10s',
    '--http-address',
    '127.0.0.1:10256',
    '--proxy-mode',
    mode,
  );
  const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return () => output;
}

/** What a kubelet registers and reports: the InternalIP and a Ready condition. */
async function setNode(cs: Clientset, name: string, ip: string, ready: string): Promise<void> {
  let node: Node;
  try {
    node = await cs.nodes.get(name);
  } catch {
    node = await cs.nodes.create({ metadata: { name } });
  }
  const status = { ...node.status, addresses: [{ type: 'InternalIP', address: ip }], conditions: [{ type: 'Ready', status: ready, reason: 'KubeletReady' }] };
  await cs.nodes.updateStatus({ ...node, status });
}

const ingressOf = async (cs: Clientset, name: string): Promise<string> =>
  ((await cs.services.get(name, 'default')).status?.loadBalancer?.ingress ?? []).map((i) => `${i.ip}/${i.ipMode}`).join(',');

async function bodies(net: Network, ns: string, addr: string, n: number): Promise<string[]> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const r = await net.get(ns, addr);
    seen.add(r.code === 0 ? r.stdout.trim() : `error: ${r.stderr.trim()}`);
  }
  return [...seen].sort();
}

/** Whether the node's rules send NODE_IP:80 to the service (iptables: a TSK-SERVICES rule; nftables: a service-ips element). */
async function lbProgrammed(net: Network, mode: ProxyMode, ip: string): Promise<boolean> {
  if (mode === 'iptables') return new RegExp(`-A TSK-SERVICES -d ${ip.replace(/\./g, '\\.')}/32 .*--dport 80 -j TSK-EXT-`).test(await net.nodeRules());
  return (await net.nodeNft()).includes(`${ip} . tcp . 80 : goto external-`);
}

for (const mode of ['iptables', 'nftables'] as const) {
  test(`${mode} mode: a LoadBalancer gets the ready nodes in its status and answers at NODE_IP:PORT from outside; a selectorless Service balances over its user Endpoints`, (t) =>
    loadBalancerScenario(t, mode));
}

async function loadBalancerScenario(t: ExecutionContext, mode: ProxyMode): Promise<void> {
  const hostBefore = await hostRules();
  const dir = tempDir(t, 'tsk-servicelb-');
  const etcd = await startTestEtcd(t);
  const sock = join(dir, 'api.sock');
  const { server } = await startTestApiServer(t, etcd, { address: `127.0.0.1:0,unix:${sock}` });
  const cs = new Clientset(server.grpcAddress, (await testTls()).admin);
  t.teardown(() => cs.close());
  const kubeconfig = await writeTestKubeconfig(join(dir, 'config'), `unix:${sock}`);
  const net = await startNetwork(t, dir);

  await setNode(cs, 'node-1', NODE1_IP, 'True');
  await setNode(cs, 'node-2', NODE2_IP, 'True');
  // No selector: the user writes the Endpoints (the glusterfs example), and the endpoints controller leaves them.
  const web = await cs.services.create({
    metadata: { name: 'web', namespace: 'default' },
    spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP', targetPort: { intVal: 8080 } }] },
  });
  t.is(web.spec?.allocateLoadBalancerNodePorts, true);
  t.is(web.spec?.externalTrafficPolicy, 'Cluster');
  const nodePort = web.spec?.ports?.[0]?.nodePort ?? 0;
  t.true(nodePort >= 30000, `node port ${nodePort}`);
  t.regex(web.spec?.clusterIP ?? '', /^10\.96\./);
  const written = await cs.endpoints.create({
    metadata: { name: 'web', namespace: 'default' },
    subsets: [{ addresses: POD_IPS.map((ip) => ({ ip })), ports: [{ port: 8080, protocol: 'TCP' }] }],
  });

  await runControllers(t, server.grpcAddress, (ctx) => [newEndpointsController(ctx), newServiceLbController(ctx)]);
  await eventually(async () => (await ingressOf(cs, 'web')) === `${NODE1_IP}/VIP,${NODE2_IP}/VIP`, 15_000, 'both ready nodes in the ingress');

  const proxyOutput = startProxy(t, net, sock, kubeconfig, mode);
  t.teardown(() => {
    if (!t.passed) t.log(proxyOutput());
  });
  const lb = `${NODE1_IP}:80`;
  await eventually(async () => (await net.get(net.client, lb)).code === 0, 30_000, 'the load balancer address to answer');
  // From outside, every user-written endpoint gets traffic (missing one of three in 30 tries: p < 1e-5).
  t.deepEqual(await bodies(net, net.client, lb, 30), ['pod-1', 'pod-2', 'pod-3']);
  const viaNodePort = await bodies(net, net.client, `${NODE1_IP}:${nodePort}`, 5);
  t.true(
    viaNodePort.every((b) => /^pod-\d$/.test(b)),
    JSON.stringify(viaNodePort),
  );
  t.true(await lbProgrammed(net, mode, NODE2_IP), 'the other node address is programmed too');
  t.is((await cs.endpoints.get('web', 'default')).metadata?.resourceVersion, written.metadata?.resourceVersion, 'the user Endpoints are untouched');

  // node-2 turns NotReady: its address leaves the status, then the rules.
  await setNode(cs, 'node-2', NODE2_IP, 'Unknown');
  await eventually(async () => (await ingressOf(cs, 'web')) === `${NODE1_IP}/VIP`, 15_000, 'node-2 to leave the ingress');
  await eventually(async () => !(await lbProgrammed(net, mode, NODE2_IP)), 15_000, 'the rules to drop node-2');
  const events = (await cs.events.list({ namespace: 'default' })).items ?? [];
  t.true(
    events.some((e) => e.reason === 'UpdatedLoadBalancer' && e.message?.includes(`[${NODE1_IP} ${NODE2_IP}] -> [${NODE1_IP}]`)),
    JSON.stringify(events.map((e) => e.message)),
  );

  // loadBalancerSourceRanges: only the pods' range may come in; the outside client is dropped.
  const cur = await cs.services.get('web', 'default');
  await cs.services.update({ ...cur, spec: { ...cur.spec, loadBalancerSourceRanges: ['10.250.0.0/24'] } });
  await eventually(async () => (await net.get(net.client, lb)).code !== 0, 15_000, 'the client to be dropped');
  t.regex((await net.get(net.pods[0] ?? '', lb)).stdout, /^pod-\d$/m, 'a source in the range still gets through');

  // No ready node at all: the status empties and a Warning says so.
  await setNode(cs, 'node-1', NODE1_IP, 'False');
  await eventually(async () => (await ingressOf(cs, 'web')) === '', 15_000, 'an empty ingress');
  await eventually(
    async () => ((await cs.events.list({ namespace: 'default' })).items ?? []).some((e) => e.reason === 'UnAvailableLoadBalancer'),
    15_000,
    'the UnAvailableLoadBalancer event',
  );

  t.is(await hostRules(), hostBefore, "the host's iptables are unchanged");
}

test('ExternalName gets no cluster IP and no node ports; type changes release and allocate them; node ports as allocateLoadBalancerNodePorts says', async (t) => {
  const etcd = await startTestEtcd(t);
  const { server } = await startTestApiServer(t, etcd);
  const tls = await testTls();
  const cs = new Clientset(server.grpcAddress, tls.admin);
  t.teardown(() => cs.close());
  const create = (name: string, spec: Service['spec']): Promise<Service> => cs.services.create({ metadata: { name, namespace: 'default' }, spec });

  const db = await create('db', { type: 'ExternalName', externalName: 'my.database.example.com', ports: [{ port: 5432 }] });
  t.is(db.spec?.clusterIP, '');
  t.deepEqual(db.spec?.clusterIPs ?? [], []);
  t.is(db.spec?.ports?.[0]?.nodePort ?? 0, 0);
  const bad = await t.throwsAsync(create('bad', { type: 'ExternalName', externalName: 'Not_A_Name' }));
  t.regex(bad?.message ?? '', /spec\.externalName: Invalid value: "Not_A_Name"/);

  // ClusterIP -> ExternalName (as an apply sends it, with the live clusterIP) releases the address: another service may take it.
  const api = await create('api', { type: 'NodePort', ports: [{ port: 80 }] });
  const ip = api.spec?.clusterIP ?? '';
  const port = api.spec?.ports?.[0]?.nodePort ?? 0;
  const toExt = await cs.services.update({ ...api, spec: { ...api.spec, type: 'ExternalName', externalName: 'api.example.com' } });
  t.is(toExt.spec?.clusterIP, '');
  t.is(toExt.spec?.ports?.[0]?.nodePort ?? 0, 0);
  const taker = await create('taker', { type: 'NodePort', clusterIP: ip, ports: [{ port: 80, nodePort: port }] });
  t.is(taker.spec?.clusterIP, ip, 'the released address and node port are free again');
  // ExternalName -> ClusterIP allocates a new one.
  const back = await cs.services.update({ ...toExt, spec: { ...toExt.spec, type: 'ClusterIP', externalName: '' } });
  t.regex(back.spec?.clusterIP ?? '', /^10\.96\./);
  t.not(back.spec?.clusterIP, ip);

  const noPorts = await create('lb-noports', { type: 'LoadBalancer', allocateLoadBalancerNodePorts: false, ports: [{ port: 80 }] });
  t.is(noPorts.spec?.ports?.[0]?.nodePort ?? 0, 0);
  const local = await create('lb-local', { type: 'LoadBalancer', externalTrafficPolicy: 'Local', ports: [{ port: 80 }] });
  t.true((local.spec?.healthCheckNodePort ?? 0) >= 30000, 'a health check node port is allocated');
  t.true((local.spec?.ports?.[0]?.nodePort ?? 0) >= 30000);

  // The controller manager's identity may publish the ingress (services/status), a node's may not.
  const cm = new Clientset(server.grpcAddress, await tls.credentialsFor('system:kube-controller-manager', []));
  const node = new Clientset(server.grpcAddress, await tls.credentialsFor('system:node:n1', ['system:nodes']));
  t.teardown(() => {
    cm.close();
    node.close();
  });
  const withIngress = { ...local, status: { loadBalancer: { ingress: [{ ip: '172.30.0.2', ipMode: 'VIP' }] } } };
  const published = await cm.services.updateStatus(withIngress);
  t.deepEqual(published.status?.loadBalancer?.ingress, [{ ip: '172.30.0.2', ipMode: 'VIP', hostname: '' }]);
  await t.throwsAsync(node.services.updateStatus(withIngress), { message: /cannot update resource "services\/status"|PermissionDenied|forbidden/i });
  // Leaving type LoadBalancer clears the status.
  const cur = await cs.services.get('lb-local', 'default');
  const plain = await cs.services.update({ ...cur, spec: { ...cur.spec, type: 'ClusterIP' } });
  t.deepEqual(plain.status?.loadBalancer?.ingress ?? [], []);
  t.is(plain.spec?.healthCheckNodePort ?? 0, 0);
});
