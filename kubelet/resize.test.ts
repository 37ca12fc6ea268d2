import test from 'ava';
import type { Pod } from '../api/gen/tsk/v1/core';
import { actualRequirements, admitResize, allocationOf, podRequest, resizeConditions, sameAllocation, withAllocation } from './resize';

const node = { cpuMilli: 4000, memoryBytes: 8 * 2 ** 30 };

test('admitResize: larger than the node is Infeasible, larger than what is left is Deferred, else admitted', (t) => {
  t.deepEqual(admitResize({ cpuMilli: 5000, memoryBytes: 0 }, [], node), {
    reason: 'Infeasible',
    message: "Node didn't have enough capacity: cpu, requested: 5000, capacity: 4000",
  });
  t.deepEqual(admitResize({ cpuMilli: 0, memoryBytes: 9 * 2 ** 30 }, [], node), {
    reason: 'Infeasible',
    message: `Node didn't have enough capacity: memory, requested: ${9 * 2 ** 30}, capacity: ${8 * 2 ** 30}`,
  });
  t.deepEqual(admitResize({ cpuMilli: 800, memoryBytes: 0 }, [{ cpuMilli: 3500, memoryBytes: 0 }], node), {
    reason: 'Deferred',
    message: "Node didn't have enough resource: cpu, requested: 800, used: 3500, capacity: 4000",
  });
  t.is(admitResize({ cpuMilli: 500, memoryBytes: 2 ** 30 }, [{ cpuMilli: 3500, memoryBytes: 7 * 2 ** 30 }], node), undefined);
});

function pod(): Pod {
  return {
    metadata: { uid: 'u' },
    spec: {
      initContainers: [{ name: 'init', resources: { requests: { cpu: '2' } } }],
      containers: [
        { name: 'a', resources: { requests: { cpu: '500m', memory: '100Mi' } } },
        { name: 'b', resources: { requests: { cpu: '0.5' } } },
      ],
    },
  };
}

test('podRequest: the containers sum or the largest init container; pod-level requests win', (t) => {
  t.deepEqual(podRequest(pod()), { cpuMilli: 2000, memoryBytes: 100 * 1024 * 1024 });
  const p = pod();
  p.spec!.initContainers = [];
  t.deepEqual(podRequest(p), { cpuMilli: 1000, memoryBytes: 100 * 1024 * 1024 });
  p.spec!.resources = { requests: { cpu: '3', memory: '1Gi' } };
  t.deepEqual(podRequest(p), { cpuMilli: 3000, memoryBytes: 1 << 30 });
});

test('allocations compare quantities by value and replace the spec resources', (t) => {
  const a = allocationOf(pod());
  const b = allocationOf(pod());
  b.containers['b'] = { requests: { cpu: '500m' } };
  t.true(sameAllocation(a, b), '0.5 is 500m');
  b.containers['b'] = { requests: { cpu: '600m' } };
  t.false(sameAllocation(a, b));
  t.is(withAllocation(pod(), b).spec?.containers?.[1]?.resources?.requests?.['cpu'], '600m');
});

test('actualRequirements: the allocation as written when the cgroup matches, else the cgroup values', (t) => {
  const alloc = { requests: { cpu: '700m', memory: '200Mi' }, limits: { cpu: '700m', memory: '200Mi' } };
  t.deepEqual(actualRequirements(alloc, { cpuRequestMilli: 700, cpuLimitMilli: 700, memoryLimitBytes: 200 * 1024 * 1024 }), alloc);
  t.deepEqual(actualRequirements(alloc, { cpuRequestMilli: 500, cpuLimitMilli: 500, memoryLimitBytes: 200 * 1024 * 1024 }), {
    requests: { cpu: '500m', memory: '200Mi' },
    limits: { cpu: '500m', memory: String(200 * 1024 * 1024) },
  });
});

test('resizeConditions: pending and in-progress as Kubernetes words them; the transition time is kept while unchanged', (t) => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  const first = resizeConditions(undefined, now, { pending: { reason: 'Deferred', message: 'm' }, inProgress: true });
  t.deepEqual(first, [
    { type: 'PodResizePending', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z', reason: 'Deferred', message: 'm' },
    { type: 'PodResizeInProgress', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' },
  ]);
  const later = resizeConditions(first, now + 5000, { pending: { reason: 'Deferred', message: 'm' }, inProgress: false, error: 'e' });
  t.is(later[0]?.lastTransitionTime, '2026-01-01T00:00:00Z');
  t.deepEqual(later[1], { type: 'PodResizeInProgress', status: 'True', lastTransitionTime: '2026-01-01T00:00:05Z', reason: 'Error', message: 'e' });
  t.deepEqual(resizeConditions(first, now, { inProgress: false }), []);
});
