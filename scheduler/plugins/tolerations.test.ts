import test from 'ava';
import type { Taint, Toleration } from '../../api/gen/tsk/v1/core';
import { toleratesTaint } from './tolerations';

const taint: Taint = { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' };

const cases: [string, Toleration, boolean][] = [
  ['Equal with same key, value and effect', { key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }, true],
  ['operator defaults to Equal', { key: 'dedicated', value: 'gpu' }, true],
  ['Equal with another value', { key: 'dedicated', operator: 'Equal', value: 'cpu' }, false],
  ['Exists ignores the value', { key: 'dedicated', operator: 'Exists' }, true],
  ['another key', { key: 'other', operator: 'Exists' }, false],
  ['empty key with Exists tolerates everything', { operator: 'Exists' }, true],
  ['empty effect matches every effect', { key: 'dedicated', operator: 'Exists', effect: '' }, true],
  ['another effect', { key: 'dedicated', operator: 'Exists', effect: 'NoExecute' }, false],
  ['unknown operator', { key: 'dedicated', operator: 'Gt', value: 'gpu' }, false],
];

for (const [name, toleration, want] of cases) {
  test(`toleratesTaint: ${name}`, (t) => {
    t.is(toleratesTaint(toleration, taint), want);
  });
}

test('toleratesTaint: Equal with empty value matches a taint without value', (t) => {
  t.true(toleratesTaint({ key: 'k', operator: 'Equal' }, { key: 'k', effect: 'NoSchedule' }));
});
