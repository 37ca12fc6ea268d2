import test from 'ava';
import { info, makeNode, makePod, podInfo } from '../testing';
import { balancedAllocationScore } from './balanced-allocation';

test('BalancedAllocation: equal shares score 100, lopsided shares less', (t) => {
  const node = makeNode('n', { cpu: '1', memory: '1000' });
  const pods = [
    ['balanced', makePod('p', { cpu: '500m', memory: '500' }), 100],
    ['cpu heavy', makePod('p', { cpu: '1', memory: '0' }), 50],
    ['somewhat', makePod('p', { cpu: '600m', memory: '200' }), 80],
  ] as const;
  for (const [what, pod, want] of pods) t.deepEqual(balancedAllocationScore.score(podInfo(pod), [info(node)]), [want], what);
});

test('BalancedAllocation: counts the pods already on the node', (t) => {
  const node = makeNode('n', { cpu: '1', memory: '1000' });
  const busy = info(node, [makePod('a', { cpu: '500m', memory: '0' })]);
  const pod = podInfo(makePod('p', { cpu: '0', memory: '500' }));
  t.deepEqual(balancedAllocationScore.score(pod, [busy]), [100]);
});
