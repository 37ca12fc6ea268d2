// An HA lab (issue 9 section 2): `tsk lab up --servers 3 --nodes 1` runs
// three servers, each in its own network namespace on the lab bridge, that
// form one embedded etcd cluster; the node's agent names all three. A pod runs
// on the node; with server-1 killed, a pod created through tsctl (the lab's
// kubeconfig, whose other servers it fails over to) is still scheduled and
// runs within 30 s; started again, server-1 rejoins (three members); a
// partitioned server's port on the bridge is down until healed. `tsk lab
// down` removes everything at the end, also when the test fails.

import test from 'ava';
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Pod } from '../api/gen/tsk/v1/core';
import { busyboxImage, dockerSaveArchive } from '../kubelet/runtime/image/builder';
import { planLab, type LabServer } from '../lab/topology';
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

async function run(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<Run> {
  try {
    const r = await exec(process.execPath, argv, { env, timeout: 300_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
  }
}

/** The etcd members as a server's own etcd lists them (etcdctl with its client certificate, inside its namespace). */
function memberCount(s: LabServer): number {
  const tls = join(s.dataDir, 'tls');
  const r = spawnSync(
    'nsenter',
    [
      `--net=/var/run/netns/${s.ha?.netns ?? ''}`,
      'etcdctl',
      '--endpoints',
      `https://${s.ha?.ip ?? ''}:2379`,
      '--cacert',
      join(tls, 'ca.crt'),
      '--cert',
      join(tls, 'etcd-client.crt'),
      '--key',
      join(tls, 'etcd-client.key'),
      '--command-timeout=5s',
      'member',
      'list',
      '-w',
      'json',
    ],
    { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' } },
  );
  if (r.status !== 0) throw new Error(`etcdctl member list: ${r.stderr}`);
  return ((JSON.parse(r.stdout) as { members?: unknown[] }).members ?? []).length;
}

function podSpec(name: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: 'busybox:1.36', command: ['sleep', '100000'] }] },
  } as Pod;
}

test('tsk lab up --servers 3: one etcd cluster of three servers; a killed server-1 does not stop scheduling, and rejoins', async (t) => {
  t.timeout(15 * 60_000);
  const dir = mkdtempSync(join(tmpdir(), 'tsk-labha-'));
  const name = `h${randomBytes(3).toString('hex')}`;
  const env = { ...process.env, TSK_CONFIG: join(dir, 'config') };
  const lab = (...args: string[]): Promise<Run> => run([TSK, 'lab', ...args, '--name', name, '--data-dir', dir], env);
  const plan = planLab({ name, nodes: 1, servers: 3, dataDir: dir, network: '172.30.0.0/24' });
  const kubeconfig = join(plan.dir, 'kubeconfig');
  const tsctl = (...args: string[]): Promise<Run> => run([TSCTL, '--kubeconfig', kubeconfig, ...args], env);
  t.teardown(async () => {
    const down = await lab('down');
    if (down.code !== 0) t.log(`lab down: ${down.stderr}`);
    rmSync(dir, { recursive: true, force: true });
  });

  const up = await lab('up', '--servers', '3', '--nodes', '1', '--timeout', '300');
  t.is(up.code, 0, up.stderr);
  t.regex(up.stdout, new RegExp(`^==> kubectl: KUBECONFIG=${join(plan.dir, 'kubectl.kubeconfig')} kubectl get nodes$`, 'm'));
  // kubectl on the host reaches server-1's REST API through the lab's relays.
  const nodes = await runProcess(
    'kubectl',
    ['--kubeconfig', join(plan.dir, 'kubectl.kubeconfig'), '--cache-dir', join(dir, 'kube-cache'), 'get', 'nodes', '-o', 'name'],
    {
      env: { HOME: dir, KUBECONFIG: '' },
      timeoutMs: 60_000,
    },
  );
  t.is(nodes.stdout, `node/${plan.nodes[0]?.name ?? ''}\n`, nodes.stderr);
  const status = await lab('status');
  t.regex(status.stdout, new RegExp(`^lab ${name}: server running, API at unix:${plan.servers[0]?.ha?.apiSocket ?? ''}$`, 'm'));
  for (const s of plan.servers) t.regex(status.stdout, new RegExp(`^${s.name}\\s+\\S+\\s+${s.ha?.netns ?? ''}\\s+\\S+\\s+\\d+\\s+running$`, 'm'));
  for (const s of plan.servers) t.is(memberCount(s), 3, `${s.name} lists three members`);

  const image = join(dir, 'busybox.tar');
  writeFileSync(image, await dockerSaveArchive([{ image: await busyboxImage(), repoTags: ['busybox:1.36'] }]));
  t.is((await lab('load', image)).code, 0);
  const applyPod = (podName: string): Promise<Run> => {
    const file = join(dir, `${podName}.json`);
    writeFileSync(file, JSON.stringify(podSpec(podName)));
    return tsctl('apply', '-f', file);
  };
  const running = async (podName: string): Promise<boolean> => {
    const r = await tsctl('get', 'pod', podName, '-o', 'json');
    return r.code === 0 && (JSON.parse(r.stdout) as Pod).status?.containerStatuses?.[0]?.state?.running !== undefined;
  };
  const first = await applyPod('before');
  t.is(first.code, 0, first.stderr);
  await eventually(() => running('before'), 120_000, 'the first pod to run');

  const [server1] = plan.servers;
  if (!server1) return;
  t.is((await lab('kill', server1.name)).code, 0);
  const killedAt = Date.now();
  await eventually(
    async () => {
      const r = await tsctl('get', 'pod', 'after', '-o', 'json');
      // Until a server answers, the create is tried again.
      if (r.code !== 0) await applyPod('after');
      return running('after');
    },
    30_000,
    'a pod created after server-1 died to run',
  );
  t.log(`a pod ran ${((Date.now() - killedAt) / 1000).toFixed(1)}s after server-1 was killed`);

  t.is((await lab('start', server1.name)).code, 0);
  await eventually(
    async () => {
      try {
        return memberCount(server1) === 3;
      } catch {
        return false;
      }
    },
    120_000,
    'server-1 to rejoin as one of three members',
  );
  t.regex((await lab('status')).stdout, new RegExp(`^${server1.name}\\s.*\\srunning$`, 'm'));
  await eventually(async () => (await tsctl('get', 'nodes')).stdout.includes(' Ready'), 60_000, 'the node Ready');

  // A joined server started again: the member it was, without server-1's URL or the token.
  const server2 = plan.servers[1];
  if (!server2?.ha) return;
  t.is((await lab('kill', server2.name)).code, 0);
  const restarted = await lab('start', server2.name);
  t.is(restarted.code, 0, restarted.stderr);
  t.notRegex(readFileSync(join(plan.dir, 'state.json'), 'utf8'), /K10/, 'no token in the state file');
  await eventually(
    async () => {
      try {
        return memberCount(server2) === 3;
      } catch {
        return false;
      }
    },
    120_000,
    'server-2 to run again as one of three members',
  );

  // partition/heal of a server: its port on the lab bridge goes down and up.
  const port = async (): Promise<string> => (await exec('ip', ['-n', plan.switchNetns, 'link', 'show', server2.ha?.switchPort ?? ''])).stdout;
  t.is((await lab('partition', server2.name)).code, 0);
  t.regex(await port(), /state DOWN/);
  t.regex((await lab('status')).stdout, new RegExp(`^${server2.name}\\s.*\\spartitioned$`, 'm'));
  t.is((await lab('heal', server2.name)).code, 0);
  t.notRegex(await port(), /state DOWN/);
});
