// Agents fail over between API servers: two `tsk server` processes on one
// etcd, sharing one cluster CA (the second's data dir is given the first's
// ca.crt/ca.key and encryption config before it starts: loadOrCreateClusterPki
// keeps a CA it finds), each serving on a unix socket; `tsk kubelet` in a
// network namespace of its own is given both (--server twice). The server it
// uses is killed with SIGKILL: its heartbeats go on through the other within
// seconds, the Node stays Ready, and a pod created after the kill is started.
//
// Everything (processes, namespace, containers, temp dirs, the registry) is
// removed in after.always, also when a test fails.

import anyTest, { type TestFn } from 'ava';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Node, Pod } from '../api/gen/tsk/v1/core';
import { Clientset } from '../client';
import { adminConfigPath, readClientConfig, resolveClient, writeClientConfig } from '../client/config';
import { runTsctl } from './support/run';
import { eventually } from './support/client-harness';
import { CleanupStack } from './support/cleanups';
import { startTestEtcd } from './support/etcd';
import { killProcess, run, startBusyboxRegistry, startForwarderInNamespace } from './support/netns';
import { startKubeletInNamespace } from './support/kubelet-process';
import { startTskServer, type TskServer } from './support/tsk-server';

interface Member {
  readonly server: TskServer;
  readonly client: Clientset;
  readonly sock: string;
}

interface Env {
  dir: string;
  a: Member;
  b: Member;
  image: string;
  clientset: Clientset;
  dataDir: string;
  nodeName: string;
  kubelet: { proc: ChildProcess | undefined };
  log: string[];
  cleanups: CleanupStack;
}

const test = anyTest as TestFn<Env>;

async function member(cleanups: CleanupStack, dir: string, name: string, etcd: string): Promise<Member> {
  const dataDir = path.join(dir, name);
  const sock = path.join(dir, `${name}.sock`);
  const server = await startTskServer(cleanups, dataDir, path.join(dir, 'config'), [
    '--etcd-servers',
    etcd,
    '--write-config=false',
    '--address',
    `127.0.0.1:0,unix:${sock}`,
  ]);
  const target = await resolveClient({ kubeconfig: adminConfigPath(dataDir), env: {} });
  const client = new Clientset(target.server, target.credentials);
  cleanups.push(() => client.close());
  return { server, client, sock };
}

/** The second server of the cluster: the first's CA and encryption key, so both serve one cluster. */
function shareCluster(from: string, to: string): void {
  fs.mkdirSync(path.join(to, 'tls'), { recursive: true, mode: 0o700 });
  for (const f of ['ca.crt', 'ca.key']) fs.copyFileSync(path.join(from, 'tls', f), path.join(to, 'tls', f));
  fs.copyFileSync(path.join(from, 'encryption-config.yaml'), path.join(to, 'encryption-config.yaml'));
}

test.before(async (t) => {
  const cleanups = new CleanupStack();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-fo-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const env = { dir, cleanups, kubelet: { proc: undefined }, log: [] as string[] } as unknown as Env;
  t.context = env;
  env.dataDir = path.join(dir, 'node');
  env.nodeName = `fo-${randomBytes(3).toString('hex')}`;

  const etcd = await startTestEtcd(cleanups);
  env.a = await member(cleanups, dir, 'a', etcd.etcd.clientUrl);
  shareCluster(path.join(dir, 'a'), path.join(dir, 'b'));
  env.b = await member(cleanups, dir, 'b', etcd.etcd.clientUrl);
  // The kubelet's readiness is watched through the server that survives.
  env.clientset = env.b.client;

  const registry = await startBusyboxRegistry(cleanups, dir);
  env.image = registry.image;
  const ns = `tsk-fo-${randomBytes(4).toString('hex')}`;
  run('ip', ['netns', 'add', ns]);
  cleanups.push(() => void spawnSync('ip', ['netns', 'delete', ns]));
  run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  const fwd = await startForwarderInNamespace(ns, registry.port, registry.socket);
  cleanups.push(() => killProcess(fwd));
  // The admin credentials of a: signed by the shared CA, so b accepts them too.
  await startKubeletInNamespace(env, ns, env.a.sock, adminConfigPath(path.join(dir, 'a')), { moreServers: [`unix:${env.b.sock}`] });
});

test.after.always((t) => t.context?.cleanups?.run());

test.afterEach.always((t) => {
  if (!t.passed && t.context.log.length > 0) t.log(`kubelet log (last lines):\n${t.context.log.slice(-60).join('\n')}`);
});

function ready(n: Node): { status: string; heartbeat: number } {
  const c = n.status?.conditions?.find((x) => x.type === 'Ready');
  return { status: c?.status ?? '', heartbeat: Date.parse(c?.lastHeartbeatTime ?? '') || 0 };
}

test.serial(
  "consistent reads across servers: a list through b sees every write acknowledged by a; a watch on b from a's resourceVersion gets every later event once",
  async (t) => {
    const { a, b } = t.context;
    const ns = 'default';
    for (let i = 0; i < 60; i++) {
      const written = await a.client.configMaps.create({ metadata: { name: `cm-${i}`, namespace: ns }, data: { i: String(i) } });
      // Then a Secret: etcd's revision moves past the ConfigMaps' (as writes to other kinds do), which b's ConfigMap cache never sees as an event.
      const later = await a.client.secrets.create({ metadata: { name: `s-${i}`, namespace: ns }, data: {} });
      const listed = await b.client.configMaps.list({ namespace: ns });
      t.true(
        (listed.items ?? []).some((c) => c.metadata?.name === `cm-${i}`),
        `b's list (resourceVersion ${listed.metadata?.resourceVersion}) has cm-${i} written through a at ${written.metadata?.resourceVersion}`,
      );
      // Linearizable: the list is at a revision at least that of every write acknowledged before it started, of any kind.
      t.true(
        Number(listed.metadata?.resourceVersion) >= Number(later.metadata?.resourceVersion),
        `b's list at ${listed.metadata?.resourceVersion} must not be older than the Secret written at ${later.metadata?.resourceVersion}`,
      );
    }

    const start = await a.client.configMaps.create({ metadata: { name: 'watched', namespace: ns }, data: { n: '0' } });
    const watch = b.client.configMaps.watch({ namespace: ns, resourceVersion: start.metadata?.resourceVersion ?? '', allowBookmarks: false });
    t.teardown(() => watch.cancel());
    let current = start;
    for (let n = 1; n <= 5; n++) current = await a.client.configMaps.update({ ...current, data: { n: String(n) } });
    await a.client.configMaps.delete('watched', { namespace: ns });
    const seen: string[] = [];
    for await (const ev of watch) {
      if (ev.type === 'BOOKMARK') continue;
      seen.push(`${ev.type} ${ev.object.metadata?.name ?? ''} ${ev.object.data?.['n'] ?? ''}`);
      if (ev.type === 'DELETED') break;
    }
    t.deepEqual(seen, ['MODIFIED watched 1', 'MODIFIED watched 2', 'MODIFIED watched 3', 'MODIFIED watched 4', 'MODIFIED watched 5', 'DELETED watched 5']);
  },
);

test.serial('the kubelet fails over when the server it uses is killed: the Node stays Ready and new pods start', async (t) => {
  const env = t.context;
  t.regex(env.log.join('\n'), /API servers: unix:.*a\.sock, unix:.*b\.sock/, 'the kubelet knows both servers');
  env.a.server.child.kill('SIGKILL');
  const killedAt = Date.now();
  // The heartbeat is the node's Lease (renewed every second here): a renewal two seconds after the kill went through b.
  await eventually(
    async () => {
      const lease = await env.b.client.leases.get(env.nodeName, 'kube-node-lease');
      const r = ready(await env.b.client.nodes.get(env.nodeName));
      return r.status === 'True' && (Date.parse(lease.spec?.renewTime ?? '') || 0) >= killedAt + 2_000;
    },
    20_000,
    'a heartbeat through the other server',
  );
  t.true((Date.now() - killedAt) / 1000 < 20, 'heartbeats resumed within seconds');

  const pod: Pod = {
    metadata: { name: 'after-kill', namespace: 'default' },
    spec: { nodeName: env.nodeName, containers: [{ name: 'c', image: env.image, command: ['sleep', '3600'] }] },
  };
  await env.b.client.pods.create(pod);
  await eventually(
    async () => (await env.b.client.pods.get('after-kill', 'default')).status?.phase === 'Running',
    60_000,
    'the pod created after the kill to run',
  );
  t.is(ready(await env.b.client.nodes.get(env.nodeName)).status, 'True');

  // tsctl with both servers while a is down: the context's `servers`, or --server repeated.
  const admin = (await readClientConfig(adminConfigPath(path.join(env.dir, 'a'))))?.contexts[0];
  if (admin === undefined) throw new Error("a's admin.conf has no context");
  const kubeconfig = path.join(env.dir, 'ha-config');
  await writeClientConfig(
    { currentContext: 'ha', contexts: [{ ...admin, name: 'ha', server: `unix:${env.a.sock}`, servers: [`unix:${env.b.sock}`] }] },
    kubeconfig,
  );
  const viaContext = await runTsctl(['--kubeconfig', kubeconfig, 'get', 'pods'], { env: { ...process.env, TSCTL_SERVER: '' }, timeoutMs: 60_000 });
  t.is(viaContext.code, 0, viaContext.stderr);
  t.regex(viaContext.stdout, /after-kill\s+1\/1\s+Running/);
  const viaFlags = await runTsctl(['--kubeconfig', kubeconfig, '--server', `unix:${env.a.sock}`, '--server', `unix:${env.b.sock}`, 'get', 'nodes'], {
    env: { ...process.env, TSCTL_SERVER: '' },
    timeoutMs: 60_000,
  });
  t.is(viaFlags.code, 0, viaFlags.stderr);
  t.regex(viaFlags.stdout, new RegExp(`${env.nodeName}\\s+Ready`));
});
