// Deleting a namespace whose pod runs on a node that is down (Kubernetes'
// namespace controller and pod GC): the pod stays Terminating, and the
// namespace with it, for as long as its node's kubelet is gone, since its
// containers may still run there. When the kubelet comes back it stops the
// containers and deletes the pod, and the namespace goes; when the Node is
// deleted instead, the pod GC removes the pod and the namespace goes.
//
// A real etcd and API server in this process, `tsk kubelet` as a child
// process in a network namespace of its own (loopback pod network), stopped
// with SIGSTOP so that it is "down" while its containers run on. Everything
// is removed in after.always, also when a test fails.

import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { randomBytes } from 'node:crypto';
import type { Pod } from '../api/gen/tsk/v1/core';
import { newPodGcController } from '../controllers/podgc/controller';
import { ImageStore } from '../kubelet/runtime/image/store';
import { NativeRuntime } from '../kubelet/runtime/native-runtime';
import { eventually } from './support/client-harness';
import { runControllers } from './support/controllers';
import { newNodeEnv, startNodeEnv, type NodeEnv } from './support/node-env';

type Env = NodeEnv;

const test = anyTest as TestFn<Env>;

test.before(async (t) => {
  t.context = newNodeEnv<Env>('nsdead');
  await startNodeEnv(t.context);
  // A stopped kubelet must be able to take its SIGKILL at cleanup (and a later one its SIGCONT).
  t.context.cleanups.push(() => void t.context.kubelet.proc?.kill('SIGCONT'));
});

test.after.always((t) => t.context?.cleanups?.run());

test.afterEach.always((t) => {
  if (!t.passed && t.context.log.length > 0) t.log(`kubelet log (last lines):\n${t.context.log.slice(-60).join('\n')}`);
});

/** A namespace with one running pod on the test's node; resolves with the pod once it runs. */
async function namespaceWithRunningPod(env: Env, ns: string): Promise<Pod> {
  await env.clientset.namespaces.create({ metadata: { name: ns } });
  await env.clientset.pods.create({
    metadata: { name: 'sleeper', namespace: ns },
    spec: { nodeName: env.nodeName, terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: env.image, command: ['sleep', '3600'] }] },
  });
  let pod: Pod | undefined;
  await eventually(
    async () => {
      pod = await env.clientset.pods.get('sleeper', ns);
      return pod.status?.containerStatuses?.[0]?.state?.running !== undefined;
    },
    90_000,
    'the pod to run',
  );
  return pod as Pod;
}

/** Whether the pod's container still runs on the node (read from the kubelet's runtime directory). */
async function containerRunning(env: Env, pod: Pod): Promise<boolean> {
  const id = (pod.status?.containerStatuses?.[0]?.containerID ?? '').replace(/^[a-z]+:\/\//, '');
  const runtime = new NativeRuntime({ dataDir: env.dataDir, images: new ImageStore(env.dataDir) });
  return (await runtime.listContainers()).some((c) => c.id === id && c.state === 'running');
}

const gone = async (p: Promise<unknown>): Promise<boolean> =>
  p.then(
    () => false,
    (err: Error) => /not found/i.test(err.message),
  );

/** Deletes the namespace while the kubelet is stopped; checks both stay Terminating well past the pod's grace period. */
async function deleteWhileNodeDown(t: ExecutionContext<Env>, env: Env, ns: string, running: Pod): Promise<void> {
  env.kubelet.proc?.kill('SIGSTOP');
  await env.clientset.namespaces.delete(ns);
  // Grace 1 s; tsk used to force the pod away 5 s after it. 10 s later, nothing may have gone.
  await new Promise((r) => setTimeout(r, 10_000));
  const pod = await env.clientset.pods.get('sleeper', ns);
  t.truthy(pod.metadata?.deletionTimestamp, 'the pod is Terminating');
  const nsObj = await env.clientset.namespaces.get(ns);
  t.is(nsObj.status?.phase, 'Terminating', 'the namespace stays Terminating');
  t.like(
    nsObj.status?.conditions?.find((c) => c.type === 'NamespaceContentRemaining'),
    { status: 'True', reason: 'SomeResourcesRemain', message: 'Some resources are remaining: pods has 1 resource instances' },
    'the namespace says what it waits for',
  );
  t.true(await containerRunning(env, running), "the pod's container still runs on the node that is down");
}

test.serial('a pod of a node that is down stays Terminating, and its namespace too, until the kubelet returns and stops it', async (t) => {
  const env = t.context;
  const ns = `down-${randomBytes(3).toString('hex')}`;
  const pod = await namespaceWithRunningPod(env, ns);
  await deleteWhileNodeDown(t, env, ns, pod);

  env.kubelet.proc?.kill('SIGCONT');
  await eventually(async () => await gone(env.clientset.pods.get('sleeper', ns)), 60_000, 'the kubelet to finish the pod');
  t.false(await containerRunning(env, pod), 'the pod is gone from the API only once its container stopped');
  await eventually(async () => await gone(env.clientset.namespaces.get(ns)), 30_000, 'the namespace to go');
});

test.serial('a pod of a node that is down goes once its Node is deleted (pod GC), and then its namespace', async (t) => {
  const env = t.context;
  const ns = `nodegone-${randomBytes(3).toString('hex')}`;
  const pod = await namespaceWithRunningPod(env, ns);
  await deleteWhileNodeDown(t, env, ns, pod);

  await runControllers(t, env.api.grpcAddress, (ctx) => [newPodGcController(ctx, { quarantineMs: 500, gcCheckPeriodMs: 200 })]);
  await env.clientset.nodes.delete(env.nodeName);
  await eventually(async () => await gone(env.clientset.pods.get('sleeper', ns)), 30_000, 'the pod GC to remove the pod of the deleted node');
  await eventually(async () => await gone(env.clientset.namespaces.get(ns)), 30_000, 'the namespace to go');
});
