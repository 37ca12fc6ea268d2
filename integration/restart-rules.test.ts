// Container restart rules (KEP-5307) and RestartAllContainers (KEP-5532)
// end to end: a real etcd and API server in this process, `tsk kubelet` as a
// child process in a network namespace of its own (only lo; the API server
// through a unix socket, the test registry through a unix-socket forwarder).
//
// Checked: a restartPolicy Never pod whose container exits 42 under a rule
// `Restart In [42]` has that container restarted (restartCount 1, lastState
// exit 42) and stays Running, while exit 1 fails the pod with no restart; a
// regular container's restartPolicy OnFailure in an Always pod is restarted
// after exit 1 and left completed after exit 0; RestartAllContainers re-runs
// the init container (its output twice) and restarts every container in the
// same sandbox (same network namespace and pod IP, emptyDir contents kept),
// with the AllContainersRestarting condition and raised restart counts.
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
  t.context = newNodeEnv<Env>('rr');
  await startNodeEnv(t.context);
});

test.after.always((t) => t.context?.cleanups?.run());

test.afterEach.always((t) => {
  if (!t.passed && t.context.log.length > 0) t.log(`kubelet log (last lines):\n${t.context.log.slice(-60).join('\n')}`);
});

const MOUNTS = [
  { name: 'data', mountPath: '/data' },
  { name: 'out', mountPath: '/out' },
];

/** A pod with the emptyDir `data` (at /data) and the host's out/ (at /out) in every container. */
function podWith(env: Env, name: string, restartPolicy: string, containers: Container[], initContainers: Container[] = []): Pod {
  const withMounts = (c: Container): Container => ({ image: env.image, volumeMounts: MOUNTS, ...c });
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
      ...(initContainers.length > 0 ? { initContainers: initContainers.map(withMounts) } : {}),
      containers: containers.map(withMounts),
    },
  };
}

const rule = (action: string, operator: string, values: number[]): NonNullable<Container['restartPolicyRules']>[number] => ({
  action,
  exitCodes: { operator, values },
});

async function deletePod(env: Env, name: string): Promise<void> {
  await env.clientset.pods.delete(name, { namespace: NS, gracePeriodSeconds: 0 }).catch(() => undefined);
  await eventually(async () => !(await env.clientset.pods.get(name, NS).catch(() => undefined)), 60_000, `pod ${name} to be deleted`);
}

/** Runs `first` on the container's first run (marked in the emptyDir), `then` afterwards. */
const firstRun = (marker: string, first: string, then: string): string[] => [
  'sh',
  '-c',
  `if [ -e /data/${marker} ]; then ${then}; else touch /data/${marker}; ${first}; fi`,
];

test.serial('restartPolicy Never with a rule Restart In [42]: exit 42 restarts the container, exit 1 fails the pod', async (t) => {
  const env = t.context;
  const retried = podWith(env, 'rule-42', 'Never', [
    { name: 'work', restartPolicy: 'Never', restartPolicyRules: [rule('Restart', 'In', [42])], command: firstRun('ran', 'exit 42', 'sleep 3600') },
  ]);
  const failed = podWith(env, 'rule-1', 'Never', [
    { name: 'work', restartPolicy: 'Never', restartPolicyRules: [rule('Restart', 'In', [42])], command: ['sh', '-c', 'sleep 1; exit 1'] },
  ]);
  await env.clientset.pods.create(retried);
  await env.clientset.pods.create(failed);

  const up = await waitPod(
    env,
    'rule-42',
    (x) => (x.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1 && x.status?.containerStatuses?.[0]?.state?.running !== undefined,
    'the container to be restarted after exit 42',
  );
  t.is(up.status?.phase, 'Running');
  t.is(up.status?.containerStatuses?.[0]?.restartCount, 1);
  t.is(up.status?.containerStatuses?.[0]?.lastState?.terminated?.exitCode, 42);

  const down = await waitPod(env, 'rule-1', (x) => x.status?.phase === 'Failed', 'the pod to fail after exit 1');
  t.is(down.status?.containerStatuses?.[0]?.restartCount, 0);
  t.is(down.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 1);
  // Synced again (--sync-frequency 2s): nothing restarts it.
  await new Promise((r) => setTimeout(r, 4000));
  const later = await env.clientset.pods.get('rule-1', NS);
  t.is(later.status?.phase, 'Failed');
  t.is(later.status?.containerStatuses?.[0]?.restartCount, 0);
  await deletePod(env, 'rule-42');
  await deletePod(env, 'rule-1');
});

test.serial("a regular container's restartPolicy OnFailure overrides the pod's Always", async (t) => {
  const env = t.context;
  const p = podWith(env, 'on-failure', 'Always', [
    { name: 'task', restartPolicy: 'OnFailure', command: firstRun('failed-once', 'exit 1', 'exit 0') },
    { name: 'server', command: ['sleep', '3600'] },
  ]);
  await env.clientset.pods.create(p);
  const done = await waitPod(
    env,
    'on-failure',
    (x) => x.status?.containerStatuses?.[0]?.state?.terminated?.exitCode === 0,
    'the task to be retried after exit 1 and complete',
  );
  t.is(done.status?.containerStatuses?.[0]?.restartCount, 1);
  t.is(done.status?.containerStatuses?.[0]?.lastState?.terminated?.exitCode, 1);
  // Completed under its own OnFailure, it is not restarted as the pod's Always would; the pod runs on with its server.
  await new Promise((r) => setTimeout(r, 4000));
  const later = await env.clientset.pods.get('on-failure', NS);
  t.is(later.status?.containerStatuses?.[0]?.restartCount, 1);
  t.truthy(later.status?.containerStatuses?.[0]?.state?.terminated);
  t.truthy(later.status?.containerStatuses?.[1]?.state?.running);
  t.is(later.status?.phase, 'Running');
  await deletePod(env, 'on-failure');
});

test.serial('RestartAllContainers: the init container runs again and every container restarts in the same sandbox', async (t) => {
  const env = t.context;
  const p = podWith(
    env,
    'restart-all',
    'Never',
    [
      {
        name: 'main',
        restartPolicy: 'Never',
        restartPolicyRules: [rule('RestartAllContainers', 'In', [88])],
        // Asks once for a fresh pod (exit 88) after a moment; then serves.
        command: firstRun('asked', 'sleep 2; exit 88', 'sleep 3600'),
      },
      { name: 'helper', command: ['sleep', '3600'] },
    ],
    [
      {
        name: 'setup',
        // Its net namespace tells whether the sandbox is the same one; the emptyDir keeps a line per run.
        command: ['sh', '-c', 'echo "setup $(readlink /proc/self/ns/net)" >> /data/init.log; cp /data/init.log /out/restart-all-init.log'],
      },
    ],
  );
  await env.clientset.pods.create(p);
  const first = await waitPod(env, 'restart-all', (x) => x.status?.containerStatuses?.[1]?.state?.running !== undefined, 'the pod to run');
  const ip = first.status?.podIP;

  const again = await waitPod(
    env,
    'restart-all',
    (x) =>
      (x.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1 &&
      x.status?.containerStatuses?.[0]?.state?.running !== undefined &&
      x.status?.containerStatuses?.[1]?.state?.running !== undefined,
    'every container to run again after exit 88',
  );
  const lines = outFile(env, 'restart-all-init.log').trim().split('\n');
  t.is(lines.length, 2, `the init container ran twice: ${JSON.stringify(lines)}`);
  t.is(lines[0], lines[1], 'both runs saw the same network namespace (the sandbox was kept)');
  t.is(again.status?.podIP, ip, 'the pod IP is unchanged');
  t.is(again.status?.phase, 'Running');
  t.is(again.status?.initContainerStatuses?.[0]?.restartCount, 1);
  t.is(again.status?.containerStatuses?.[0]?.restartCount, 1);
  t.is(again.status?.containerStatuses?.[0]?.lastState?.terminated?.exitCode, 88);
  t.is(again.status?.containerStatuses?.[1]?.restartCount, 1, 'the helper was restarted too');
  const cond = again.status?.conditions?.find((c) => c.type === 'AllContainersRestarting');
  t.is(cond?.status, 'False');
  t.is(cond?.reason, 'ContainerExited');
  t.is(cond?.message, 'Container main exited with code 88, triggering pod restart');
  const events = await env.clientset.events.list({ namespace: NS });
  t.true(
    (events.items ?? []).some((e) => e.involvedObject?.name === 'restart-all' && e.reason === 'AllContainersRestarting'),
    'an AllContainersRestarting event was recorded',
  );
  await deletePod(env, 'restart-all');
});

test.serial("Kubernetes' example (restart-all-containers.yaml, exitCodes as released): a watcher sidecar's exit 88 restarts the whole pod", async (t) => {
  const env = t.context;
  const p = podWith(
    env,
    'ml-worker',
    'Never',
    [{ name: 'main-application', command: ['sh', '-c', 'echo "Application is running" >> /data/app.log; cp /data/app.log /out/ml-app.log; sleep 3600'] }],
    [
      { name: 'setup-environment', command: ['sh', '-c', 'echo "Setting up environment" >> /data/setup.log; cp /data/setup.log /out/ml-setup.log'] },
      {
        name: 'watcher-sidecar',
        restartPolicy: 'Always',
        restartPolicyRules: [rule('RestartAllContainers', 'In', [88])],
        command: firstRun('watched', 'sleep 3; exit 88', 'sleep 3600'),
      },
    ],
  );
  await env.clientset.pods.create(p);
  const again = await waitPod(
    env,
    'ml-worker',
    (x) => (x.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1 && x.status?.containerStatuses?.[0]?.state?.running !== undefined,
    'the application to run again after the watcher exited 88',
  );
  t.is(outFile(env, 'ml-setup.log'), 'Setting up environment\nSetting up environment\n', 'the init container ran twice');
  await eventually(async () => outFile(env, 'ml-app.log') === 'Application is running\nApplication is running\n', 10_000, 'the application to start twice');
  const [setup, watcher] = again.status?.initContainerStatuses ?? [];
  t.is(setup?.restartCount, 1);
  t.is(watcher?.restartCount, 1);
  t.is(watcher?.lastState?.terminated?.exitCode, 88);
  t.truthy(watcher?.state?.running, 'the watcher runs again');
  t.is(again.status?.phase, 'Running');
  t.is(
    again.status?.conditions?.find((c) => c.type === 'AllContainersRestarting')?.message,
    'Container watcher-sidecar exited with code 88, triggering pod restart',
  );
  await deletePod(env, 'ml-worker');
});
