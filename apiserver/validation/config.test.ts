// Validation of ConfigMaps and Secrets (config.ts), and the Secret defaulting
// it relies on (stringData merged into data).

import test from 'ava';
import type { ConfigMap, Secret } from '../../api/gen/tsk/v1/core';
import { applyDefaults } from '../defaults';
import { configKeyErrors, MAX_CONFIG_DATA_BYTES } from './config';
import { assertCauses, raw, type Expected, valid } from './fixtures';
import { validate, validateUpdate } from './index';

const KEY_MSG = 'a valid config key must consist of alphanumeric characters';

for (const kind of ['ConfigMap', 'Secret'] as const) {
  test(`the fixture ${kind} is valid`, (t) => {
    assertCauses(t, validate(kind, valid(kind)), [], kind);
  });
}

// [key, the messages' substrings; [] when valid]
const KEYS: Array<[string, string[]]> = [
  ['game.properties', []],
  ['KEY_NAME', []],
  ['key-name', []],
  ['.hidden', []],
  ['a..b', []],
  ['a/b', [KEY_MSG]],
  ['a b', [KEY_MSG]],
  ['', [KEY_MSG]],
  ['.', ["must not be '.'"]],
  ['..', ["must not be '..'"]],
  ['..data', ["must not start with '..'"]],
  ['../etc/passwd', [KEY_MSG, "must not start with '..'"]],
  ['k'.repeat(253), []],
  ['k'.repeat(254), ['must be no more than 253 characters']],
];

for (const [key, messages] of KEYS) {
  const label = JSON.stringify(key.length > 20 ? `${key.slice(0, 4)}…(${key.length})` : key);
  test(`config key ${label} is ${messages.length === 0 ? 'valid' : 'invalid'}`, (t) => {
    const errs = configKeyErrors(key);
    t.is(errs.length, messages.length, errs.join('; '));
    for (const m of messages)
      t.true(
        errs.some((e) => e.includes(m)),
        `${m} in ${errs.join('; ')}`,
      );
  });
}

test('keys that are not file names are field errors of data, binaryData and a Secret’s data', (t) => {
  const cm = valid('ConfigMap');
  cm.data = { 'a/b': 'x' };
  cm.binaryData = { '..data': Buffer.from('y') };
  assertCauses(t, validate('ConfigMap', cm), [
    ['data[a/b]', 'FieldValueInvalid', KEY_MSG],
    ['binaryData[..data]', 'FieldValueInvalid', "must not start with '..'"],
  ]);
  const s = valid('Secret');
  s.data = { 'bad key': Buffer.from('v') };
  assertCauses(t, validate('Secret', s), [['data[bad key]', 'FieldValueInvalid', KEY_MSG]]);
});

test('a key in both data and binaryData is a duplicate', (t) => {
  const cm = valid('ConfigMap');
  cm.data = { k: 'a' };
  cm.binaryData = { k: Buffer.from('b') };
  assertCauses(t, validate('ConfigMap', cm), [['binaryData[k]', 'FieldValueDuplicate', 'duplicate of key present in data']]);
});

test('more than 1 MiB of data (keys and values) is too long; exactly 1 MiB is fine', (t) => {
  const key = 'big';
  const fits = 'x'.repeat(MAX_CONFIG_DATA_BYTES - key.length);
  const cm: ConfigMap = { ...valid('ConfigMap'), data: { [key]: fits } };
  assertCauses(t, validate('ConfigMap', cm), []);
  cm.data = { [key]: `${fits}x` };
  const tooLong: Expected = ['data', 'FieldValueTooLong', `Too long: must have at most ${MAX_CONFIG_DATA_BYTES} bytes`];
  assertCauses(t, validate('ConfigMap', cm), [tooLong]);
  // binaryData counts too.
  cm.data = { [key]: fits };
  cm.binaryData = { b: Buffer.alloc(1) };
  assertCauses(t, validate('ConfigMap', cm), [tooLong]);
  const s: Secret = { ...valid('Secret'), data: { [key]: Buffer.alloc(MAX_CONFIG_DATA_BYTES) } };
  assertCauses(t, validate('Secret', s), [tooLong]);
});

test('a dockerconfigjson Secret needs .dockerconfigjson holding a JSON object; the message never shows the contents', (t) => {
  const s: Secret = { ...valid('Secret'), type: 'kubernetes.io/dockerconfigjson', data: {} };
  assertCauses(t, validate('Secret', s), [['data[.dockerconfigjson]', 'FieldValueRequired', 'Required value']]);
  s.data = { '.dockerconfigjson': Buffer.from('{"auths": {"r": {"password": "hunter2"') };
  const causes = validate('Secret', s);
  assertCauses(t, causes, [['data[.dockerconfigjson]', 'FieldValueInvalid', '<secret contents redacted>']]);
  t.false(causes.some((c) => c.message.includes('hunter2')));
  s.data = { '.dockerconfigjson': Buffer.from('["hunter2"]') };
  assertCauses(t, validate('Secret', s), [['data[.dockerconfigjson]', 'FieldValueInvalid', 'must be a JSON object']]);
  s.data = { '.dockerconfigjson': Buffer.from('{"auths":{}}') };
  assertCauses(t, validate('Secret', s), []);
});

test('immutable: data and the flag cannot change; other updates and metadata changes can', (t) => {
  const old = valid('ConfigMap');
  old.metadata!.uid = 'u';
  old.immutable = true;
  const same = { ...old, metadata: { ...old.metadata, labels: { a: 'b' } } };
  assertCauses(t, validateUpdate('ConfigMap', same, old), []);
  const changed = { ...old, data: { k: 'new' } };
  assertCauses(t, validateUpdate('ConfigMap', changed, old), [['data', 'FieldValueForbidden', 'field is immutable when `immutable` is set']]);
  const unset = { ...old, immutable: false };
  assertCauses(t, validateUpdate('ConfigMap', unset, old), [['immutable', 'FieldValueForbidden', 'field is immutable when `immutable` is set']]);
  const mutable = { ...old, immutable: false, data: { k: 'v' } };
  assertCauses(t, validateUpdate('ConfigMap', { ...mutable, data: { k: 'w' } }, mutable), []);

  const sOld: Secret = { ...valid('Secret'), immutable: true };
  assertCauses(t, validateUpdate('Secret', { ...sOld, data: { password: Buffer.from('other') } }, sOld), [
    ['data', 'FieldValueForbidden', 'field is immutable when `immutable` is set'],
  ]);
  assertCauses(t, validateUpdate('Secret', { ...sOld, data: { ...sOld.data } }, sOld), [], 'equal bytes in new buffers');
});

test('a Secret’s type cannot change', (t) => {
  const old = valid('Secret');
  assertCauses(t, validateUpdate('Secret', { ...old, type: 'example.com/other' }, old), [['type', 'FieldValueInvalid', 'field is immutable']]);
});

test('defaulting: type Opaque, stringData merged into data (winning over data) and dropped', (t) => {
  const s: Secret = {
    ...raw('Secret'),
    type: '',
    data: { username: Buffer.from('old'), other: Buffer.from('kept') },
    stringData: { username: 'admin', 'config.yaml': 'a: 1\n' },
  };
  applyDefaults('Secret', s);
  t.is(s.type, 'Opaque');
  t.is(s.stringData, undefined);
  t.deepEqual(Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v).toString()])), {
    username: 'admin',
    other: 'kept',
    'config.yaml': 'a: 1\n',
  });
  const typed: Secret = { metadata: { name: 'x' }, type: 'kubernetes.io/dockerconfigjson', stringData: { '.dockerconfigjson': '{}' } };
  applyDefaults('Secret', typed);
  t.is(typed.type, 'kubernetes.io/dockerconfigjson');
  t.deepEqual(Object.keys(typed.data ?? {}), ['.dockerconfigjson']);
});

test("the well-known Secret types need their keys, as Kubernetes' ValidateSecret", (t) => {
  const secret = (type: string, data: Record<string, string>): Secret => {
    const s = valid('Secret');
    s.type = type;
    s.data = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v)]));
    return s;
  };
  assertCauses(t, validate('Secret', secret('kubernetes.io/tls', { 'tls.crt': 'c', 'tls.key': 'k' })), []);
  assertCauses(t, validate('Secret', secret('kubernetes.io/tls', { 'tls.crt': 'c' })), [['data[tls.key]', 'FieldValueRequired', 'Required value']]);
  assertCauses(t, validate('Secret', secret('kubernetes.io/ssh-auth', {})), [['data[ssh-privatekey]', 'FieldValueRequired', 'Required value']]);
  assertCauses(t, validate('Secret', secret('kubernetes.io/basic-auth', { password: 'p' })), []);
  assertCauses(t, validate('Secret', secret('kubernetes.io/basic-auth', {})), [
    ['data[username]', 'FieldValueRequired', 'either username or password is required'],
  ]);
});
