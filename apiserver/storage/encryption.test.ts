import test from 'ava';
import { createDecipheriv } from 'node:crypto';
import { InternalError } from '../../api/errors';
import { aesGcm, defaultEncryptionConfig, parseEncryptionConfig, providerTransformer, transformersOf, type Provider } from './encryption';

const KEY1 = Buffer.alloc(32, 1);
const KEY2 = Buffer.alloc(32, 2);
const SECRET_KEY = '/registry/secrets/default/db';
const PLAIN = Buffer.from('\n\x02v1\x12\x06Secret password=hunter2');
const KNOWN = new Set(['secrets', 'configmaps', 'pods']);

const gcm = (...keys: [string, Buffer][]): Provider => ({ type: 'aesgcm', keys: keys.map(([name, secret]) => ({ name, secret })) });
const identity: Provider = { type: 'identity' };

test("aesgcm writes Kubernetes' format: prefix, 12-byte nonce, ciphertext, 16-byte tag, the etcd key authenticated", (t) => {
  const stored = providerTransformer([gcm(['key1', KEY1])]).toStorage(PLAIN, SECRET_KEY);
  const prefix = Buffer.from('k8s:enc:aesgcm:v1:key1:');
  t.true(stored.subarray(0, prefix.length).equals(prefix));
  t.is(stored.length, prefix.length + 12 + PLAIN.length + 16);
  t.false(stored.includes(Buffer.from('hunter2')));
  // Decrypt by hand as Kubernetes' aes.gcm would.
  const body = stored.subarray(prefix.length);
  const d = createDecipheriv('aes-256-gcm', KEY1, body.subarray(0, 12));
  d.setAAD(Buffer.from(SECRET_KEY));
  d.setAuthTag(body.subarray(body.length - 16));
  t.deepEqual(Buffer.concat([d.update(body.subarray(12, body.length - 16)), d.final()]), PLAIN);
});

test('every write gets a fresh nonce; reading gives the plaintext back', (t) => {
  const tr = providerTransformer([gcm(['key1', KEY1])]);
  const a = tr.toStorage(PLAIN, SECRET_KEY);
  const b = tr.toStorage(PLAIN, SECRET_KEY);
  t.false(a.equals(b));
  t.deepEqual(tr.fromStorage(a, SECRET_KEY), PLAIN);
  t.deepEqual(tr.fromStorage(b, SECRET_KEY), PLAIN);
});

test('a value moved under another key or tampered with does not decrypt', (t) => {
  const tr = providerTransformer([gcm(['key1', KEY1])]);
  const stored = tr.toStorage(PLAIN, SECRET_KEY);
  t.throws(() => tr.fromStorage(stored, '/registry/secrets/default/other'), { message: /authentication failed/ });
  const flipped = Buffer.from(stored);
  flipped[flipped.length - 20]! ^= 1;
  t.throws(() => tr.fromStorage(flipped, SECRET_KEY), { message: /authentication failed/ });
});

test('identity after aesgcm reads values stored before encryption was on; without it they are refused', (t) => {
  t.deepEqual(providerTransformer([gcm(['key1', KEY1]), identity]).fromStorage(PLAIN, SECRET_KEY), PLAIN);
  t.throws(() => providerTransformer([gcm(['key1', KEY1])]).fromStorage(PLAIN, SECRET_KEY), { message: 'no matching prefix found' });
});

test('key rotation: the first key writes, every listed key reads; identity first writes plaintext but still reads encrypted values', (t) => {
  const old = providerTransformer([gcm(['key1', KEY1])]).toStorage(PLAIN, SECRET_KEY);
  const rotated = providerTransformer([gcm(['key2', KEY2], ['key1', KEY1])]);
  t.deepEqual(rotated.fromStorage(old, SECRET_KEY), PLAIN);
  t.true(rotated.toStorage(PLAIN, SECRET_KEY).subarray(0, 23).equals(Buffer.from('k8s:enc:aesgcm:v1:key2:')));
  const decrypting = providerTransformer([identity, gcm(['key1', KEY1])]);
  t.deepEqual(decrypting.toStorage(PLAIN, SECRET_KEY), PLAIN);
  t.deepEqual(decrypting.fromStorage(old, SECRET_KEY), PLAIN);
  // A key that is gone: the value cannot be read.
  t.throws(() => providerTransformer([gcm(['key2', KEY2]), identity]).fromStorage(old, SECRET_KEY), { message: 'no matching prefix found' });
});

test('AES-128 and AES-192 keys work; other lengths are refused', (t) => {
  for (const n of [16, 24]) {
    const tr = aesGcm(Buffer.alloc(n, 7));
    t.deepEqual(tr.fromStorage(tr.toStorage(PLAIN, SECRET_KEY), SECRET_KEY), PLAIN);
  }
  t.throws(() => aesGcm(Buffer.alloc(20)), { message: /16, 24 or 32 bytes, not 20/ });
});

test('only the configured resources are transformed; a failed read is an InternalError naming the key, never the value', (t) => {
  const tr = transformersOf(new Map([['secrets', [gcm(['key1', KEY1])]]]));
  const stored = tr.toStorage(SECRET_KEY, PLAIN);
  t.false(stored.equals(PLAIN));
  t.deepEqual(tr.fromStorage(SECRET_KEY, stored), PLAIN);
  const cmKey = '/registry/configmaps/default/db';
  t.is(tr.toStorage(cmKey, PLAIN), PLAIN);
  t.is(tr.fromStorage(cmKey, PLAIN), PLAIN);
  t.is(tr.toStorage('/bootstrap/tokens/abc', PLAIN), PLAIN);
  t.is(tr.toStorage('/registry/secretsX', PLAIN), PLAIN);
  const err = t.throws(() => tr.fromStorage(SECRET_KEY, PLAIN), { instanceOf: InternalError });
  t.is(err?.message, `unable to transform key "${SECRET_KEY}": no matching prefix found`);
  t.false(err?.message.includes('hunter2'));
});

test('the generated configuration parses: secrets, a 32-byte aesgcm key named key1, then identity', (t) => {
  const text = defaultEncryptionConfig(() => KEY1);
  const config = parseEncryptionConfig(text, 'enc.yaml', KNOWN);
  t.deepEqual([...config.keys()], ['secrets']);
  t.deepEqual(config.get('secrets'), [gcm(['key1', KEY1]), identity]);
});

test("Kubernetes' documented example parses (JSON too)", (t) => {
  const yaml = `apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources:
      - secrets
      - configmaps.
    providers:
      - aesgcm:
          keys:
            - name: key1
              secret: ${KEY1.toString('base64')}
            - name: key2
              secret: ${KEY2.toString('base64')}
      - identity: {}
`;
  const config = parseEncryptionConfig(yaml, 'enc.yaml', KNOWN);
  t.deepEqual(config.get('configmaps'), [gcm(['key1', KEY1], ['key2', KEY2]), identity]);
  const json = JSON.stringify({
    apiVersion: 'apiserver.config.k8s.io/v1',
    kind: 'EncryptionConfiguration',
    resources: [{ resources: ['secrets'], providers: [{ identity: {} }] }],
  });
  t.deepEqual(parseEncryptionConfig(json, 'enc.json', KNOWN).get('secrets'), [identity]);
});

test('bad configurations are refused with the file and the field, never the key', (t) => {
  const doc = (providers: string, resources = '[secrets]'): string =>
    `apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources: ${resources}\n    providers: ${providers}\n`;
  const short = Buffer.alloc(10, 3).toString('base64');
  const cases: [string, RegExp][] = [
    [
      doc(`[{aesgcm: {keys: [{name: k, secret: ${short}}]}}]`),
      /^enc\.yaml: resources\[0\]\.providers\[0\]\.aesgcm\.keys\[0\]\.secret: .*got 10, expected one of \[16 24 32\]/,
    ],
    [doc(`[{aesgcm: {keys: [{name: k, secret: '!!notbase64'}]}}]`), /keys\[0\]\.secret: Invalid value: REDACTED: secrets must be base64 encoded/],
    [doc(`[{aesgcm: {keys: []}}]`), /aesgcm\.keys: Required value/],
    [doc(`[{aescbc: {keys: []}}]`), /providers\[0\]\.aescbc: the aescbc provider is not supported by tsk \(supported: aesgcm, identity\)/],
    [doc(`[{magic: {}}]`), /providers\[0\]: unknown provider "magic"/],
    [doc(`[{identity: {}, aesgcm: {}}]`), /providers\[0\]: Invalid value: exactly one provider type/],
    [doc(`[]`), /providers: Required value/],
    [doc(`[{identity: {}}]`, '["*.*"]'), /resources\[0\]\.resources\[0\]: Invalid value: "\*\.\*": not a resource tsk stores/],
    [doc(`[{identity: {}}]`, '[secrets, secrets]'), /resources\[1\]: Duplicate value: "secrets"/],
    ['kind: Pod\n', /kind: must be EncryptionConfiguration/],
  ];
  for (const [text, re] of cases) {
    const err = t.throws(() => parseEncryptionConfig(text, 'enc.yaml', KNOWN));
    t.regex(err?.message ?? '', re, text);
  }
  const dup = doc(`[{aesgcm: {keys: [{name: k, secret: ${KEY1.toString('base64')}}, {name: k, secret: ${KEY2.toString('base64')}}]}}]`);
  const err = t.throws(() => parseEncryptionConfig(dup, 'enc.yaml', KNOWN));
  t.regex(err?.message ?? '', /keys\[1\]\.name: Duplicate value: "k"/);
  t.false(err?.message.includes(KEY1.toString('base64')));
});
