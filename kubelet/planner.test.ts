// Table-driven tests of the pod sync planner: each case is a pod and what
// the runtime reports, and the exact actions expected.

import test from 'ava';
import type { Pod } from '../api/gen/tsk/v1/core';
import { planPod, podFinished, shouldRestart, type PlanInput, type PodPlan } from './planner';
import { ANNOTATION_RESTART_COUNT, LABEL_CONTAINER_NAME, type PodRuntimeState } from './pod-runtime';
import type { ContainerStatus, SandboxStatus } from './runtime/runtime';

const T0 = 1_700_000_000_000;

function pod(restartPolicy = 'Always', names = ['app'], extra: Partial<Pod> = {}): Pod {
  return {
    metadata: { name: 'web', namespace: 'default', uid: 'u1' },
    spec: { restartPolicy, containers: names.map((name) => ({ name, image: 'busybox' })) },
    ...extra,
  };
}

function sb(id: string, state: 'ready' | 'notready' = 'ready', t = 0): SandboxStatus {
  return {
    id,
    name: 'web',
    namespace: 'default',
    uid: 'u1',
    hostname: 'web',
    state,
    createdAt: new Date(T0 + t),
    netnsPath: '',
    ips: [],
    labels: {},
    annotations: {},
  };
}

function ctr(
  id: string,
  name: string,
  sandboxId: string,
  state: ContainerStatus['state'],
  t: number,
  o: { exitCode?: number; restarts?: number } = {},
): ContainerStatus {
  return {
    id,
    name,
    sandboxId,
    image: 'busybox',
    imageId: 'sha256:x',
    command: [],
    state,
    createdAt: new Date(T0 + t),
    ...(state === 'exited' ? { exitCode: o.exitCode ?? 0, finishedAt: new Date(T0 + t + 500) } : {}),
    logPath: '',
    resources: {},
    labels: { [LABEL_CONTAINER_NAME]: name },
    annotations: { [ANNOTATION_RESTART_COUNT]: String(o.restarts ?? 0) },
  };
}

/** Newest first, as readRuntimeState sorts them. */
function state(sandboxes: SandboxStatus[], containers: ContainerStatus[]): PodRuntimeState {
  const byTime = <T extends { createdAt: Date }>(a: T, b: T): number => b.createdAt.getTime() - a.createdAt.getTime();
  return { sandboxes: [...sandboxes].sort(byTime), containers: [...containers].sort(byTime) };
}

function input(p: Pod, st: PodRuntimeState, o: Partial<PlanInput> = {}): PlanInput {
  return { pod: p, state: st, crashBackoffRemaining: () => 0, crashBackoffDuration: () => 10_000, livenessFailed: () => false, ...o };
}

/** The plan without empty parts, for compact expectations. */
function summary(plan: PodPlan): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (plan.killPod) out['killPod'] = true;
  if (plan.createSandbox) out['createSandbox'] = true;
  if (plan.sandboxId) out['sandboxId'] = plan.sandboxId;
  if (plan.stopSandboxes.length) out['stopSandboxes'] = plan.stopSandboxes;
  if (plan.removeSandboxes.length) out['removeSandboxes'] = plan.removeSandboxes;
  if (plan.start.length) out['start'] = plan.start.map((s) => `${s.init ? 'init:' : ''}${s.name}#${s.restartCount}${s.restart ? ' restart' : ''}`);
  if (plan.kill.length) out['kill'] = plan.kill.map((k) => `${k.id}: ${k.message}${k.graceSeconds !== undefined ? ` (grace ${k.graceSeconds}s)` : ''}`);
  if (plan.removeContainers.length) out['removeContainers'] = plan.removeContainers;
  if (plan.backOff.size) out['backOff'] = [...plan.backOff.values()];
  if (plan.requeueAfterMs !== undefined) out['requeueAfterMs'] = plan.requeueAfterMs;
  return out;
}

const cases: Array<{ name: string; in: PlanInput; want: Record<string, unknown> }> = [
  {
    name: 'a new pod gets a sandbox and all its containers, in spec order',
    in: input(pod('Always', ['a', 'b']), state([], [])),
    want: { createSandbox: true, start: ['a#0', 'b#0'] },
  },
  {
    name: 'a running container is left alone',
    in: input(pod(), state([sb('s1')], [ctr('c1', 'app', 's1', 'running', 1)])),
    want: { sandboxId: 's1' },
  },
  {
    name: 'a container missing from a ready sandbox is started',
    in: input(pod('Always', ['a', 'b']), state([sb('s1')], [ctr('c1', 'a', 's1', 'running', 1)])),
    want: { sandboxId: 's1', start: ['b#0'] },
  },
  {
    name: 'Always: an exited container restarts with the next count when not backing off',
    in: input(pod(), state([sb('s1')], [ctr('c1', 'app', 's1', 'exited', 1, { exitCode: 1, restarts: 2 })])),
    want: { sandboxId: 's1', start: ['app#3 restart'] },
  },
  {
    name: 'Always: a completed container restarts too',
    in: input(pod(), state([sb('s1')], [ctr('c1', 'app', 's1', 'exited', 1, { exitCode: 0 })])),
    want: { sandboxId: 's1', start: ['app#1 restart'] },
  },
  {
    name: 'a container in back-off waits: CrashLoopBackOff with Kubernetes message, and a requeue when it ends',
    in: input(pod(), state([sb('s1')], [ctr('c1', 'app', 's1', 'exited', 1, { exitCode: 1 })]), {
      crashBackoffRemaining: () => 7000,
      crashBackoffDuration: () => 20_000,
    }),
    want: { sandboxId: 's1', backOff: ['back-off 20s restarting failed container=app pod=web_default(u1)'], requeueAfterMs: 7000 },
  },
  {
    name: 'OnFailure: exit 1 restarts',
    in: input(pod('OnFailure'), state([sb('s1')], [ctr('c1', 'app', 's1', 'exited', 1, { exitCode: 1 })])),
    want: { sandboxId: 's1', start: ['app#1 restart'] },
  },
  {
    name: 'OnFailure: exit 0 finishes the pod, whose sandbox is stopped',
    in: input(pod('OnFailure'), state([sb('s1')], [ctr('c1', 'app', 's1', 'exited', 1, { exitCode: 0 })])),
    want: { stopSandboxes: ['s1'] },
  },
  {
    name: 'Never: a failed container is not restarted; the pod is finished',
    in: input(pod('Never'), state([sb('s1')], [ctr('c1', 'app', 's1', 'exited', 1, { exitCode: 1 })])),
    want: { stopSandboxes: ['s1'] },
  },
  {
    name: 'Never: one container still running keeps the pod going; the exited one stays exited',
    in: input(pod('Never', ['a', 'b']), state([sb('s1')], [ctr('c1', 'a', 's1', 'exited', 1, { exitCode: 0 }), ctr('c2', 'b', 's1', 'running', 2)])),
    want: { sandboxId: 's1' },
  },
  {
    name: 'a failed liveness probe kills the container (restart comes in the next pass)',
    in: input(pod(), state([sb('s1')], [ctr('c1', 'app', 's1', 'running', 1)]), { livenessFailed: (id) => id === 'c1' }),
    want: { sandboxId: 's1', kill: ['c1: Container app failed liveness probe, will be restarted'] },
  },
  {
    name: "a liveness kill uses the probe's terminationGracePeriodSeconds when it has one",
    in: input(
      pod('Always', ['app'], { spec: { containers: [{ name: 'app', livenessProbe: { terminationGracePeriodSeconds: 3 } }] } }),
      state([sb('s1')], [ctr('c1', 'app', 's1', 'running', 1)]),
      { livenessFailed: () => true },
    ),
    want: { sandboxId: 's1', kill: ['c1: Container app failed liveness probe, will be restarted (grace 3s)'] },
  },
  {
    name: 'a failed startup probe kills the container too',
    in: input(pod(), state([sb('s1')], [ctr('c1', 'app', 's1', 'running', 1)]), { startupFailed: (id) => id === 'c1' }),
    want: { sandboxId: 's1', kill: ['c1: Container app failed startup probe, will be restarted'] },
  },
  {
    name: 'a container created but never started (kubelet died) is replaced with the same count',
    in: input(pod(), state([sb('s1')], [ctr('c1', 'app', 's1', 'created', 1, { restarts: 4 })])),
    want: { sandboxId: 's1', start: ['app#4'], removeContainers: ['c1'] },
  },
  {
    name: 'containers the spec does not name are killed when running and removed when exited',
    in: input(pod(), state([sb('s1')], [ctr('c1', 'app', 's1', 'running', 1), ctr('c2', 'old', 's1', 'running', 2), ctr('c3', 'gone', 's1', 'exited', 3)])),
    want: { sandboxId: 's1', kill: ["c2: Container old is not in the pod's spec, will be killed"], removeContainers: ['c3'] },
  },
  {
    name: 'only the newest two instances of a container are kept',
    in: input(
      pod(),
      state(
        [sb('s1')],
        [
          ctr('c1', 'app', 's1', 'exited', 1, { exitCode: 1 }),
          ctr('c2', 'app', 's1', 'exited', 2, { exitCode: 1, restarts: 1 }),
          ctr('c3', 'app', 's1', 'running', 3, { restarts: 2 }),
        ],
      ),
    ),
    want: { sandboxId: 's1', removeContainers: ['c1'] },
  },
  {
    name: 'a stopped sandbox is replaced: running containers killed, all started again with counts continuing',
    in: input(
      pod('Always', ['a', 'b']),
      state([sb('s1', 'notready')], [ctr('c1', 'a', 's1', 'running', 1, { restarts: 1 }), ctr('c2', 'b', 's1', 'exited', 2)]),
    ),
    want: { killPod: true, createSandbox: true, start: ['a#2 restart', 'b#1 restart'] },
  },
  {
    name: 'OnFailure in a new sandbox: containers that succeeded are not started again',
    in: input(
      pod('OnFailure', ['a', 'b']),
      state([sb('s1', 'notready')], [ctr('c1', 'a', 's1', 'exited', 1, { exitCode: 0 }), ctr('c2', 'b', 's1', 'exited', 2, { exitCode: 3 })]),
    ),
    want: { createSandbox: true, start: ['b#1 restart'] },
  },
  {
    name: 'Never with a lost sandbox and containers that ran: no new sandbox',
    in: input(pod('Never', ['a', 'b']), state([sb('s1', 'notready')], [ctr('c1', 'a', 's1', 'running', 1)])),
    want: { killPod: true },
  },
  {
    name: 'a pod the API already calls Succeeded starts nothing and stops what runs',
    in: input(pod('Always', ['app'], { status: { phase: 'Succeeded' } }), state([sb('s1')], [ctr('c1', 'app', 's1', 'running', 1)])),
    want: { killPod: true, stopSandboxes: ['s1'] },
  },
  {
    name: 'an older sandbox still ready is stopped, a stopped one with no kept container removed; containers of the old sandbox start in the new',
    in: input(
      pod(),
      state([sb('s2', 'ready', 10), sb('s1', 'ready', 0), sb('s0', 'notready', -10)], [ctr('c1', 'app', 's1', 'exited', 1, { exitCode: 1, restarts: 3 })]),
    ),
    want: { sandboxId: 's2', stopSandboxes: ['s1'], removeSandboxes: ['s0'], start: ['app#4 restart'] },
  },
];

/** A pod with init containers i1, i2 and app container app. */
function initPod(restartPolicy = 'Always'): Pod {
  const p = pod(restartPolicy, ['app']);
  p.spec!.initContainers = [
    { name: 'i1', image: 'busybox' },
    { name: 'i2', image: 'busybox' },
  ];
  return p;
}

cases.push(
  {
    name: 'init: a new pod runs only its first init container',
    in: input(initPod(), state([], [])),
    want: { createSandbox: true, start: ['init:i1#0'] },
  },
  {
    name: 'init: a running init container is waited for',
    in: input(initPod(), state([sb('s1')], [ctr('c1', 'i1', 's1', 'running', 1)])),
    want: { sandboxId: 's1' },
  },
  {
    name: 'init: the next one starts when the previous exited 0',
    in: input(initPod(), state([sb('s1')], [ctr('c1', 'i1', 's1', 'exited', 1, { exitCode: 0 })])),
    want: { sandboxId: 's1', start: ['init:i2#0'] },
  },
  {
    name: 'init: all done, the app containers start',
    in: input(initPod(), state([sb('s1')], [ctr('c1', 'i1', 's1', 'exited', 1, { exitCode: 0 }), ctr('c2', 'i2', 's1', 'exited', 2, { exitCode: 0 })])),
    want: { sandboxId: 's1', start: ['app#0'] },
  },
  {
    name: 'init: a failed init container restarts (Always), under back-off',
    in: input(initPod(), state([sb('s1')], [ctr('c1', 'i1', 's1', 'exited', 1, { exitCode: 2 })])),
    want: { sandboxId: 's1', start: ['init:i1#1 restart'] },
  },
  {
    name: 'init: a failed init container in back-off waits in CrashLoopBackOff',
    in: input(initPod('OnFailure'), state([sb('s1')], [ctr('c1', 'i1', 's1', 'exited', 1, { exitCode: 2 })]), { crashBackoffRemaining: () => 5000 }),
    want: { sandboxId: 's1', backOff: ['back-off 10s restarting failed container=i1 pod=web_default(u1)'], requeueAfterMs: 5000 },
  },
  {
    name: 'init: under Never a failed init container finishes the pod',
    in: input(initPod('Never'), state([sb('s1')], [ctr('c1', 'i1', 's1', 'exited', 1, { exitCode: 2 })])),
    want: { stopSandboxes: ['s1'] },
  },
  {
    name: 'init: app containers that ran count as initialized even when the init instances were collected',
    in: input(initPod(), state([sb('s1')], [ctr('c3', 'app', 's1', 'running', 3)])),
    want: { sandboxId: 's1' },
  },
  {
    name: 'init: completed init instances are kept, not taken for unknown containers',
    in: input(
      initPod(),
      state(
        [sb('s1')],
        [ctr('c1', 'i1', 's1', 'exited', 1, { exitCode: 0 }), ctr('c2', 'i2', 's1', 'exited', 2, { exitCode: 0 }), ctr('c3', 'app', 's1', 'running', 3)],
      ),
    ),
    want: { sandboxId: 's1' },
  },
);

/** A pod with sidecar sc (restartPolicy Always), init container i2 after it, and app container app. */
function sidecarPod(restartPolicy = 'Always', startupProbe = false): Pod {
  const p = pod(restartPolicy, ['app']);
  p.spec!.initContainers = [
    { name: 'sc', image: 'busybox', restartPolicy: 'Always', ...(startupProbe ? { startupProbe: { exec: { command: ['true'] } } } : {}) },
    { name: 'i2', image: 'busybox' },
  ];
  return p;
}

const initialized = (scState: ContainerStatus['state'] = 'running', o: { exitCode?: number; restarts?: number } = {}): ContainerStatus[] => [
  ctr('c1', 'sc', 's1', scState, 1, o),
  ctr('c2', 'i2', 's1', 'exited', 2, { exitCode: 0 }),
  ctr('c3', 'app', 's1', 'running', 3),
];

cases.push(
  {
    name: 'sidecar: a new pod starts the sidecar first',
    in: input(sidecarPod(), state([], [])),
    want: { createSandbox: true, start: ['init:sc#0'] },
  },
  {
    name: 'sidecar: once running (no startup probe) it counts as started and the next init container starts',
    in: input(sidecarPod(), state([sb('s1')], [ctr('c1', 'sc', 's1', 'running', 1)])),
    want: { sandboxId: 's1', start: ['init:i2#0'] },
  },
  {
    name: 'sidecar: with a startup probe, the next init container waits for it',
    in: input(sidecarPod('Always', true), state([sb('s1')], [ctr('c1', 'sc', 's1', 'running', 1)]), { started: () => undefined }),
    want: { sandboxId: 's1' },
  },
  {
    name: 'sidecar: its startup probe passed, the next init container starts',
    in: input(sidecarPod('Always', true), state([sb('s1')], [ctr('c1', 'sc', 's1', 'running', 1)]), { started: (id) => id === 'c1' }),
    want: { sandboxId: 's1', start: ['init:i2#0'] },
  },
  {
    name: 'sidecar: a failed startup probe kills it before the pod is initialized',
    in: input(sidecarPod('Always', true), state([sb('s1')], [ctr('c1', 'sc', 's1', 'running', 1)]), { startupFailed: () => true }),
    want: { sandboxId: 's1', kill: ['c1: Container sc failed startup probe, will be restarted'] },
  },
  {
    name: 'sidecar: exited during init (even with exit 0) it is restarted, also under Never',
    in: input(sidecarPod('Never'), state([sb('s1')], [ctr('c1', 'sc', 's1', 'exited', 1, { exitCode: 0 })])),
    want: { sandboxId: 's1', start: ['init:sc#1 restart'] },
  },
  {
    name: 'sidecar: the next init container running, the sidecar beside it, nothing to do',
    in: input(sidecarPod(), state([sb('s1')], [ctr('c1', 'sc', 's1', 'running', 1), ctr('c2', 'i2', 's1', 'running', 2)])),
    want: { sandboxId: 's1' },
  },
  {
    name: 'sidecar: init done, the app container starts while the sidecar keeps running',
    in: input(sidecarPod(), state([sb('s1')], [ctr('c1', 'sc', 's1', 'running', 1), ctr('c2', 'i2', 's1', 'exited', 2, { exitCode: 0 })])),
    want: { sandboxId: 's1', start: ['app#0'] },
  },
  {
    name: 'sidecar: exited beside the app containers, restarted under Never',
    in: input(sidecarPod('Never'), state([sb('s1')], initialized('exited', { exitCode: 0, restarts: 1 }))),
    want: { sandboxId: 's1', start: ['init:sc#2 restart'] },
  },
  {
    name: 'sidecar: exited beside the app containers, in back-off it waits in CrashLoopBackOff',
    in: input(sidecarPod('OnFailure'), state([sb('s1')], initialized('exited', { exitCode: 1 })), { crashBackoffRemaining: () => 7000 }),
    want: { sandboxId: 's1', backOff: ['back-off 10s restarting failed container=sc pod=web_default(u1)'], requeueAfterMs: 7000 },
  },
  {
    name: 'sidecar: a failed liveness probe restarts it',
    in: input(sidecarPod(), state([sb('s1')], initialized()), { livenessFailed: (id) => id === 'c1' }),
    want: { sandboxId: 's1', kill: ['c1: Container sc failed liveness probe, will be restarted'] },
  },
  {
    name: 'sidecar: the main container finished under Never: the pod is done and its running sidecar stopped',
    in: input(
      sidecarPod('Never'),
      state(
        [sb('s1')],
        [ctr('c1', 'sc', 's1', 'running', 1), ctr('c2', 'i2', 's1', 'exited', 2, { exitCode: 0 }), ctr('c3', 'app', 's1', 'exited', 3, { exitCode: 0 })],
      ),
    ),
    want: { killPod: true, stopSandboxes: ['s1'] },
  },
  {
    name: 'sidecar: under OnFailure a main container that exited 0 finishes the pod, a sidecar exit does not fail it',
    in: input(
      sidecarPod('OnFailure'),
      state(
        [sb('s1')],
        [
          ctr('c1', 'sc', 's1', 'exited', 1, { exitCode: 1 }),
          ctr('c2', 'i2', 's1', 'exited', 2, { exitCode: 0 }),
          ctr('c3', 'app', 's1', 'exited', 3, { exitCode: 0 }),
        ],
      ),
    ),
    want: { stopSandboxes: ['s1'] },
  },
);

// KEP-5307 and KEP-5532: restart rules and container-level restart policies.
const ruled = (restartPolicy: string, rules: Array<[string, string, number[]]>, extra: Partial<Pod> = {}): Pod => {
  const p = pod(restartPolicy, ['app'], extra);
  Object.assign(p.spec!.containers![0]!, {
    restartPolicy: 'Never',
    restartPolicyRules: rules.map(([action, operator, values]) => ({ action, exitCodes: { operator, values } })),
  });
  return p;
};

function restartAllPod(): Pod {
  return {
    metadata: { name: 'web', namespace: 'default', uid: 'u1' },
    spec: {
      restartPolicy: 'Never',
      initContainers: [{ name: 'setup', image: 'busybox' }],
      containers: [
        {
          name: 'app',
          image: 'busybox',
          restartPolicy: 'Never',
          restartPolicyRules: [{ action: 'RestartAllContainers', exitCodes: { operator: 'In', values: [88] } }],
        },
        { name: 'other', image: 'busybox' },
      ],
    },
  };
}

const setupDone = ctr('i1', 'setup', 's1', 'exited', 1, { exitCode: 0 });

cases.push(
  {
    name: 'Never pod, rule In [42]: exit 42 restarts the container',
    in: input(ruled('Never', [['Restart', 'In', [42]]]), state([sb('s1')], [ctr('c1', 'app', 's1', 'exited', 1, { exitCode: 42 })])),
    want: { sandboxId: 's1', start: ['app#1 restart'] },
  },
  {
    name: 'Never pod, rule In [42]: exit 1 finishes the pod',
    in: input(ruled('Never', [['Restart', 'In', [42]]]), state([sb('s1')], [ctr('c1', 'app', 's1', 'exited', 1, { exitCode: 1 })])),
    want: { stopSandboxes: ['s1'] },
  },
  {
    name: 'a rule-driven restart waits out the crash back-off like any restart',
    in: input(ruled('Never', [['Restart', 'In', [42]]]), state([sb('s1')], [ctr('c1', 'app', 's1', 'exited', 1, { exitCode: 42 })]), {
      crashBackoffRemaining: () => 5000,
    }),
    want: { sandboxId: 's1', backOff: ['back-off 10s restarting failed container=app pod=web_default(u1)'], requeueAfterMs: 5000 },
  },
  {
    name: 'a container restartPolicy OnFailure in an Always pod: exit 0 stays down, the other container keeps running',
    in: input(
      (() => {
        const p = pod('Always', ['job', 'web']);
        p.spec!.containers![0]!.restartPolicy = 'OnFailure';
        return p;
      })(),
      state([sb('s1')], [ctr('c1', 'job', 's1', 'exited', 1, { exitCode: 0 }), ctr('c2', 'web', 's1', 'running', 1)]),
    ),
    want: { sandboxId: 's1' },
  },
  {
    name: 'RestartAllContainers: every running container killed at once, every instance removed (the trigger last), nothing started yet',
    in: input(restartAllPod(), state([sb('s1')], [setupDone, ctr('c1', 'app', 's1', 'exited', 2, { exitCode: 88 }), ctr('c2', 'other', 's1', 'running', 3)])),
    want: {
      sandboxId: 's1',
      kill: ['c2: Container other will be restarted: Container app exited with code 88, triggering pod restart (grace 0s)'],
      removeContainers: ['c2', 'i1', 'c1'],
    },
  },
  {
    name: 'RestartAllContainers waits for the trigger back-off',
    in: input(restartAllPod(), state([sb('s1')], [setupDone, ctr('c1', 'app', 's1', 'exited', 2, { exitCode: 88 }), ctr('c2', 'other', 's1', 'running', 3)]), {
      crashBackoffRemaining: () => 3000,
    }),
    want: { sandboxId: 's1', backOff: ['back-off 10s restarting failed container=app pod=web_default(u1)'], requeueAfterMs: 3000 },
  },
  {
    name: 'after an in-place restart the same sandbox runs the init container again, counting on from the API',
    in: input(
      {
        ...restartAllPod(),
        status: { initContainerStatuses: [{ name: 'setup', restartCount: 0, lastState: { terminated: { exitCode: 0 } } }] },
      },
      state([sb('s1')], []),
    ),
    want: { sandboxId: 's1', start: ['init:setup#1'] },
  },
  {
    name: 'an exit code no rule matches falls back to the container policy (Never): the other container runs on',
    in: input(restartAllPod(), state([sb('s1')], [setupDone, ctr('c1', 'app', 's1', 'exited', 2, { exitCode: 1 }), ctr('c2', 'other', 's1', 'running', 3)])),
    want: { sandboxId: 's1' },
  },
);

test('a Never pod whose in-place restart was cut short (containers killed, not removed) is not finished', (t) => {
  const killed = state(
    [sb('s1')],
    [setupDone, ctr('c1', 'app', 's1', 'exited', 2, { exitCode: 88 }), ctr('c2', 'other', 's1', 'exited', 3, { exitCode: 137 })],
  );
  t.false(podFinished(restartAllPod(), killed));
  t.deepEqual(summary(planPod(input(restartAllPod(), killed))), { sandboxId: 's1', removeContainers: ['c2', 'i1', 'c1'] });
});

test('a Never pod whose exited container a rule restarts is not finished', (t) => {
  const p = ruled('Never', [['Restart', 'In', [42]]]);
  t.false(podFinished(p, state([sb('s1')], [ctr('c1', 'app', 's1', 'exited', 1, { exitCode: 42 })])));
  t.true(podFinished(p, state([sb('s1')], [ctr('c1', 'app', 's1', 'exited', 1, { exitCode: 0 })])));
});

test('a sidecar that exited non-zero does not finish a Never pod as an init failure', (t) => {
  const st = state([sb('s1')], [ctr('c1', 'sc', 's1', 'exited', 1, { exitCode: 1 })]);
  t.false(podFinished(sidecarPod('Never'), st));
});

for (const c of cases) {
  test(`plan: ${c.name}`, (t) => {
    t.deepEqual(summary(planPod(c.in)), c.want);
  });
}

test('planning twice from the same state gives the same plan (level-triggered)', (t) => {
  const i = input(pod('Always', ['a', 'b']), state([sb('s1')], [ctr('c1', 'a', 's1', 'exited', 1, { exitCode: 1 })]));
  t.deepEqual(summary(planPod(i)), summary(planPod(i)));
});

test('restart policies', (t) => {
  t.true(shouldRestart('Always', 0));
  t.true(shouldRestart('OnFailure', 2));
  t.false(shouldRestart('OnFailure', 0));
  t.false(shouldRestart('Never', 1));
  t.false(podFinished(pod('Always'), state([sb('s1')], [ctr('c1', 'app', 's1', 'exited', 1)])));
  t.true(podFinished(pod('Never'), state([sb('s1')], [ctr('c1', 'app', 's1', 'exited', 1, { exitCode: 9 })])));
  t.false(podFinished(pod('Never'), state([], [])), 'a pod that never ran is not finished');
});
