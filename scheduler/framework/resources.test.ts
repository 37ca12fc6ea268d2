import test from 'ava';
import type { Pod } from '../../api/gen/tsk/v1/core';
import { info, makeNode, makePod } from '../testing';
import { DEFAULT_MEMORY_REQUEST, DEFAULT_MILLI_CPU_REQUEST, controllerUid, podHostPorts, podRequests } from './resources';

function withContainers(containers: Record<string, string>[], init: Record<string, string>[] = []): Pod {
  return {
    metadata: { name: 'p', namespace: 'default' },
    spec: {
      containers: containers.map((requests, i) => ({ name: `c${i}`, resources: { requests } })),
      initContainers: init.map((requests, i) => ({ name: `i${i}`, resources: { requests } })),
    },
  };
}

test('podRequests: containers add up; the largest init container counts if larger', (t) => {
  const pod = withContainers(
    [
      { cpu: '250m', memory: '64Mi' },
      { cpu: '0.5', memory: '64Mi' },
    ],
    [{ cpu: '1', memory: '16Mi' }, { memory: '1Gi' }],
  );
  const r = podRequests(pod);
  t.is(r.milliCpu, 1000);
  t.is(r.memory, 1024 * 1024 * 1024);
  t.deepEqual(r.scalar, {});
});

test('podRequests: a sidecar adds to the app containers and to every init container after it (Kubernetes PodRequests)', (t) => {
  const pod = withContainers(
    [{ cpu: '100m', memory: '100Mi' }],
    [
      { cpu: '200m', memory: '50Mi' },
      { cpu: '1', memory: '10Mi' },
    ],
  );
  pod.spec!.initContainers![0]!.restartPolicy = 'Always';
  const r = podRequests(pod);
  // init i1 runs beside sidecar i0: 1 + 0.2 CPU; afterwards app + sidecar: 150Mi (more than i1 + i0's 60Mi).
  t.is(r.milliCpu, 1200);
  t.is(r.memory, 150 * 1024 * 1024);
});

test('podRequests: extended resources and ephemeral storage are kept by name', (t) => {
  const r = podRequests(withContainers([{ 'example.com/gpu': '2', 'ephemeral-storage': '1Gi' }]));
  t.deepEqual(r.scalar, { 'example.com/gpu': 2, 'ephemeral-storage': 1024 ** 3 });
});

test('podRequests (non-zero): unset cpu and memory count as 100m and 200Mi per container; an explicit 0 stays 0', (t) => {
  const r = podRequests(withContainers([{}, { cpu: '0' }]), true);
  t.is(r.milliCpu, DEFAULT_MILLI_CPU_REQUEST);
  t.is(r.memory, 2 * DEFAULT_MEMORY_REQUEST);
});

test('podHostPorts: only ports with a hostPort, protocol TCP and every address by default', (t) => {
  const pod = makePod('p', { hostPorts: [{ port: 80 }, { port: 53, protocol: 'UDP', ip: '127.0.0.1' }] });
  pod.spec!.containers![0]!.ports!.push({ containerPort: 8080 });
  t.deepEqual(podHostPorts(pod), [
    { protocol: 'TCP', ip: '0.0.0.0', port: 80 },
    { protocol: 'UDP', ip: '127.0.0.1', port: 53 },
  ]);
});

test('controllerUid: the owner marked controller', (t) => {
  t.is(controllerUid(makePod('p', { owner: 'web' })), 'uid-web');
  t.is(controllerUid(makePod('p')), '');
});

test('nodeInfo: allocatable falls back to capacity; sums and owner counts of the pods', (t) => {
  const node = makeNode('n');
  node.status = { capacity: { cpu: '2', memory: '1Gi', pods: '10' } };
  const ni = info(node, [makePod('a', { cpu: '500m', owner: 'web' }), makePod('b', { cpu: '250m', owner: 'web' })]);
  t.is(ni.allocatable.milliCpu, 2000);
  t.is(ni.allowedPods, 10);
  t.is(ni.requested.milliCpu, 750);
  t.is(ni.controllerCounts.get('uid-web'), 2);
});

test('nodeInfo: the fields every searched node is read for repeat the nested values', (t) => {
  const node = makeNode('n', { cpu: '4', memory: '8Gi', unschedulable: true, taints: [{ key: 'k', value: 'v', effect: 'NoSchedule' }] });
  const ni = info(node, [makePod('a', { cpu: '500m', memory: '1Gi' }), makePod('b')]);
  t.true(ni.unschedulable);
  t.deepEqual(ni.taints, node.spec!.taints);
  t.is(ni.podCount, 2);
  t.is(ni.allocatableMilliCpu, ni.allocatable.milliCpu);
  t.is(ni.allocatableMemory, 8 * 1024 ** 3);
  t.is(ni.requestedMilliCpu, 500);
  t.is(ni.requestedMemory, 1024 ** 3);
  t.is(ni.nonZeroRequestedMilliCpu, 500 + DEFAULT_MILLI_CPU_REQUEST, 'b requests nothing: counted at the default for scoring');
  t.is(ni.nonZeroRequestedMemory, 1024 ** 3 + DEFAULT_MEMORY_REQUEST);
  const bare = info(makeNode('m'));
  t.false(bare.unschedulable);
  t.deepEqual(bare.taints, []);
  t.is(bare.podCount, 0);
});

test('podRequests: a pod-level request replaces the containers aggregate for its resource, scoring included (PodLevelResources)', (t) => {
  const pod = withContainers([{ cpu: '250m', memory: '64Mi', 'ephemeral-storage': '1Gi' }, {}]);
  pod.spec!.resources = { requests: { cpu: '2', 'hugepages-2Mi': '4Mi' }, limits: { memory: '1Gi' } };
  const r = podRequests(pod);
  t.is(r.milliCpu, 2000);
  t.is(r.memory, 64 * 1024 * 1024, 'no pod-level memory request: the containers sum');
  t.deepEqual(r.scalar, { 'ephemeral-storage': 1024 ** 3, 'hugepages-2Mi': 4 * 1024 * 1024 });
  const nonZero = podRequests(pod, true);
  t.is(nonZero.milliCpu, 2000, 'the pod-level request, not the defaults per container');
  t.is(nonZero.memory, 64 * 1024 * 1024 + DEFAULT_MEMORY_REQUEST);
});

test('podRequests during an in-place resize: the larger of spec, allocated and actual; only allocated and actual when Infeasible', (t) => {
  const pod: Pod = {
    spec: { containers: [{ name: 'a', resources: { requests: { cpu: '500m', memory: '100Mi' } } }] },
    status: {
      containerStatuses: [{ name: 'a', allocatedResources: { cpu: '800m', memory: '100Mi' }, resources: { requests: { cpu: '800m', memory: '100Mi' } } }],
    },
  };
  t.is(podRequests(pod).milliCpu, 800, 'shrinking: the allocation holds until the kubelet actuates');
  pod.spec!.containers![0]!.resources!.requests!['cpu'] = '1200m';
  t.is(podRequests(pod).milliCpu, 1200, 'growing: the spec counts at once');
  pod.status!.conditions = [{ type: 'PodResizePending', status: 'True', reason: 'Infeasible' }];
  t.is(podRequests(pod).milliCpu, 800, 'an infeasible resize never happens');
});
