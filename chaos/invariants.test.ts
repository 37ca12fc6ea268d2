import test from 'ava';
import type { Endpoints, Namespace, Node, Pod, ReplicationController, Service } from '../api/gen/tsk/v1/core';
import {
  checkNodesReady,
  checkEndpoints,
  checkOrphanContainers,
  checkPodsOnNodes,
  checkReplicas,
  type ClusterSnapshot,
  type NodeContainer,
} from './invariants';

const rc = (replicas: number): ReplicationController =>
  ({ metadata: { name: 'web', namespace: 'chaos-1', uid: 'rc1' }, spec: { replicas } }) as ReplicationController;

function pod(name: string, o: { node?: string; ready?: boolean; ip?: string; deleting?: boolean; phase?: string } = {}): Pod {
  return {
    metadata: {
      name,
      namespace: 'chaos-1',
      uid: `u-${name}`,
      labels: { app: 'web' },
      ownerReferences: [{ kind: 'ReplicationController', name: 'web', uid: 'rc1', controller: true }],
      ...(o.deleting ? { deletionTimestamp: '2026-12-07T00:00:00Z' } : {}),
    },
    spec: { nodeName: o.node ?? 'n1' },
    status: {
      phase: o.phase ?? 'Running',
      podIP: o.ip ?? `10.0.0.${name.length}`,
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }],
    },
  } as Pod;
}

const container = (p: string, node = 'n1', sandboxId = `sb-${p}`): NodeContainer => ({
  node,
  podUid: `u-${p}`,
  pod: `chaos-1/${p}`,
  container: 'httpd',
  sandboxId,
});

function snap(s: Partial<ClusterSnapshot>): ClusterSnapshot {
  return { pods: [], rcs: [], services: [], endpoints: [], namespaces: [], nodes: [], configMaps: [], containers: [], ...s };
}

test('replicas: exactly spec.replicas pods, all Running and Ready; terminating pods do not count', (t) => {
  t.deepEqual(checkReplicas(snap({ rcs: [rc(2)], pods: [pod('a'), pod('b'), pod('c', { deleting: true })] })), []);
  t.deepEqual(
    checkReplicas(snap({ rcs: [rc(2)], pods: [pod('a'), pod('b', { ready: false })] })).map((v) => v.text),
    ['rc chaos-1/web wants 2 replicas: 2 pod(s), 1 Running and Ready'],
  );
  t.is(checkReplicas(snap({ rcs: [rc(1)], pods: [pod('a'), pod('b')] })).length, 1);
  // A namespace being deleted is checked by the ledger, not here.
  const deleting = { metadata: { name: 'chaos-1', deletionTimestamp: '2026-12-07T00:00:00Z' } } as Namespace;
  t.deepEqual(checkReplicas(snap({ rcs: [rc(3)], namespaces: [deleting] })), []);
});

test('pods on nodes: two nodes, two sandboxes, or Running without a container or an IP are violations', (t) => {
  t.deepEqual(checkPodsOnNodes(snap({ pods: [pod('a')], containers: [container('a')] })), []);
  t.deepEqual(
    checkPodsOnNodes(snap({ pods: [pod('a')], containers: [container('a'), container('a', 'n2')] })).map((v) => v.text),
    ['pod chaos-1/a (uid u-a) runs on 2 nodes: n1, n2'],
  );
  t.deepEqual(
    checkPodsOnNodes(snap({ pods: [pod('a')], containers: [container('a'), container('a', 'n1', 'other')] })).map((v) => v.text),
    ['pod chaos-1/a (uid u-a) runs twice on n1: sandboxes n1/sb-a, n1/other'],
  );
  t.deepEqual(
    checkPodsOnNodes(snap({ pods: [pod('a', { ip: '' })] })).map((v) => v.text),
    ['pod chaos-1/a is Running in the API but no container of it runs on its node n1', 'pod chaos-1/a is Running on n1 without an IP'],
  );
});

test('orphan containers: no pod, or a pod bound elsewhere', (t) => {
  t.deepEqual(checkOrphanContainers(snap({ pods: [pod('a')], containers: [container('a')] })), []);
  t.deepEqual(
    checkOrphanContainers(snap({ pods: [pod('a', { node: 'n2' })], containers: [container('a'), container('x')] })).map((v) => v.text),
    [
      'container httpd of pod chaos-1/a runs on n1 but the pod is bound to n2',
      'container httpd of pod chaos-1/x (uid u-x) runs on n1 but the pod does not exist',
    ],
  );
});

test('endpoints list exactly the ready pods of the Service', (t) => {
  const svc = { metadata: { name: 'web', namespace: 'chaos-1' }, spec: { selector: { app: 'web' } } } as Service;
  const ep = (...ips: string[]): Endpoints =>
    ({ metadata: { name: 'web', namespace: 'chaos-1' }, subsets: [{ addresses: ips.map((ip) => ({ ip })) }] }) as Endpoints;
  const pods = [pod('a', { ip: '10.0.0.1' }), pod('b', { ip: '10.0.0.2', ready: false }), pod('c', { ip: '10.0.0.3', deleting: true })];
  t.deepEqual(checkEndpoints(snap({ services: [svc], pods, endpoints: [ep('10.0.0.1')] })), []);
  t.deepEqual(
    checkEndpoints(snap({ services: [svc], pods, endpoints: [ep('10.0.0.1', '10.0.0.3')] })).map((v) => v.text),
    ['service chaos-1/web: endpoints [10.0.0.1, 10.0.0.3], its ready pods [10.0.0.1]'],
  );
  t.deepEqual(
    checkEndpoints(snap({ services: [svc], pods })).map((v) => v.text),
    ['service chaos-1/web: endpoints [], its ready pods [10.0.0.1] (no Endpoints object)'],
  );
});

test('machines: every lab node has a Ready Node', (t) => {
  const node = (name: string, status: string): Node =>
    ({ metadata: { name }, status: { conditions: [{ type: 'Ready', status, reason: status === 'True' ? 'KubeletReady' : 'NodeStatusUnknown' }] } }) as Node;
  t.deepEqual(checkNodesReady(snap({ nodes: [node('n1', 'True'), node('n2', 'True')] }), ['n1', 'n2']), []);
  t.deepEqual(
    checkNodesReady(snap({ nodes: [node('n1', 'Unknown')] }), ['n1', 'n2']).map((v) => v.text),
    ['node n1 is not Ready (NodeStatusUnknown)', 'node n2 is not Ready (no Node object)'],
  );
});
