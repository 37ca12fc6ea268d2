// The file sets of configMap, secret, downwardAPI and projected volumes:
// keys or items to paths, modes (defaultMode, per item), optional, and the
// downward API's label and resource files.

import test from 'ava';
import type { Pod, Volume } from '../../api/gen/tsk/v1/core';
import { DEFAULT_MODE, ProjectionError, volumeObjectNames, volumePayload, type VolumeObjects } from './projections';

const node = { cpuMilli: 2000, memoryBytes: 4 << 30 };

const pod: Pod = {
  metadata: { name: 'web', namespace: 'shop', uid: 'u-1', labels: { zone: 'b', app: 'web' }, annotations: { note: 'say "hi"' } },
  spec: { containers: [{ name: 'app', resources: { limits: { cpu: '500m', memory: '64Mi' } } }] },
};

const objects: VolumeObjects = {
  configMaps: new Map([
    ['cfg', { data: { 'game.properties': 'lives=3', 'ui.properties': 'color=red' }, binaryData: { 'logo.bin': Buffer.from([0, 1, 2]) } }],
    ['absent', undefined],
  ]),
  secrets: new Map([
    ['creds', { data: { username: Buffer.from('admin'), password: Buffer.from('s3cret') } }],
    ['nope', undefined],
  ]),
};

const files = (v: Volume): Record<string, string> =>
  Object.fromEntries([...volumePayload(pod, v, objects, node)].map(([p, f]) => [p, `${f.mode.toString(8)}:${f.data.toString('utf8')}`]));

test('configMap: every key (data and binaryData) at its name with mode 0644; items pick keys with their own path and mode', (t) => {
  t.deepEqual(files({ name: 'v', configMap: { name: 'cfg' } }), {
    'game.properties': '644:lives=3',
    'ui.properties': '644:color=red',
    'logo.bin': '644:\u0000\u0001\u0002',
  });
  t.deepEqual(
    files({
      name: 'v',
      configMap: {
        name: 'cfg',
        defaultMode: 0o440,
        items: [
          { key: 'game.properties', path: 'conf/game' },
          { key: 'ui.properties', path: 'ui', mode: 0o600 },
        ],
      },
    }),
    {
      'conf/game': '440:lives=3',
      ui: '600:color=red',
    },
  );
  t.is(DEFAULT_MODE, 0o644);
});

test('secret: keys as files, defaultMode 0644 too', (t) => {
  t.deepEqual(files({ name: 'v', secret: { secretName: 'creds' } }), { username: '644:admin', password: '644:s3cret' });
  t.deepEqual(files({ name: 'v', secret: { secretName: 'creds', defaultMode: 0o400, items: [{ key: 'password', path: 'pw' }] } }), { pw: '400:s3cret' });
});

test("missing objects and keys: Kubernetes' errors unless optional (then an empty volume, or the key skipped)", (t) => {
  t.throws(() => files({ name: 'v', configMap: { name: 'absent' } }), { instanceOf: ProjectionError, message: 'configmap "absent" not found' });
  t.throws(() => files({ name: 'v', secret: { secretName: 'nope' } }), { message: 'secret "nope" not found' });
  t.throws(() => files({ name: 'v', configMap: { name: 'cfg', items: [{ key: 'x', path: 'x' }] } }), {
    message: 'configmap references non-existent config key: x',
  });
  t.throws(() => files({ name: 'v', secret: { secretName: 'creds', items: [{ key: 'x', path: 'x' }] } }), {
    message: 'secret references non-existent secret key: x',
  });
  t.deepEqual(files({ name: 'v', configMap: { name: 'absent', optional: true } }), {});
  t.deepEqual(
    files({
      name: 'v',
      secret: {
        secretName: 'creds',
        optional: true,
        items: [
          { key: 'x', path: 'x' },
          { key: 'username', path: 'u' },
        ],
      },
    }),
    { u: '644:admin' },
  );
});

test('downwardAPI: labels and annotations as sorted key="value" lines, name, namespace, uid and resources', (t) => {
  const v: Volume = {
    name: 'info',
    downwardAPI: {
      items: [
        { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
        { path: 'annotations', fieldRef: { fieldPath: 'metadata.annotations' }, mode: 0o600 },
        { path: 'name', fieldRef: { fieldPath: 'metadata.name' } },
        { path: 'ns', fieldRef: { fieldPath: 'metadata.namespace' } },
        { path: 'uid', fieldRef: { fieldPath: 'metadata.uid' } },
        { path: 'zone', fieldRef: { fieldPath: "metadata.labels['zone']" } },
        { path: 'cpu_limit', resourceFieldRef: { containerName: 'app', resource: 'limits.cpu', divisor: '1m' } },
        { path: 'mem_limit', resourceFieldRef: { containerName: 'app', resource: 'limits.memory', divisor: '1Mi' } },
      ],
    },
  };
  t.deepEqual(files(v), {
    labels: '644:app="web"\nzone="b"\n',
    annotations: '600:note="say \\"hi\\""\n',
    name: '644:web',
    ns: '644:shop',
    uid: '644:u-1',
    zone: '644:b',
    cpu_limit: '644:500',
    mem_limit: '644:64',
  });
  t.throws(() => files({ name: 'x', downwardAPI: { items: [{ path: 'ip', fieldRef: { fieldPath: 'status.podIP' } }] } }), {
    message: 'unable to collect data for ip: unsupported fieldPath: status.podIP',
  });
});

test('projected: sources merged into one directory with the volume defaultMode', (t) => {
  const v: Volume = {
    name: 'all',
    projected: {
      defaultMode: 0o444,
      sources: [
        { configMap: { name: 'cfg', items: [{ key: 'game.properties', path: 'game' }] } },
        { secret: { name: 'creds', items: [{ key: 'username', path: 'user', mode: 0o400 }] } },
        { secret: { name: 'nope', optional: true } },
        { downwardAPI: { items: [{ path: 'name', fieldRef: { fieldPath: 'metadata.name' } }] } },
      ],
    },
  };
  t.deepEqual(files(v), { game: '444:lives=3', user: '400:admin', name: '444:web' });
  t.deepEqual(volumeObjectNames(v), { configMaps: ['cfg'], secrets: ['creds', 'nope'] });
  t.throws(() => files({ name: 'p', projected: { sources: [{ configMap: { name: 'absent' } }] } }), { message: 'configmap "absent" not found' });
});
