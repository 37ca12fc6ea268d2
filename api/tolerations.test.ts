import test from 'ava';
import type { Taint, Toleration } from './gen/tsk/v1/core';
import { decimalIntegerErrors, podToleratesTaint, toleratesTaint } from './tolerations';

const taint: Taint = { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' };

const equalExistsCases: [string, Toleration, boolean][] = [
  ['Equal with same key, value and effect', { key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }, true],
  ['operator defaults to Equal', { key: 'dedicated', value: 'gpu' }, true],
  ['Equal with another value', { key: 'dedicated', operator: 'Equal', value: 'cpu' }, false],
  ['Exists ignores the value', { key: 'dedicated', operator: 'Exists' }, true],
  ['another key', { key: 'other', operator: 'Exists' }, false],
  ['empty key with Exists tolerates everything', { operator: 'Exists' }, true],
  ['empty effect matches every effect', { key: 'dedicated', operator: 'Exists', effect: '' }, true],
  ['another effect', { key: 'dedicated', operator: 'Exists', effect: 'NoExecute' }, false],
  ['unknown operator', { key: 'dedicated', operator: 'Ge', value: 'gpu' }, false],
  ['Gt with a non-numeric taint value', { key: 'dedicated', operator: 'Gt', value: '1' }, false],
];

for (const [name, toleration, want] of equalExistsCases) {
  test(`toleratesTaint: ${name}`, (t) => {
    t.is(toleratesTaint(toleration, taint), want);
  });
}

test('toleratesTaint: Equal with empty value matches a taint without value', (t) => {
  t.true(toleratesTaint({ key: 'k', operator: 'Equal' }, { key: 'k', effect: 'NoSchedule' }));
});

const SLA = 'servicelevel.organization.example/agreed-service-level';
const sla = (value: string, effect = 'NoSchedule'): Taint => ({ key: SLA, value, effect });

const thresholdCases: [string, Toleration, Taint, boolean][] = [
  ['Gt 900 tolerates 950', { key: SLA, operator: 'Gt', value: '900', effect: 'NoSchedule' }, sla('950'), true],
  ['Gt 900 does not tolerate 800', { key: SLA, operator: 'Gt', value: '900', effect: 'NoSchedule' }, sla('800'), false],
  ['Gt 900 does not tolerate 900 (strict)', { key: SLA, operator: 'Gt', value: '900' }, sla('900'), false],
  ['Lt 900 tolerates 800', { key: SLA, operator: 'Lt', value: '900' }, sla('800'), true],
  ['Lt 900 does not tolerate 950', { key: SLA, operator: 'Lt', value: '900' }, sla('950'), false],
  ['Lt 900 does not tolerate 900 (strict)', { key: SLA, operator: 'Lt', value: '900' }, sla('900'), false],
  ['Gt with another effect', { key: SLA, operator: 'Gt', value: '900', effect: 'NoExecute' }, sla('950'), false],
  ['Gt with another key', { key: 'other', operator: 'Gt', value: '900' }, sla('950'), false],
  ['negative values compare as numbers', { key: SLA, operator: 'Gt', value: '-10' }, sla('-2'), true],
  ['negative taint below a positive threshold', { key: SLA, operator: 'Lt', value: '0' }, sla('-1'), true],
  ['numbers, not strings: 1000 > 950', { key: SLA, operator: 'Gt', value: '950' }, sla('1000'), true],
  ['a taint value with leading zeros never matches', { key: SLA, operator: 'Gt', value: '900' }, sla('0950'), false],
  ['a taint value with a plus sign never matches', { key: SLA, operator: 'Gt', value: '900' }, sla('+950'), false],
  ['a taint value of -0 never matches', { key: SLA, operator: 'Lt', value: '1' }, sla('-0'), false],
  ['a non-numeric taint value never matches', { key: SLA, operator: 'Lt', value: '900' }, sla('high'), false],
  ['an empty taint value never matches', { key: SLA, operator: 'Lt', value: '900' }, sla(''), false],
  ['a taint value beyond int64 never matches', { key: SLA, operator: 'Gt', value: '900' }, sla('9223372036854775808'), false],
  ['the int64 maximum still compares', { key: SLA, operator: 'Gt', value: '900' }, sla('9223372036854775807'), true],
  ['the int64 minimum still compares', { key: SLA, operator: 'Lt', value: '0' }, sla('-9223372036854775808'), true],
  ['a toleration value with leading zeros never matches', { key: SLA, operator: 'Gt', value: '0900' }, sla('950'), false],
  ['a fractional value never matches', { key: SLA, operator: 'Gt', value: '900' }, sla('950.5'), false],
];

for (const [name, toleration, tnt, want] of thresholdCases) {
  test(`toleratesTaint: ${name}`, (t) => {
    t.is(toleratesTaint(toleration, tnt), want);
  });
}

test('decimalIntegerErrors: canonical int64 values pass, others say why', (t) => {
  for (const ok of ['0', '7', '-7', '900', '9223372036854775807', '-9223372036854775808']) t.deepEqual(decimalIntegerErrors(ok), [], ok);
  for (const bad of ['', '-', '-0', '007', '+7', '1.5', '1e3', ' 7', 'x']) t.regex(decimalIntegerErrors(bad)[0] ?? '', /canonical form/, bad);
  for (const big of ['9223372036854775808', '-9223372036854775809']) t.deepEqual(decimalIntegerErrors(big), ['must fit in a 64-bit signed integer'], big);
});

test('podToleratesTaint: any of the pod tolerations', (t) => {
  const pod = {
    spec: {
      tolerations: [
        { key: 'x', operator: 'Exists' },
        { key: SLA, operator: 'Gt', value: '900' },
      ],
    },
  };
  t.true(podToleratesTaint(pod, sla('950')));
  t.false(podToleratesTaint(pod, sla('800')));
  t.false(podToleratesTaint({}, sla('950')));
});
