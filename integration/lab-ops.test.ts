// The lab's fault operations, driven as the chaos suite drives them (issue 9):
// on a lab of one server and two nodes (a unique name and data dir),
// `tsk lab kill` of node-1's agent leaves its pod's container running and
// the Node goes NotReady; `tsk lab start` brings the heartbeat back and the
// agent adopts the pod (same container, no restart); a killed server takes
// its embedded etcd with it and, started again, serves the same objects;
// `tsk lab partition` of node-2 stops its heartbeat (NotReady) and cuts its
// port on the lab bridge, `tsk lab heal` brings both back; a partitioned
// server is reached by no node until healed. Wrong names and
// wrong states are one-line errors with exit code 1. `tsk lab down` removes
// everything at the end, also when the test fails.

import test from 'ava';
import { execFile } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Node, Pod } from '../api/gen/tsk/v1/core';
import { adminConfigPath, Clientset, resolveClient } from '../client';
import { busyboxImage, dockerSaveArchive } from '../kubelet/runtime/image/builder';
import { planLab } from '../lab/topology';
import { etcdPidFile } from '../util/etcd-process';
import { freePort } from '../util/free-port';
import { eventually } from './support/client-harness';
import { runProcess } from './support/run';

const exec = promisify(execFile);
const ROOT = resolve(__dirname, '..', '..');
const TSK = join(ROOT, 'dist', 'cmd', 'tsk.js');
const TSCTL = join(ROOT, 'dist', 'cmd', 'tsctl.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function alive(pid: number): boolean {
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The PIDs of processes whose command line is exactly argv (the pod's container, found by its unique sleep). */
function pidsOf(argv: readonly string[]): number[] {
  const want = argv.join('\0') + '\0';
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, 'utf8') === want;
      } catch {
        return false;
      }
    })
    .map(Number);
}

function readyStatus(node: Node | undefined): string | undefined {
  return node?.status?.conditions?.find((c) => c.type === 'Ready')?.status;
}

function ready(node: Node | undefined): boolean {
  return readyStatus(node) === 'True';
}

/** The Node read, with a Ready condition that is not True (Unknown when its heartbeat stopped); not a failed read. */
function notReady(node: Node | undefined): boolean {
  const s = readyStatus(node);
  return s !== undefined && s !== 'True';
}

test('tsk lab kill, start, partition and heal a lab of one server and two nodes', async (t) => {
  t.timeout(12 * 60_000);
  const dir = mkdtempSync(join(tmpdir(), 'tsk-labops-'));
  const name = `o${randomBytes(3).toString('hex')}`;
  const [server1, node1, node2] = [`${name}-server-1`, `${name}-node-1`, `${name}-node-2`];
  const address = `127.0.0.1:${await freePort()}`;
  const httpAddress = `127.0.0.1:${await freePort()}`;
  const env = { ...process.env, TSK_CONFIG: join(dir, 'config') };
  const lab = async (...args: string[]): Promise<Run> => {
    try {
      const r = await exec(process.execPath, [TSK, 'lab', ...args, '--name', name, '--data-dir', dir], { env, timeout: 240_000 });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
    }
  };
  /** eventually, logging how long it took (a NotReady takes about the grace period, 20 s). */
  const waited = async (what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> => {
    const start = Date.now();
    await eventually(check, timeoutMs, what);
    t.log(`${what}: ${((Date.now() - start) / 1000).toFixed(1)}s`);
  };
  const containerArgv = ['sleep', String(100_000 + randomInt(800_000))];
  t.teardown(async () => {
    const down = await lab('down');
    if (down.code !== 0) t.log(`lab down: ${down.stderr}`);
    for (const pid of pidsOf(containerArgv)) t.log(`container process ${pid} left after down`);
    rmSync(dir, { recursive: true, force: true });
  });

  const up = await lab('up', '--nodes', '2', '--address', address, '--http-address', httpAddress, '--node-monitor-grace-period', '20s', '--timeout', '180');
  t.is(up.code, 0, up.stderr);
  // The one server's REST API is on loopback; the line tsk lab up prints takes kubectl there.
  const kubectlLine = /^==> kubectl: KUBECONFIG=(\S+) kubectl get nodes$/m.exec(up.stdout);
  t.truthy(kubectlLine, up.stdout);
  const nodes = await runProcess('kubectl', ['--kubeconfig', kubectlLine?.[1] ?? '', '--cache-dir', join(dir, 'kube-cache'), 'get', 'nodes', '-o', 'name'], {
    env: { HOME: dir, KUBECONFIG: '' },
    timeoutMs: 60_000,
  });
  t.is(nodes.stdout.split('\n').filter((l) => l.startsWith('node/')).length, 2, nodes.stderr);
  const image = join(dir, 'busybox.tar');
  writeFileSync(image, await dockerSaveArchive([{ image: await busyboxImage(), repoTags: ['busybox:1.36'] }]));
  t.is((await lab('load', image)).code, 0);

  const status = await lab('status');
  t.is(status.code, 0, status.stdout);
  for (const [m, ns] of [
    [server1, 'host'],
    [node1, `tsk-${name}-n1`],
    [node2, `tsk-${name}-n2`],
  ] as const)
    t.regex(status.stdout, new RegExp(`^${m}\\s+\\S+\\s+${ns}\\s+\\S+\\s+\\d+\\s+running$`, 'm'));

  // Wrong names and wrong states: one line, exit code 1.
  const unknown = await lab('kill', 'node-9');
  t.is(unknown.code, 1);
  t.is(unknown.stderr.trim(), `tsk lab kill: unknown machine "node-9"; the lab's machines are: ${server1}, ${node1}, ${node2}`);
  const startRunning = await lab('start', node1);
  t.is(startRunning.code, 1);
  t.regex(startRunning.stderr, new RegExp(`^tsk lab start: ${node1} is already running \\(pid \\d+\\)\\n$`));
  t.is((await lab('heal', node1)).stderr.trim(), `tsk lab heal: ${node1} is not partitioned`);

  const plan = planLab({ name, nodes: 2, dataDir: dir, network: '172.30.0.0/24' });
  const target = await resolveClient({ kubeconfig: adminConfigPath(plan.serverDataDir), server: address });
  const cs = new Clientset(target.server, target.credentials);
  t.teardown(() => cs.close());
  const node = (n: string): Promise<Node | undefined> => cs.nodes.get(n).catch(() => undefined);
  const pod = (): Promise<Pod | undefined> => cs.pods.get('sleeper', 'default').catch(() => undefined);

  await cs.pods.create({
    metadata: { name: 'sleeper', namespace: 'default' },
    spec: { nodeName: node1, terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: 'busybox:1.36', command: containerArgv }] },
  });
  await eventually(async () => (await pod())?.status?.containerStatuses?.[0]?.state?.running !== undefined, 90_000, 'the pod to run');
  const before = (await pod())?.status?.containerStatuses?.[0];
  const [containerPid] = pidsOf(containerArgv);
  t.truthy(containerPid, "the container's process runs");

  // kill node-1's agent: the container lives on, the Node goes NotReady.
  const state = JSON.parse(readFileSync(join(plan.dir, 'state.json'), 'utf8')) as { machines: { name: string; process: { pid: number } }[] };
  const agentPid = state.machines.find((m) => m.name === node1)?.process.pid ?? 0;
  const serverPid = state.machines.find((m) => m.name === server1)?.process.pid ?? 0;
  const agentLog = join(plan.dir, node1, 'agent.log');
  const logBefore = readFileSync(agentLog, 'utf8');
  const killed = await lab('kill', node1);
  t.is(killed.code, 0, killed.stderr);
  t.false(alive(agentPid), 'the agent is gone');
  t.true(alive(containerPid ?? 0), "the pod's container still runs");
  t.regex((await lab('status')).stdout, new RegExp(`^${node1}\\s.*\\skilled$`, 'm'));
  t.is((await lab('kill', node1)).stderr.trim(), `tsk lab kill: ${node1} is already killed; start it with: tsk lab start ${node1}`);
  await waited(`${node1} to go NotReady`, 60_000, async () => notReady(await node(node1)));
  t.true(alive(containerPid ?? 0), "the pod's container still runs while its node is NotReady");

  // start node-1: the heartbeat resumes and the agent adopts the pod.
  const started = await lab('start', node1);
  t.is(started.code, 0, started.stderr);
  await eventually(async () => ready(await node(node1)), 60_000, `${node1} to be Ready again`);
  await eventually(
    async () => (await pod())?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    60_000,
    'the pod Ready again',
  );
  const after = (await pod())?.status?.containerStatuses?.[0];
  t.is(after?.containerID, before?.containerID, 'the same container');
  t.is(after?.restartCount ?? 0, 0);
  t.true(alive(containerPid ?? 0));
  // The server reaches the pod through the restarted agent's tunnel, over the node's link.
  const hostname = await exec(process.execPath, [TSCTL, 'exec', 'sleeper', '--server', address, '--', 'hostname'], { env });
  t.is(hostname.stdout, 'sleeper\n');
  const logAfter = readFileSync(agentLog, 'utf8');
  t.true(logAfter.startsWith(logBefore) && logAfter.length > logBefore.length, 'the started agent appends to the same log');

  // kill server-1: its embedded etcd dies with it; started again, it serves the same objects.
  const etcdPid = Number(readFileSync(etcdPidFile(plan.serverDataDir), 'utf8').trim());
  t.true(alive(etcdPid), 'the embedded etcd runs');
  const uid = (await pod())?.metadata?.uid;
  t.is((await lab('kill', server1)).code, 0);
  t.false(alive(serverPid), 'the server is gone');
  await eventually(() => !alive(etcdPid), 15_000, 'the embedded etcd to die with its server');
  t.is((await lab('start', server1)).code, 0);
  await eventually(async () => (await pod())?.metadata?.uid === uid, 90_000, 'the API to answer again with the pod');
  await eventually(async () => ready(await node(node1)) && ready(await node(node2)), 60_000, 'both nodes Ready after the server restart');

  // partition node-2: its port on the lab bridge is down and its heartbeat stops; heal brings both back.
  t.is((await lab('partition', node2)).code, 0);
  t.regex((await lab('status')).stdout, new RegExp(`^${node2}\\s.*\\spartitioned$`, 'm'));
  t.regex((await exec('ip', ['-n', plan.switchNetns, 'link', 'show', 'n2'])).stdout, /state DOWN/);
  t.is((await lab('partition', node2)).code, 1, 'partitioning twice is refused');
  await waited(`${node2} to go NotReady while partitioned`, 60_000, async () => notReady(await node(node2)));
  t.true(ready(await node(node1)), `${node1} stays Ready`);
  t.is((await lab('heal', node2)).code, 0);
  t.notRegex((await exec('ip', ['-n', plan.switchNetns, 'link', 'show', 'n2'])).stdout, /state DOWN/);
  await eventually(async () => ready(await node(node2)), 60_000, `${node2} to be Ready after heal`);

  // partition server-1: no node reaches it (both go NotReady) while the host still does; heal brings them back.
  t.is((await lab('partition', server1)).code, 0);
  await waited('both nodes NotReady while the server is cut off', 60_000, async () => notReady(await node(node1)) && notReady(await node(node2)));
  t.is((await lab('heal', server1)).code, 0);
  await eventually(async () => ready(await node(node1)) && ready(await node(node2)), 60_000, 'both nodes Ready after the server is healed');
  t.is((await lab('status')).code, 0, 'every machine runs');

  // down: the agents, the links, the server and the pod's container are gone.
  const final = JSON.parse(readFileSync(join(plan.dir, 'state.json'), 'utf8')) as { machines: { process: { pid: number }; link?: { pid: number } }[] };
  t.is((await lab('down')).code, 0);
  for (const pid of final.machines.flatMap((m) => [m.process.pid, ...(m.link ? [m.link.pid] : [])])) t.false(alive(pid), `process ${pid} is gone`);
  t.deepEqual(pidsOf(containerArgv), [], "the pod's container is gone");
});
