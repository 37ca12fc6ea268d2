import test from 'ava';
import type { Pod } from '../../api/gen/tsk/v1/core';
import { applyDefaults } from '../defaults';
import { assertCauses, raw, type Expected } from './fixtures';
import { validate } from './index';

/** The fixture pod with an image volume "tools" mounted by its first container, defaulted as the API server does. */
function withImageVolume(mutate: (p: Pod) => void): Pod {
  const pod = raw('Pod');
  pod.spec!.volumes!.push({ name: 'tools', image: { reference: 'busybox:1.36' } });
  pod.spec!.containers![0]!.volumeMounts!.push({ name: 'tools', mountPath: '/tools' });
  mutate(pod);
  applyDefaults('Pod', pod);
  return pod;
}

const v2 = 'spec.volumes[2]';
const m1 = 'spec.containers[0].volumeMounts[1]';

const CASES: Array<[string, (p: Pod) => void, Expected[]]> = [
  ['a tagged reference, pullPolicy defaulted', () => undefined, []],
  ['reference missing', (p) => (p.spec!.volumes![2]!.image!.reference = ''), [[`${v2}.image.reference`, 'FieldValueRequired', 'Required value']]],
  [
    'reference with whitespace',
    (p) => (p.spec!.volumes![2]!.image!.reference = 'busybox '),
    [[`${v2}.image.reference`, 'FieldValueInvalid', 'must not have leading or trailing whitespace']],
  ],
  [
    'unknown pullPolicy',
    (p) => (p.spec!.volumes![2]!.image!.pullPolicy = 'Sometimes'),
    [[`${v2}.image.pullPolicy`, 'FieldValueNotSupported', 'Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"']],
  ],
  [
    'image and emptyDir in one volume',
    (p) => (p.spec!.volumes![2]!.emptyDir = {}),
    [[`${v2}.image`, 'FieldValueForbidden', 'may not specify more than 1 volume type']],
  ],
  // Kubernetes 1.33 lifted the alpha's ban on subPath and subPathExpr for image volumes.
  ['subPath into the image', (p) => (p.spec!.containers![0]!.volumeMounts![1]!.subPath = 'bin'), []],
  ['subPathExpr into the image', (p) => (p.spec!.containers![0]!.volumeMounts![1]!.subPathExpr = '$(MODE)'), []],
  ['readOnly false is accepted (the mount is read-only anyway)', (p) => (p.spec!.containers![0]!.volumeMounts![1]!.readOnly = false), []],
  [
    'subPath stepping out',
    (p) => (p.spec!.containers![0]!.volumeMounts![1]!.subPath = '../etc'),
    [[`${m1}.subPath`, 'FieldValueInvalid', "must not contain '..'"]],
  ],
];

for (const [name, mutate, expected] of CASES) {
  test(`image volume: ${name}`, (t) => {
    assertCauses(t, validate('Pod', withImageVolume(mutate)), expected, name);
  });
}

test("image volume pullPolicy defaults as a container's imagePullPolicy; a set one is kept; an image volume is not made an emptyDir", (t) => {
  const pod = raw('Pod');
  pod.spec!.volumes = [
    { name: 'a', image: { reference: 'alpine' } },
    { name: 'b', image: { reference: 'quay.io/crio/artifact:v1' } },
    { name: 'c', image: { reference: 'alpine:latest', pullPolicy: 'Never' } },
  ];
  applyDefaults('Pod', pod);
  const [a, b, c] = pod.spec!.volumes;
  t.is(a?.image?.pullPolicy, 'Always');
  t.is(b?.image?.pullPolicy, 'IfNotPresent');
  t.is(c?.image?.pullPolicy, 'Never');
  t.is(a?.emptyDir, undefined);
});
