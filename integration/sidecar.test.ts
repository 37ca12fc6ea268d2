// Sidecar containers (init containers with restartPolicy: Always, KEP-753)
// end to end: a real etcd and API server in this process, `tsk kubelet` as
// a child process in a network namespace of its own (only lo; the API server
// through a unix socket, the test registry through a unix-socket forwarder),
// loopback pod network. The pods have the shape of Kubernetes' examples
// (pods/multi-container/startup-coordination, adapter): a sidecar writing to
// an emptyDir that the main container reads.
//
// Checked: the main container starts only once the sidecar's startup probe
// passed; the sidecar is restarted when it exits, also under restartPolicy
// Never, while the main container keeps running; initContainerStatuses carry
// the sidecar's state, started and ready; a Job-like pod (Never) whose main
// container exits 0 is Succeeded with its sidecar stopped and not restarted.
//
// Everything (processes, namespace, containers, mounts, temp dirs, the
// registry) is removed in after.always, also when a test fails.

import anyTest, { type TestFn } from 'ava';
import type { Container, Pod } from '../api/gen/tsk/v1/core';
import { eventually } from './support/client-harness';
import { newNodeEnv, outFile, startNodeEnv, waitPod, type NodeEnv } from './support/node-env';

const NS = 'default';

type Env = NodeEnv;

const test = anyTest as TestFn<Env>;

test.before(async (t) => {
  t.context = newNodeEnv('sc');
  await startNodeEnv(t.context);
});

test.after.always((t) => t.context?.cleanups?.run());

test.afterEach.always((t) => {
  if (!t.passed && t.context.log.length > 0) t.log(`kubelet log (last lines):\n${t.context.log.slice(-60).join('\n')}`);
});

/** A pod whose containers share the emptyDir `data` (at /data) and see the host's out/ at /out. */
function sharedVolumePod(env: Env, name: string, restartPolicy: string, sidecar: Container, main: Container): Pod {
  const mounts = [
    { name: 'data', mountPath: '/data' },
    { name: 'out', mountPath: '/out' },
  ];
  return {
    metadata: { name, namespace: NS },
    spec: {
      nodeName: env.nodeName,
      restartPolicy,
      terminationGracePeriodSeconds: 5,
      volumes: [
        { name: 'data', emptyDir: {} },
        { name: 'out', hostPath: { path: env.out, type: 'Directory' } },
      ],
      initContainers: [{ image: env.image, restartPolicy: 'Always', volumeMounts: mounts, ...sidecar }],
      containers: [{ image: env.image, volumeMounts: mounts, ...main }],
    },
  };
}

test.serial('startup coordination: the main container starts once the sidecar started; the sidecar is restarted when it exits, even under Never', async (t) => {
  const env = t.context;
  const p = sharedVolumePod(
    env,
    'coordinated',
    'Never',
    {
      name: 'writer',
      // Ready only after a while, as a proxy that must load its config first; then it exits, to be restarted.
      command: ['sh', '-c', 'sleep 2; echo "start $(date +%s%N)" >> /data/log; touch /data/ready; sleep 3; exit 1'],
      startupProbe: { exec: { command: ['test', '-e', '/data/ready'] }, periodSeconds: 1, failureThreshold: 30 },
    },
    {
      name: 'main',
      // Exits 3 at once if it were started before the sidecar was ready (restartPolicy Never: the pod would fail).
      command: ['sh', '-c', 'test -e /data/ready || exit 3; while true; do cp /data/log /out/coordinated.log; sleep 0.3; done'],
    },
  );
  await env.clientset.pods.create(p);
  const running = await waitPod(env, 'coordinated', (x) => x.status?.containerStatuses?.[0]?.state?.running !== undefined, 'the main container to run');
  t.is(running.status?.phase, 'Running');
  const sc = running.status?.initContainerStatuses?.[0];
  t.is(sc?.name, 'writer');
  t.true(sc?.started, 'the sidecar reports started');
  t.is(running.status?.conditions?.find((c) => c.type === 'Initialized')?.status, 'True');

  // The sidecar exits 1 after 3 s: it is restarted (its startup probe passes again) and the main container runs on.
  const restarted = await waitPod(
    env,
    'coordinated',
    (x) => (x.status?.initContainerStatuses?.[0]?.restartCount ?? 0) >= 1 && x.status?.initContainerStatuses?.[0]?.state?.running !== undefined,
    'the sidecar to be restarted',
  );
  t.is(restarted.status?.phase, 'Running');
  t.is(restarted.status?.initContainerStatuses?.[0]?.lastState?.terminated?.exitCode, 1);
  t.is(restarted.status?.containerStatuses?.[0]?.restartCount, 0);
  t.truthy(restarted.status?.containerStatuses?.[0]?.state?.running, 'the main container kept running');
  await eventually(async () => (outFile(env, 'coordinated.log').match(/^start /gm) ?? []).length >= 2, 30_000, 'the main container to read both sidecar runs');

  await env.clientset.pods.delete('coordinated', { namespace: NS });
  await eventually(async () => !(await env.clientset.pods.get('coordinated', NS).catch(() => undefined)), 60_000, 'the pod to be deleted');
});

test.serial('a Job-like pod (restartPolicy Never): the main container succeeds, the pod is Succeeded and its sidecar stopped, not restarted', async (t) => {
  const env = t.context;
  const p = sharedVolumePod(
    env,
    'job',
    'Never',
    {
      name: 'logger',
      // Writes until it is told to stop (a shell as PID 1 ignores SIGTERM without a trap).
      command: ['sh', '-c', "trap 'echo stopped > /out/job-sidecar; exit 0' TERM; while true; do date >> /data/log; sleep 0.2; done"],
      readinessProbe: { exec: { command: ['test', '-s', '/data/log'] }, periodSeconds: 1 },
    },
    { name: 'main', command: ['sh', '-c', 'sleep 3; test -s /data/log && wc -l < /data/log > /out/job-lines'] },
  );
  await env.clientset.pods.create(p);
  const seenReady = await waitPod(
    env,
    'job',
    (x) => x.status?.initContainerStatuses?.[0]?.ready === true || x.status?.phase === 'Succeeded',
    'the sidecar to be ready (or the pod done)',
  );
  if (seenReady.status?.phase !== 'Succeeded') t.is(seenReady.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
  const done = await waitPod(env, 'job', (x) => x.status?.phase === 'Succeeded', 'the pod to succeed');
  t.is(done.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 0);
  const sc = done.status?.initContainerStatuses?.[0];
  t.truthy(sc?.state?.terminated, `the sidecar is stopped: ${JSON.stringify(sc?.state)}`);
  t.false(sc?.ready);
  t.true(Number(outFile(env, 'job-lines').trim()) > 0, 'the main container read what the sidecar wrote');
  t.is(outFile(env, 'job-sidecar').trim(), 'stopped', 'the sidecar got the stop signal');
  // Synced again (--sync-frequency 2s): the finished pod's sidecar stays stopped.
  await new Promise((r) => setTimeout(r, 5000));
  const later = await env.clientset.pods.get('job', NS);
  t.is(later.status?.phase, 'Succeeded');
  t.is(later.status?.initContainerStatuses?.[0]?.restartCount, sc?.restartCount ?? 0);
  t.truthy(later.status?.initContainerStatuses?.[0]?.state?.terminated);
  await env.clientset.pods.delete('job', { namespace: NS });
});
