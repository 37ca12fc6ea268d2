import test from 'ava';
import type { Affinity, Pod, TopologySpreadConstraint } from '../../api/gen/tsk/v1/core';
import { assertCauses, type Expected, valid } from './fixtures';
import { validate } from './index';

const withAffinity = (affinity: Affinity): Pod => {
  const p = valid('Pod');
  p.spec!.affinity = affinity;
  return p;
};

const withSpread = (constraints: TopologySpreadConstraint[]): Pod => {
  const p = valid('Pod');
  p.spec!.topologySpreadConstraints = constraints;
  return p;
};

test("the documentation's pod affinity and topology spread examples are valid", (t) => {
  const pod = withAffinity({
    podAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: [
        { labelSelector: { matchExpressions: [{ key: 'security', operator: 'In', values: ['S1'] }] }, topologyKey: 'topology.kubernetes.io/zone' },
      ],
    },
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        {
          weight: 100,
          podAffinityTerm: {
            labelSelector: { matchExpressions: [{ key: 'security', operator: 'In', values: ['S2'] }] },
            topologyKey: 'topology.kubernetes.io/zone',
          },
        },
      ],
    },
  });
  pod.spec!.topologySpreadConstraints = [
    { maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { foo: 'bar' } } },
    {
      maxSkew: 1,
      topologyKey: 'node',
      whenUnsatisfiable: 'DoNotSchedule',
      labelSelector: { matchLabels: { foo: 'bar' } },
      minDomains: 2,
      matchLabelKeys: ['pod-template-hash'],
    },
  ];
  assertCauses(t, validate('Pod', pod), []);
});

const anti = 'spec.affinity.podAntiAffinity';
const AFFINITY_CASES: Array<[string, Affinity, Expected[]]> = [
  [
    'required term without topologyKey',
    { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'web' } } }] } },
    [
      [`${anti}.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey`, 'FieldValueRequired', 'can not be empty'],
      // As Kubernetes: the empty key is also not a qualified name.
      [`${anti}.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey`, 'FieldValueInvalid', 'name part must be non-empty'],
      [`${anti}.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey`, 'FieldValueInvalid', 'name part must consist of'],
    ],
  ],
  [
    'weight out of range and a bad selector operator',
    {
      podAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 0, podAffinityTerm: { topologyKey: 'zone', labelSelector: { matchExpressions: [{ key: 'a', operator: 'Gt', values: ['1'] }] } } },
        ],
      },
    },
    [
      ['spec.affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight', 'FieldValueInvalid', 'must be in the range 1-100'],
      [
        'spec.affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.labelSelector.matchExpressions[0].operator',
        'FieldValueInvalid',
        'not a valid selector operator',
      ],
    ],
  ],
  [
    'matchLabelKeys in mismatchLabelKeys too',
    {
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'zone', labelSelector: {}, matchLabelKeys: ['rev'], mismatchLabelKeys: ['rev'] }],
      },
    },
    [
      [
        `${anti}.requiredDuringSchedulingIgnoredDuringExecution[0].matchLabelKeys[0]`,
        'FieldValueInvalid',
        'exists in both matchLabelKeys and mismatchLabelKeys',
      ],
    ],
  ],
  [
    'matchLabelKeys without labelSelector',
    { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'zone', matchLabelKeys: ['rev'] }] } },
    [
      [
        `${anti}.requiredDuringSchedulingIgnoredDuringExecution[0].matchLabelKeys`,
        'FieldValueForbidden',
        'must not be specified when labelSelector is not set',
      ],
    ],
  ],
  [
    'In without values, Exists with values',
    {
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [
          {
            topologyKey: 'zone',
            labelSelector: { matchExpressions: [{ key: 'a', operator: 'In' }] },
            namespaceSelector: { matchExpressions: [{ key: 'b', operator: 'Exists', values: ['x'] }] },
          },
        ],
      },
    },
    [
      [`${anti}.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector.matchExpressions[0].values`, 'FieldValueRequired', "'In' or 'NotIn'"],
      [
        `${anti}.requiredDuringSchedulingIgnoredDuringExecution[0].namespaceSelector.matchExpressions[0].values`,
        'FieldValueForbidden',
        "'Exists' or 'DoesNotExist'",
      ],
    ],
  ],
];

for (const [name, affinity, expected] of AFFINITY_CASES) {
  test(`pod affinity: ${name}`, (t) => assertCauses(t, validate('Pod', withAffinity(affinity)), expected, name));
}

const tsc = 'spec.topologySpreadConstraints';
const ok: TopologySpreadConstraint = { maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { a: 'b' } } };
const SPREAD_CASES: Array<[string, TopologySpreadConstraint[], Expected[]]> = [
  ['maxSkew 0', [{ ...ok, maxSkew: 0 }], [[`${tsc}[0].maxSkew`, 'FieldValueInvalid', 'Invalid value: 0: must be greater than zero']]],
  ['no topologyKey', [{ ...ok, topologyKey: '' }], [[`${tsc}[0].topologyKey`, 'FieldValueRequired', 'can not be empty']]],
  [
    'unknown whenUnsatisfiable',
    [{ ...ok, whenUnsatisfiable: 'Sometimes' }],
    [[`${tsc}[0].whenUnsatisfiable`, 'FieldValueNotSupported', 'Unsupported value: "Sometimes": supported values: "DoNotSchedule", "ScheduleAnyway"']],
  ],
  [
    'repeated pair',
    [ok, { ...ok, maxSkew: 2 }],
    [[`${tsc}[0].{topologyKey, whenUnsatisfiable}`, 'FieldValueDuplicate', 'Duplicate value: "{zone, DoNotSchedule}"']],
  ],
  [
    'minDomains with ScheduleAnyway',
    [{ ...ok, whenUnsatisfiable: 'ScheduleAnyway', minDomains: 0 }],
    [
      [`${tsc}[0].minDomains`, 'FieldValueInvalid', 'must be greater than zero'],
      [`${tsc}[0].minDomains`, 'FieldValueInvalid', 'can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ScheduleAnyway'],
    ],
  ],
  [
    'unknown node policy',
    [{ ...ok, nodeTaintsPolicy: 'Maybe' }],
    [[`${tsc}[0].nodeTaintsPolicy`, 'FieldValueNotSupported', 'supported values: "Honor", "Ignore"']],
  ],
  [
    'matchLabelKeys naming a selector key',
    [{ ...ok, matchLabelKeys: ['a'] }],
    [[`${tsc}[0].matchLabelKeys[0]`, 'FieldValueInvalid', 'exists in both matchLabelKeys and labelSelector']],
  ],
  [
    'bad selector label',
    [{ ...ok, labelSelector: { matchLabels: { 'a b': 'c' } } }],
    [[`${tsc}[0].labelSelector.matchLabels`, 'FieldValueInvalid', 'name part must consist of']],
  ],
];

for (const [name, constraints, expected] of SPREAD_CASES) {
  test(`topology spread: ${name}`, (t) => assertCauses(t, validate('Pod', withSpread(constraints)), expected, name));
}
