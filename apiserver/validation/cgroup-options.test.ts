import test from 'ava';
import type { Pod, SecurityContext } from '../../api/gen/tsk/v1/core';
import { applyDefaults } from '../defaults';
import { assertCauses, raw, type Expected } from './fixtures';
import { validate } from './index';

function withSecurityContext(sc: SecurityContext): Pod {
  const pod = raw('Pod');
  pod.spec!.containers![0]!.securityContext = sc;
  applyDefaults('Pod', pod);
  return pod;
}

const mode = 'spec.containers[0].securityContext.cgroupOptions.mountMode';

const CASES: Array<[string, SecurityContext, Expected[]]> = [
  // The documentation's security-context-7 example.
  ['ReadWrite with allowPrivilegeEscalation false', { allowPrivilegeEscalation: false, cgroupOptions: { mountMode: 'ReadWrite' } }, []],
  ['ReadOnly', { cgroupOptions: { mountMode: 'ReadOnly' } }, []],
  ['mountMode unset (ReadOnly)', { cgroupOptions: {} }, []],
  [
    'an unknown mode',
    { allowPrivilegeEscalation: false, cgroupOptions: { mountMode: 'Writable' } },
    [[mode, 'FieldValueNotSupported', 'Unsupported value: "Writable": supported values: "ReadOnly", "ReadWrite"']],
  ],
  [
    'ReadWrite without allowPrivilegeEscalation',
    { cgroupOptions: { mountMode: 'ReadWrite' } },
    [[mode, 'FieldValueForbidden', 'ReadWrite requires allowPrivilegeEscalation to be false']],
  ],
  [
    'ReadWrite with allowPrivilegeEscalation true',
    { allowPrivilegeEscalation: true, cgroupOptions: { mountMode: 'ReadWrite' } },
    [[mode, 'FieldValueForbidden', 'ReadWrite requires allowPrivilegeEscalation to be false']],
  ],
  [
    'ReadWrite in a privileged container',
    { privileged: true, cgroupOptions: { mountMode: 'ReadWrite' } },
    [[mode, 'FieldValueForbidden', 'ReadWrite may not be set for a privileged container']],
  ],
];

for (const [name, sc, expected] of CASES) {
  test(`cgroupOptions: ${name}`, (t) => {
    assertCauses(t, validate('Pod', withSecurityContext(sc)), expected, name);
  });
}

test('an empty mountMode is defaulted to ReadOnly', (t) => {
  const pod = withSecurityContext({ cgroupOptions: {} });
  t.is(pod.spec!.containers![0]!.securityContext?.cgroupOptions?.mountMode, 'ReadOnly');
});
