// ConfigMaps and Secrets through the API server on a real etcd: the generic
// paths (create, get, list, update, delete, watch) for both kinds, stringData
// write-only (merged into data, never returned, never stored), and Secrets
// encrypted at rest with the aesgcm provider: the raw etcd value holds
// Kubernetes' k8s:enc:aesgcm:v1:key1: prefix and no plaintext, a Secret
// written before encryption was on still reads, and the key file kept in the
// data dir reads everything back after a restart.

import test from 'ava';
import { Etcd3 } from 'etcd3';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ConfigMap, Secret } from '../api/gen/tsk/v1/core';
import { ensureDefaultEncryptionConfig } from '../apiserver/storage/encryption-file';
import { codecOf } from '../apiserver/storage/objects';
import { rejects, startTestApiServer } from './support/apiserver';
import { startTestEtcd, type TestEtcd } from './support/etcd';
import { tempDir } from './support/temp';

const text = (b: Uint8Array | undefined): string => Buffer.from(b ?? []).toString();

async function rawValue(etcd: TestEtcd, key: string): Promise<Buffer | null> {
  const raw = new Etcd3({ hosts: etcd.etcd.clientUrl });
  try {
    return await raw.get(key).buffer();
  } finally {
    raw.close();
  }
}

test('ConfigMaps and Secrets: create, get, list, update, watch, delete; stringData is write-only', async (t) => {
  const etcd = await startTestEtcd(t);
  const api = await startTestApiServer(t, etcd);
  const cms = api.kind('ConfigMap');
  const secrets = api.kind('Secret');

  const cmWatch = cms.watch({ namespace: 'default' });
  t.teardown(() => cmWatch.cancel());
  await cmWatch.registered;
  const cm = await cms.create({ metadata: { name: 'game', namespace: 'default' }, data: { 'game.properties': 'lives=3\n' } } as ConfigMap);
  t.is(cm.kind, 'ConfigMap');
  t.deepEqual((await cms.get('default', 'game')).data, { 'game.properties': 'lives=3\n' });
  await cms.update({ ...cm, data: { 'game.properties': 'lives=5\n' }, binaryData: { logo: Buffer.from([0, 1, 2]) } });
  const listed = await cms.list({ namespace: 'default' });
  t.deepEqual(
    listed.items?.map((c) => [c.metadata?.name, c.data?.['game.properties'], [...(c.binaryData?.['logo'] ?? [])]]),
    [['game', 'lives=5\n', [0, 1, 2]]],
  );
  await cms.delete({ namespace: 'default', name: 'game' });
  await cmWatch.waitFor((e) => e.length >= 3);
  t.deepEqual(
    cmWatch.events.map((e) => e.type),
    ['ADDED', 'MODIFIED', 'DELETED'],
  );

  const sWatch = secrets.watch({ namespace: 'default' });
  t.teardown(() => sWatch.cancel());
  await sWatch.registered;
  const created = await secrets.create({
    metadata: { name: 'db', namespace: 'default' },
    data: { username: Buffer.from('old') },
    stringData: { username: 'admin', password: 'hunter2' },
  } as Secret);
  t.is(created.type, 'Opaque');
  t.deepEqual(created.stringData ?? {}, {}, 'stringData is never returned');
  t.deepEqual(Object.keys(created.data ?? {}).sort(), ['password', 'username']);
  t.is(text(created.data?.['username']), 'admin', 'stringData wins over data');
  const stored = await rawValue(etcd, '/registry/secrets/default/db');
  const decoded = codecOf('Secret').decode(stored!) as Secret;
  t.deepEqual(decoded.stringData ?? {}, {}, 'stringData is never stored');
  t.is(text(decoded.data?.['password']), 'hunter2');

  const updated = await secrets.update({ ...created, stringData: { password: 'rotated' } });
  t.is(text(updated.data?.['password']), 'rotated');
  t.is(text(updated.data?.['username']), 'admin');
  t.deepEqual(updated.stringData ?? {}, {});
  t.deepEqual(
    (await secrets.list({ namespace: 'default', fieldSelector: 'type=Opaque' })).items?.map((s) => s.metadata?.name),
    ['db'],
  );
  const typeChange = await rejects(secrets.update({ ...updated, type: 'kubernetes.io/dockerconfigjson' }));
  t.is(typeChange.reason, 'Invalid');
  t.regex(typeChange.message, /type: Invalid value: "kubernetes.io\/dockerconfigjson": field is immutable/);
  await secrets.delete({ namespace: 'default', name: 'db' });
  await sWatch.waitFor((e) => e.length >= 3);
  t.deepEqual(
    sWatch.events.map((e) => [e.type, text(e.object.data?.['password']), Object.keys(e.object.stringData ?? {}).length]),
    [
      ['ADDED', 'hunter2', 0],
      ['MODIFIED', 'rotated', 0],
      ['DELETED', 'rotated', 0],
    ],
  );
});

test('Secrets are encrypted in etcd with the generated aesgcm key; old plaintext Secrets still read; a restart reads all back', async (t) => {
  const etcd = await startTestEtcd(t);
  const dir = tempDir(t, 'tsk-enc-');
  const file = join(dir, 'encryption-config.yaml');

  // A Secret from before encryption was on (an upgraded server).
  const before = await startTestApiServer(t, etcd);
  await before.kind('Secret').create({ metadata: { name: 'legacy', namespace: 'default' }, stringData: { token: 'plain-old-token' } } as Secret);
  await before.stop();
  t.true((await rawValue(etcd, '/registry/secrets/default/legacy'))!.includes('plain-old-token'));

  const logs: string[] = [];
  const encryption = await ensureDefaultEncryptionConfig(file, (m) => logs.push(m));
  t.regex(logs.join('\n'), /created .*encryption-config\.yaml: Secrets are encrypted in etcd/);
  t.is((await stat(file)).mode & 0o777, 0o600);
  const api = await startTestApiServer(t, etcd, { encryption });
  const secrets = api.kind('Secret');
  const watch = secrets.watch({ namespace: 'default', resourceVersion: '0' });
  t.teardown(() => watch.cancel());
  await secrets.create({ metadata: { name: 'db', namespace: 'default' }, stringData: { password: 'correct-horse-battery' } } as Secret);
  await api.kind('ConfigMap').create({ metadata: { name: 'cfg', namespace: 'default' }, data: { mode: 'visible-config' } } as ConfigMap);

  const raw = (await rawValue(etcd, '/registry/secrets/default/db'))!;
  t.true(raw.subarray(0, 23).equals(Buffer.from('k8s:enc:aesgcm:v1:key1:')), raw.subarray(0, 30).toString());
  t.false(raw.includes('correct-horse-battery'), 'the plaintext is not in etcd');
  t.false(raw.includes('password'), 'nor the key names');
  t.true((await rawValue(etcd, '/registry/configmaps/default/cfg'))!.includes('visible-config'), 'ConfigMaps are not encrypted');

  t.is(text((await secrets.get('default', 'db')).data?.['password']), 'correct-horse-battery');
  t.is(text((await secrets.get('default', 'legacy')).data?.['token']), 'plain-old-token');
  t.deepEqual(
    (await secrets.list({ namespace: 'default' })).items?.map((s) => s.metadata?.name),
    ['db', 'legacy'],
  );
  await watch.waitFor((e) => e.length >= 2);
  t.deepEqual(watch.events.map((e) => [e.type, e.object.metadata?.name]).sort(), [
    ['ADDED', 'db'],
    ['ADDED', 'legacy'],
  ]);
  // Rewriting the old Secret encrypts it.
  const legacy = await secrets.get('default', 'legacy');
  await secrets.update({ ...legacy, metadata: { ...legacy.metadata, labels: { rewritten: 'yes' } } });
  t.false((await rawValue(etcd, '/registry/secrets/default/legacy'))!.includes('plain-old-token'));

  // A restart with the configuration read again from the data dir: the same key, everything reads.
  await api.stop();
  const again = await startTestApiServer(t, etcd, { encryption: await ensureDefaultEncryptionConfig(file, (m) => logs.push(m)) });
  t.is(text((await again.kind('Secret').get('default', 'db')).data?.['password']), 'correct-horse-battery');
  t.is(text((await again.kind('Secret').get('default', 'legacy')).data?.['token']), 'plain-old-token');
  const history = again.kind('Secret').watch({ namespace: 'default', resourceVersion: '1' });
  t.teardown(() => history.cancel());
  await history.waitFor((e) => e.some((x) => x.object.metadata?.name === 'db'));
  t.is(text(history.events.find((e) => e.object.metadata?.name === 'db')?.object.data?.['password']), 'correct-horse-battery', 'replayed from etcd history');
  await again.stop();

  // Another key (of the same name) cannot read them: the server refuses to start rather than serve garbage.
  const otherFile = join(dir, 'other.yaml');
  const wrong = await ensureDefaultEncryptionConfig(otherFile, () => undefined);
  const err = await t.throwsAsync(startTestApiServer(t, etcd, { encryption: wrong }));
  t.regex(err?.message ?? '', /unable to transform key "\/registry\/secrets\/default\/db": cipher: message authentication failed/);
  t.false(err?.message.includes('correct-horse-battery'));
});
