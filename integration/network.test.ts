// The pod network (kubelet/network BridgeNetwork) for real, run as root,
// through the built-in runtime. Network safety: each test creates its own
// network namespace `tsk-nt-<random>` to play the node (loopback up, NO
// link to the host namespace, no route out); the bridge, the veths and all
// traffic stay inside it and the sandboxes' namespaces. The host namespace's
// links, routes and ip_forward are compared before and after. Teardowns
// remove containers, sandboxes, the namespace and temp dirs, also on failure.

import test, { ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BridgeNetwork, vethName } from '../kubelet/network';
import { NativeRuntime } from '../kubelet/runtime/native-runtime';
import type { ContainerConfig, SandboxConfig } from '../kubelet/runtime/runtime';
import { parseIPv4 } from '../util/ipv4';
import { BUSYBOX_REF, cleanupRuntime, importBusybox } from './support/runtime-env';

function run(argv: string[]): string {
  const [file, ...args] = argv;
  return execFileSync(file ?? '', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Exit code of a command (0 = success), its output discarded. */
function status(argv: string[]): number {
  try {
    run(argv);
    return 0;
  } catch (err) {
    return (err as { status?: number }).status ?? 1;
  }
}

interface HostState {
  links: string[];
  routes: string;
  ipForward: string;
}

/** What the test must leave untouched in the host namespace. */
function hostState(): HostState {
  const links = run(['ip', '-o', 'link', 'show'])
    .split('\n')
    .map((l) => l.split(': ')[1]?.split('@')[0] ?? '')
    .filter((n) => n !== '')
    .sort();
  return { links, routes: run(['ip', 'route', 'show']), ipForward: fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8') };
}

interface NetEnv {
  podCidr: string;
  stateDir: string;
  nodeNs: string;
  bridge: string;
  network: BridgeNetwork;
  runtime: NativeRuntime;
  dataDir: string;
}

/** A node namespace of the test's own, and a runtime whose sandboxes BridgeNetwork wires into it. */
async function setup(t: ExecutionContext, podCidr: string): Promise<NetEnv> {
  const before = hostState();
  const suffix = randomBytes(4).toString('hex');
  const nodeNs = `tsk-nt-${suffix}`;
  const bridge = `tskbr${suffix}`;
  run(['ip', 'netns', 'add', nodeNs]);
  // Teardowns run last-registered first: the runtime goes, then the namespace, then the host check.
  t.teardown(() => {
    const after = hostState();
    if (JSON.stringify(after) !== JSON.stringify(before)) {
      throw new Error(`the host network namespace changed: before ${JSON.stringify(before)} after ${JSON.stringify(after)}`);
    }
  });
  t.teardown(() => {
    run(['ip', 'netns', 'del', nodeNs]);
  });
  run(['ip', '-n', nodeNs, 'link', 'set', 'lo', 'up']);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-net-'));
  const store = await importBusybox(dataDir);
  const stateDir = path.join(dataDir, 'network');
  const network = new BridgeNetwork({ podCidr, bridgeName: bridge, stateDir, netns: nodeNs });
  const runtime = new NativeRuntime({ dataDir, images: store, network });
  t.teardown(() => cleanupRuntime(runtime, dataDir));
  return { podCidr, stateDir, nodeNs, bridge, network, runtime, dataDir };
}

let podSeq = 0;
function podConfig(name: string): SandboxConfig {
  return { name, namespace: 'test', uid: `net-${process.pid}-${++podSeq}-${Date.now()}` };
}

async function sandbox(env: NetEnv, name: string): Promise<{ id: string; ip: string; netnsPath: string }> {
  const id = await env.runtime.createSandbox(podConfig(name));
  const st = await env.runtime.sandboxStatus(id);
  const ip = st.ips[0];
  if (ip === undefined || st.ips.length !== 1) throw new Error(`sandbox ${name}: expected one IP, got ${JSON.stringify(st.ips)}`);
  return { id, ip, netnsPath: st.netnsPath };
}

async function start(env: NetEnv, sandboxId: string, config: Omit<ContainerConfig, 'image'>): Promise<string> {
  const id = await env.runtime.createContainer(sandboxId, { image: BUSYBOX_REF, ...config });
  await env.runtime.startContainer(id);
  return id;
}

async function logText(env: NetEnv, id: string): Promise<string> {
  let s = '';
  for await (const e of env.runtime.logs(id)) s += e.text + (e.partial ? '' : '\n');
  return s;
}

/** Ping from the node namespace (the host's busybox, run inside it). */
function nodePing(env: NetEnv, ip: string): number {
  return status(['nsenter', `--net=/var/run/netns/${env.nodeNs}`, '/bin/busybox', 'ping', '-c', '1', '-W', '3', ip]);
}

test('two sandboxes get distinct addresses, reach each other and the node through the bridge; setUp is idempotent', async (t) => {
  const env = await setup(t, '10.244.1.0/24');
  const a = await sandbox(env, 'pod-a');
  const b = await sandbox(env, 'pod-b');
  t.not(a.ip, b.ip);
  for (const ip of [a.ip, b.ip]) {
    const n = parseIPv4(ip) ?? -1;
    t.true(n >= parseIPv4('10.244.1.2')! && n <= parseIPv4('10.244.1.254')!, `${ip} is a pod address of 10.244.1.0/24`);
  }

  // Nothing of ours in the host namespace while it runs.
  const hostLinks = hostState().links;
  for (const name of [env.bridge, vethName(a.id), vethName(b.id)]) t.false(hostLinks.includes(name), `${name} is not in the host namespace`);

  // The node end: a port of the bridge, hairpin on; forwarding on in the node namespace only.
  const port = JSON.parse(run(['ip', '-n', env.nodeNs, '-j', '-d', 'link', 'show', vethName(a.id)])) as Array<{
    master?: string;
    linkinfo?: { info_slave_data?: { hairpin?: boolean } };
  }>;
  t.is(port[0]?.master, env.bridge);
  t.is(port[0]?.linkinfo?.info_slave_data?.hairpin, true);
  t.is(run(['nsenter', `--net=/var/run/netns/${env.nodeNs}`, 'cat', '/proc/sys/net/ipv4/ip_forward']).trim(), '1');

  const server = await start(env, a.id, { name: 'server', command: ['sh', '-c', 'sleep 1000 | nc -l -p 8080'] });
  const shown = await env.runtime.exec(server, { cmd: ['sh', '-c', 'ip -o -4 addr show dev eth0; ip route; ip -o link show lo'], stdio: 'pipe' });
  t.regex(shown.stdout, new RegExp(`inet ${a.ip.replace(/\./g, '\\.')}/24 brd 10\\.244\\.1\\.255 `));
  t.regex(shown.stdout, /^default via 10\.244\.1\.1 dev eth0/m);
  t.regex(shown.stdout, /lo: <LOOPBACK,UP/);

  const client = await start(env, b.id, {
    name: 'client',
    command: [
      'sh',
      '-c',
      `ping -c 1 -W 3 ${a.ip} >/dev/null && echo ping-ok; for i in $(seq 100); do echo hello-from-b | nc ${a.ip} 8080 && break; sleep 0.1; done`,
    ],
  });
  const cs = await env.runtime.waitContainer(client);
  t.is(cs.exitCode, 0, await logText(env, client));
  t.regex(await logText(env, client), /^ping-ok$/m);
  let serverLog = '';
  for (let i = 0; i < 200 && !serverLog.includes('hello-from-b'); i++) {
    await sleep(100);
    serverLog = await logText(env, server);
  }
  t.regex(serverLog, /hello-from-b/, 'b reached a over the bridge');

  t.is(nodePing(env, a.ip), 0, 'the node reaches a');
  t.is(nodePing(env, b.ip), 0, 'the node reaches b');

  // setUp again for a running sandbox: the same address, and it still works.
  t.deepEqual(await env.network.setUp(a.id, a.netnsPath, podConfig('pod-a')), { ips: [a.ip] });
  t.is(nodePing(env, a.ip), 0, 'a is still reachable after setUp ran again');
  // A restarted kubelet's network over the same state: the same address too.
  const restarted = new BridgeNetwork({ podCidr: env.podCidr, bridgeName: env.bridge, stateDir: env.stateDir, netns: env.nodeNs });
  t.deepEqual(await restarted.setUp(b.id, b.netnsPath, podConfig('pod-b')), { ips: [b.ip] });
  t.is(nodePing(env, b.ip), 0, 'b is still reachable after a restarted network set it up again');
});

test('tearDown frees the address for reuse, also when the sandbox namespace is already gone; a full range is a clear error', async (t) => {
  const env = await setup(t, '10.244.2.0/29');
  // A /29: .2 to .6 for pods (.0 network, .1 gateway, .7 broadcast).
  const sbs = [];
  for (const name of ['p0', 'p1', 'p2', 'p3', 'p4']) sbs.push(await sandbox(env, name));
  t.deepEqual(sbs.map((s) => s.ip).sort(), ['10.244.2.2', '10.244.2.3', '10.244.2.4', '10.244.2.5', '10.244.2.6']);
  const full = await t.throwsAsync(env.runtime.createSandbox(podConfig('p5')));
  t.regex(full?.message ?? '', /^pod network: allocate IP: no free address in 10\.244\.2\.0\/29/);
  t.is((await env.runtime.listSandboxes()).length, 5, 'the failed sandbox left nothing behind');

  const [s0, s1] = sbs;
  if (!s0 || !s1) throw new Error('unreachable');
  // Stopped: its veth goes (both ends) and its address is free.
  await env.runtime.stopSandbox(s1.id);
  t.not(status(['ip', '-n', env.nodeNs, 'link', 'show', vethName(s1.id)]), 0, 'the veth is gone');
  t.is(env.network.addressOf(s1.id), undefined);
  const reuse = await sandbox(env, 'reuse');
  t.is(reuse.ip, s1.ip, 'the only free address, freed by tearDown, is given again');
  t.is(nodePing(env, reuse.ip), 0);

  // The sandbox's namespace disappears under us (its bind mount gone): tearDown still frees the address.
  run(['umount', s0.netnsPath]);
  await env.runtime.stopSandbox(s0.id);
  t.is(env.network.addressOf(s0.id), undefined);
  t.is((await sandbox(env, 'after-gone')).ip, s0.ip);
  await env.network.tearDown(s0.id, s0.netnsPath);
});

test("a sandbox in a user namespace of its own (hostUsers: false) is wired the same: its network namespace is the pod's user namespace's, the node's root still configures it", async (t) => {
  const env = await setup(t, '10.244.3.0/24');
  const plain = await sandbox(env, 'pod-plain');
  const id = await env.runtime.createSandbox({
    ...podConfig('pod-userns'),
    userNamespace: { hostId: 3 * 65536, length: 65536 },
    sysctls: { 'net.ipv4.ip_unprivileged_port_start': '80' },
  });
  const st = await env.runtime.sandboxStatus(id);
  const ip = st.ips[0] ?? '';
  t.is(st.ips.length, 1);
  t.deepEqual(st.userNamespace, { hostId: 3 * 65536, length: 65536 });
  const c = await start(env, id, {
    name: 'c',
    command: ['sh', '-c', `cat /proc/sys/net/ipv4/ip_unprivileged_port_start; ping -c 1 -W 3 ${plain.ip} >/dev/null && echo ping-ok; sleep 1000`],
  });
  let log = '';
  for (let i = 0; i < 100 && !/ping-ok|\n.*\n/.test(log); i++) {
    await sleep(100);
    log = await logText(env, c);
  }
  t.regex(log, /^80\nping-ok\n$/, 'its sysctl is set and it reaches the other pod');
  t.is(nodePing(env, ip), 0, 'the node reaches it');
  // Its network namespace belongs to its user namespace: with NET_ADMIN granted, the pod's root configures its own network, not the node's.
  const admin = await start(env, id, { name: 'admin', command: ['sleep', '1000'], security: { capAdd: ['NET_ADMIN'] } });
  const added = await env.runtime.exec(admin, { cmd: ['sh', '-c', 'ip addr add 10.99.0.1/32 dev lo && ip -o -4 addr show dev lo'], stdio: 'pipe' });
  t.regex(added.stdout, /inet 10\.99\.0\.1\/32/, added.stderr);
  t.notRegex(run(['ip', '-n', env.nodeNs, '-o', '-4', 'addr', 'show']), /10\.99\.0\.1/, 'not in the node namespace');
});
