import test from 'ava';
import type { NodeAffinity, Pod } from '../../api/gen/tsk/v1/core';
import { assertCauses, type Expected, valid } from './fixtures';
import { validate } from './index';

const na = 'spec.affinity.nodeAffinity';
const req = `${na}.requiredDuringSchedulingIgnoredDuringExecution`;
const pref = `${na}.preferredDuringSchedulingIgnoredDuringExecution`;

const withAffinity = (nodeAffinity: NodeAffinity): Pod => {
  const p = valid('Pod');
  p.spec!.affinity = { nodeAffinity };
  return p;
};

test("the documentation's node affinity (required In, preferred with weights) is valid", (t) => {
  const pod = withAffinity({
    requiredDuringSchedulingIgnoredDuringExecution: {
      nodeSelectorTerms: [
        { matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['antarctica-east1', 'antarctica-west1'] }] },
        { matchFields: [{ key: 'metadata.name', operator: 'NotIn', values: ['node-1'] }] },
      ],
    },
    preferredDuringSchedulingIgnoredDuringExecution: [
      { weight: 1, preference: { matchExpressions: [{ key: 'label-1', operator: 'Exists' }] } },
      { weight: 100, preference: { matchExpressions: [{ key: 'cores', operator: 'Gt', values: ['4'] }] } },
    ],
  });
  assertCauses(t, validate('Pod', pod), []);
});

// [name, node affinity, expected causes], as Kubernetes' TestValidateAffinity reports them.
const CASES: Array<[string, NodeAffinity, Expected[]]> = [
  [
    'required without terms',
    { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } },
    [[`${req}.nodeSelectorTerms`, 'FieldValueRequired', 'must have at least one node selector term']],
  ],
  [
    'In without values',
    { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In' }] }] } },
    [[`${req}.nodeSelectorTerms[0].matchExpressions[0].values`, 'FieldValueRequired', "must be specified when `operator` is 'In' or 'NotIn'"]],
  ],
  [
    'Exists with values',
    { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'Exists', values: ['a'] }] }] } },
    [[`${req}.nodeSelectorTerms[0].matchExpressions[0].values`, 'FieldValueForbidden', "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"]],
  ],
  [
    'Gt with two values',
    { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'cores', operator: 'Gt', values: ['1', '2'] }] }] } },
    [[`${req}.nodeSelectorTerms[0].matchExpressions[0].values`, 'FieldValueRequired', "must be specified single value when `operator` is 'Lt' or 'Gt'"]],
  ],
  [
    'an unknown operator and a bad key',
    { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'a b', operator: 'Like', values: ['x'] }] }] } },
    [
      [`${req}.nodeSelectorTerms[0].matchExpressions[0].operator`, 'FieldValueInvalid', 'Invalid value: "Like": not a valid selector operator'],
      [`${req}.nodeSelectorTerms[0].matchExpressions[0].key`, 'FieldValueInvalid', 'Invalid value: "a b": name part'],
    ],
  ],
  [
    'an In value that is not a label value',
    { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a b'] }] }] } },
    [[`${req}.nodeSelectorTerms[0].matchExpressions[0].values[0]`, 'FieldValueInvalid', 'Invalid value: "a b"']],
  ],
  [
    'matchFields on a label, with two values',
    {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.labels', operator: 'In', values: ['a', 'b'] }] }],
      },
    },
    [
      [
        `${req}.nodeSelectorTerms[0].matchFields[0].values`,
        'FieldValueRequired',
        "must be only one value when `operator` is 'In' or 'NotIn' for node field selector",
      ],
      [`${req}.nodeSelectorTerms[0].matchFields[0].key`, 'FieldValueInvalid', 'Invalid value: "metadata.labels": not a valid field selector key'],
    ],
  ],
  [
    'matchFields with Exists',
    { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'Exists' }] }] } },
    [[`${req}.nodeSelectorTerms[0].matchFields[0].operator`, 'FieldValueInvalid', 'Invalid value: "Exists": not a valid selector operator']],
  ],
  [
    'preferred weights out of range, and a bad preference',
    {
      preferredDuringSchedulingIgnoredDuringExecution: [
        { weight: 0, preference: {} },
        { weight: 101, preference: { matchExpressions: [{ key: 'zone', operator: 'NotIn' }] } },
      ],
    },
    [
      [`${pref}[0].weight`, 'FieldValueInvalid', 'Invalid value: 0: must be in the range 1-100'],
      [`${pref}[1].weight`, 'FieldValueInvalid', 'Invalid value: 101: must be in the range 1-100'],
      [`${pref}[1].preference.matchExpressions[0].values`, 'FieldValueRequired', "must be specified when `operator` is 'In' or 'NotIn'"],
    ],
  ],
];

for (const [name, affinity, expected] of CASES) {
  test(`node affinity: ${name}`, (t) => {
    assertCauses(t, validate('Pod', withAffinity(affinity)), expected, name);
  });
}

test('a replication controller template is checked the same way', (t) => {
  const rc = valid('ReplicationController');
  rc.spec!.template!.spec!.affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } } };
  assertCauses(t, validate('ReplicationController', rc), [
    [`spec.template.${req}.nodeSelectorTerms`, 'FieldValueRequired', 'must have at least one node selector term'],
  ]);
});
