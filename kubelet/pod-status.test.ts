// The pod status the kubelet reports: phase per restart policy (Kubernetes'
// getPhase), container states, lastState and restart counts, readiness and
// the conditions with their transition times.

import test from 'ava';
import type { ContainerStatus as ApiContainerStatus, Pod } from '../api/gen/tsk/v1/core';
import { ANNOTATION_RESTART_COUNT, LABEL_CONTAINER_NAME, type PodRuntimeState } from './pod-runtime';
import { canonical, computePodStatus, podPhase, qosClass, statusChanged, type StatusInput, type Waiting } from './pod-status';
import type { ContainerStatus, SandboxStatus } from './runtime/runtime';

const T0 = Date.parse('2026-01-01T00:00:00Z');

function pod(restartPolicy = 'Always', names = ['app'], readiness = false): Pod {
  return {
    metadata: { name: 'web', namespace: 'default', uid: 'u1' },
    spec: {
      restartPolicy,
      containers: names.map((name) => ({ name, image: 'busybox:1.36', ...(readiness ? { readinessProbe: { exec: { command: ['true'] } } } : {}) })),
    },
    status: { phase: 'Pending' },
  };
}

const sandbox: SandboxStatus = {
  id: 's1',
  name: 'web',
  namespace: 'default',
  uid: 'u1',
  hostname: 'web',
  state: 'ready',
  createdAt: new Date(T0),
  netnsPath: '',
  ips: ['10.244.1.7'],
  labels: {},
  annotations: {},
};

function ctr(
  id: string,
  name: string,
  state: ContainerStatus['state'],
  t: number,
  o: { exitCode?: number; restarts?: number; reason?: ContainerStatus['reason'] } = {},
): ContainerStatus {
  return {
    id,
    name,
    sandboxId: 's1',
    image: 'sha256:img',
    imageId: 'sha256:img',
    command: [],
    state,
    createdAt: new Date(T0 + t),
    ...(state !== 'created' ? { startedAt: new Date(T0 + t + 100) } : {}),
    ...(state === 'exited' ? { exitCode: o.exitCode ?? 0, reason: o.reason ?? (o.exitCode ? 'Error' : 'Completed'), finishedAt: new Date(T0 + t + 2000) } : {}),
    logPath: '',
    resources: {},
    labels: { [LABEL_CONTAINER_NAME]: name },
    annotations: { [ANNOTATION_RESTART_COUNT]: String(o.restarts ?? 0) },
  };
}

function st(containers: ContainerStatus[]): PodRuntimeState {
  return { sandboxes: [sandbox], containers: [...containers].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime()) };
}

function input(p: Pod, s: PodRuntimeState, o: Partial<StatusInput> = {}): StatusInput {
  return { pod: p, state: s, now: T0 + 60_000, hostIP: '192.0.2.10', waiting: new Map<string, Waiting>(), readiness: () => undefined, ...o };
}

test('a running pod: Running, ready, podIP from the sandbox, containerID and times', (t) => {
  const s = computePodStatus(input(pod(), st([ctr('c1', 'app', 'running', 1000)])));
  t.is(s.phase, 'Running');
  t.is(s.podIP, '10.244.1.7');
  t.deepEqual(s.podIPs, [{ ip: '10.244.1.7' }]);
  t.is(s.hostIP, '192.0.2.10');
  t.is(s.startTime, '2026-01-01T00:01:00Z');
  const c = s.containerStatuses?.[0];
  t.deepEqual(c, {
    name: 'app',
    image: 'busybox:1.36',
    imageID: 'sha256:img',
    ready: true,
    started: true,
    restartCount: 0,
    containerID: 'tsk://c1',
    state: { running: { startedAt: '2026-01-01T00:00:01Z' } },
  });
  t.deepEqual(
    s.conditions?.map((x) => `${x.type}=${x.status}`),
    ['Initialized=True', 'Ready=True', 'ContainersReady=True', 'PodScheduled=True'],
  );
});

test('no container yet: Pending, waiting ContainerCreating (or the reason the sync left)', (t) => {
  const s = computePodStatus(input(pod(), { sandboxes: [], containers: [] }));
  t.is(s.phase, 'Pending');
  t.deepEqual(s.containerStatuses?.[0]?.state, { waiting: { reason: 'ContainerCreating' } });
  const ready = s.conditions?.find((c) => c.type === 'Ready');
  t.is(ready?.status, 'False');
  t.is(ready?.reason, 'ContainersNotReady');
  t.is(ready?.message, 'containers with unready status: [app]');
  const pull = computePodStatus(
    input(pod(), { sandboxes: [], containers: [] }, { waiting: new Map([['app', { reason: 'ErrImagePull', message: 'Failed to pull image "x": boom' }]]) }),
  );
  t.deepEqual(pull.containerStatuses?.[0]?.state, { waiting: { reason: 'ErrImagePull', message: 'Failed to pull image "x": boom' } });
});

test('CrashLoopBackOff: waiting with the exit as lastState, restartCount from the instance, phase Running', (t) => {
  const s = computePodStatus(
    input(pod(), st([ctr('c1', 'app', 'exited', 0, { exitCode: 1 }), ctr('c2', 'app', 'exited', 5000, { exitCode: 1, restarts: 1 })]), {
      waiting: new Map([['app', { reason: 'CrashLoopBackOff', message: 'back-off 10s restarting failed container=app pod=web_default(u1)' }]]),
    }),
  );
  const c = s.containerStatuses?.[0] as ApiContainerStatus;
  t.is(c.restartCount, 1);
  t.is(c.state?.waiting?.reason, 'CrashLoopBackOff');
  t.is(c.lastState?.terminated?.exitCode, 1);
  t.is(c.lastState?.terminated?.reason, 'Error');
  t.is(c.lastState?.terminated?.containerID, 'tsk://c2');
  t.is(s.phase, 'Running');
});

test('a restarted container shows the previous exit as lastState', (t) => {
  const s = computePodStatus(
    input(pod(), st([ctr('c1', 'app', 'exited', 0, { exitCode: 137, reason: 'OOMKilled' }), ctr('c2', 'app', 'running', 5000, { restarts: 1 })])),
  );
  const c = s.containerStatuses?.[0];
  t.truthy(c?.state?.running);
  t.is(c?.lastState?.terminated?.reason, 'OOMKilled');
  t.is(c?.restartCount, 1);
});

test('readiness probe: not ready until it passes', (t) => {
  const running = st([ctr('c1', 'app', 'running', 0)]);
  t.false(computePodStatus(input(pod('Always', ['app'], true), running)).containerStatuses?.[0]?.ready);
  t.is(computePodStatus(input(pod('Always', ['app'], true), running)).conditions?.find((c) => c.type === 'Ready')?.status, 'False');
  t.true(computePodStatus(input(pod('Always', ['app'], true), running, { readiness: () => true })).containerStatuses?.[0]?.ready);
});

const phaseCases: Array<[string, string, Array<[string, number?]>, string]> = [
  ['Always', 'all running', [['running']], 'Running'],
  ['Never', 'exit 0', [['exited', 0]], 'Succeeded'],
  ['Never', 'exit 1', [['exited', 1]], 'Failed'],
  [
    'Never',
    'one ok, one failed',
    [
      ['exited', 0],
      ['exited', 2],
    ],
    'Failed',
  ],
  ['OnFailure', 'exit 0', [['exited', 0]], 'Succeeded'],
  ['OnFailure', 'exit 1 (will restart)', [['exited', 1]], 'Running'],
  ['Always', 'exit 0 (will restart)', [['exited', 0]], 'Running'],
  ['Never', 'one running, one done', [['running'], ['exited', 0]], 'Running'],
  ['Always', 'one still being created', [['running'], ['created']], 'Pending'],
];
for (const [policy, what, states, want] of phaseCases) {
  test(`phase: ${policy}, ${what} -> ${want}`, (t) => {
    const names = states.map((_, i) => `c${i}`);
    const s = computePodStatus(
      input(
        pod(policy, names),
        st(states.map(([state, code], i) => ctr(`id${i}`, `c${i}`, state as ContainerStatus['state'], i * 10, { exitCode: code ?? 0 }))),
      ),
    );
    t.is(s.phase, want);
  });
}

test('a terminating pod is finished once its containers stopped, whatever its restart policy', (t) => {
  t.is(podPhase(pod('Always'), [{ state: { terminated: { exitCode: 143 } } }], true), 'Failed');
  t.is(podPhase(pod('Always'), [{ state: { terminated: { exitCode: 0 } } }], true), 'Succeeded');
});

test('a finished phase in the API is never changed back; PodCompleted conditions', (t) => {
  const p = { ...pod('Never'), status: { phase: 'Succeeded' } };
  const s = computePodStatus(input(p, st([ctr('c1', 'app', 'exited', 0, { exitCode: 0 })])));
  t.is(s.phase, 'Succeeded');
  t.is(s.conditions?.find((c) => c.type === 'Ready')?.reason, 'PodCompleted');
});

test('conditions keep lastTransitionTime while their status holds', (t) => {
  const first = computePodStatus(input(pod(), st([ctr('c1', 'app', 'running', 0)])));
  const later = computePodStatus(input({ ...pod(), status: first }, st([ctr('c1', 'app', 'running', 0)]), { now: T0 + 600_000 }));
  t.is(later.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime, first.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime);
  t.false(statusChanged(first, later), 'nothing to write when nothing changed');
  const down = computePodStatus(input({ ...pod(), status: later }, st([ctr('c1', 'app', 'exited', 0, { exitCode: 1 })]), { now: T0 + 700_000 }));
  t.is(down.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime, '2026-01-01T00:11:40Z');
  t.true(statusChanged(later, down));
});

test('canonical form ignores key order and unset, empty or zero values', (t) => {
  t.is(canonical({ b: 1, a: { x: '', y: [] }, c: false }), canonical({ b: 1 }));
  t.not(canonical({ a: 1 }), canonical({ a: 2 }));
});

test('init containers: Pending and not initialized while they run; app containers wait in PodInitializing', (t) => {
  const p = pod('Always', ['app']);
  p.spec!.initContainers = [{ name: 'setup', image: 'busybox:1.36' }];
  const running = computePodStatus(input(p, st([ctr('c1', 'setup', 'running', 0)])));
  t.is(running.phase, 'Pending');
  t.truthy(running.initContainerStatuses?.[0]?.state?.running);
  t.deepEqual(running.containerStatuses?.[0]?.state, { waiting: { reason: 'PodInitializing' } });
  const init = running.conditions?.find((c) => c.type === 'Initialized');
  t.is(init?.status, 'False');
  t.is(init?.reason, 'ContainersNotInitialized');
  t.is(init?.message, 'containers with incomplete status: [setup]');
  const done = computePodStatus(input(p, st([ctr('c1', 'setup', 'exited', 0, { exitCode: 0 }), ctr('c2', 'app', 'running', 3000)])));
  t.is(done.phase, 'Running');
  t.is(done.initContainerStatuses?.[0]?.state?.terminated?.reason, 'Completed');
  t.true(done.initContainerStatuses?.[0]?.ready);
  t.is(done.conditions?.find((c) => c.type === 'Initialized')?.status, 'True');
});

test('init containers: a failure under restartPolicy Never fails the pod', (t) => {
  const p = pod('Never', ['app']);
  p.spec!.initContainers = [{ name: 'setup', image: 'busybox:1.36' }];
  const s = computePodStatus(input(p, st([ctr('c1', 'setup', 'exited', 0, { exitCode: 3 })])));
  t.is(s.phase, 'Failed');
  t.is(s.initContainerStatuses?.[0]?.state?.terminated?.exitCode, 3);
});

/** A pod with sidecar `sc` (with a readiness probe) before the app container. */
function sidecarPod(restartPolicy = 'Always'): Pod {
  const p = pod(restartPolicy, ['app']);
  p.spec!.initContainers = [{ name: 'sc', image: 'busybox:1.36', restartPolicy: 'Always', readinessProbe: { exec: { command: ['true'] } } }];
  return p;
}

test('sidecar: Initialized once it started; started and ready reported in initContainerStatuses; its readiness counts for Ready', (t) => {
  const p = sidecarPod();
  const starting = computePodStatus(input(p, st([ctr('c1', 'sc', 'running', 0)]), { started: () => undefined }));
  // No startup probe: running means started, so the pod is initialized and the app container may start.
  t.is(starting.conditions?.find((c) => c.type === 'Initialized')?.status, 'True');
  const both = st([ctr('c1', 'sc', 'running', 0), ctr('c2', 'app', 'running', 1000)]);
  const unready = computePodStatus(input(p, both, { readiness: () => false }));
  t.is(unready.phase, 'Running');
  t.true(unready.initContainerStatuses?.[0]?.started);
  t.false(unready.initContainerStatuses?.[0]?.ready);
  t.truthy(unready.initContainerStatuses?.[0]?.state?.running);
  const ready = unready.conditions?.find((c) => c.type === 'Ready');
  t.is(ready?.status, 'False');
  t.is(ready?.message, 'containers with unready status: [sc]');
  const allReady = computePodStatus(input(p, both, { readiness: () => true }));
  t.true(allReady.initContainerStatuses?.[0]?.ready);
  t.is(allReady.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
});

test('sidecar: with a startup probe not yet passed, the pod is Pending and not initialized', (t) => {
  const p = sidecarPod();
  p.spec!.initContainers![0]!.startupProbe = { exec: { command: ['true'] } };
  const s = computePodStatus(input(p, st([ctr('c1', 'sc', 'running', 0)]), { started: () => false }));
  t.is(s.phase, 'Pending');
  t.false(s.initContainerStatuses?.[0]?.started);
  const init = s.conditions?.find((c) => c.type === 'Initialized');
  t.is(init?.status, 'False');
  t.is(init?.message, 'containers with incomplete status: [sc]');
  t.deepEqual(s.containerStatuses?.[0]?.state, { waiting: { reason: 'PodInitializing' } });
});

test('sidecar: a Never pod whose main container succeeded is Succeeded though its stopped sidecar exited non-zero', (t) => {
  const p = sidecarPod('Never');
  const s = computePodStatus(input(p, st([ctr('c1', 'sc', 'exited', 0, { exitCode: 143 }), ctr('c2', 'app', 'exited', 1000, { exitCode: 0 })])));
  t.is(s.phase, 'Succeeded');
  t.is(s.initContainerStatuses?.[0]?.state?.terminated?.exitCode, 143);
  t.false(s.initContainerStatuses?.[0]?.ready);
});

test('sidecar: exited and in back-off beside a running app: waiting CrashLoopBackOff, pod Running', (t) => {
  const p = sidecarPod('Never');
  const waiting = new Map<string, Waiting>([['sc', { reason: 'CrashLoopBackOff', message: 'back-off 10s' }]]);
  const s = computePodStatus(input(p, st([ctr('c1', 'sc', 'exited', 0, { exitCode: 1 }), ctr('c2', 'app', 'running', 1000)]), { waiting }));
  t.is(s.phase, 'Running');
  t.is(s.initContainerStatuses?.[0]?.state?.waiting?.reason, 'CrashLoopBackOff');
  t.is(s.initContainerStatuses?.[0]?.lastState?.terminated?.exitCode, 1);
  t.is(s.conditions?.find((c) => c.type === 'Initialized')?.status, 'True');
});

test('startup probe: not started (nor ready) until it passed', (t) => {
  const p = pod();
  p.spec!.containers![0]!.startupProbe = { exec: { command: ['true'] } };
  const running = st([ctr('c1', 'app', 'running', 0)]);
  const before = computePodStatus(input(p, running, { started: () => false }));
  t.false(before.containerStatuses?.[0]?.started);
  t.false(before.containerStatuses?.[0]?.ready);
  const after = computePodStatus(input(p, running, { started: () => true }));
  t.true(after.containerStatuses?.[0]?.started);
  t.true(after.containerStatuses?.[0]?.ready);
});

test('QoS class as Kubernetes computes it', (t) => {
  const withResources = (...rs: Array<{ requests?: Record<string, string>; limits?: Record<string, string> }>): Pod => ({
    metadata: { name: 'p', uid: 'u' },
    spec: { containers: rs.map((resources, i) => ({ name: `c${i}`, resources })) },
  });
  t.is(qosClass(withResources({})), 'BestEffort');
  t.is(qosClass(withResources({ limits: { cpu: '1', memory: '1Gi' } })), 'Guaranteed', 'requests default to limits');
  t.is(
    qosClass(withResources({ requests: { cpu: '1000m', memory: '1024Mi' }, limits: { cpu: '1', memory: '1Gi' } })),
    'Guaranteed',
    'equal quantities in other units',
  );
  t.is(qosClass(withResources({ requests: { cpu: '500m' }, limits: { cpu: '1', memory: '1Gi' } })), 'Burstable');
  t.is(qosClass(withResources({ limits: { cpu: '1', memory: '1Gi' } }, {})), 'Burstable', 'one container without limits');
  t.is(qosClass(withResources({ requests: { memory: '64Mi' } })), 'Burstable');
});

test('QoS class from pod-level resources, which decide alone (ComputePodQOS)', (t) => {
  const withPodResources = (
    resources: { requests?: Record<string, string>; limits?: Record<string, string> },
    containerLimits?: Record<string, string>,
  ): Pod => ({
    metadata: { name: 'p', uid: 'u' },
    spec: { resources, containers: [{ name: 'c', resources: containerLimits ? { limits: containerLimits } : {} }] },
  });
  const both = { cpu: '1', memory: '1Gi' };
  t.is(qosClass(withPodResources({ requests: both, limits: both })), 'Guaranteed', 'containers without limits do not matter');
  t.is(qosClass(withPodResources({ requests: { cpu: '1000m', memory: '1024Mi' }, limits: both })), 'Guaranteed');
  t.is(
    qosClass(withPodResources({ requests: { cpu: '1', memory: '100Mi' }, limits: { cpu: '1', memory: '200Mi' } })),
    'Burstable',
    'the pod-level-resources.yaml example',
  );
  t.is(qosClass(withPodResources({ requests: { cpu: '500m' }, limits: { cpu: '1' } })), 'Burstable', 'no memory limit');
  t.is(qosClass(withPodResources({ limits: both })), 'Burstable', 'no requests (the API server defaults them)');
  t.is(qosClass(withPodResources({ requests: { cpu: '0' } }, both)), 'BestEffort', 'zero quantities count for nothing, container limits are not looked at');
  t.is(qosClass(withPodResources({ requests: { 'ephemeral-storage': '1Gi' } }, both)), 'Guaranteed', 'unsupported names leave pod-level resources unset');
});

// KEP-5307: a Never pod whose container a rule restarts is not finished while it may restart.
function ruledPod(restartPolicy: string): Pod {
  const p = pod(restartPolicy);
  Object.assign(p.spec!.containers![0]!, { restartPolicy: 'Never', restartPolicyRules: [{ action: 'Restart', exitCodes: { operator: 'In', values: [42] } }] });
  return p;
}

test('phase with restart rules: a matching exit keeps the pod Running, any other finishes it', (t) => {
  t.is(computePodStatus(input(ruledPod('Never'), st([ctr('c1', 'app', 'exited', 0, { exitCode: 42 })]))).phase, 'Running');
  const backingOff = new Map<string, Waiting>([['app', { reason: 'CrashLoopBackOff', message: 'back-off' }]]);
  t.is(computePodStatus(input(ruledPod('Never'), st([ctr('c1', 'app', 'exited', 0, { exitCode: 42 })]), { waiting: backingOff })).phase, 'Running');
  t.is(computePodStatus(input(ruledPod('Never'), st([ctr('c1', 'app', 'exited', 0, { exitCode: 1 })]))).phase, 'Failed');
  // The container's Never overrides the pod's Always.
  t.is(computePodStatus(input(ruledPod('Always'), st([ctr('c1', 'app', 'exited', 0, { exitCode: 0 })]))).phase, 'Succeeded');
});

test('an in-place pod restart: AllContainersRestarting, Initialized kept, Pending, counts and last exits kept from the API', (t) => {
  const p = pod('Never');
  p.status = {
    phase: 'Running',
    conditions: [{ type: 'Initialized', status: 'True', lastTransitionTime: '2026-01-01T00:00:05Z' }],
    containerStatuses: [{ name: 'app', restartCount: 0, containerID: 'tsk://c1', state: { terminated: { exitCode: 88, reason: 'Error' } } }],
  };
  const msg = 'Container app exited with code 88, triggering pod restart';
  // While the containers are killed: Pending, not Failed for the killed ones (the pod is Never).
  const killing = computePodStatus(input(p, st([ctr('c1', 'app', 'exited', 0, { exitCode: 137 })]), { restartingAll: { status: true, message: msg } }));
  t.is(killing.phase, 'Pending');
  t.is(killing.conditions?.find((c) => c.type === 'AllContainersRestarting')?.status, 'True');
  const removed = computePodStatus(input(p, st([]), { restartingAll: { status: false, message: msg } }));
  t.deepEqual(
    removed.conditions?.find((c) => c.type === 'AllContainersRestarting'),
    { type: 'AllContainersRestarting', status: 'False', lastTransitionTime: '2026-01-01T00:01:00Z', reason: 'ContainerExited', message: msg },
  );
  t.is(removed.conditions?.find((c) => c.type === 'Initialized')?.status, 'True');
  t.is(removed.phase, 'Pending');
  t.deepEqual(removed.containerStatuses?.[0]?.lastState, { terminated: { exitCode: 88, reason: 'Error' } });
  // The next instance keeps that last exit as its lastState, and the condition stays.
  const again = computePodStatus(input({ ...p, status: removed }, st([ctr('c2', 'app', 'running', 90_000, { restarts: 1 })])));
  t.is(again.containerStatuses?.[0]?.restartCount, 1);
  t.deepEqual(again.containerStatuses?.[0]?.lastState, { terminated: { exitCode: 88, reason: 'Error' } });
  t.is(again.conditions?.find((c) => c.type === 'AllContainersRestarting')?.status, 'False');
  t.is(again.phase, 'Running');
});
