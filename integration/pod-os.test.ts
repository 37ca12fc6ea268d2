// spec.os and lifecycle.stopSignal end to end: a real etcd and API server in
// this process, `tsk kubelet` as a child process in a network namespace of
// its own (only lo; the API server through a unix socket, the test registry
// through a unix-socket forwarder).
//
// Checked: a linux pod whose container has `stopSignal: SIGUSR1` is stopped
// with SIGUSR1 (a shell trapping USR1 and TERM writes which one came); a
// windows pod bound to the (Linux) node is refused by the kubelet's
// admission (Failed, PodOSNotSupported); a Linux pod with a relative
// mountPath, which the API accepts as Kubernetes does, fails at the kubelet
// with CreateContainerError rather than mounting anywhere.
//
// Everything (processes, namespace, containers, mounts, temp dirs, the
// registry) is removed in after.always, also when a test fails.

import anyTest, { type TestFn } from 'ava';
import type { Container, Pod, PodSpec } from '../api/gen/tsk/v1/core';
import { eventually } from './support/client-harness';
import { newNodeEnv, outFile, startNodeEnv, waitPod, type NodeEnv } from './support/node-env';

const NS = 'default';
const test = anyTest as TestFn<NodeEnv>;

test.before(async (t) => {
  t.context = newNodeEnv('pos');
  await startNodeEnv(t.context);
});

test.after.always((t) => t.context?.cleanups?.run());

test.afterEach.always((t) => {
  if (!t.passed && t.context.log.length > 0) t.log(`kubelet log (last lines):\n${t.context.log.slice(-60).join('\n')}`);
});

function podOf(env: NodeEnv, name: string, spec: Partial<PodSpec>, command: string[], extra: Partial<Container> = {}): Pod {
  return {
    metadata: { name, namespace: NS },
    spec: {
      nodeName: env.nodeName,
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 20,
      volumes: [{ name: 'out', hostPath: { path: env.out, type: 'Directory' } }],
      containers: [{ name: 'app', image: env.image, command, volumeMounts: [{ name: 'out', mountPath: '/out' }], ...extra }],
      ...spec,
    },
  };
}

test('a container with stopSignal SIGUSR1 is stopped with SIGUSR1, not SIGTERM', async (t) => {
  const env = t.context;
  const script =
    'trap "echo USR1 > /out/stop-signal; exit 0" USR1; trap "echo TERM > /out/stop-signal; exit 0" TERM; echo up > /out/stop-up; while true; do sleep 1; done';
  await env.clientset.pods.create(podOf(env, 'stop-signal', { os: { name: 'linux' } }, ['sh', '-c', script], { lifecycle: { stopSignal: 'SIGUSR1' } }));
  await waitPod(env, 'stop-signal', (p) => p.status?.phase === 'Running', 'the pod running');
  await eventually(() => outFile(env, 'stop-up') !== '', 30_000, 'the trap set');
  await env.clientset.pods.delete('stop-signal', { namespace: NS, gracePeriodSeconds: 20 });
  await eventually(() => outFile(env, 'stop-signal') !== '', 30_000, 'the container to report its stop signal');
  t.is(outFile(env, 'stop-signal').trim(), 'USR1');
});

test('a windows pod bound to the Linux node is rejected: Failed, PodOSNotSupported', async (t) => {
  const env = t.context;
  await env.clientset.pods.create(podOf(env, 'windows', { os: { name: 'windows' } }, ['true']));
  const p = await waitPod(env, 'windows', (x) => x.status?.phase === 'Failed', 'the pod rejected');
  t.is(p.status?.reason, 'PodOSNotSupported');
  t.is(p.status?.message, "Pod was rejected: Failed to admit pod as the OS field doesn't match node OS");
});

test('a relative mountPath (accepted by the API, as Kubernetes) fails at the kubelet with CreateContainerError', async (t) => {
  const env = t.context;
  const pod = podOf(env, 'relative', {}, ['true']);
  pod.spec!.containers![0]!.volumeMounts = [{ name: 'out', mountPath: 'out' }];
  await env.clientset.pods.create(pod);
  const p = await waitPod(env, 'relative', (x) => x.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerError', 'CreateContainerError');
  t.regex(p.status?.containerStatuses?.[0]?.state?.waiting?.message ?? '', /must be an absolute path/);
});
