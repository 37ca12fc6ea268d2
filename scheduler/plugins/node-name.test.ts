import test from 'ava';
import { info, makeNode, makePod, podInfo } from '../testing';
import { ERR_REASON_NODE_NAME, nodeName } from './node-name';

const cases = [
  { name: 'no nodeName fits every node', nodeName: '', want: 'Success' },
  { name: 'nodeName of this node', nodeName: 'n1', want: 'Success' },
  { name: 'nodeName of another node', nodeName: 'n2', want: 'Unschedulable' },
];

for (const c of cases) {
  test(`NodeName: ${c.name}`, (t) => {
    const s = nodeName.filter(podInfo(makePod('p', { nodeName: c.nodeName })), info(makeNode('n1')));
    t.is<string, string>(s.code, c.want);
    if (c.want !== 'Success') t.deepEqual(s.reasons, [ERR_REASON_NODE_NAME]);
  });
}
