import test from 'ava';
import type { PodSpec } from './gen/tsk/v1/core';
import {
  aggregateContainerLimits,
  aggregateContainerRequests,
  isPodLevelRequestsSet,
  isPodLevelResourcesSet,
  isSupportedPodLevelResource,
} from './pod-resources';

test('supported pod-level resources: cpu, memory and hugepages only', (t) => {
  t.deepEqual(['cpu', 'memory', 'hugepages-2Mi', 'ephemeral-storage', 'pids', 'example.com/gpu'].map(isSupportedPodLevelResource), [
    true,
    true,
    true,
    false,
    false,
    false,
  ]);
});

test('pod-level resources count as set only with a supported name', (t) => {
  t.false(isPodLevelResourcesSet({}));
  t.false(isPodLevelResourcesSet({ resources: {} }));
  t.false(isPodLevelResourcesSet({ resources: { limits: { 'ephemeral-storage': '1Gi' } } }));
  t.true(isPodLevelResourcesSet({ resources: { limits: { memory: '1Gi' } } }));
  t.false(isPodLevelRequestsSet({ resources: { limits: { memory: '1Gi' } } }));
  t.true(isPodLevelRequestsSet({ resources: { requests: { cpu: '1' } } }));
});

test('aggregates: containers add up, the largest init container wins when larger', (t) => {
  const spec: PodSpec = {
    containers: [
      { name: 'a', resources: { requests: { cpu: '250m', memory: '64Mi' }, limits: { memory: '128Mi' } } },
      { name: 'b', resources: { requests: { cpu: '0.5' } } },
    ],
    initContainers: [{ name: 'i', resources: { requests: { cpu: '1', memory: '16Mi' }, limits: { memory: '1Gi' } } }],
  };
  const req = aggregateContainerRequests(spec);
  t.is(req.get('cpu')?.toString(), '1');
  t.is(req.get('memory')?.toString(), '64Mi');
  t.is(aggregateContainerLimits(spec).get('memory')?.toString(), '1Gi');
  t.is(aggregateContainerRequests(undefined).size, 0);
});
