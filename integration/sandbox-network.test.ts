// A kubelet killed while it creates a pod's sandbox, after the sandbox's
// namespaces exist and before its network is set up (the moment a chaos run
// hit 0.3-0.6 s after pods were bound): the next kubelet must not take that
// sandbox for ready and run the pod without an IP. As Kubernetes' kubelet
// does, it records "SandboxChanged", makes a new sandbox with its network,
// and the pod runs with an IP of the node's pod CIDR.
//
// The crash is made deterministic with the runtime's test hook
// (TSK_TEST_CRASH_AT=sandbox-network: the kubelet SIGKILLs itself there).
// A real etcd and API server in this process, `tsk kubelet` as a child
// process in a network namespace of its own with the bridge network (the
// bridge lives in that namespace). Everything is removed in after.always,
// also when a test fails.

import anyTest, { type TestFn } from 'ava';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Pod } from '../api/gen/tsk/v1/core';
import { startApiServer, type RunningApiServer } from '../apiserver/server';
import { Clientset } from '../client';
import { eventually } from './support/client-harness';
import { CleanupStack } from './support/cleanups';
import { startTestEtcd } from './support/etcd';
import { startKubeletInNamespace } from './support/kubelet-process';
import { vethName } from '../kubelet/network/bridge';
import { killProcess, run, startBusyboxRegistry, startForwarderInNamespace } from './support/netns';
import { testTls, writeTestKubeconfig } from './support/pki';

const POD_CIDR = '10.244.9.0/24';

interface Env {
  dir: string;
  clientset: Clientset;
  image: string;
  dataDir: string;
  nodeName: string;
  ns: string;
  sock: string;
  kubeconfig: string;
  kubelet: { proc: ChildProcess | undefined };
  log: string[];
  cleanups: CleanupStack;
}

const test = anyTest as TestFn<Env>;

test.before(async (t) => {
  const cleanups = new CleanupStack();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-sbnet-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const env = { dir, cleanups, kubelet: { proc: undefined }, log: [] as string[] } as unknown as Env;
  t.context = env;
  env.dataDir = path.join(dir, 'data');
  env.nodeName = `sbnet-${randomBytes(3).toString('hex')}`;

  const etcd = await startTestEtcd(cleanups);
  env.sock = path.join(dir, 'api.sock');
  const api: RunningApiServer = await startApiServer({
    tls: (await testTls()).serving,
    etcdServers: [etcd.etcd.clientUrl],
    address: `127.0.0.1:0,unix:${env.sock}`,
    httpAddress: '127.0.0.1:0',
    log: () => undefined,
  });
  cleanups.push(() => api.stop());
  env.clientset = new Clientset(api.grpcAddress, (await testTls()).admin);
  cleanups.push(() => env.clientset.close());
  env.kubeconfig = await writeTestKubeconfig(path.join(dir, 'config'), `unix:${env.sock}`);
  const registry = await startBusyboxRegistry(cleanups, dir);
  env.image = registry.image;

  env.ns = `tsk-sbnet-${randomBytes(4).toString('hex')}`;
  run('ip', ['netns', 'add', env.ns]);
  cleanups.push(() => void spawnSync('ip', ['netns', 'delete', env.ns]));
  run('ip', ['-n', env.ns, 'link', 'set', 'lo', 'up']);
  const fwd = await startForwarderInNamespace(env.ns, registry.port, registry.socket);
  cleanups.push(() => killProcess(fwd));
});

test.after.always((t) => t.context?.cleanups?.run());

test.afterEach.always((t) => {
  if (!t.passed && t.context.log.length > 0) t.log(`kubelet log (last lines):\n${t.context.log.slice(-60).join('\n')}`);
});

const BRIDGE = ['--network', 'bridge', '--pod-cidr', POD_CIDR];

test.serial('a sandbox whose network was never set up (kubelet killed in between) is recreated: the pod runs with an IP', async (t) => {
  const env = t.context;
  await startKubeletInNamespace(env, env.ns, env.sock, env.kubeconfig, { network: BRIDGE, env: { TSK_TEST_CRASH_AT: 'sandbox-network' } });
  const first = env.kubelet.proc;
  const died = new Promise<NodeJS.Signals | null>((resolve) => first?.once('exit', (_code, signal) => resolve(signal)));
  await env.clientset.pods.create({
    metadata: { name: 'web', namespace: 'default' },
    spec: { nodeName: env.nodeName, terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: env.image, command: ['sleep', '3600'] }] },
  });
  t.is(await died, 'SIGKILL', 'the kubelet died at the crash point');
  // What the crash left: a sandbox with its namespaces and no network.
  const sandboxes = fs.readdirSync(path.join(env.dataDir, 'sandboxes'));
  t.is(sandboxes.length, 1);
  t.true(fs.existsSync(path.join(env.dataDir, 'sandboxes', sandboxes[0] ?? '', 'net')), 'the sandbox network namespace exists');

  await startKubeletInNamespace(env, env.ns, env.sock, env.kubeconfig, { network: BRIDGE });
  let pod: Pod | undefined;
  await eventually(
    async () => {
      pod = await env.clientset.pods.get('web', 'default');
      return pod.status?.podIP !== undefined && pod.status.podIP !== '' && pod.status.containerStatuses?.[0]?.state?.running !== undefined;
    },
    90_000,
    'the pod to run with an IP',
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last status: ${JSON.stringify(pod?.status)}`);
  });
  t.is(pod?.status?.phase, 'Running');
  t.true((pod?.status?.podIP ?? '').startsWith('10.244.9.'), `pod IP ${pod?.status?.podIP ?? ''} is from the node's pod CIDR`);
  const events = await env.clientset.events.list({ namespace: 'default' });
  t.true(
    (events.items ?? []).some((e) => e.reason === 'SandboxChanged' && e.involvedObject?.name === 'web'),
    'a SandboxChanged event tells why the sandbox was re-created',
  );
  // The sandbox left by the crash is removed.
  await eventually(async () => !fs.existsSync(path.join(env.dataDir, 'sandboxes', sandboxes[0] ?? '')), 30_000, 'the broken sandbox to be removed');
});

/** The pod's sandboxes on the node (read from the runtime's directory). */
function sandboxesOf(env: Env, podName: string): string[] {
  const dir = path.join(env.dataDir, 'sandboxes');
  return fs.readdirSync(dir).filter((id) => {
    try {
      return (JSON.parse(fs.readFileSync(path.join(dir, id, 'config.json'), 'utf8')) as { config?: { name?: string } }).config?.name === podName;
    } catch {
      return false;
    }
  });
}

test.serial('a sandbox whose veth was deleted while the kubelet was down is recreated at its start: the pod runs again with an IP', async (t) => {
  const env = t.context;
  if (!env.kubelet.proc) await startKubeletInNamespace(env, env.ns, env.sock, env.kubeconfig, { network: BRIDGE });
  await env.clientset.pods.create({
    metadata: { name: 'api', namespace: 'default' },
    spec: { nodeName: env.nodeName, terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: env.image, command: ['sleep', '3600'] }] },
  });
  const runningWithIp = (p: Pod | undefined): boolean => (p?.status?.podIP ?? '') !== '' && p?.status?.containerStatuses?.[0]?.state?.running !== undefined;
  let pod: Pod | undefined;
  await eventually(async () => runningWithIp((pod = await env.clientset.pods.get('api', 'default'))), 90_000, 'the pod to run with an IP');
  const [before] = sandboxesOf(env, 'api');
  t.truthy(before);

  await killProcess(env.kubelet.proc as ChildProcess);
  env.kubelet.proc = undefined;
  // Deleting the node's end takes the pod's eth0 with it: the pod has no network any more.
  run('ip', ['-n', env.ns, 'link', 'del', vethName(before ?? '')]);
  await startKubeletInNamespace(env, env.ns, env.sock, env.kubeconfig, { network: BRIDGE });

  await eventually(
    async () => {
      pod = await env.clientset.pods.get('api', 'default');
      return runningWithIp(pod) && (pod.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1;
    },
    90_000,
    'the pod to run again, in a new sandbox',
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last status: ${JSON.stringify(pod?.status)}`);
  });
  const now = sandboxesOf(env, 'api');
  const current = now.find((id) => id !== before);
  t.truthy(current, `a new sandbox (${now.join(', ')})`);
  t.is(spawnSync('ip', ['-n', env.ns, 'link', 'show', vethName(current ?? '')]).status, 0, 'the new sandbox has its veth');
  const events = await env.clientset.events.list({ namespace: 'default' });
  t.true((events.items ?? []).some((e) => e.reason === 'SandboxChanged' && e.involvedObject?.name === 'api'));
  t.true(env.log.some((l) => /the network of sandbox \w+ is gone; stopping it to be re-created/.test(l)));
});
