// Validation of the pod fields that read ConfigMaps, Secrets and the
// downward API: valid specs pass, each mistake is one cause with
// Kubernetes' field path and message.

import test from 'ava';
import type { Pod } from '../../api/gen/tsk/v1/core';
import { applyDefaults } from '../defaults';
import { assertCauses, type Expected, valid } from './fixtures';
import { validate } from './index';

const c0 = 'spec.containers[0]';

function withApiData(): Pod {
  const p = valid('Pod');
  const c = p.spec!.containers![0]!;
  c.env = [
    { name: 'A', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'a.key' } } },
    { name: 'B', valueFrom: { secretKeyRef: { name: 'sec', key: 'b', optional: true } } },
  ];
  c.envFrom = [{ prefix: 'CFG_', configMapRef: { name: 'cfg' } }, { secretRef: { name: 'sec' } }];
  p.spec!.volumes = [
    ...(p.spec!.volumes ?? []),
    { name: 'c', configMap: { name: 'cfg', items: [{ key: 'a.key', path: 'conf/a', mode: 0o600 }] } },
    { name: 's', secret: { secretName: 'sec', defaultMode: 0o400 } },
    { name: 'd', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } },
    {
      name: 'p',
      projected: {
        sources: [
          { configMap: { name: 'cfg', items: [{ key: 'x', path: 'x' }] } },
          { downwardAPI: { items: [{ path: 'cpu', resourceFieldRef: { containerName: c.name ?? '', resource: 'limits.cpu' } }] } },
        ],
      },
    },
  ];
  applyDefaults('Pod', p);
  return p;
}

test('env key refs, envFrom and the four API-data volume types are valid', (t) => {
  assertCauses(t, validate('Pod', withApiData()), []);
});

const CASES: Array<[string, (p: Pod) => void, Expected[]]> = [
  [
    'configMapKeyRef without key',
    (p) => delete p.spec!.containers![0]!.env![0]!.valueFrom!.configMapKeyRef!.key,
    [[`${c0}.env[0].valueFrom.configMapKeyRef.key`, 'FieldValueRequired', 'Required value']],
  ],
  [
    'two sources in one valueFrom',
    (p) => (p.spec!.containers![0]!.env![0]!.valueFrom!.secretKeyRef = { name: 's', key: 'k' }),
    [[`${c0}.env[0].valueFrom`, 'FieldValueInvalid', 'may not have more than one field specified at a time']],
  ],
  [
    'envFrom prefix not a variable name',
    (p) => (p.spec!.containers![0]!.envFrom![0]!.prefix = '1='),
    [[`${c0}.envFrom[0].prefix`, 'FieldValueInvalid', 'Invalid value: "1="']],
  ],
  [
    'envFrom with no source',
    (p) => (p.spec!.containers![0]!.envFrom![1] = {}),
    [[`${c0}.envFrom[1]`, 'FieldValueInvalid', 'must specify one of: `configMapRef` or `secretRef`']],
  ],
  [
    'secret volume without secretName',
    (p) => (p.spec!.volumes!.at(-3)!.secret!.secretName = ''),
    [['spec.volumes[3].secret.secretName', 'FieldValueRequired', 'Required value']],
  ],
  [
    'item path escaping the volume',
    (p) => (p.spec!.volumes!.at(-4)!.configMap!.items![0]!.path = '../etc/passwd'),
    [['spec.volumes[2].configMap.items[0].path', 'FieldValueInvalid', "must not contain '..'"]],
  ],
  [
    'mode over 0777',
    (p) => (p.spec!.volumes!.at(-4)!.configMap!.defaultMode = 0o1777),
    [['spec.volumes[2].configMap.defaultMode', 'FieldValueInvalid', 'must be a number between 0 and 0777 (octal), both inclusive']],
  ],
  [
    'downwardAPI field a volume cannot show',
    (p) => (p.spec!.volumes!.at(-2)!.downwardAPI!.items![0]!.fieldRef!.fieldPath = 'status.podIP'),
    [['spec.volumes[4].downwardAPI.items[0].fieldRef.fieldPath', 'FieldValueNotSupported', 'Unsupported value: "status.podIP"']],
  ],
  [
    'projected paths that collide',
    (p) => (p.spec!.volumes!.at(-1)!.projected!.sources![1]!.downwardAPI!.items![0]!.path = 'x'),
    [['spec.volumes[5].projected.sources[1].downwardAPI.items[0].path', 'FieldValueDuplicate', 'conflicting duplicate paths']],
  ],
  [
    'two volume types',
    (p) => (p.spec!.volumes!.at(-4)!.emptyDir = {}),
    [['spec.volumes[2]', 'FieldValueForbidden', 'may not specify more than 1 volume type']],
  ],
];

for (const [name, mutate, expected] of CASES) {
  test(`invalid: ${name}`, (t) => {
    const p = withApiData();
    mutate(p);
    assertCauses(t, validate('Pod', p), expected, name);
  });
}
