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
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Pod } from '../api/gen/tsk/v1/core';
import { eventually } from './support/client-harness';
import { vethName } from '../kubelet/network/bridge';
import { killProcess, run } from './support/netns';
import { newNodeEnv, startNodeEnv, startNodeKubelet, type NodeEnv } from './support/node-env';

const POD_CIDR = '10.244.9.0/24';

type Env = NodeEnv;

const test = anyTest as TestFn<Env>;

test.before(async (t) => {
  t.context = newNodeEnv<Env>('sbnet');
  await startNodeEnv(t.context, { noKubelet: true });
});

test.after.always((t) => t.context?.cleanups?.run());

test.afterEach.always((t) => {
  if (!t.passed && t.context.log.length > 0) t.log(`kubelet log (last lines):\n${t.context.log.slice(-60).join('\n')}`);
});

const BRIDGE = ['--network', 'bridge', '--pod-cidr', POD_CIDR];

test.serial('a sandbox whose network was never set up (kubelet killed in between) is recreated: the pod runs with an IP', async (t) => {
  const env = t.context;
  await startNodeKubelet(env, { network: BRIDGE, env: { TSK_TEST_CRASH_AT: 'sandbox-network' } });
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

  await startNodeKubelet(env, { network: BRIDGE });
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
  if (!env.kubelet.proc) await startNodeKubelet(env, { network: BRIDGE });
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
  run('ip', ['-n', env.netns, 'link', 'del', vethName(before ?? '')]);
  await startNodeKubelet(env, { network: BRIDGE });

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
  t.is(spawnSync('ip', ['-n', env.netns, 'link', 'show', vethName(current ?? '')]).status, 0, 'the new sandbox has its veth');
  const events = await env.clientset.events.list({ namespace: 'default' });
  t.true((events.items ?? []).some((e) => e.reason === 'SandboxChanged' && e.involvedObject?.name === 'api'));
  t.true(env.log.some((l) => /the network of sandbox \w+ is gone; stopping it to be re-created/.test(l)));
});
