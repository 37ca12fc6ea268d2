// Pod networks across subnets, on real `tsk lab`s (each its own --name,
// data dir and ports) of two nodes in two subnets joined by a router
// namespace: with the vxlan backend a pod on node 1 reaches a pod on node 2
// by pod IP and through a Service, pods' MTU is 1450 on the 1500 underlay,
// node 1 keeps tsk.1's route, neighbour and FDB entry for node 2, and
// deleting node 2's Node removes them; with host-gw in the same topology
// the pod on node 2 is out of reach (its InternalIP is no on-link gateway).

import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Node, Pod, PodSpec } from '../api/gen/tsk/v1/core';
import { Clientset } from '../client/clientset';
import { resolveClient } from '../client/config';
import { freePort } from '../util/free-port';
import { busyboxImage, dockerSaveArchive } from '../kubelet/runtime/image/builder';
import { readLabState } from '../lab/lab';
import { stopProcess } from '../lab/processes';
import { planLab } from '../lab/topology';
import { ROUTE_PROTO } from '../kubelet/routes/node-routes';

const exec = promisify(execFile);
const ROOT = resolve(__dirname, '..', '..');
const TSK = join(ROOT, 'dist', 'cmd', 'tsk.js');
const TSCTL = join(ROOT, 'dist', 'cmd', 'tsctl.js');
const NS = 'vxlantest';

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

interface Lab {
  name: string;
  dir: string;
  address: string;
  env: NodeJS.ProcessEnv;
  cs: Clientset;
  nodes: [string, string];
  /** Runs a command in a pod of NS; stdout and stderr together, also on failure. */
  inPod(pod: string, ...cmd: string[]): Promise<string>;
  /** `ip ARGS` in node i's namespace (1-based). */
  ipOn(i: number, ...args: string[]): Promise<string>;
  /** `bridge ARGS` (FDB entries) in node i's namespace. */
  bridgeOn(i: number, ...args: string[]): Promise<string>;
}

/** A 2-node, 2-subnet lab with busybox loaded, a web pod (httpd on 8080) on node 2 behind Service web, and a client pod on node 1. */
async function webAcrossSubnets(t: ExecutionContext, backend: 'vxlan' | 'host-gw'): Promise<Lab & { web: Pod; clusterIP: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'tsk-vxlan-'));
  const name = `x${randomBytes(3).toString('hex')}`;
  const address = `127.0.0.1:${await freePort()}`;
  const httpAddress = `127.0.0.1:${await freePort()}`;
  const env = { ...process.env, TSK_CONFIG: join(dir, 'config') };
  const lab = (...args: string[]) => exec(process.execPath, [TSK, 'lab', ...args, '--name', name, '--data-dir', dir], { env, timeout: 300_000 });
  t.teardown(async () => {
    await lab('down').catch((err: unknown) => t.log(`lab down: ${String(err)}`));
    rmSync(dir, { recursive: true, force: true });
  });
  await lab('up', '--nodes', '2', '--subnets', '2', '--pod-network-backend', backend, '--address', address, '--http-address', httpAddress, '--timeout', '240');
  const image = join(dir, 'busybox.tar');
  writeFileSync(image, await dockerSaveArchive([{ image: await busyboxImage(), repoTags: ['busybox:1.36'] }]));
  await lab('load', image);
  const target = await resolveClient({ server: address, env });
  const cs = new Clientset(target.server, target.credentials);
  t.teardown(() => cs.close());
  const nodes: [string, string] = [`${name}-node-1`, `${name}-node-2`];
  await cs.namespaces.create({ metadata: { name: NS } });
  const httpd = ['sh', '-c', 'mkdir -p /www && echo "hello from $(hostname)" > /www/index.html && exec httpd -f -p 8080 -h /www'];
  await cs.pods.create({
    metadata: { name: 'web', namespace: NS, labels: { app: 'web' } },
    spec: busybox(httpd, {
      nodeName: nodes[1],
      containers: [
        {
          name: 'httpd',
          image: 'busybox:1.36',
          imagePullPolicy: 'IfNotPresent',
          command: httpd,
          ports: [{ containerPort: 8080 }],
          readinessProbe: { tcpSocket: { port: { intVal: 8080 } }, periodSeconds: 1 },
        },
      ],
    }),
  });
  await cs.pods.create({ metadata: { name: 'client', namespace: NS }, spec: busybox(['sleep', '3600'], { nodeName: nodes[0] }) });
  const svc = await cs.services.create({
    metadata: { name: 'web', namespace: NS },
    spec: { selector: { app: 'web' }, ports: [{ port: 80, protocol: 'TCP', targetPort: { intVal: 8080 } }] },
  });
  const web = await eventually('the web pod ready', 180_000, async () => {
    const p = await cs.pods.get('web', NS);
    return isReady(p) ? p : undefined;
  });
  await eventually('the client running', 120_000, async () => ((await cs.pods.get('client', NS)).status?.phase === 'Running' ? true : undefined));
  const inPod = async (pod: string, ...cmd: string[]): Promise<string> => {
    const r = await exec(process.execPath, [TSCTL, 'exec', pod, '-n', NS, '--server', address, '--', ...cmd], { env, timeout: 30_000 }).catch(
      (err: { stdout?: string; stderr?: string }) => ({ stdout: `${err.stdout ?? ''}${err.stderr ?? ''}` }),
    );
    return r.stdout;
  };
  const ipOn = async (i: number, ...args: string[]): Promise<string> => (await exec('ip', ['-n', `tsk-${name}-n${i}`, ...args])).stdout;
  const bridgeOn = async (i: number, ...args: string[]): Promise<string> => (await exec('bridge', ['-n', `tsk-${name}-n${i}`, ...args])).stdout;
  return { name, dir, address, env, cs, nodes, inPod, ipOn, bridgeOn, web, clusterIP: svc.spec?.clusterIP ?? '' };
}

test.serial('vxlan across two subnets: pod to pod and through a Service, MTU 1450, entries removed with the Node', async (t) => {
  const lab = await webAcrossSubnets(t, 'vxlan');
  const { cs, nodes, inPod, ipOn, bridgeOn } = lab;
  const plan = planLab({ name: lab.name, nodes: 2, dataDir: lab.dir, network: '172.30.0.0/24', subnets: 2 });
  const [n1, n2] = plan.nodes;
  if (!n1 || !n2) throw new Error('two nodes planned');
  t.not(n1.subnet, n2.subnet, 'the nodes are on two segments');
  const webIP = lab.web.status?.podIP ?? '';

  // The overlay converges once both nodes have published their VTEP MACs and synced: give it a moment after the pods start.
  const firstReply = await eventually('a reply from the web pod over the overlay', 60_000, async () => {
    const out = await inPod('client', 'timeout', '5', 'wget', '-qO-', `http://${webIP}:8080/`);
    return /^hello from web/.test(out) ? out : undefined;
  }).catch(async (err: unknown) => {
    for (const i of [1, 2]) {
      t.log(`node ${i}:\n${await ipOn(i, 'route')}${await ipOn(i, 'neigh')}${await bridgeOn(i, 'fdb', 'show', 'dev', 'tsk.1')}`);
      t.log(
        readFileSync(join(lab.dir, 'lab', lab.name, `${nodes[i - 1] ?? ''}`, 'agent.log'), 'utf8')
          .split('\n')
          .filter((l) => /vxlan|route/.test(l))
          .join('\n'),
      );
    }
    throw err;
  });
  t.regex(firstReply, /^hello from web/, 'pod IP on the other subnet');
  t.regex(await inPod('client', 'timeout', '5', 'wget', '-qO-', `http://${lab.clusterIP}/`), /^hello from web/, 'the Service');
  t.is((await inPod('client', 'cat', '/sys/class/net/eth0/mtu')).trim(), '1450', "the pod's eth0: 1500 - 50");
  t.is((await inPod('web', 'cat', '/sys/class/net/eth0/mtu')).trim(), '1450');
  t.regex(await ipOn(1, 'link', 'show', 'tsk0'), /mtu 1450 /, 'the pod bridge');

  // Node 1's side of the overlay, as flannel's flannel.1.
  const dev = await ipOn(1, '-d', 'link', 'show', 'tsk.1');
  t.regex(dev, /mtu 1450 /);
  t.regex(dev, new RegExp(`vxlan id 1 local ${n1.ip.replace(/\./g, '\\.')} dev eth0 .*dstport 8472 nolearning`));
  const node2 = await cs.nodes.get(nodes[1]);
  const cidr2 = node2.spec?.podCIDR ?? '';
  const vtep2 = cidr2.replace(/\/\d+$/, '');
  const data = JSON.parse(node2.metadata?.annotations?.['tsk.io/backend-data'] ?? '{}') as { VNI?: number; VtepMAC?: string };
  const mac2 = data.VtepMAC ?? '';
  t.is(data.VNI, 1);
  t.is(node2.metadata?.annotations?.['tsk.io/backend-type'], 'vxlan');
  t.is(node2.metadata?.annotations?.['tsk.io/public-ip'], n2.ip);
  t.regex((await ipOn(2, 'link', 'show', 'tsk.1')).toLowerCase(), new RegExp(`link/ether ${mac2}`), "node 2's own device has the MAC its Node publishes");
  t.regex(await ipOn(2, 'addr', 'show', 'tsk.1'), new RegExp(`inet ${vtep2.replace(/\./g, '\\.')}/32`), 'VTEP address: the pod CIDR .0/32');
  const route = await ipOn(1, 'route', 'show', cidr2);
  t.regex(route, new RegExp(`via ${vtep2.replace(/\./g, '\\.')} dev tsk\\.1 proto ${ROUTE_PROTO} onlink`));
  t.regex((await ipOn(1, 'neigh', 'show', 'dev', 'tsk.1')).toLowerCase(), new RegExp(`${vtep2.replace(/\./g, '\\.')} lladdr ${mac2} permanent`));
  t.regex(await bridgeOn(1, 'fdb', 'show', 'dev', 'tsk.1'), new RegExp(`${mac2} dst ${n2.ip.replace(/\./g, '\\.')} self permanent`));

  // Node 2 goes away: its agent stopped first (else it registers its Node again), then its Node deleted.
  const state = await readLabState(plan.dir);
  const agent2 = state?.machines.filter((m) => m.role === 'agent')[1]?.process;
  if (!agent2) throw new Error('no agent record for node 2');
  await stopProcess(agent2);
  await cs.nodes.delete(nodes[1]);
  await eventually('node 1 to drop its overlay entries for node 2', 30_000, async () => {
    const left = [
      await ipOn(1, 'route', 'show', 'proto', String(ROUTE_PROTO)),
      await ipOn(1, 'neigh', 'show', 'dev', 'tsk.1', 'nud', 'permanent'),
      await bridgeOn(1, 'fdb', 'show', 'dev', 'tsk.1'),
    ];
    return left.every((x) => !x.toLowerCase().includes(mac2) && !x.includes(vtep2)) ? true : undefined;
  });
  t.is((await ipOn(1, 'route', 'show', 'proto', String(ROUTE_PROTO))).trim(), '');
  t.is((await ipOn(1, 'neigh', 'show', 'dev', 'tsk.1', 'nud', 'permanent')).trim(), '');
  t.notRegex((await bridgeOn(1, 'fdb', 'show', 'dev', 'tsk.1')).toLowerCase(), new RegExp(mac2));
  const gone: Node[] = (await cs.nodes.list()).items ?? [];
  t.false(gone.some((n) => n.metadata?.name === nodes[1]));
});

test.serial('host-gw in the same two-subnet topology: the pod on the other subnet is out of reach', async (t) => {
  const lab = await webAcrossSubnets(t, 'host-gw');
  const webIP = lab.web.status?.podIP ?? '';
  const cidr2 = (await lab.cs.nodes.get(lab.nodes[1])).spec?.podCIDR ?? '';
  t.is((await lab.inPod('client', 'cat', '/sys/class/net/eth0/mtu')).trim(), '1500', 'no encapsulation, no MTU taken');
  t.notRegex(await lab.inPod('client', 'timeout', '3', 'wget', '-qO-', `http://${webIP}:8080/`), /hello from web/, 'pod IP on the other subnet');
  t.regex(await lab.inPod('client', 'ping', '-c', '1', '-W', '2', webIP), /100% packet loss|unreachable/i, 'no ping either');
  t.notRegex(await lab.inPod('client', 'timeout', '3', 'wget', '-qO-', `http://${lab.clusterIP}/`), /hello from web/, 'the Service');
  // Why: node 2's InternalIP is behind the router, no on-link gateway for a host-gw route.
  t.is((await lab.ipOn(1, 'route', 'show', cidr2)).trim(), '', "no route to the other subnet's pods");
  await t.throwsAsync(lab.ipOn(1, 'link', 'show', 'tsk.1'), undefined, 'no VXLAN device');
});
