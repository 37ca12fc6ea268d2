// The whole system end to end, as a user drives it: `tsk lab up` (the server
// and two node agents in network namespaces of their own), `tsk lab load`,
// `tsctl apply -f manifests/`, pods scheduled over both nodes and running,
// a Service's cluster IP balancing over pods on both nodes, `tsctl logs` and
// `tsctl exec` of a pod (through the node's tunnel), then
// `tsk lab down` leaving nothing behind.

import test from 'ava';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Pod } from '../api/gen/tsk/v1/core';
import { Clientset } from '../client/clientset';
import { resolveClient } from '../client/config';
import { freePort } from '../util/free-port';
import { busyboxImage, dockerSaveArchive } from '../kubelet/runtime/image/builder';

const exec = promisify(execFile);
const ROOT = resolve(__dirname, '..', '..');
const TSK = join(ROOT, 'dist', 'cmd', 'tsk.js');
const TSCTL = join(ROOT, 'dist', 'cmd', 'tsctl.js');

async function eventually<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
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
    await new Promise((r) => setTimeout(r, 500));
  }
}

test('tsk lab: two nodes run the demo app; its Service balances over pods on both nodes; down leaves nothing', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsk-lab-'));
  const name = `t${randomBytes(3).toString('hex')}`;
  const address = `127.0.0.1:${await freePort()}`;
  const httpAddress = `127.0.0.1:${await freePort()}`;
  const env = { ...process.env, TSK_CONFIG: join(dir, 'config') };
  const lab = (...args: string[]) => exec(process.execPath, [TSK, 'lab', ...args, '--name', name, '--data-dir', dir], { env, timeout: 240_000 });
  t.teardown(async () => {
    await lab('down').catch((err: unknown) => t.log(`lab down: ${String(err)}`));
    rmSync(dir, { recursive: true, force: true });
  });

  const up = await lab('up', '--nodes', '2', '--address', address, '--http-address', httpAddress, '--timeout', '180');
  t.regex(up.stdout, new RegExp(`lab "${name}" is up: 1 server\\(s\\), 2 node\\(s\\)`));
  const image = join(dir, 'busybox.tar');
  writeFileSync(image, await dockerSaveArchive([{ image: await busyboxImage(), repoTags: ['busybox:1.36'] }]));
  const loaded = await lab('load', image);
  t.regex(loaded.stdout, new RegExp(`node ${name}-node-1: loaded docker.io/library/busybox:1.36`));

  const applied = await exec(process.execPath, [TSCTL, 'apply', '-f', join(ROOT, 'manifests'), '--server', address], { env });
  t.regex(applied.stdout, /replicationcontroller\/web created/);
  // The lab wrote its context (CA, admin credential) into the test's TSK_CONFIG.
  const target = await resolveClient({ server: address, env });
  const cs = new Clientset(target.server, target.credentials);
  t.teardown(() => cs.close());

  // Three web replicas, Ready, on both nodes.
  const pods = await eventually('3 ready web pods', 150_000, async () => {
    const items = (await cs.pods.list({ namespace: 'demo', labelSelector: 'app=web' })).items ?? [];
    const ready = items.filter((p: Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    return ready.length === 3 ? ready : undefined;
  });
  const nodes = new Set(pods.map((p) => p.spec?.nodeName));
  t.is(nodes.size, 2, `the replicas are spread over both nodes: ${[...nodes].join(', ')}`);
  for (const p of pods) t.regex(p.status?.podIP ?? '', /^10\.244\.\d+\.\d+$/, "pod IPs come from the nodes' pod CIDRs");
  const rc = await cs.replicationControllers.get('web', 'demo');
  t.is(rc.status?.readyReplicas, 3);

  // The Service: Endpoints list the three pods; its cluster IP answers from pods on both nodes.
  const svc = await cs.services.get('web', 'demo');
  await eventually('3 endpoints', 30_000, async () => {
    const ep = await cs.endpoints.get('web', 'demo');
    return (ep.subsets ?? []).flatMap((s) => s.addresses ?? []).length === 3 ? true : undefined;
  });
  const node1 = `tsk-${name}-n1`;
  const hosts = new Set<string>();
  await eventually('answers from every replica', 60_000, async () => {
    const r = await exec('ip', ['netns', 'exec', node1, '/bin/busybox', 'wget', '-q', '-O', '-', `http://${svc.spec?.clusterIP}:80/`], { timeout: 10_000 });
    hosts.add(r.stdout.trim());
    return hosts.size === 3 ? true : undefined;
  });
  t.is(hosts.size, 3, [...hosts].join(' | '));

  // From inside a pod on node 1: the Service reaches the pod itself
  // (hairpin), a pod on the same bridge (bridged replies pass iptables) and
  // the pods on node 2 (routes between nodes).
  const client = pods.find((p) => p.spec?.nodeName === `${name}-node-1`);
  const sandboxes = join(dir, 'lab', name, `${name}-node-1`, 'sandboxes');
  const sandbox = readdirSync(sandboxes).find(
    (id) => (JSON.parse(readFileSync(join(sandboxes, id, 'config.json'), 'utf8')) as { config: { name: string } }).config.name === client?.metadata?.name,
  );
  t.truthy(sandbox, `the sandbox of ${client?.metadata?.name ?? '?'}`);
  const fromPod = new Set<string>();
  await eventually('answers from every replica, asked from a pod', 60_000, async () => {
    const r = await exec(
      'nsenter',
      [`--net=${join(sandboxes, sandbox ?? '', 'net')}`, '/bin/busybox', 'wget', '-q', '-O', '-', `http://${svc.spec?.clusterIP}:80/`],
      { timeout: 10_000 },
    );
    fromPod.add(r.stdout.trim());
    return fromPod.size === 3 ? true : undefined;
  });
  t.true(fromPod.has(`web replica ${client?.metadata?.name ?? ''}`), 'the pod reached itself through the Service');
  // tsctl logs and exec reach the node through its tunnel (the server never dials a lab node).
  const podName = client?.metadata?.name ?? '';
  const logs = await exec(process.execPath, [TSCTL, 'logs', podName, '-n', 'demo', '--server', address], { env });
  t.regex(logs.stdout, /: response:200\n/, 'httpd -v logged the requests above');
  const hostname = await exec(process.execPath, [TSCTL, 'exec', podName, '-n', 'demo', '--server', address, '--', 'hostname'], { env });
  t.is(hostname.stdout, `${podName}\n`);
  const status = await exec(process.execPath, [TSK, 'lab', 'status', '--name', name, '--data-dir', dir], { env });
  t.regex(status.stdout, /server running/);

  // Down: processes, namespaces, mounts and cgroups are gone.
  const state = JSON.parse(readFileSync(join(dir, 'lab', name, 'state.json'), 'utf8')) as { machines: { process: { pid: number }; link?: { pid: number } }[] };
  await lab('down');
  for (const pid of state.machines.flatMap((m) => [m.process.pid, ...(m.link ? [m.link.pid] : [])]))
    t.false(existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z '), `process ${pid} is gone`);
  t.notRegex((await exec('ip', ['netns', 'list'])).stdout, new RegExp(`tsk-${name}-`));
  t.notRegex(readFileSync('/proc/self/mountinfo', 'utf8'), new RegExp(join(dir, 'lab', name).replace(/[/.]/g, '\\$&')));
  t.false(existsSync(join(dir, 'lab', name)));
  for (const hierarchy of ['memory', 'pids', 'cpu', '']) {
    for (const n of [1, 2])
      t.false(existsSync(join('/sys/fs/cgroup', hierarchy, `tsk-${name}-n${n}`)), `no cgroup tsk-${name}-n${n} left in /sys/fs/cgroup/${hierarchy}`);
  }
});
