import test from 'ava';
import type { Pod, ResourceRequirements } from '../../api/gen/tsk/v1/core';
import { applyDefaults } from '../defaults';
import { assertCauses, type Expected, raw } from './fixtures';
import { validate, validateUpdate } from './index';

// The fixture pod's containers: web requests cpu 100m, memory 64Mi with
// limits 500m, 128Mi; sidecar and init ask for nothing.
const R = 'spec.resources';

/** The fixture pod with spec.resources set, defaulted as the server stores it. */
function podWith(resources: ResourceRequirements, mutate: (p: Pod) => void = () => undefined): Pod {
  const p = raw('Pod');
  p.spec!.resources = resources;
  mutate(p);
  applyDefaults('Pod', p);
  return p;
}

const CASES: Array<[string, Pod, Expected[]]> = [
  ['the example pod-level-resources.yaml shape', podWith({ requests: { cpu: '1', memory: '100Mi' }, limits: { cpu: '1', memory: '200Mi' } }), []],
  ['limits only (requests default to them)', podWith({ limits: { cpu: '1', memory: '200Mi' } }), []],
  ['requests only', podWith({ requests: { cpu: '250m' } }), []],
  ['hugepages at pod level', podWith({ requests: { cpu: '1', 'hugepages-2Mi': '4Mi' }, limits: { 'hugepages-2Mi': '4Mi' } }), []],
  [
    'ephemeral-storage is not a pod-level resource (nor defaulted into requests)',
    podWith({ limits: { 'ephemeral-storage': '1Gi' } }),
    [[`${R}.limits[ephemeral-storage]`, 'FieldValueNotSupported', 'Unsupported value: "ephemeral-storage": supported values: "cpu", "hugepages-", "memory"']],
  ],
  [
    'an extended resource is not a pod-level resource',
    podWith({ requests: { 'example.com/gpu': '1' } }),
    [
      [`${R}.requests[example.com/gpu]`, 'FieldValueNotSupported', 'supported values'],
      [`${R}.limits`, 'FieldValueRequired', 'Limit must be set for non overcommitable resources'],
    ],
  ],
  [
    'an unknown unprefixed name',
    podWith({ requests: { cpus: '1' } }),
    [[`${R}.requests[cpus]`, 'FieldValueInvalid', 'must be a standard resource type or fully qualified']],
  ],
  [
    'request above limit',
    podWith({ requests: { cpu: '2' }, limits: { cpu: '1' } }),
    [[`${R}.requests`, 'FieldValueInvalid', 'Invalid value: "2": must be less than or equal to cpu limit of 1']],
  ],
  [
    'a negative quantity',
    podWith({ requests: { memory: '-1Mi' } }),
    [
      [`${R}.requests[memory]`, 'FieldValueInvalid', 'Invalid value: "-1Mi": must be greater than or equal to 0'],
      [`${R}.requests[memory]`, 'FieldValueInvalid', 'must be greater than or equal to aggregate container requests of 64Mi'],
    ],
  ],
  [
    'pod request below the containers aggregate',
    podWith({ requests: { cpu: '50m', memory: '100Mi' } }),
    [[`${R}.requests[cpu]`, 'FieldValueInvalid', 'Invalid value: "50m": must be greater than or equal to aggregate container requests of 100m']],
  ],
  [
    'the aggregate counts every container, and the largest init container',
    podWith({ requests: { cpu: '200m' } }, (p) => {
      p.spec!.containers![1]!.resources = { requests: { cpu: '150m' } };
      p.spec!.initContainers![0]!.resources = { requests: { cpu: '300m' } };
    }),
    [[`${R}.requests[cpu]`, 'FieldValueInvalid', 'must be greater than or equal to aggregate container requests of 300m']],
  ],
  [
    'container limit above the pod limit',
    podWith({ limits: { memory: '100Mi' } }),
    [[`${R}.containers[0][memory].limits`, 'FieldValueInvalid', 'Invalid value: "128Mi": must be less than or equal to pod limits of 100Mi']],
  ],
  [
    'pod hugepages limit below the containers aggregate',
    podWith({ limits: { cpu: '1', 'hugepages-2Mi': '2Mi' } }, (p) => {
      p.spec!.containers![1]!.resources = { limits: { 'hugepages-2Mi': '2Mi', memory: '10Mi' } };
      p.spec!.containers![0]!.resources!.limits!['hugepages-2Mi'] = '2Mi';
      p.spec!.containers![0]!.resources!.requests!['hugepages-2Mi'] = '2Mi';
    }),
    [
      [`${R}.limits[hugepages-2Mi]`, 'FieldValueInvalid', 'Invalid value: "2Mi": must be greater than or equal to aggregate container limits of 4Mi'],
      [`${R}.requests[hugepages-2Mi]`, 'FieldValueInvalid', 'must be greater than or equal to aggregate container requests of 4Mi'],
    ],
  ],
  ['a pod-level PID limit (KEP-6063, pod-level-pid-limit.yaml)', podWith({ limits: { pids: '2048' } }), []],
  ['a PID limit beside cpu and memory', podWith({ limits: { cpu: '1', memory: '200Mi', pids: '100' } }), []],
  ['a PID limit of 0', podWith({ limits: { pids: '0' } }), [[`${R}.limits[pids]`, 'FieldValueInvalid', 'Invalid value: "0": must be a positive integer']]],
  ['a fractional PID limit', podWith({ limits: { pids: '1500m' } }), [[`${R}.limits[pids]`, 'FieldValueInvalid', 'must be a positive integer']]],
  ['a negative PID limit', podWith({ limits: { pids: '-5' } }), [[`${R}.limits[pids]`, 'FieldValueInvalid', 'must be a positive integer']]],
  ['an unparsable PID limit', podWith({ limits: { pids: 'many' } }), [[`${R}.limits[pids]`, 'FieldValueInvalid', 'must be a positive integer']]],
  [
    'pids as a request',
    podWith({ requests: { pids: '100' }, limits: { pids: '100' } }),
    [[`${R}.requests[pids]`, 'FieldValueForbidden', 'pids may only be set as a limit, not a request']],
  ],
  [
    'pids on a container',
    podWith({}, (p) => (p.spec!.containers![0]!.resources!.limits!['pids'] = '100')),
    [
      ['spec.containers[0].resources.limits[pids]', 'FieldValueForbidden', 'pids may only be set as a pod-level limit (spec.resources.limits)'],
      // Defaulting copied the limit into the container's requests.
      ['spec.containers[0].resources.requests[pids]', 'FieldValueForbidden', 'pids may only be set as a pod-level limit'],
    ],
  ],
];

for (const [name, pod, expected] of CASES) {
  test(`spec.resources: ${name}`, (t) => {
    assertCauses(t, validate('Pod', pod), expected, name);
  });
}

test('spec.resources is checked in a replication controller template too', (t) => {
  const rc = raw('ReplicationController');
  rc.spec!.template!.spec!.resources = { limits: { 'ephemeral-storage': '1Gi' } };
  applyDefaults('ReplicationController', rc);
  assertCauses(t, validate('ReplicationController', rc), [
    ['spec.template.spec.resources.limits[ephemeral-storage]', 'FieldValueNotSupported', 'supported values'],
  ]);
});

test('spec.resources may not change on update', (t) => {
  const old = podWith({ limits: { cpu: '1' } });
  const next = podWith({ limits: { cpu: '2' } });
  const causes = validateUpdate('Pod', next, old);
  t.true(
    causes.some((c) => c.field === 'spec' && c.reason === 'FieldValueForbidden'),
    causes.map((c) => c.message).join('\n'),
  );
});
