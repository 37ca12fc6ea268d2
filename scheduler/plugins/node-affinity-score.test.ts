import test from 'ava';
import { info, makeNode, makePod, podInfo } from '../testing';
import { nodeAffinityScore } from './node-affinity-score';

const nodes = [
  info(makeNode('a', { labels: { 'label-1': 'key-1' } })),
  info(makeNode('b', { labels: { 'label-2': 'key-2' } })),
  info(makeNode('c', { labels: { 'label-1': 'key-1', 'label-2': 'key-2' } })),
  info(makeNode('d', {})),
];

test("preferred terms: a node scores the sum of the weights it matches, scaled so the best is 100 (the documentation's weight example)", (t) => {
  const pod = makePod('p');
  pod.spec!.affinity = {
    nodeAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        { weight: 1, preference: { matchExpressions: [{ key: 'label-1', operator: 'In', values: ['key-1'] }] } },
        { weight: 50, preference: { matchExpressions: [{ key: 'label-2', operator: 'In', values: ['key-2'] }] } },
      ],
    },
  };
  t.deepEqual(nodeAffinityScore.score(podInfo(pod), nodes), [Math.floor(100 / 51), Math.floor(5000 / 51), 100, 0]);
});

test('without preferred terms, or when no node matches one, every node scores 0', (t) => {
  t.deepEqual(nodeAffinityScore.score(podInfo(makePod('p')), nodes), [0, 0, 0, 0]);
  const pod = makePod('q');
  pod.spec!.affinity = { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, preference: {} }] } };
  t.deepEqual(nodeAffinityScore.score(podInfo(pod), nodes), [0, 0, 0, 0], 'an empty preference matches no node');
});
