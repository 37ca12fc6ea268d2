import test from 'ava';
import { info, makeNode, makePod, podInfo } from '../testing';
import { ERR_REASON_NODE_SELECTOR, nodeSelector } from './node-selector';

const cases: { name: string; selector: Record<string, string>; labels: Record<string, string>; want: string }[] = [
  { name: 'no selector', selector: {}, labels: {}, want: 'Success' },
  { name: 'matching label', selector: { disk: 'ssd' }, labels: { disk: 'ssd', zone: 'a' }, want: 'Success' },
  { name: 'all of several labels', selector: { disk: 'ssd', zone: 'a' }, labels: { disk: 'ssd', zone: 'a' }, want: 'Success' },
  { name: 'one of several missing', selector: { disk: 'ssd', zone: 'b' }, labels: { disk: 'ssd', zone: 'a' }, want: 'Unschedulable' },
  { name: 'label absent', selector: { disk: 'ssd' }, labels: {}, want: 'Unschedulable' },
  { name: 'empty value needs the label present', selector: { gpu: '' }, labels: {}, want: 'Unschedulable' },
  { name: 'empty value matches an empty label', selector: { gpu: '' }, labels: { gpu: '' }, want: 'Success' },
  { name: 'inherited property is not a label', selector: { constructor: 'x' }, labels: {}, want: 'Unschedulable' },
];

for (const c of cases) {
  test(`NodeAffinity (nodeSelector): ${c.name}`, (t) => {
    const s = nodeSelector.filter(podInfo(makePod('p', { nodeSelector: c.selector })), info(makeNode('n', { labels: c.labels })));
    t.is<string, string>(s.code, c.want);
    if (c.want !== 'Success') t.deepEqual(s.reasons, [ERR_REASON_NODE_SELECTOR]);
  });
}
