// `tsk hollow-nodes` against a real `tsk server`: the hollow nodes register
// and renew their Leases, the scheduler spreads an RC's pods over them, the
// real kubelets run them to Running and Ready with distinct pod IPs from
// their podCIDRs, the endpoints controller lists them, and scaling down
// removes them; each node's proxy built its rules. SIGTERM stops the
// process cleanly.

import test from 'ava';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Clientset, resolveClient } from '../client';
import { eventually } from './support/wait';
import { TSK_BIN } from './support/run';
import { startTskServer } from './support/tsk-server';
import { tempDir } from './support/temp';

const NODES = 20;
const REPLICAS = 60;

test('hollow nodes run an RC: every pod Running and Ready with its own IP, in the Endpoints, gone when scaled down', async (t) => {
  const dir = tempDir(t, 'tsk-hollow-');
  const config = join(dir, 'config');
  await startTskServer(t, join(dir, 'server'), config, ['--etcd-disable-snapshots']);
  const target = await resolveClient({ kubeconfig: config });
  const cs = new Clientset(target.server, target.credentials);
  t.teardown(() => cs.close());

  const hollow = spawn(
    process.execPath,
    [TSK_BIN, 'hollow-nodes', '--count', String(NODES), '--node-lease-duration-seconds', '4', '--data-dir', join(dir, 'hollow')],
    {
      env: { ...process.env, TSK_CONFIG: config, TSCTL_SERVER: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  hollow.stdout.on('data', (d: Buffer) => (out += d.toString()));
  hollow.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => hollow.once('exit', (code) => r(code)));
  t.teardown(() => {
    if (hollow.exitCode === null) hollow.kill('SIGKILL');
  });
  await eventually(() => out.includes('\n') || hollow.exitCode !== null, 120_000, `the hollow nodes to start: ${err}`);
  const report = JSON.parse(out.trim().split('\n')[0] ?? '{}') as Record<string, number>;
  t.is(report['nodes'], NODES);
  t.true((report['rss_per_node_kib'] ?? 0) > 0, 'the memory per hollow node is reported');
  t.regex(err, new RegExp(`${NODES}/${NODES} hollow nodes started`));

  await eventually(
    async () => {
      const nodes = (await cs.nodes.list()).items ?? [];
      return nodes.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length === NODES;
    },
    60_000,
    `${NODES} Ready nodes`,
  );
  const lease = await cs.leases.get('hollow-node-0', 'kube-node-lease');
  t.is(lease.spec?.holderIdentity, 'hollow-node-0');

  await cs.services.create({ metadata: { name: 'web', namespace: 'default' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } });
  await cs.replicationControllers.create({
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      replicas: REPLICAS,
      selector: { app: 'web' },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] } },
    },
  });
  await eventually(
    async () => {
      const pods = (await cs.pods.list({ namespace: 'default' })).items ?? [];
      return (
        pods.length === REPLICAS &&
        pods.every((p) => p.status?.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
      );
    },
    120_000,
    `${REPLICAS} pods Running and Ready`,
  );
  const pods = (await cs.pods.list({ namespace: 'default' })).items ?? [];
  const ips = new Set(pods.map((p) => p.status?.podIP ?? ''));
  t.is(ips.size, REPLICAS, 'every pod has an IP of its own');
  t.true(new Set(pods.map((p) => p.spec?.nodeName)).size > 1, 'the pods are spread over the hollow nodes');
  await eventually(
    async () => ((await cs.endpoints.get('web', 'default')).subsets ?? []).flatMap((s) => s.addresses ?? []).length === REPLICAS,
    60_000,
    'the Endpoints to list every pod',
  );

  const rc = await cs.replicationControllers.get('web', 'default');
  await cs.replicationControllers.update({ ...rc, spec: { ...rc.spec, replicas: 0 } });
  await eventually(async () => ((await cs.pods.list({ namespace: 'default' })).items ?? []).length === 0, 120_000, 'the pods to go away');

  hollow.kill('SIGTERM');
  t.is(await exited, 0, `tsk hollow-nodes exits 0 on SIGTERM:\n${err}`);
  const built = /the proxies built (\d+) rule sets \(([\d.]+) MiB/.exec(err);
  t.true(Number(built?.[1]) >= NODES, `every node's proxy synced at least once: ${built?.[0] ?? err.slice(-500)}`);
  t.true(Number(built?.[2]) > 0);
});
