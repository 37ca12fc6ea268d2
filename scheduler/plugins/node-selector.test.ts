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

test('NodeAffinity: required node affinity filters as its terms say, on top of nodeSelector', (t) => {
  const pod = makePod('p', { nodeSelector: { disk: 'ssd' } });
  pod.spec!.affinity = {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['antarctica-east1', 'antarctica-west1'] }] }],
      },
    },
  };
  const on = (labels: Record<string, string>) => nodeSelector.filter(podInfo(pod), info(makeNode('n', { labels })));
  t.is<string, string>(on({ disk: 'ssd', 'topology.kubernetes.io/zone': 'antarctica-west1' }).code, 'Success');
  const wrongZone = on({ disk: 'ssd', 'topology.kubernetes.io/zone': 'europe-west1' });
  t.is<string, string>(wrongZone.code, 'Unschedulable');
  t.deepEqual(wrongZone.reasons, [ERR_REASON_NODE_SELECTOR]);
  t.is<string, string>(on({ 'topology.kubernetes.io/zone': 'antarctica-east1' }).code, 'Unschedulable', 'nodeSelector still applies');
});
