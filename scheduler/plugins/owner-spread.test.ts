import test from 'ava';
import { info, makeNode, makePod, podInfo } from '../testing';
import { ownerSpreadScore } from './owner-spread';

test('OwnerSpread: nodes with fewer pods of the same controller score higher', (t) => {
  const nodes = [
    info(makeNode('a'), [makePod('w1', { owner: 'web' }), makePod('w2', { owner: 'web' })]),
    info(makeNode('b'), [makePod('w3', { owner: 'web' }), makePod('x', { owner: 'other' })]),
    info(makeNode('c'), [makePod('y', { owner: 'other' })]),
  ];
  t.deepEqual(ownerSpreadScore.score(podInfo(makePod('w4', { owner: 'web' })), nodes), [0, 50, 100]);
});

test('OwnerSpread: no siblings anywhere scores every node the same', (t) => {
  const nodes = [info(makeNode('a')), info(makeNode('b'), [makePod('x', { owner: 'other' })])];
  t.deepEqual(ownerSpreadScore.score(podInfo(makePod('w', { owner: 'web' })), nodes), [100, 100]);
});

test('OwnerSpread: a pod without controller has no preference', (t) => {
  const nodes = [info(makeNode('a'), [makePod('x')]), info(makeNode('b'))];
  t.deepEqual(ownerSpreadScore.score(podInfo(makePod('p')), nodes), [0, 0]);
});
