// Probes: thresholds, defaults, timing (initial delay, period) on a fake
// clock, exec against a fake runtime, events, and ports by name.

import test from 'ava';
import type { Pod } from '../api/gen/tsk/v1/core';
import { FakeClock } from '../client';
import { LABEL_CONTAINER_NAME, readRuntimeState } from './pod-runtime';
import { ProbeCounter, ProbeManager, probeSettings, resolvePort, runProbe } from './probes';
import { FakeRuntime } from './testing/fake-runtime';

test('defaults as Kubernetes: period 10 s, timeout 1 s, 1 success, 3 failures', (t) => {
  t.deepEqual(probeSettings({}), { initialDelayMs: 0, periodMs: 10_000, timeoutMs: 1000, successThreshold: 1, failureThreshold: 3 });
  t.deepEqual(probeSettings({ initialDelaySeconds: 5, periodSeconds: 2, timeoutSeconds: 3, successThreshold: 2, failureThreshold: 1 }), {
    initialDelayMs: 5000,
    periodMs: 2000,
    timeoutMs: 3000,
    successThreshold: 2,
    failureThreshold: 1,
  });
});

test('the result flips only after the thresholds in a row', (t) => {
  const c = new ProbeCounter({ successThreshold: 2, failureThreshold: 3 }, true);
  t.false(c.record(false));
  t.false(c.record(false));
  t.false(c.record(true), 'a success resets the failures');
  t.false(c.record(false));
  t.false(c.record(false));
  t.true(c.record(false));
  t.false(c.result);
  t.false(c.record(true));
  t.true(c.record(true));
  t.true(c.result);
});

test('ports by number or by the container port name', (t) => {
  const c = { name: 'web', ports: [{ name: 'http', containerPort: 8080 }] };
  t.is(resolvePort({ type: 0, intVal: 80 }, c), 80);
  t.is(resolvePort({ type: 1, strVal: 'http' }, c), 8080);
  t.is(resolvePort({ type: 1, strVal: 'nope' }, c), undefined);
});

test('exec probe: exit 0 passes; otherwise the output is the failure; http without a pod IP fails clearly', async (t) => {
  const rt = new FakeRuntime();
  rt.execResults.set('false', { exitCode: 1, stdout: 'not healthy\n', stderr: '' });
  t.deepEqual(await runProbe(rt, { exec: { command: ['true'] } }, { name: 'c' }, 'id', '', 1000), { ok: true, output: '' });
  t.deepEqual(await runProbe(rt, { exec: { command: ['false'] } }, { name: 'c' }, 'id', '', 1000), { ok: false, output: 'not healthy' });
  t.deepEqual(await runProbe(rt, { httpGet: { port: { type: 0, intVal: 80 } } }, { name: 'c' }, 'id', '', 1000), {
    ok: false,
    output: 'the pod has no IP address to probe',
  });
});

async function runningPod(rt: FakeRuntime, pod: Pod): Promise<string> {
  const sb = await rt.createSandbox({ name: 'web', namespace: 'default', uid: 'u1', labels: { 'io.kubernetes.pod.uid': 'u1' } });
  const id = await rt.createContainer(sb, { name: 'app', image: 'img', labels: { [LABEL_CONTAINER_NAME]: 'app' } });
  await rt.startContainer(id);
  void pod;
  return id;
}

test('liveness: after the initial delay, every period; failureThreshold failures mark it failed, with Unhealthy events', async (t) => {
  const clock = new FakeClock();
  const rt = new FakeRuntime(() => clock.now());
  rt.execResults.set('check', { exitCode: 1, stdout: '', stderr: 'dead\n' });
  const pod: Pod = {
    metadata: { name: 'web', namespace: 'default', uid: 'u1' },
    spec: { containers: [{ name: 'app', livenessProbe: { exec: { command: ['check'] }, initialDelaySeconds: 5, periodSeconds: 2, failureThreshold: 2 } }] },
  };
  const id = await runningPod(rt, pod);
  const changes: string[] = [];
  const events: string[] = [];
  const m = new ProbeManager({
    runtime: rt,
    clock,
    onChange: (uid) => changes.push(uid),
    event: (_p, c, type, reason, msg) => events.push(`${type} ${reason} ${c}: ${msg}`),
  });
  m.update(pod, (await readRuntimeState(rt)).get('u1')!);
  await clock.advance(4000);
  t.is(rt.calls.filter((c) => c.startsWith('exec')).length, 0, 'nothing before the initial delay');
  await clock.advance(1010); // the fake runtime's start time is a few ms after "now"
  t.is(rt.calls.filter((c) => c.startsWith('exec')).length, 1);
  t.false(m.livenessFailed(id));
  await clock.advance(2000);
  t.true(m.livenessFailed(id));
  t.deepEqual(changes, ['u1']);
  t.deepEqual(events, ['Warning Unhealthy app: Liveness probe failed: dead', 'Warning Unhealthy app: Liveness probe failed: dead']);
  m.removePod('u1');
  await clock.advance(10_000);
  t.is(rt.calls.filter((c) => c.startsWith('exec')).length, 2, 'a removed pod is probed no more');
});

test('readiness starts not ready and turns ready after a success', async (t) => {
  const clock = new FakeClock();
  const rt = new FakeRuntime(() => clock.now());
  const pod: Pod = {
    metadata: { name: 'web', namespace: 'default', uid: 'u1' },
    spec: { containers: [{ name: 'app', readinessProbe: { exec: { command: ['true'] }, periodSeconds: 1 } }] },
  };
  const id = await runningPod(rt, pod);
  const changes: string[] = [];
  const m = new ProbeManager({ runtime: rt, clock, onChange: (uid) => changes.push(uid), event: () => undefined });
  m.update(pod, (await readRuntimeState(rt)).get('u1')!);
  t.false(m.readiness(id));
  await clock.advance(10);
  t.true(m.readiness(id));
  t.deepEqual(changes, ['u1']);
  rt.exit(id, 0);
  m.update(pod, (await readRuntimeState(rt)).get('u1')!);
  t.is(m.readiness(id), undefined, 'the worker of a stopped container is gone');
  m.stop();
});

test('startup probe: liveness and readiness wait for it; it stops once passed; failing it marks the container for a kill', async (t) => {
  const clock = new FakeClock();
  const rt = new FakeRuntime(() => clock.now());
  rt.execResults.set('booting', { exitCode: 1, stdout: 'not yet', stderr: '' });
  const pod: Pod = {
    metadata: { name: 'web', namespace: 'default', uid: 'u1' },
    spec: {
      containers: [
        {
          name: 'app',
          startupProbe: { exec: { command: ['booting'] }, periodSeconds: 1, failureThreshold: 3 },
          livenessProbe: { exec: { command: ['live'] }, periodSeconds: 1 },
        },
      ],
    },
  };
  const id = await runningPod(rt, pod);
  const events: string[] = [];
  const m = new ProbeManager({ runtime: rt, clock, onChange: () => undefined, event: (_p, _c, _t, reason, msg) => events.push(`${reason}: ${msg}`) });
  const sync = async (): Promise<void> => m.update(pod, (await readRuntimeState(rt)).get('u1')!);
  await sync();
  t.is(m.started(id), false);
  await clock.advance(1100);
  await sync();
  t.false(
    rt.calls.some((c) => c.includes(' live')),
    'no liveness probe before the startup probe passed',
  );
  t.false(m.startupFailed(id));
  rt.execResults.delete('booting');
  await clock.advance(1000);
  t.true(m.started(id));
  await sync();
  await clock.advance(10);
  t.true(
    rt.calls.some((c) => c.includes(' live')),
    'liveness runs after startup',
  );
  const startupRuns = rt.calls.filter((c) => c.includes('booting')).length;
  await clock.advance(5000);
  t.is(rt.calls.filter((c) => c.includes('booting')).length, startupRuns, 'the startup probe stopped');
  t.deepEqual(events, ['Unhealthy: Startup probe failed: not yet', 'Unhealthy: Startup probe failed: not yet']);

  const failing = new ProbeManager({ runtime: rt, clock, onChange: () => undefined, event: () => undefined });
  rt.execResults.set('booting', { exitCode: 1, stdout: '', stderr: '' });
  failing.update(pod, (await readRuntimeState(rt)).get('u1')!);
  await clock.advance(3100);
  t.true(failing.startupFailed(id));
  m.stop();
  failing.stop();
});
