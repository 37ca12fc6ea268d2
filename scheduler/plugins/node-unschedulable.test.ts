import test from 'ava';
import { info, makeNode, makePod, podInfo } from '../testing';
import { ERR_REASON_UNSCHEDULABLE, nodeUnschedulable } from './node-unschedulable';

const cases = [
  { name: 'schedulable node', unschedulable: false, tolerations: [], want: 'Success' },
  { name: 'cordoned node', unschedulable: true, tolerations: [], want: 'Unschedulable' },
  {
    name: 'cordoned node, pod tolerates the unschedulable taint',
    unschedulable: true,
    tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }],
    want: 'Success',
  },
  { name: 'cordoned node, pod tolerates everything', unschedulable: true, tolerations: [{ operator: 'Exists' }], want: 'Success' },
  {
    name: 'cordoned node, toleration of another effect',
    unschedulable: true,
    tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoExecute' }],
    want: 'Unschedulable',
  },
];

for (const c of cases) {
  test(`NodeUnschedulable: ${c.name}`, (t) => {
    const s = nodeUnschedulable.filter(podInfo(makePod('p', { tolerations: c.tolerations })), info(makeNode('n', { unschedulable: c.unschedulable })));
    t.is<string, string>(s.code, c.want);
    if (c.want !== 'Success') t.deepEqual(s.reasons, [ERR_REASON_UNSCHEDULABLE]);
  });
}
