import test from 'ava';
import type { Taint, Toleration } from '../../api/gen/tsk/v1/core';
import { info, makeNode, makePod, podInfo } from '../testing';
import { taintTolerationFilter, taintTolerationScore } from './taint-toleration';

const notReady: Taint = { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' };
const gpu: Taint = { key: 'dedicated', value: 'gpu', effect: 'NoExecute' };
const prefer: Taint = { key: 'spot', value: 'true', effect: 'PreferNoSchedule' };

const cases: { name: string; taints: Taint[]; tolerations: Toleration[]; want: string; reason?: string }[] = [
  { name: 'no taints', taints: [], tolerations: [], want: 'Success' },
  {
    name: 'NoSchedule not tolerated',
    taints: [notReady],
    tolerations: [],
    want: 'Unschedulable',
    reason: 'node(s) had untolerated taint {node.kubernetes.io/not-ready: }',
  },
  { name: 'NoExecute not tolerated', taints: [gpu], tolerations: [], want: 'Unschedulable', reason: 'node(s) had untolerated taint {dedicated: gpu}' },
  {
    name: 'NoExecute tolerated with Equal',
    taints: [gpu],
    tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoExecute' }],
    want: 'Success',
  },
  {
    name: 'NoExecute with wrong value',
    taints: [gpu],
    tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'cpu' }],
    want: 'Unschedulable',
    reason: 'node(s) had untolerated taint {dedicated: gpu}',
  },
  { name: 'PreferNoSchedule never filters', taints: [prefer], tolerations: [], want: 'Success' },
  { name: 'everything tolerated by empty key Exists', taints: [notReady, gpu], tolerations: [{ operator: 'Exists' }], want: 'Success' },
  {
    name: 'first untolerated taint is named',
    taints: [notReady, gpu],
    tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists' }],
    want: 'Unschedulable',
    reason: 'node(s) had untolerated taint {dedicated: gpu}',
  },
];

for (const c of cases) {
  test(`TaintToleration filter: ${c.name}`, (t) => {
    const s = taintTolerationFilter.filter(podInfo(makePod('p', { tolerations: c.tolerations })), info(makeNode('n', { taints: c.taints })));
    t.is<string, string>(s.code, c.want);
    if (c.reason) t.deepEqual(s.reasons, [c.reason]);
  });
}

test('TaintToleration score: fewer untolerated PreferNoSchedule taints score higher', (t) => {
  const nodes = [
    info(makeNode('clean')),
    info(makeNode('one', { taints: [prefer] })),
    info(makeNode('two', { taints: [prefer, { key: 'old', effect: 'PreferNoSchedule' }] })),
  ];
  t.deepEqual(taintTolerationScore.score(podInfo(makePod('p')), nodes), [100, 50, 0]);
  const tolerant = podInfo(makePod('q', { tolerations: [{ operator: 'Exists' }] }));
  t.deepEqual(taintTolerationScore.score(tolerant, nodes), [100, 100, 100]);
});
