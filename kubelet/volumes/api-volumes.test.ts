// syncApiVolumes: each API-data volume written under the pod's dir, a
// missing object as a per-volume FailedMount message, unchanged volumes
// left alone, the memory medium asked for secret and projected volumes
// only, and fsGroup ownership (group, g+r) as Kubernetes' SetVolumeOwnership.

import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ConfigMap, Pod, Secret } from '../../api/gen/tsk/v1/core';
import type { ObjectGetter } from '../api-objects';
import { syncApiVolumes } from './api-volumes';

const node = { cpuMilli: 1000, memoryBytes: 1 << 30 };

function getter(configMaps: Record<string, ConfigMap>, secrets: Record<string, Secret>): ObjectGetter {
  return {
    configMap: async (ns, name) => configMaps[`${ns}/${name}`],
    secret: async (ns, name) => secrets[`${ns}/${name}`],
  };
}

function pod(fsGroup?: number): Pod {
  return {
    metadata: { name: 'p', namespace: 'ns', uid: 'uid-9' },
    spec: {
      ...(fsGroup !== undefined ? { securityContext: { fsGroup } } : {}),
      containers: [{ name: 'c' }],
      volumes: [
        { name: 'scratch', emptyDir: {} },
        { name: 'cfg', configMap: { name: 'cfg' } },
        { name: 'sec', secret: { secretName: 'sec', defaultMode: 0o400 } },
        { name: 'late', configMap: { name: 'late' } },
      ],
    },
  };
}

function tmp(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-apivol-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('writes each volume, reports a missing object per volume, leaves unchanged ones alone', async (t) => {
  const data = tmp(t);
  const media: string[] = [];
  const g = getter({ 'ns/cfg': { data: { a: '1' } } }, { 'ns/sec': { data: { pw: Buffer.from('x') } } });
  const opts = { memoryMedium: (d: string) => void media.push(path.basename(d)) };
  const first = await syncApiVolumes(pod(), data, g, node, opts);
  t.deepEqual(first.updated, ['cfg', 'sec']);
  t.deepEqual(first.failed, [{ volume: 'late', message: 'MountVolume.SetUp failed for volume "late" : configmap "late" not found' }]);
  t.deepEqual(media, ['sec'], 'only the secret volume asks for memory');
  const vols = path.join(data, 'pods', 'uid-9', 'volumes');
  t.is(fs.readFileSync(path.join(vols, 'kubernetes.io~configmap', 'cfg', 'a'), 'utf8'), '1');
  t.is(fs.statSync(path.join(vols, 'kubernetes.io~secret', 'sec', 'pw')).mode & 0o777, 0o400);
  const again = await syncApiVolumes(pod(), data, g, node, opts);
  t.deepEqual(again.updated, []);
});

const asRoot = process.getuid?.() === 0 ? test : test.skip;

asRoot('fsGroup: files and dirs of the new version group-owned by fsGroup, with group read added', async (t) => {
  const data = tmp(t);
  await syncApiVolumes(pod(1234), data, getter({}, { 'ns/sec': { data: { pw: Buffer.from('x') } } }), node);
  const file = path.join(data, 'pods', 'uid-9', 'volumes', 'kubernetes.io~secret', 'sec', 'pw');
  const st = fs.statSync(file);
  t.is(st.gid, 1234);
  t.is(st.mode & 0o777, 0o440, '0400 becomes 0440: readable by the group');
  const versionDir = path.dirname(fs.realpathSync(file));
  t.is(fs.statSync(versionDir).gid, 1234);
  t.truthy(fs.statSync(versionDir).mode & 0o2000, 'setgid');
});
