import test from 'ava';
import type { Pod } from '../../api/gen/tsk/v1/core';
import { info, makeNode, makePod, podInfo } from '../testing';
import { leastAllocatedScore, nodeResourcesFit } from './node-resources-fit';

interface Case {
  name: string;
  node: { cpu?: string; memory?: string; pods?: string };
  existing: Pod[];
  pod: Pod;
  reasons: string[];
}

const cases: Case[] = [
  { name: 'fits an empty node', node: { cpu: '1' }, existing: [], pod: makePod('p', { cpu: '600m' }), reasons: [] },
  { name: 'exactly fills the node', node: { cpu: '1' }, existing: [makePod('a', { cpu: '400m' })], pod: makePod('p', { cpu: '600m' }), reasons: [] },
  { name: 'cpu short', node: { cpu: '1' }, existing: [makePod('a', { cpu: '600m' })], pod: makePod('p', { cpu: '600m' }), reasons: ['Insufficient cpu'] },
  { name: 'memory short', node: { memory: '1Gi' }, existing: [], pod: makePod('p', { memory: '2Gi' }), reasons: ['Insufficient memory'] },
  {
    name: 'both short',
    node: { cpu: '1', memory: '1Gi' },
    existing: [makePod('a', { cpu: '1', memory: '1Gi' })],
    pod: makePod('p', { cpu: '1m', memory: '1' }),
    reasons: ['Insufficient cpu', 'Insufficient memory'],
  },
  { name: 'no requests fits a full node', node: { cpu: '1' }, existing: [makePod('a', { cpu: '1' })], pod: makePod('p'), reasons: [] },
  { name: 'pod count', node: { pods: '1' }, existing: [makePod('a')], pod: makePod('p'), reasons: ['Too many pods'] },
  { name: 'node reports no pods allowed', node: { pods: '0' }, existing: [], pod: makePod('p'), reasons: ['Too many pods'] },
  {
    name: 'init container larger than the containers counts',
    node: { cpu: '1' },
    existing: [],
    pod: makePod('p', { cpu: '100m', init: [{ name: 'init', resources: { requests: { cpu: '1500m' } } }] }),
    reasons: ['Insufficient cpu'],
  },
  {
    name: 'extended resource',
    node: {},
    existing: [],
    pod: (() => {
      const p = makePod('p');
      p.spec!.containers![0]!.resources = { requests: { 'example.com/gpu': '1' } };
      return p;
    })(),
    reasons: ['Insufficient example.com/gpu'],
  },
];

for (const c of cases) {
  test(`NodeResourcesFit filter: ${c.name}`, (t) => {
    const s = nodeResourcesFit.filter(podInfo(c.pod), info(makeNode('n', c.node), c.existing));
    t.is<string, string>(s.code, c.reasons.length === 0 ? 'Success' : 'Unschedulable');
    t.deepEqual([...s.reasons], c.reasons);
  });
}

test('LeastAllocated: emptier nodes score higher; unset requests count as 100m/200Mi', (t) => {
  const empty = info(makeNode('empty', { cpu: '1', memory: '1Gi' }));
  const half = info(makeNode('half', { cpu: '1', memory: '1Gi' }), [makePod('a', { cpu: '500m', memory: '512Mi' })]);
  const pod = podInfo(makePod('p', { cpu: '100m', memory: '256Mi' }));
  // empty: cpu (1000-100)/1000 = 90, memory (1024-256)/1024 = 75 -> 82; half: cpu 40, memory 25 -> 32.
  t.deepEqual(leastAllocatedScore.score(pod, [empty, half]), [82, 32]);
  // A pod with no requests is scored as 100m and 200Mi: (90 + 80) / 2 = 85 on the empty node.
  t.deepEqual(leastAllocatedScore.score(podInfo(makePod('q')), [empty]), [Math.floor((90 + Math.floor((824 * 100) / 1024)) / 2)]);
});

test('LeastAllocated: a node without allocatable scores 0', (t) => {
  const node = makeNode('n');
  node.status = {};
  t.deepEqual(leastAllocatedScore.score(podInfo(makePod('p')), [info(node)]), [0]);
});
