// In-place pod resize (KEP-1287) end to end: a real etcd and API server in
// this process, `tsk kubelet` as a child process in a network namespace of
// its own (only lo; the API server through a unix socket, the test registry
// through a unix-socket forwarder), loopback pod network. The pod is the
// docs' resize-demo (cpu NotRequired, memory RestartContainer), resized as
// the walkthrough does, with `tsctl patch --subresource resize`.
//
// Checked: a cpu resize rewrites the container's cgroup (cpu.max or the CFS
// quota) in place: same process, restartCount 0, status resources and
// allocatedResources follow; a plain update of resources stays refused; a
// memory resize restarts the container (restartCount 1) with the new memory
// limit; a resize larger than the node is PodResizePending/Infeasible and
// changes nothing, also after the kubelet is killed and started again (its
// allocation checkpoint); a resize that would change the QoS class is
// refused; a pod-level resize rewrites the pod cgroup.
//
// Everything (processes, namespace, containers, cgroups, temp dirs, the
// registry) is removed in after.always, also when a test fails.

import anyTest, { type TestFn } from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidError } from '../api/errors';
import type { Pod } from '../api/gen/tsk/v1/core';
import { CgroupManager, detectCgroupLayout } from '../kubelet/runtime/cgroups/cgroups';
import { eventually } from './support/client-harness';
import { killProcess } from './support/netns';
import { runTsctl } from './support/run';
import { newNodeEnv, startNodeEnv, startNodeKubelet, waitPod, type NodeEnv } from './support/node-env';

const NS = 'default';

type Env = NodeEnv;

const test = anyTest as TestFn<Env>;

test.before(async (t) => {
  t.context = newNodeEnv<Env>('rs');
  await startNodeEnv(t.context);
});

test.after.always((t) => t.context?.cleanups?.run());

test.afterEach.always((t) => {
  if (!t.passed && t.context.log.length > 0) t.log(`kubelet log (last lines):\n${t.context.log.slice(-60).join('\n')}`);
});

const cgroups = new CgroupManager(detectCgroupLayout());

/** The container's cgroup directory for `controller` (default --cgroup-root tsk). */
function containerCgroup(pod: Pod, controller: 'cpu' | 'memory'): string {
  const id = (pod.status?.containerStatuses?.[0]?.containerID ?? '').replace(/^tsk:\/\//, '');
  const rel = cgroups.containerPath(pod.metadata?.uid ?? '', id);
  return cgroups.layout.version === 2 ? path.join(cgroups.layout.v2Root, rel) : path.join(cgroups.layout.v1[controller] ?? '', rel);
}

function read(dir: string, file: string): string {
  try {
    return fs.readFileSync(path.join(dir, file), 'utf8').trim();
  } catch {
    return '';
  }
}

/** The CFS quota in microseconds per 100 ms period. */
function cpuQuota(pod: Pod): string {
  const dir = containerCgroup(pod, 'cpu');
  return cgroups.layout.version === 2 ? read(dir, 'cpu.max').split(' ')[0]! : read(dir, 'cpu.cfs_quota_us');
}

function memoryLimit(pod: Pod): string {
  return read(containerCgroup(pod, 'memory'), cgroups.layout.version === 2 ? 'memory.max' : 'memory.limit_in_bytes');
}

const resizing = (p: Pod): boolean => (p.status?.conditions ?? []).some((c) => c.type === 'PodResizeInProgress' || c.type === 'PodResizePending');

test.serial('the docs walkthrough: cpu in place, memory with a restart, an infeasible resize, a QoS change refused', async (t) => {
  const env = t.context;
  await env.clientset.pods.create({
    metadata: { name: 'resize-demo', namespace: NS },
    spec: {
      nodeName: env.nodeName,
      terminationGracePeriodSeconds: 2,
      containers: [
        {
          name: 'pause',
          image: env.image,
          command: ['sleep', '3600'],
          resizePolicy: [
            { resourceName: 'cpu', restartPolicy: 'NotRequired' },
            { resourceName: 'memory', restartPolicy: 'RestartContainer' },
          ],
          resources: { limits: { memory: '200Mi', cpu: '700m' }, requests: { memory: '200Mi', cpu: '700m' } },
        },
      ],
    },
  });
  let p = await waitPod(env, 'resize-demo', (x) => x.status?.containerStatuses?.[0]?.state?.running !== undefined, 'resize-demo Running');
  t.is(p.status?.qosClass, 'Guaranteed');
  t.deepEqual(p.status?.containerStatuses?.[0]?.allocatedResources, { cpu: '700m', memory: '200Mi' });
  t.is(cpuQuota(p), '70000');
  const pids = read(containerCgroup(p, 'cpu'), 'cgroup.procs');
  t.not(pids, '');

  // A plain update still may not touch resources.
  const plain = structuredClone(p);
  plain.spec!.containers![0]!.resources!.limits!['cpu'] = '800m';
  plain.spec!.containers![0]!.resources!.requests!['cpu'] = '800m';
  const refused = await t.throwsAsync(env.clientset.pods.update(plain), { instanceOf: InvalidError });
  t.regex(refused?.message ?? '', /spec: Forbidden: pod updates may not change fields other than/);

  // The docs' patch: cpu to 800m, in place.
  const patch = '{"spec":{"containers":[{"name":"pause","resources":{"requests":{"cpu":"800m"},"limits":{"cpu":"800m"}}}]}}';
  const r = await runTsctl(['patch', 'pod', 'resize-demo', '--subresource', 'resize', '--patch', patch, '--kubeconfig', env.kubeconfig], {
    env: { TSCTL_SERVER: '' },
    timeoutMs: 30_000,
  });
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'pod/resize-demo patched\n');
  p = await waitPod(env, 'resize-demo', (x) => x.status?.containerStatuses?.[0]?.resources?.limits?.['cpu'] === '800m' && !resizing(x), 'cpu resized');
  t.is(cpuQuota(p), '80000');
  t.is(p.status?.containerStatuses?.[0]?.restartCount, 0);
  t.is(read(containerCgroup(p, 'cpu'), 'cgroup.procs'), pids, 'the same process runs on');
  t.deepEqual(p.status?.containerStatuses?.[0]?.allocatedResources, { cpu: '800m', memory: '200Mi' });
  t.is(p.metadata?.generation, 2);

  // Memory, whose policy is RestartContainer.
  const mem = structuredClone(p);
  mem.spec!.containers![0]!.resources = { requests: { cpu: '800m', memory: '300Mi' }, limits: { cpu: '800m', memory: '300Mi' } };
  await env.clientset.pods.updateResize(mem);
  p = await waitPod(env, 'resize-demo', (x) => x.status?.containerStatuses?.[0]?.resources?.limits?.['memory'] === '300Mi' && !resizing(x), 'memory resized');
  t.is(p.status?.containerStatuses?.[0]?.restartCount, 1);
  t.is(memoryLimit(p), String(300 * 1024 * 1024));
  t.is(cpuQuota(p), '80000');

  // More cpu than the node has: Infeasible, nothing changes.
  const huge = structuredClone(p);
  huge.spec!.containers![0]!.resources = { requests: { cpu: '1000', memory: '300Mi' }, limits: { cpu: '1000', memory: '300Mi' } };
  await env.clientset.pods.updateResize(huge);
  p = await waitPod(
    env,
    'resize-demo',
    (x) => x.status?.conditions?.some((c) => c.type === 'PodResizePending' && c.reason === 'Infeasible') === true,
    'PodResizePending Infeasible',
  );
  const pending = p.status?.conditions?.find((c) => c.type === 'PodResizePending');
  t.regex(pending?.message ?? '', /^Node didn't have enough capacity: cpu, requested: 1000000, capacity: \d+$/);
  t.is(cpuQuota(p), '80000');
  t.is(p.status?.containerStatuses?.[0]?.resources?.limits?.['cpu'], '800m');
  t.is(p.status?.containerStatuses?.[0]?.restartCount, 1);

  // The kubelet killed and started again: its checkpointed allocation still says 800m, so the refused resize stays refused.
  const before = read(containerCgroup(p, 'cpu'), 'cgroup.procs');
  await killProcess(env.kubelet.proc!);
  env.kubelet.proc = undefined;
  await startNodeKubelet(env);
  await new Promise((r) => setTimeout(r, 5000)); // two sync periods of the new kubelet
  p = await waitPod(env, 'resize-demo', (x) => x.status?.conditions?.some((c) => c.type === 'PodResizePending') === true, 'still pending');
  t.is(cpuQuota(p), '80000', 'not actuated by the restarted kubelet');
  t.is(read(containerCgroup(p, 'cpu'), 'cgroup.procs'), before, 'the container was adopted, not restarted');
  t.is(p.status?.containerStatuses?.[0]?.restartCount, 1);

  // A resize that would make the pod Burstable is refused by the API server.
  const burst = structuredClone(p);
  burst.spec!.containers![0]!.resources = { requests: { cpu: '500m', memory: '300Mi' }, limits: { cpu: '800m', memory: '300Mi' } };
  const qos = await t.throwsAsync(env.clientset.pods.updateResize(burst), { instanceOf: InvalidError });
  t.regex(qos?.message ?? '', /Pod QOS Class may not change as a result of resizing/);

  // Back to what fits: the pending resize is replaced and the condition goes.
  const back = structuredClone(p);
  back.metadata!.resourceVersion = '';
  back.spec!.containers![0]!.resources = { requests: { cpu: '600m', memory: '300Mi' }, limits: { cpu: '600m', memory: '300Mi' } };
  await env.clientset.pods.updateResize(back);
  p = await waitPod(env, 'resize-demo', (x) => x.status?.containerStatuses?.[0]?.resources?.limits?.['cpu'] === '600m' && !resizing(x), 'cpu back to 600m');
  t.is(cpuQuota(p), '60000');
  t.is(p.status?.containerStatuses?.[0]?.restartCount, 1);

  // Kubernetes' resize events, one per transition.
  const reasons = async (): Promise<string[]> =>
    ((await env.clientset.events.list({ namespace: NS, fieldSelector: 'involvedObject.name=resize-demo' })).items ?? []).map((e) => e.reason ?? '');
  await eventually(async () => (await reasons()).filter((r) => r === 'ResizeCompleted').length >= 3, 20_000, 'ResizeCompleted events');
  const seen = await reasons();
  t.true(seen.includes('ResizeStarted'));
  t.true(seen.includes('ResizeInfeasible'));
});

/** The pod cgroup's CFS quota (pod-level resources). */
function podCpuQuota(pod: Pod): string {
  const rel = cgroups.podPath(pod.metadata?.uid ?? '');
  const dir = cgroups.layout.version === 2 ? path.join(cgroups.layout.v2Root, rel) : path.join(cgroups.layout.v1.cpu ?? '', rel);
  return cgroups.layout.version === 2 ? read(dir, 'cpu.max').split(' ')[0]! : read(dir, 'cpu.cfs_quota_us');
}

test.serial('pod-level resize (the docs pod-level walkthrough): the pod cgroup gets the new cpu limit, containers keep running', async (t) => {
  const env = t.context;
  await env.clientset.pods.create({
    metadata: { name: 'pod-level-resize-demo', namespace: NS },
    spec: {
      nodeName: env.nodeName,
      terminationGracePeriodSeconds: 2,
      containers: [
        {
          name: 'pause',
          image: env.image,
          command: ['sleep', '3600'],
          resizePolicy: [
            { resourceName: 'cpu', restartPolicy: 'NotRequired' },
            { resourceName: 'memory', restartPolicy: 'RestartContainer' },
          ],
          resources: { requests: { cpu: '100m', memory: '100Mi' } },
        },
      ],
      resources: { requests: { cpu: '200m', memory: '200Mi' }, limits: { cpu: '200m', memory: '200Mi' } },
    },
  });
  let p = await waitPod(env, 'pod-level-resize-demo', (x) => x.status?.containerStatuses?.[0]?.state?.running !== undefined, 'pod-level-resize-demo Running');
  t.is(podCpuQuota(p), '20000');
  const r = await runTsctl(
    [
      'patch',
      'pod',
      'pod-level-resize-demo',
      '--subresource',
      'resize',
      '--patch',
      '{"spec":{"resources":{"requests":{"cpu":"300m"}, "limits":{"cpu":"300m"}}}}',
      '--kubeconfig',
      env.kubeconfig,
    ],
    { env: { TSCTL_SERVER: '' }, timeoutMs: 30_000 },
  );
  t.is(r.code, 0, r.stderr);
  p = await waitPod(env, 'pod-level-resize-demo', (x) => x.status?.resources?.limits?.['cpu'] === '300m' && !resizing(x), 'pod-level cpu resized');
  t.is(podCpuQuota(p), '30000');
  t.is(p.status?.containerStatuses?.[0]?.restartCount, 0);
  t.deepEqual(p.status?.resources, { requests: { cpu: '300m', memory: '200Mi' }, limits: { cpu: '300m', memory: '200Mi' } });
});
