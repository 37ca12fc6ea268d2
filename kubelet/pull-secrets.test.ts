// imagePullSecrets: credentials of dockerconfigjson and dockercfg Secrets for
// an image's registry (auth or username/password; host, port and path
// prefixes; Docker Hub's spellings).

import test from 'ava';
import type { Secret } from '../api/gen/tsk/v1/core';
import { pullCredentials } from './pull-secrets';

const json = (auths: Record<string, unknown>): Secret => ({
  type: 'kubernetes.io/dockerconfigjson',
  data: { '.dockerconfigjson': Buffer.from(JSON.stringify({ auths })) },
});
const b64 = (s: string): string => Buffer.from(s).toString('base64');

test('auth (base64 user:password) and username/password entries, matched by host and port', (t) => {
  const s = json({
    'registry.example:5000': { auth: b64('alice:pa:ss') },
    'https://other.example': { username: 'bob', password: 'pw' },
  });
  t.deepEqual(pullCredentials([s], 'registry.example:5000/team/app:1'), [{ username: 'alice', password: 'pa:ss' }]);
  t.deepEqual(pullCredentials([s], 'other.example/app'), [{ username: 'bob', password: 'pw' }]);
  t.deepEqual(pullCredentials([s], 'registry.example/app'), [], 'another port is another registry');
  t.deepEqual(pullCredentials([s], 'busybox'), []);
});

test('path prefixes: the most specific first; Docker Hub keys; Secrets of other types ignored', (t) => {
  const a = json({ 'r.example/team': { auth: b64('team:1') }, 'r.example': { auth: b64('all:2') } });
  t.deepEqual(
    pullCredentials([a], 'r.example/team/app').map((c) => c.username),
    ['team', 'all'],
  );
  t.deepEqual(
    pullCredentials([a], 'r.example/teamx/app').map((c) => c.username),
    ['all'],
  );
  const hub = json({ 'https://index.docker.io/v1/': { auth: b64('hub:3') } });
  t.deepEqual(
    pullCredentials([hub], 'busybox:1.36').map((c) => c.username),
    ['hub'],
  );
  const cfg: Secret = { type: 'kubernetes.io/dockercfg', data: { '.dockercfg': Buffer.from(JSON.stringify({ 'r.example': { auth: b64('old:4') } })) } };
  const opaque: Secret = { type: 'Opaque', data: { '.dockerconfigjson': Buffer.from(JSON.stringify({ auths: { 'r.example': { auth: b64('no:5') } } })) } };
  const broken: Secret = { type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': Buffer.from('{not json') } };
  t.deepEqual(
    pullCredentials([opaque, broken, cfg], 'r.example/app').map((c) => c.username),
    ['old'],
  );
});
