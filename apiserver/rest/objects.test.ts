import test from 'ava';
import { decodeObject, objectJson, parseFieldValidation, parseJsonObject, summarizeBody } from './objects';

const CM = { apiVersion: 'v1', kind: 'ConfigMap' };

test('unknown fields: Strict refuses, Warn warns, Ignore ignores', (t) => {
  const body = { ...CM, metadata: { name: 'c' }, data: { a: '1' }, bogus: true };
  t.throws(() => decodeObject('tsk.v1.ConfigMap', body, CM, 'Strict'), { message: 'strict decoding error: unknown field "bogus"' });
  t.deepEqual(decodeObject('tsk.v1.ConfigMap', body, CM, 'Warn').warnings, ['unknown field "bogus"']);
  t.deepEqual(decodeObject('tsk.v1.ConfigMap', body, CM, 'Ignore').warnings, []);
  t.is(parseFieldValidation(null), 'Warn');
  t.throws(() => parseFieldValidation('strict'), { message: 'fieldValidation: "strict" must be Strict, Warn or Ignore' });
});

test('a body of another kind or version, or with a field of the wrong type, is a BadRequest', (t) => {
  t.throws(() => decodeObject('tsk.v1.ConfigMap', { apiVersion: 'v2', kind: 'ConfigMap' }, CM, 'Warn'), {
    message: 'the API version in the data (v2) does not match the expected API version (v1)',
  });
  t.throws(() => decodeObject('tsk.v1.ConfigMap', { kind: 'Secret' }, CM, 'Warn'), {
    message: 'the kind in the data (Secret) does not match the expected kind (ConfigMap)',
  });
  const err = t.throws(() => decodeObject('tsk.v1.ConfigMap', { data: 'x' }, CM, 'Warn'));
  t.regex(err?.message ?? '', /^ConfigMap in version "v1" cannot be handled as a ConfigMap: data: expected a map, got string$/);
});

test('JSON and YAML bodies; malformed ones and other media types are refused in kube-apiserver words', (t) => {
  t.deepEqual(parseJsonObject('{"a":1}'), { a: 1 });
  t.deepEqual(parseJsonObject('a: 1\nb: [x]\n', 'application/yaml'), { a: 1, b: ['x'] });
  const truncated = t.throws(() => parseJsonObject('{"apiVersion": "v1", "kind": "Pod", "metadata": {', 'application/json', 'Pod'));
  t.like(truncated, { reason: 'BadRequest' });
  t.regex(
    truncated?.message ?? '',
    /^the object provided is unrecognized \(must be of type Pod\): couldn't get version\/kind; json parse error: .+ \(\{"apiVersion": "v1", "kind": " \.\.\.\)$/,
  );
  t.throws(() => parseJsonObject('[1]', 'application/json', 'Pod'), {
    message:
      "the object provided is unrecognized (must be of type Pod): couldn't get version/kind; json parse error: cannot unmarshal array into an object (5b315d)",
  });
  t.throws(() => parseJsonObject('', 'application/json', 'DeleteOptions'), {
    message: /^the object provided is unrecognized \(must be of type DeleteOptions\): .* \(<empty>\)$/,
  });
  t.throws(() => parseJsonObject('a: [', 'application/yaml', 'Pod'), {
    message: /^the object provided is unrecognized \(must be of type Pod\): error converting YAML to JSON: /,
  });
  const pb = t.throws(() => parseJsonObject('x', 'application/vnd.kubernetes.protobuf'));
  t.like(pb, {
    reason: 'UnsupportedMediaType',
    message: 'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml',
  });
});

test("summarizeBody: an object's first 30 characters, other bytes in hex", (t) => {
  t.is(summarizeBody(''), '<empty>');
  t.is(summarizeBody('{"a":1}'), '{"a":1}');
  t.is(summarizeBody(`{"data":"${'x'.repeat(40)}"}`), `{"data":"${'x'.repeat(21)} ...`);
  t.is(summarizeBody('not json'), '6e6f74206a736f6e');
});

test('objects go out with apiVersion and kind', (t) => {
  t.like(objectJson('Lease', { metadata: { name: 'l' } }), { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'l' } });
});
