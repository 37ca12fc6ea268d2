import test from 'ava';
import type { PodAffinityTerm } from '../../api/gen/tsk/v1/core';
import { CycleState, type NodeInfo } from '../framework/types';
import { info, makeNode, makePod, podInfo } from '../testing';
import { interPodAffinityScore } from './inter-pod-affinity-score';

const ZONE = 'topology.kubernetes.io/zone';

function node(name: string, zone: string, pods: ReturnType<typeof makePod>[] = []): NodeInfo {
  return info(makeNode(name, { labels: { [ZONE]: zone } }), pods);
}

const term = (labels: Record<string, string>): PodAffinityTerm => ({ labelSelector: { matchLabels: labels }, topologyKey: ZONE });

function scores(pod: ReturnType<typeof makePod>, nodes: NodeInfo[]): number[] {
  return interPodAffinityScore.score(podInfo(pod), nodes, new CycleState(nodes));
}

test('InterPodAffinity score: preferred affinity and anti-affinity weights per zone, normalized between min and max', (t) => {
  const nodes = [
    node('n1', 'a', [makePod('s1', { labels: { security: 'S1' }, nodeName: 'n1' })]),
    node('n2', 'b', [makePod('s2', { labels: { security: 'S2' }, nodeName: 'n2' })]),
    node('n3', 'c'),
  ];
  const pod = makePod('p', {
    affinity: {
      podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, podAffinityTerm: term({ security: 'S1' }) }] },
      podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: term({ security: 'S2' }) }] },
    },
  });
  // Raw: a +50, b -100, c 0 -> (s - min) / (max - min).
  t.deepEqual(scores(pod, nodes), [100, 0, 66]);
});

test("InterPodAffinity score: existing pods' terms count for a pod without preferences (symmetry, hard weight 1)", (t) => {
  const hard = makePod('h', { nodeName: 'n1', affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'web' })] } } });
  const soft = makePod('s', {
    nodeName: 'n2',
    affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, podAffinityTerm: term({ app: 'web' }) }] } },
  });
  const nodes = [node('n1', 'a', [hard]), node('n2', 'b', [soft]), node('n3', 'c')];
  // Raw: a +1, b -10, c 0.
  t.deepEqual(scores(makePod('web', { labels: { app: 'web' } }), nodes), [100, 0, 90]);
});

test('InterPodAffinity score: nothing to prefer scores every node 0', (t) => {
  const nodes = [node('n1', 'a', [makePod('x', { nodeName: 'n1' })]), node('n2', 'b')];
  t.deepEqual(scores(makePod('p'), nodes), [0, 0]);
});
