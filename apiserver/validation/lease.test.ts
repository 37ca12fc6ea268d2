// Validation of coordination.k8s.io/v1 Leases (Kubernetes' ValidateLease).

import test from 'ava';
import type { Lease, LeaseSpec } from '../../api/gen/tsk/v1/core';
import { assertCauses, type Expected, valid } from './fixtures';
import { validate, validateUpdate } from './index';

function withSpec(spec: Partial<LeaseSpec>): Lease {
  const l = valid('Lease');
  l.spec = { ...l.spec, ...spec };
  return l;
}

test('the fixture Lease is valid, and so is one with no spec at all', (t) => {
  assertCauses(t, validate('Lease', valid('Lease')), []);
  assertCauses(t, validate('Lease', { metadata: { name: 'n1', namespace: 'kube-node-lease' } }), []);
});

// [what, spec, expected causes]
const CASES: Array<[string, Partial<LeaseSpec>, Expected[]]> = [
  ['leaseDurationSeconds 0', { leaseDurationSeconds: 0 }, [['spec.leaseDurationSeconds', 'FieldValueInvalid', 'Invalid value: 0: must be greater than 0']]],
  ['negative leaseDurationSeconds', { leaseDurationSeconds: -5 }, [['spec.leaseDurationSeconds', 'FieldValueInvalid', 'must be greater than 0']]],
  [
    'negative leaseTransitions',
    { leaseTransitions: -1 },
    [['spec.leaseTransitions', 'FieldValueInvalid', 'Invalid value: -1: must be greater than or equal to 0']],
  ],
  ['leaseTransitions 0', { leaseTransitions: 0 }, []],
  ['a free-form holderIdentity', { holderIdentity: 'Any Thing / at all' }, []],
  ['the known strategy', { strategy: 'OldestEmulationVersion', preferredHolder: 'a' }, []],
  ['an unknown bare strategy', { strategy: 'Youngest' }, [['spec.strategy', 'FieldValueNotSupported', 'supported values: "OldestEmulationVersion"']]],
  ['a qualified custom strategy', { strategy: 'example.com/mine' }, []],
  ['a malformed custom strategy', { strategy: 'example.com/-bad' }, [['spec.strategy', 'FieldValueInvalid', 'name part must consist of']]],
  [
    'a preferredHolder without a strategy',
    { preferredHolder: 'host-2' },
    [['spec.preferredHolder', 'FieldValueForbidden', 'may only be specified if `strategy` is defined']],
  ],
  ['a renewTime that is no time', { renewTime: 'yesterday' }, [['spec.renewTime', 'FieldValueInvalid', 'must be an RFC 3339 time']]],
  ['an acquireTime with an offset', { acquireTime: '2024-05-01T12:00:00.5+02:00' }, []],
];

for (const [what, spec, expected] of CASES) {
  test(`lease: ${what}`, (t) => {
    assertCauses(t, validate('Lease', withSpec(spec)), expected);
  });
}

test('an update checks the spec again and keeps the metadata rules', (t) => {
  const old = valid('Lease');
  old.metadata = { ...old.metadata, uid: 'u1', resourceVersion: '5', creationTimestamp: '2024-05-01T12:00:00Z' };
  const renewed = structuredClone(old);
  renewed.spec = { ...renewed.spec, holderIdentity: 'host-2_x', leaseTransitions: 1 };
  assertCauses(t, validateUpdate('Lease', renewed, old), []);
  const bad = structuredClone(old);
  bad.spec = { ...bad.spec, leaseDurationSeconds: 0 };
  assertCauses(t, validateUpdate('Lease', bad, old), [['spec.leaseDurationSeconds', 'FieldValueInvalid', 'must be greater than 0']]);
});
