import test from 'ava';
import type { TopologySpreadConstraint } from '../../api/gen/tsk/v1/core';
import { CycleState, type NodeInfo } from '../framework/types';
import { info, makeNode, makePod, podInfo } from '../testing';
import { podTopologySpreadScore } from './pod-topology-spread-score';

const foo = (name: string, nodeName = ''): ReturnType<typeof makePod> => makePod(name, { labels: { foo: 'bar' }, nodeName });

function node(name: string, labels: Record<string, string>, pods: number): NodeInfo {
  return info(
    makeNode(name, { labels }),
    Array.from({ length: pods }, (_, i) => foo(`${name}-${i}`, name)),
  );
}

const anyway = (topologyKey: string): TopologySpreadConstraint => ({
  maxSkew: 1,
  topologyKey,
  whenUnsatisfiable: 'ScheduleAnyway',
  labelSelector: { matchLabels: { foo: 'bar' } },
});

function scores(constraints: TopologySpreadConstraint[], nodes: NodeInfo[], all = nodes): number[] {
  const pod = makePod('p', { labels: { foo: 'bar' }, topologySpreadConstraints: constraints });
  return podTopologySpreadScore.score(podInfo(pod), nodes, new CycleState(all));
}

test("PodTopologySpread score: fewer matching pods in the node's zone scores higher", (t) => {
  const nodes = [node('a1', { zone: 'a' }, 2), node('a2', { zone: 'a' }, 1), node('b1', { zone: 'b' }, 1), node('c1', { zone: 'c' }, 0)];
  // Raw: zone a 3*log(5) = 4.83 -> 5, b log(5) = 1.6 -> 2, c 0; normalized 100 * (5 + 0 - s) / 5.
  t.deepEqual(scores([anyway('zone')], nodes), [0, 0, 60, 100]);
});

test('PodTopologySpread score: hostname counts per node; nodes without the key score 0', (t) => {
  const nodes = [node('n1', { 'kubernetes.io/hostname': 'n1' }, 2), node('n2', { 'kubernetes.io/hostname': 'n2' }, 0), node('x', {}, 0)];
  // Two considered nodes: weight log(4); raw n1 2*1.386 = 2.77 -> 3, n2 0.
  t.deepEqual(scores([anyway('kubernetes.io/hostname')], nodes), [0, 100, 0]);
});

test('PodTopologySpread score: pods on infeasible nodes of a feasible zone still count', (t) => {
  const busy = node('a2', { zone: 'a' }, 3);
  const nodes = [node('a1', { zone: 'a' }, 0), node('b1', { zone: 'b' }, 1)];
  // Weight log(4): raw zone a 3 * 1.386 = 4.16 -> 4, b 1.386 -> 1; normalized 100 * (4 + 1 - s) / 4.
  t.deepEqual(scores([anyway('zone')], nodes, [...nodes, busy]), [25, 100]);
});

test('PodTopologySpread score: only DoNotSchedule constraints give no score; no constraints fall back to OwnerSpread', (t) => {
  const nodes = [node('a1', { zone: 'a' }, 2), node('b1', { zone: 'b' }, 0)];
  t.deepEqual(scores([{ ...anyway('zone'), whenUnsatisfiable: 'DoNotSchedule' }], nodes), [0, 0]);
  const owned = [info(makeNode('x'), [makePod('w1', { owner: 'web', nodeName: 'x' })]), info(makeNode('y'))];
  t.deepEqual(podTopologySpreadScore.score(podInfo(makePod('w2', { owner: 'web' })), owned, new CycleState(owned)), [0, 100]);
});
