// The network of the proxy's integration tests, inside network namespaces
// the test creates: a "node" namespace with a bridge, three "pod" namespaces
// joined to it by veth pairs, each running busybox httpd that answers with
// its pod's name (and a UDP echo). Nothing links to the host namespace and
// nothing routes out. The proxy runs as a child process in the node
// namespace and reaches the API server (in the test's process) through a
// unix socket.

import type { ExecutionContext } from 'ava';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Endpoints } from '../../api/gen/tsk/v1/core';
import { nftCommand } from '../../proxy';
import { eventually } from './wait';

export const CLI = resolve(__dirname, '..', '..', 'proxy', 'cli.js');
export const NODE_IP = '10.250.0.1';
export const POD_IPS = ['10.250.0.11', '10.250.0.12', '10.250.0.13'];

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command without blocking the event loop (the API server answers from this process). */
export function run(cmd: string, args: string[], timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolveRun) => {
    execFile(cmd, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolveRun({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

export async function must(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** The host's iptables rules without counters and timestamps: what must not change. */
export async function hostRules(): Promise<string> {
  const out = await must('iptables-save', []);
  return out
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.replace(/\[\d+:\d+\]$/, ''))
    .join('\n');
}

export interface Cluster {
  node: string;
  pods: string[];
  /** GET http://ADDR/ from namespace ns with busybox wget. */
  get(ns: string, addr: string): Promise<Run>;
  /** One datagram to addr:port from the node namespace, from a fixed source port: the reply, or "timeout". */
  udp(addr: string, port: number, sourcePort: number): Promise<string>;
  nodeRules(): Promise<string>;
  /** The node namespace's nftables ruleset (nft list ruleset). */
  nodeNft(): Promise<string>;
}

/** The node and pod namespaces; all removed on teardown (which removes their iptables too). */
export async function startNetwork(t: ExecutionContext, dir: string): Promise<Cluster> {
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
  return {
    node,
    pods,
    get,
    udp,
    nodeRules: () => must('ip', ['netns', 'exec', node, 'iptables-save']),
    nodeNft: () => must('ip', ['netns', 'exec', node, nftCommand(), 'list', 'ruleset']),
  };
}

/** Starts `node dist/proxy/cli.js` in the node namespace; killed on teardown. */
export function startProxyProcess(
  t: ExecutionContext,
  cluster: Cluster,
  sock: string,
  kubeconfig: string,
  extraArgs: readonly string[] = [],
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
      ...extraArgs,
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

export async function bodies(cluster: Cluster, ns: string, addr: string, n: number): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const r = await cluster.get(ns, addr);
    const body = r.code === 0 ? r.stdout.trim() : `error: ${r.stderr.trim()}`;
    seen.set(body, (seen.get(body) ?? 0) + 1);
  }
  return seen;
}

/** Endpoints of `ips` on port 8080; with `nodeName`, each address says it runs there (as the endpoints controller writes them). */
export function endpoints(name: string, ips: string[], nodeName?: string): Endpoints {
  return {
    metadata: { namespace: 'default', name },
    subsets: ips.length ? [{ addresses: ips.map((ip) => (nodeName ? { ip, nodeName } : { ip })), ports: [{ port: 8080, protocol: 'TCP' }] }] : [],
  };
}
