// Three `tsk server`s with embedded etcd, as k3s's HA: each in its own
// network namespace on a bridge (no link to the host). The first starts the
// cluster (--cluster-init), the others join with the server token
// (--server, --token) and become etcd members; an object written through
// server 1 is read through server 3; server 1 killed (SIGKILL), servers 2
// and 3 keep taking writes (quorum 2 of 3) and one of them leads the
// scheduler; server 1 restarted rejoins as the member it was; server 3
// leaves (--leave) and two members are left. Bad joins (a wrong token, an
// agent's token, another cluster's token, an unreachable server, a server
// without --cluster-init, a data dir of another cluster) each fail with one
// line and leave the membership as it was; that lone server restarted with
// --cluster-init becomes a cluster others could join.

import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createLabNetwork, removeLabNetwork } from '../lab/net';
import { planLab, type LabNode } from '../lab/topology';
import { killProcess } from './support/netns';
import { errorLines, runScript, runTsk, startTsk, TSCTL, type Finished, type Proc } from './support/tsk-process';
import { eventually } from './support/wait';

const ELECTION_FLAGS = ['--leader-elect-lease-duration=4s', '--leader-elect-renew-deadline=3s', '--leader-elect-retry-period=1s'];

interface Server {
  node: LabNode;
  dataDir: string;
  proc: Proc;
  /** Its scheduler's leader-election identity. */
  schedulerIdentity: string;
}

function cleanupsOf(t: ExecutionContext): (c: () => Promise<void> | void) => void {
  const cleanups: Array<() => Promise<void> | void> = [];
  t.teardown(async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch((err: unknown) => console.error(`ha-join cleanup: ${String(err)}`));
  });
  return (c) => cleanups.push(c);
}

function serverArgs(node: LabNode, dataDir: string, extra: string[]): string[] {
  return [
    'server',
    '--data-dir',
    dataDir,
    '--address',
    `${node.ip}:6443`,
    '--http-address',
    `${node.ip}:6080`,
    '--advertise-address',
    node.ip,
    '--write-config=false',
    '--etcd-disable-snapshots',
    // No kubelets: keep the node lifecycle controller quiet.
    '--disable',
    'nodelifecycle',
    ...ELECTION_FLAGS,
    ...extra,
  ];
}

async function startServer(defer: (c: () => Promise<void> | void) => void, node: LabNode, dataDir: string, extra: string[]): Promise<Server> {
  const proc = startTsk(node.netns, serverArgs(node, dataDir, extra));
  defer(() => killProcess(proc.child));
  await proc.waitFor(/scheduler running/, 180_000);
  const line = await proc.waitFor(/leader election for kube-system\/kube-scheduler as /, 10_000);
  const schedulerIdentity = /as (\S+)/.exec(line)?.[1] ?? '';
  return { node, dataDir, proc, schedulerIdentity };
}

/** SIGTERM, and the exit awaited. */
async function stopServer(s: Server): Promise<void> {
  const exited = new Promise<void>((r) => s.proc.child.once('exit', () => r()));
  s.proc.child.kill('SIGTERM');
  await exited;
}

function tsctl(s: Server, args: string[]): Promise<Finished> {
  return runScript(s.node.netns, TSCTL, ['--kubeconfig', path.join(s.dataDir, 'admin.conf'), '--server', `${s.node.ip}:6443`, ...args]);
}

interface MemberView {
  name?: string;
  peerURLs?: string[];
}

/** etcdctl member list through the server's own etcd (its client certificate), inside its namespace. */
function memberList(s: Server): MemberView[] {
  const tls = path.join(s.dataDir, 'tls');
  const r = spawnSync(
    'nsenter',
    [
      `--net=/var/run/netns/${s.node.netns}`,
      'etcdctl',
      '--endpoints',
      `https://${s.node.ip}:2379`,
      '--cacert',
      path.join(tls, 'ca.crt'),
      '--cert',
      path.join(tls, 'etcd-client.crt'),
      '--key',
      path.join(tls, 'etcd-client.key'),
      '--command-timeout=5s',
      'member',
      'list',
      '-w',
      'json',
    ],
    { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' } },
  );
  if (r.status !== 0) throw new Error(`etcdctl member list: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { members?: MemberView[] }).members ?? [];
}

async function applyConfigMap(t: ExecutionContext, s: Server, dir: string, name: string): Promise<Finished> {
  const file = path.join(dir, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: { from: s.node.name } }));
  const r = await tsctl(s, ['apply', '-f', file]);
  t.log(`apply ${name} through ${s.node.name}: ${r.code} ${r.stderr.trim()}`);
  return r;
}

/** The addresses in default/kubernetes, sorted. */
async function apiEndpoints(s: Server): Promise<string[]> {
  const r = await tsctl(s, ['get', 'endpoints', 'kubernetes', '-n', 'default', '-o', 'json']);
  if (r.code !== 0) return [];
  const ep = JSON.parse(r.stdout) as { subsets?: { addresses?: { ip?: string }[] }[] };
  return (ep.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.ip ?? '')).sort();
}

/** A join that must fail: exit 1, one line of error matching `re`. */
async function refusedJoin(t: ExecutionContext, node: LabNode, dataDir: string, server: string, token: string, re: RegExp): Promise<void> {
  const r = await runTsk(node.netns, serverArgs(node, dataDir, ['--server', server, '--token', token]));
  t.is(r.code, 1, `${r.stdout}\n${r.stderr}`);
  const lines = errorLines(r.stderr);
  t.is(lines.length, 1, r.stderr);
  t.regex(r.stderr, re);
}

test('three servers with embedded etcd: join with the token, one data set, a killed server survived, --leave, bad joins refused', async (t) => {
  const defer = cleanupsOf(t);
  const id = randomBytes(3).toString('hex');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-ha-'));
  defer(() => fs.rmSync(dir, { recursive: true, force: true }));
  const plan = planLab({ name: `ha${id}`, nodes: 4, dataDir: dir, network: '10.219.0.0/24' });
  const [n1, n2, n3, n4] = plan.nodes as [LabNode, LabNode, LabNode, LabNode];
  await createLabNetwork(plan);
  defer(() => removeLabNetwork(plan));
  const d = (name: string): string => path.join(dir, name);

  const s1 = await startServer(defer, n1, d('s1'), ['--cluster-init']);
  const token = fs.readFileSync(path.join(s1.dataDir, 'token'), 'utf8').trim();
  const url1 = `https://${n1.ip}:6443`;
  t.is(memberList(s1).length, 1);

  // Bad joins, from machine 3 (its data dir left untouched for the real join).
  const created = await runTsk(n1.netns, ['token', 'create', '--ttl', '1h', '--kubeconfig', path.join(s1.dataDir, 'admin.conf')]);
  t.is(created.code, 0, created.stderr);
  const agentToken = created.stdout.trim();
  const hash = /^K10([0-9a-f]{64})::/.exec(token)?.[1] ?? '';
  await refusedJoin(t, n3, d('bad'), url1, `K10${hash}::abcdef.0123456789abcdef`, /unknown token/);
  await refusedJoin(t, n3, d('bad'), url1, agentToken, /may only join agents; a server joins with the server token/);
  await refusedJoin(t, n3, d('bad'), url1, `K10${'0'.repeat(64)}::abcdef.0123456789abcdef`, /refusing to send the token/);
  await refusedJoin(t, n3, d('bad'), `https://10.219.0.250:6443`, token, /joining the cluster at https:\/\/10\.219\.0\.250:6443 failed/);
  // A lone server (no --cluster-init) on machine 4 takes no members; its data dir is another cluster's.
  const lone = await startServer(defer, n4, d('lone'), []);
  const loneToken = fs.readFileSync(path.join(lone.dataDir, 'token'), 'utf8').trim();
  await refusedJoin(t, n3, d('bad2'), `https://${n4.ip}:6443`, loneToken, /not started with --cluster-init/);
  await refusedJoin(t, n3, lone.dataDir, url1, token, /belongs to another cluster/);
  t.is(memberList(s1).length, 1, 'the bad joins added no member');
  // The lone server restarted with --cluster-init becomes a cluster of its own data, its peer on its address (k3s's conversion).
  await stopServer(lone);
  const converted = await startServer(defer, n4, lone.dataDir, ['--cluster-init']);
  t.deepEqual(
    memberList(converted).map((m) => m.peerURLs),
    [[`https://${n4.ip}:2380`]],
  );
  await killProcess(converted.proc.child);

  const s2 = await startServer(defer, n2, d('s2'), ['--server', url1, '--token', token]);
  const s3 = await startServer(defer, n3, d('s3'), ['--server', url1, '--token', token]);
  const members = memberList(s3);
  t.is(members.length, 3, JSON.stringify(members));
  t.deepEqual(members.map((m) => m.peerURLs?.[0]).sort(), [n1, n2, n3].map((n) => `https://${n.ip}:2380`).sort());

  // Every server lists itself in the kubernetes Endpoints (the lease reconciler).
  await eventually(
    async () =>
      (await apiEndpoints(s3)).join() ===
      [n1, n2, n3]
        .map((n) => n.ip)
        .sort()
        .join(),
    30_000,
    'three addresses in default/kubernetes',
  );

  // One data set: written through server 1, read through server 3.
  t.is((await applyConfigMap(t, s1, dir, 'from-s1')).code, 0);
  const read = await tsctl(s3, ['get', 'configmap', 'from-s1', '-o', 'json']);
  t.is(read.code, 0, read.stderr);
  t.is((JSON.parse(read.stdout) as { data?: Record<string, string> }).data?.from, n1.name);

  // Server 1 dies: 2 of 3 members keep the quorum; writes go on, and 2 or 3 schedules.
  await killProcess(s1.proc.child);
  await eventually(async () => (await applyConfigMap(t, s2, dir, 'after-kill')).code === 0, 60_000, 'a write through server 2 after server 1 died');
  const again = await tsctl(s3, ['get', 'configmap', 'after-kill', '-o', 'json']);
  t.is(again.code, 0, again.stderr);
  await eventually(
    async () => {
      const r = await tsctl(s2, ['get', 'lease', 'kube-scheduler', '-n', 'kube-system', '-o', 'json']);
      const holder = r.code === 0 ? (JSON.parse(r.stdout) as { spec?: { holderIdentity?: string } }).spec?.holderIdentity : undefined;
      return holder === s2.schedulerIdentity || holder === s3.schedulerIdentity;
    },
    30_000,
    'server 2 or 3 to lead the scheduler',
  );

  // Server 1's address leaves the Endpoints when its lease runs out (15 s).
  await eventually(
    async () =>
      (await apiEndpoints(s2)).join() ===
      [n2, n3]
        .map((n) => n.ip)
        .sort()
        .join(),
    45_000,
    'server 1 to drop out of default/kubernetes',
  );

  // Server 1 restarted (no flags of joining): the member it was.
  const s1again = await startServer(defer, n1, s1.dataDir, []);
  t.is(memberList(s1again).length, 3);

  // Server 3 leaves: stopped, then --leave removes its member and wipes its etcd.
  await stopServer(s3);
  const left = await runTsk(n3.netns, ['server', '--leave', '--data-dir', s3.dataDir, '--advertise-address', n3.ip]);
  t.is(left.code, 0, `${left.stdout}\n${left.stderr}`);
  t.false(fs.existsSync(path.join(s3.dataDir, 'etcd')));
  const after = memberList(s2);
  t.is(after.length, 2, JSON.stringify(after));
  t.is((await applyConfigMap(t, s2, dir, 'after-leave')).code, 0);
});
