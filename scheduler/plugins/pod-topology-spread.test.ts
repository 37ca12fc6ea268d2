import test from 'ava';
import type { TopologySpreadConstraint } from '../../api/gen/tsk/v1/core';
import { findFeasibleNodes, fitErrorMessage } from '../framework/framework';
import type { NodeInfo } from '../framework/types';
import { info, makeNode, makePod, podInfo } from '../testing';
import { nodeSelector } from './node-selector';
import { podTopologySpreadFilter } from './pod-topology-spread';

const ZONE = 'zone';

const foo = (name: string, nodeName = '', extra: Parameters<typeof makePod>[1] = {}): ReturnType<typeof makePod> =>
  makePod(name, { labels: { foo: 'bar' }, nodeName, ...extra });

function node(name: string, zone: string | undefined, pods = 0): NodeInfo {
  const labels: Record<string, string> = { node: name };
  if (zone !== undefined) labels[ZONE] = zone;
  return info(
    makeNode(name, { labels }),
    Array.from({ length: pods }, (_, i) => foo(`${name}-p${i}`, name)),
  );
}

const spread = (o: Partial<TopologySpreadConstraint> = {}): TopologySpreadConstraint => ({
  maxSkew: 1,
  topologyKey: ZONE,
  whenUnsatisfiable: 'DoNotSchedule',
  labelSelector: { matchLabels: { foo: 'bar' } },
  ...o,
});

function feasible(pod: ReturnType<typeof makePod>, nodes: NodeInfo[], filters = [podTopologySpreadFilter]): { names: string[]; message: string } {
  const out = findFeasibleNodes(filters, podInfo(pod), nodes);
  return { names: out.feasible.map((n) => n.name), message: fitErrorMessage(nodes.length, out.reasons) };
}

// Kubernetes' documentation example: zoneA has 2 matching pods (node1, node2), zoneB has 1 (node3) and node4 none.
const docNodes = (): NodeInfo[] => [node('node1', 'zoneA', 1), node('node2', 'zoneA', 1), node('node3', 'zoneB', 1), node('node4', 'zoneB')];

test('PodTopologySpread: maxSkew 1 over zones sends the pod to the emptier zone', (t) => {
  t.deepEqual(feasible(foo('mypod', '', { topologySpreadConstraints: [spread()] }), docNodes()).names, ['node3', 'node4']);
  t.deepEqual(feasible(foo('mypod', '', { topologySpreadConstraints: [spread({ maxSkew: 2 })] }), docNodes()).names, ['node1', 'node2', 'node3', 'node4']);
});

test('PodTopologySpread: two constraints (zone and node) must both hold', (t) => {
  const pod = foo('mypod', '', { topologySpreadConstraints: [spread(), spread({ topologyKey: 'node' })] });
  t.deepEqual(feasible(pod, docNodes()).names, ['node4']);
});

test("PodTopologySpread: a node without the topology key fails with Kubernetes' reason", (t) => {
  const nodes = [node('a', undefined), node('b', undefined)];
  t.is(
    feasible(foo('p', '', { topologySpreadConstraints: [spread()] }), nodes).message,
    "0/2 nodes are available: 2 node(s) didn't match pod topology spread constraints (missing required label).",
  );
});

test('PodTopologySpread: skew counts only matching pods of the same namespace, and the pod itself only if it matches', (t) => {
  const nodes = [
    info(makeNode('n1', { labels: { [ZONE]: 'a' } }), [foo('x', 'n1'), foo('y', 'n1', { namespace: 'other' })]),
    info(makeNode('n2', { labels: { [ZONE]: 'b' } }), [makePod('z', { nodeName: 'n2', labels: { foo: 'baz' } })]),
  ];
  t.deepEqual(feasible(foo('p', '', { topologySpreadConstraints: [spread()] }), nodes).names, ['n2']);
  // A pod that does not match its own selector adds no skew: 1 - 0 <= 1 everywhere.
  t.deepEqual(feasible(makePod('q', { topologySpreadConstraints: [spread()] }), nodes).names, ['n1', 'n2']);
});

test('PodTopologySpread: with fewer domains than minDomains the global minimum counts as 0', (t) => {
  const nodes = [node('n1', 'a', 1), node('n2', 'b', 1)];
  t.deepEqual(feasible(foo('p', '', { topologySpreadConstraints: [spread()] }), nodes).names, ['n1', 'n2']);
  t.deepEqual(feasible(foo('p', '', { topologySpreadConstraints: [spread({ minDomains: 3 })] }), nodes).names, []);
});

test('PodTopologySpread: nodeAffinityPolicy Honor leaves nodes the pod cannot use out of the domains', (t) => {
  // zoneC (node5) is excluded by the pod's node affinity, so its 0 is not the minimum.
  const nodes = [...docNodes().slice(0, 3), node('node5', 'zoneC')];
  const affinity = {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: ZONE, operator: 'NotIn', values: ['zoneC'] }] }] },
    },
  };
  const pod = foo('mypod', '', { topologySpreadConstraints: [spread()], affinity });
  t.deepEqual(feasible(pod, nodes, [nodeSelector, podTopologySpreadFilter]).names, ['node3']);
  const ignore = foo('mypod', '', { topologySpreadConstraints: [spread({ nodeAffinityPolicy: 'Ignore' })], affinity });
  t.deepEqual(feasible(ignore, nodes, [nodeSelector, podTopologySpreadFilter]).names, []);
});

test("PodTopologySpread: matchLabelKeys adds the pod's own value of the key to the selector", (t) => {
  const nodes = [
    info(makeNode('n1', { labels: { [ZONE]: 'a' } }), [foo('old', 'n1', { labels: { foo: 'bar', hash: 'v1' } })]),
    info(makeNode('n2', { labels: { [ZONE]: 'b' } })),
  ];
  const pod = foo('new', '', { labels: { foo: 'bar', hash: 'v2' }, topologySpreadConstraints: [spread({ matchLabelKeys: ['hash'] })] });
  t.deepEqual(feasible(pod, nodes).names, ['n1', 'n2']);
});

test('PodTopologySpread: ScheduleAnyway constraints do not filter', (t) => {
  t.deepEqual(feasible(foo('p', '', { topologySpreadConstraints: [spread({ whenUnsatisfiable: 'ScheduleAnyway' })] }), docNodes()).names.length, 4);
});
