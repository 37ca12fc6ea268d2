import test from 'ava';
import type { NodeSelectorRequirement } from '../../api/gen/tsk/v1/core';
import { makeNode } from '../testing';
import { requirementHolds, selectorMatches, termMatches } from './node-selector-terms';

const labels = { zone: 'antarctica-east1', cores: '8', empty: '' };

// [requirement, holds on the labels above]
const CASES: Array<[NodeSelectorRequirement, boolean]> = [
  [{ key: 'zone', operator: 'In', values: ['antarctica-east1', 'antarctica-west1'] }, true],
  [{ key: 'zone', operator: 'In', values: ['antarctica-west1'] }, false],
  [{ key: 'rack', operator: 'In', values: [''] }, false],
  [{ key: 'empty', operator: 'In', values: [''] }, true],
  [{ key: 'zone', operator: 'NotIn', values: ['zoneC'] }, true],
  [{ key: 'zone', operator: 'NotIn', values: ['antarctica-east1'] }, false],
  [{ key: 'rack', operator: 'NotIn', values: ['r1'] }, true],
  [{ key: 'empty', operator: 'Exists' }, true],
  [{ key: 'rack', operator: 'Exists' }, false],
  [{ key: 'rack', operator: 'DoesNotExist' }, true],
  [{ key: 'zone', operator: 'DoesNotExist' }, false],
  [{ key: 'cores', operator: 'Gt', values: ['4'] }, true],
  [{ key: 'cores', operator: 'Gt', values: ['8'] }, false],
  [{ key: 'cores', operator: 'Lt', values: ['16'] }, true],
  [{ key: 'zone', operator: 'Gt', values: ['1'] }, false],
  [{ key: 'cores', operator: 'Gt', values: ['four'] }, false],
  [{ key: 'rack', operator: 'Lt', values: ['1'] }, false],
  [{ key: 'constructor', operator: 'Exists' }, false],
  [{ key: 'zone', operator: 'Like', values: ['x'] }, false],
];

for (const [rq, want] of CASES) {
  test(`requirement ${rq.key} ${rq.operator} ${JSON.stringify(rq.values ?? [])} is ${want}`, (t) => {
    t.is(requirementHolds(rq, labels), want);
  });
}

const node = makeNode('node-1', { labels });

test('a term needs every requirement, of labels and of fields', (t) => {
  const zone = { key: 'zone', operator: 'In', values: ['antarctica-east1'] };
  t.true(termMatches({ matchExpressions: [zone] }, node));
  t.true(termMatches({ matchExpressions: [zone], matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node-1'] }] }, node));
  t.false(termMatches({ matchExpressions: [zone], matchFields: [{ key: 'metadata.name', operator: 'NotIn', values: ['node-1'] }] }, node));
  t.false(termMatches({ matchExpressions: [zone, { key: 'rack', operator: 'Exists' }] }, node));
  t.false(termMatches({}, node), 'an empty term matches no node');
  t.false(termMatches(undefined, node));
});

test('a selector needs any one of its terms', (t) => {
  const miss = { matchExpressions: [{ key: 'rack', operator: 'Exists' }] };
  const hit = { matchExpressions: [{ key: 'cores', operator: 'Gt', values: ['2'] }] };
  t.true(selectorMatches({ nodeSelectorTerms: [miss, hit] }, node));
  t.false(selectorMatches({ nodeSelectorTerms: [miss] }, node));
  t.false(selectorMatches({ nodeSelectorTerms: [] }, node));
});
