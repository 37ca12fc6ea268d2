// "Three VMs": a server and two agents, each in its own network namespace on
// a bridge (the lab's switch namespace), join over TCP with a token and TLS;
// a pod runs on each node. Then, from a fourth namespace on the same bridge:
// a plaintext client, a TLS client with no credential, a client certificate
// of another CA, an expired or malformed client certificate, and agents with
// a wrong, revoked, expired or malformed token are all refused, each with
// one line; node 1's credential cannot change node 2, its pod's status,
// create a pod, exec, or open node 2's tunnel.
//
// Nothing links to the host's namespace: the addresses (10.213.0.0/24) live
// on the bridge only. Everything made (processes, pods, cgroups, namespaces
// with their iptables rules, files) is removed in the teardown, also after a
// failure.

import * as grpc from '@grpc/grpc-js';
import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeClientConfig, type ClientCredentials } from '../client';
import { CREDENTIAL_FILES } from '../client/bootstrap';
import { cleanupNodeRuntime } from '../lab/cleanup';
import { createLabNetwork, removeLabNetwork } from '../lab/net';
import { planLab, type LabNode } from '../lab/topology';
import { createCA, issue, pathsIn } from '../util/pki';
import type { ProbeCheck, ProbeResult, ProbeSpec } from './support/grpc-probe';
import { killProcess } from './support/netns';
import { BUSYBOX_REF, importBusybox } from './support/runtime-env';
import { errorLines, runScript, runTsk, startTsk, TSCTL, type Finished, type Proc } from './support/tsk-process';

const PROBE = path.join(__dirname, 'support', 'grpc-probe.js');

interface Cluster {
  dir: string;
  server: { node: LabNode; proc: Proc; dataDir: string; address: string };
  agents: { node: LabNode; proc: Proc }[];
  outside: LabNode;
  adminConfig: string;
  caPem: string;
  joinToken: string;
}

/** Runs the cleanups in reverse order when the test ends, passed or failed. */
function cleanupsOf(t: ExecutionContext): (c: () => Promise<void> | void) => void {
  const cleanups: Array<() => Promise<void> | void> = [];
  t.teardown(async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch((err: unknown) => console.error(`three-vms cleanup: ${String(err)}`));
  });
  return (c) => cleanups.push(c);
}

async function startCluster(t: ExecutionContext): Promise<Cluster> {
  const defer = cleanupsOf(t);
  const id = randomBytes(3).toString('hex');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-vms-'));
  defer(() => fs.rmSync(dir, { recursive: true, force: true }));
  // Four "machines": the server, node 1, node 2 and an outsider.
  const plan = planLab({ name: `vms${id}`, nodes: 4, dataDir: dir, network: '10.213.0.0/24' });
  const [serverNode, node1, node2, outside] = plan.nodes as [LabNode, LabNode, LabNode, LabNode];
  await createLabNetwork(plan);
  defer(() => removeLabNetwork(plan));

  const address = `${serverNode.ip}:6443`;
  const dataDir = path.join(dir, 'server');
  const proc = startTsk(
    serverNode.netns,
    ['server', '--data-dir', dataDir, '--address', address, '--http-address', `${serverNode.ip}:6080`, '--tls-san', serverNode.ip, '--write-config=false'],
    { TSK_CONFIG: path.join(dir, 'config') },
  );
  defer(() => killProcess(proc.child));
  await proc.waitFor(/^Node join token: K10/, 120_000);
  await proc.waitFor(/serving gRPC/, 60_000);
  const adminConfig = path.join(dataDir, 'admin.conf');
  const created = await runTsk(serverNode.netns, ['token', 'create', '--ttl', '1h', '--description', 'three vms', '--kubeconfig', adminConfig]);
  t.is(created.code, 0, created.stderr);
  const joinToken = created.stdout.trim();

  const agents: Cluster['agents'] = [];
  for (const node of [node1, node2]) {
    fs.mkdirSync(node.dataDir, { recursive: true, mode: 0o700 });
    await importBusybox(node.dataDir);
    // Stopped agents leave their pods, as kubelets do: remove them, their mounts and cgroups.
    defer(() => cleanupNodeRuntime(node));
    const agent = startTsk(node.netns, [
      'agent',
      '--server',
      `https://${address}`,
      '--token',
      joinToken,
      '--hostname-override',
      node.name,
      '--node-ip',
      node.ip,
      '--data-dir',
      node.dataDir,
      '--cgroup-root',
      node.cgroupRoot,
    ]);
    defer(() => killProcess(agent.child));
    agents.push({ node, proc: agent });
  }
  for (const a of agents) await a.proc.waitFor(new RegExp(`registered node ${a.node.name}`), 90_000);
  const caPem = fs.readFileSync(pathsIn(path.join(dataDir, 'tls')).ca.cert, 'utf8');
  return { dir, server: { node: serverNode, proc, dataDir, address }, agents, outside, adminConfig, caPem, joinToken };
}

function tsctl(c: Cluster, args: string[], kubeconfig = c.adminConfig, ns = c.server.node.netns): Promise<Finished> {
  return runScript(ns, TSCTL, ['--kubeconfig', kubeconfig, '--server', c.server.address, ...args], { TSK_CONFIG: path.join(c.dir, 'config') });
}

interface PodView {
  metadata?: { name?: string };
  spec?: { nodeName?: string };
  status?: { phase?: string };
}

/** Applies pod p1 on node 1 and p2 on node 2 (by kubernetes.io/hostname) and waits until both are Running. */
async function runPodPerNode(t: ExecutionContext, c: Cluster): Promise<void> {
  const manifest = c.agents
    .map((a, i) =>
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `p${i + 1}`, namespace: 'default' },
        spec: {
          nodeSelector: { 'kubernetes.io/hostname': a.node.name },
          containers: [{ name: 'main', image: BUSYBOX_REF, imagePullPolicy: 'Never', command: ['sleep', '3600'] }],
        },
      }),
    )
    .join('\n---\n');
  const file = path.join(c.dir, 'pods.json');
  fs.writeFileSync(file, manifest);
  const applied = await tsctl(c, ['apply', '-f', file]);
  t.is(applied.code, 0, applied.stderr);
  const deadline = Date.now() + 90_000;
  for (;;) {
    const got = await tsctl(c, ['get', 'pods', '-o', 'json']);
    const items = got.code === 0 ? ((JSON.parse(got.stdout) as { items?: PodView[] }).items ?? []) : [];
    const running = items.filter((p) => p.status?.phase === 'Running');
    if (running.length === 2) {
      t.deepEqual(
        running.map((p) => p.spec?.nodeName).sort(),
        c.agents.map((a) => a.node.name),
      );
      return;
    }
    if (Date.now() > deadline) throw new Error(`the pods are not both Running after 90 s:\n${got.stdout}${got.stderr}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Runs the probe's calls in the namespace and returns their ends by name. */
async function probe(c: Cluster, ns: string, checks: ProbeCheck[]): Promise<Map<string, ProbeResult>> {
  const file = path.join(c.dir, `probe-${randomBytes(3).toString('hex')}.json`);
  fs.writeFileSync(file, JSON.stringify({ address: c.server.address, checks } satisfies ProbeSpec), { mode: 0o600 });
  const r = await runScript(ns, PROBE, [file]);
  if (r.code !== 0) throw new Error(`grpc-probe failed (${r.code}): ${r.stderr}`);
  return new Map((JSON.parse(r.stdout) as ProbeResult[]).map((x) => [x.name, x]));
}

function refused(t: ExecutionContext, results: Map<string, ProbeResult>, name: string, code: grpc.status, message: string | RegExp): void {
  const r = results.get(name);
  if (r === undefined) return void t.fail(`no result for ${name}`);
  t.false(r.ok, `${name} was accepted`);
  t.is(r.code, code, `${name}: ${r.code} ${r.message}`);
  if (typeof message === 'string') t.is(r.message, message, name);
  else t.regex(r.message ?? '', message, name);
}

/** A refused command: exit 1 and exactly one line on stderr, matching `message` (no stack trace). */
function oneLine(t: ExecutionContext, r: Finished, message: RegExp, what: string): void {
  t.is(r.code, 1, `${what}: ${r.stdout}${r.stderr}`);
  const lines = errorLines(r.stderr);
  t.log(`${what}: ${r.stderr.trim()}`);
  t.is(lines.length, 1, `${what}: ${r.stderr}`);
  t.regex(lines[0] ?? '', message, what);
}

/** The server's HTTP port beyond loopback: HTTPS only; health open, /metrics only for a client certificate of the cluster CA. */
function httpPortIsHttps(t: ExecutionContext, c: Cluster): void {
  const base = `${c.server.node.ip}:6080`;
  const curl = (...args: string[]): string =>
    spawnSync('ip', ['netns', 'exec', c.outside.netns, 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '5', ...args], { encoding: 'utf8' })
      .stdout;
  const ca = path.join(c.dir, 'http-ca.crt');
  fs.writeFileSync(ca, c.caPem);
  t.is(curl('--cacert', ca, `https://${base}/healthz`), '200', '/healthz is open over HTTPS');
  t.is(curl('--cacert', ca, `https://${base}/metrics`), '401', '/metrics needs a client certificate');
  const admin = pathsIn(path.join(c.server.dataDir, 'tls')).admin;
  t.is(curl('--cacert', ca, '--cert', admin.cert, '--key', admin.key, `https://${base}/metrics`), '200', "/metrics for the admin's certificate");
  t.not(curl(`http://${base}/healthz`), '200', 'no plain HTTP beyond loopback');
}

test('three VMs: two agents join a server over a bridge; outsiders, bad tokens and certificates, and a node reaching past itself are refused', async (t) => {
  t.timeout(5 * 60_000);
  const c = await startCluster(t);
  await runPodPerNode(t, c);
  const [a1, a2] = c.agents as [Cluster['agents'][number], Cluster['agents'][number]];
  httpPortIsHttps(t, c);
  const n1 = a1.node.name;
  const n2 = a2.node.name;

  // Outsiders, from the fourth namespace.
  const other = await createCA('other-ca');
  const forged = await issue(other, { commonName: `system:node:${n1}`, organizations: ['system:nodes'] }, { usage: 'client' });
  const agentDir = path.join(a1.node.dataDir, 'agent');
  const node1: ClientCredentials = {
    caPem: fs.readFileSync(path.join(agentDir, 'ca.crt'), 'utf8'),
    certPem: fs.readFileSync(path.join(agentDir, 'client.crt'), 'utf8'),
    keyPem: fs.readFileSync(path.join(agentDir, 'client.key'), 'utf8'),
  };
  const outsiders = await probe(c, c.outside.netns, [
    { name: 'plaintext', credentials: { insecurePlaintext: true }, call: { op: 'version' } },
    { name: 'anonymous', credentials: { caPem: c.caPem }, call: { op: 'list-pods', namespace: 'default' } },
    { name: 'anonymous version', credentials: { caPem: c.caPem }, call: { op: 'version' } },
    { name: 'other CA', credentials: { caPem: c.caPem, certPem: forged.certPem, keyPem: forged.keyPem }, call: { op: 'list-pods', namespace: 'default' } },
    { name: 'node 1 version', credentials: node1, call: { op: 'version' } },
  ]);
  // A plaintext HTTP/2 client meets a TLS listener: the connection is dropped before any call is made.
  refused(t, outsiders, 'plaintext', grpc.status.UNAVAILABLE, /.+/);
  t.log(`plaintext: ${outsiders.get('plaintext')?.message ?? ''}`);
  refused(t, outsiders, 'anonymous', grpc.status.UNAUTHENTICATED, 'Unauthorized');
  refused(t, outsiders, 'anonymous version', grpc.status.UNAUTHENTICATED, /Unauthorized/);
  refused(t, outsiders, 'other CA', grpc.status.UNAUTHENTICATED, 'Unauthorized');
  t.true(outsiders.get('node 1 version')?.ok, 'node 1 reaches the server from the fourth namespace: the refusals are not a broken network');

  // Node 1's own credential, reaching past its node.
  const nodes = await probe(c, c.outside.netns, [
    { name: 'update node 2', credentials: node1, call: { op: 'update-node', name: n2 } },
    { name: 'update node 2 status', credentials: node1, call: { op: 'update-node-status', name: n2 } },
    { name: 'update p2', credentials: node1, call: { op: 'update-pod', namespace: 'default', name: 'p2' } },
    { name: 'update p2 status', credentials: node1, call: { op: 'update-pod-status', namespace: 'default', name: 'p2' } },
    { name: 'create pod', credentials: node1, call: { op: 'create-pod', namespace: 'default', name: 'x' } },
    { name: 'exec p1', credentials: node1, call: { op: 'exec', namespace: 'default', name: 'p1' } },
    { name: 'exec p2', credentials: node1, call: { op: 'exec', namespace: 'default', name: 'p2' } },
    { name: 'tunnel of node 2', credentials: node1, call: { op: 'tunnel', node: n2 } },
  ]);
  const denied = grpc.status.PERMISSION_DENIED;
  const user = `User "system:node:${n1}"`;
  refused(
    t,
    nodes,
    'update node 2',
    denied,
    `nodes "${n2}" is forbidden: ${user} cannot update resource "nodes" in API group "" at the cluster scope: node "${n1}" is not allowed to modify node "${n2}"`,
  );
  refused(
    t,
    nodes,
    'update node 2 status',
    denied,
    `nodes "${n2}" is forbidden: ${user} cannot update resource "nodes/status" in API group "" at the cluster scope: node "${n1}" is not allowed to modify node "${n2}"`,
  );
  refused(t, nodes, 'update p2 status', denied, `pods "p2" is forbidden: node "${n1}" can only update pod status for pods with spec.nodeName set to itself`);
  refused(t, nodes, 'update p2', denied, `pods "p2" is forbidden: ${user} cannot update resource "pods" in API group "" in the namespace "default"`);
  refused(t, nodes, 'create pod', denied, `pods "x" is forbidden: ${user} cannot create resource "pods" in API group "" in the namespace "default"`);
  for (const p of ['p1', 'p2'])
    refused(t, nodes, `exec ${p}`, denied, `pods "${p}" is forbidden: ${user} cannot create resource "pods/exec" in API group "" in the namespace "default"`);
  refused(
    t,
    nodes,
    'tunnel of node 2',
    denied,
    `nodes "${n2}" is forbidden: ${user} cannot create resource "nodes/tunnel" in API group "" at the cluster scope: node "${n1}" may only open the tunnel of node "${n1}"`,
  );
  // Node 2 and its pod are as they were, and node 2's tunnel is still its own: the admin's exec reaches p2 through it.
  const after = await tsctl(c, ['get', 'pods', 'p2', '-o', 'json']);
  t.is((JSON.parse(after.stdout) as PodView).status?.phase, 'Running', after.stderr);
  const hello = await tsctl(c, ['exec', 'p2', '--', 'echo', 'still node 2']);
  t.is(hello.stdout, 'still node 2\n', hello.stderr);

  // Client certificates that are expired or not certificates at all: one line from tsctl.
  const ca = fs.readFileSync(pathsIn(path.join(c.server.dataDir, 'tls')).ca.key, 'utf8');
  const expired = await issue(
    { certPem: c.caPem, keyPem: ca },
    { commonName: 'alice', organizations: ['system:masters'] },
    { usage: 'client', validityDays: 1, now: new Date(Date.now() - 10 * 86_400_000) },
  );
  const badConfig = async (name: string, cred: { certPem: string; keyPem: string }): Promise<string> => {
    const file = path.join(c.dir, `${name}.conf`);
    await writeClientConfig({ currentContext: name, contexts: [{ name, server: c.server.address, caPem: c.caPem, ...cred }] }, file);
    return file;
  };
  oneLine(t, await tsctl(c, ['get', 'pods'], await badConfig('expired', expired), c.outside.netns), /^error: .*expired/, 'expired certificate');
  oneLine(
    t,
    await tsctl(
      c,
      ['get', 'pods'],
      await badConfig('malformed', { certPem: '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n', keyPem: expired.keyPem }),
      c.outside.netns,
    ),
    /^error: .*certificate/,
    'malformed certificate',
  );

  // A bearer token the server does not know: kubectl's line.
  const caOnly = path.join(c.dir, 'ca-only.conf');
  await writeClientConfig({ currentContext: 'ca', contexts: [{ name: 'ca', server: c.server.address, caPem: c.caPem }] }, caOnly);
  oneLine(
    t,
    await tsctl(c, ['get', 'pods', '--token', 'abcdef.0123456789abcdef'], caOnly, c.outside.netns),
    /^error: You must be logged in to the server \(.+\)$/,
    'unknown bearer token',
  );

  // Agents with bad tokens, from the fourth namespace: one line each, nothing issued.
  const fresh = (): string => path.join(c.dir, `outside-${randomBytes(3).toString('hex')}`);
  const agentArgs = (token: string | undefined, data = fresh()): string[] => [
    'agent',
    '--server',
    `https://${c.server.address}`,
    ...(token === undefined ? [] : ['--token', token]),
    '--hostname-override',
    'intruder',
    '--data-dir',
    data,
    '--cgroup-root',
    c.outside.cgroupRoot,
  ];
  const hash = c.joinToken.slice(3, 67);
  oneLine(
    t,
    await runTsk(c.outside.netns, agentArgs(`K10${hash}::abcdef.0000000000000000`)),
    /^tsk agent: joining the cluster at .*: unknown token$/,
    'wrong token',
  );
  oneLine(
    t,
    await runTsk(c.outside.netns, agentArgs(`K10${'0'.repeat(64)}${c.joinToken.slice(67)}`)),
    /^tsk agent: .*has CA sha256:[0-9a-f]+…, not the CA sha256:0+… of the token: refusing to send the token/,
    'token of another CA',
  );
  oneLine(t, await runTsk(c.outside.netns, agentArgs('not-a-token')), /^tsk agent: --token: the token has no "<id>\.<secret>" part/, 'malformed token');
  const short = await runTsk(c.server.node.netns, ['token', 'create', '--ttl', '1s', '--kubeconfig', c.adminConfig]);
  t.is(short.code, 0, short.stderr);
  await new Promise((r) => setTimeout(r, 2500));
  oneLine(
    t,
    await runTsk(c.outside.netns, agentArgs(short.stdout.trim())),
    /^tsk agent: joining the cluster at .*: token [a-z0-9]{6} has expired$/,
    'expired token',
  );
  const revoked = await runTsk(c.server.node.netns, ['token', 'delete', c.joinToken, '--kubeconfig', c.adminConfig]);
  t.is(revoked.code, 0, revoked.stderr);
  oneLine(t, await runTsk(c.outside.netns, agentArgs(c.joinToken)), /^tsk agent: joining the cluster at .*: unknown token$/, 'revoked token');
  t.false(
    c.server.proc.lines.some((l) => /issued a client certificate for system:node:intruder/.test(l)),
    'no certificate was issued to the intruder',
  );
  // An agent whose kept certificate expired or is no certificate, with no token to join again: one line.
  const keptAgent = (certPem: string): string[] => {
    const data = fresh();
    const kept = path.join(data, 'agent');
    fs.mkdirSync(kept, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(kept, CREDENTIAL_FILES.ca), c.caPem, { mode: 0o600 });
    fs.writeFileSync(path.join(kept, CREDENTIAL_FILES.key), expired.keyPem, { mode: 0o600 });
    fs.writeFileSync(path.join(kept, CREDENTIAL_FILES.cert), certPem, { mode: 0o600 });
    return agentArgs(undefined, data);
  };
  oneLine(
    t,
    await runTsk(c.outside.netns, keptAgent(expired.certPem)),
    /^tsk agent: the certificate in .*\/agent\/client\.crt expired on \S+; give --token to join again$/,
    'expired kept certificate',
  );
  oneLine(
    t,
    await runTsk(c.outside.netns, keptAgent('-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n')),
    /^tsk agent: .*\/agent\/client\.crt: not a certificate \(.*\); remove the directory and join again with --token$/,
    'malformed kept certificate',
  );
  // No stray cgroup of the refused agents.
  t.is(spawnSync('find', ['/sys/fs/cgroup', '-maxdepth', '2', '-name', c.outside.cgroupRoot], { encoding: 'utf8' }).stdout, '');
});
