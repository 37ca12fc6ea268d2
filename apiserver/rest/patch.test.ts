import test from 'ava';
import { ApiError } from '../../api/errors';
import type { JsonMap } from '../../api/patch/shape';
import { patchObjectAt, patchObject } from './patch';

const T0 = '2026-12-07T08:00:00Z';
const pod = (): JsonMap => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', labels: { app: 'web' } },
  spec: { containers: [{ name: 'nginx', image: 'nginx:1.25' }] },
});
const opts = { force: false };
const patch = (body: string, contentType: string, o: { fieldManager?: string; force: boolean } = opts): JsonMap =>
  patchObjectAt('tsk.v1.Pod', pod(), body, contentType, o, T0);

test('Content-Type picks the patch type; parameters are ignored', (t) => {
  const image = (o: JsonMap): unknown => ((o['spec'] as JsonMap)['containers'] as JsonMap[]).map((c) => [c['name'], c['image']]);
  t.deepEqual(image(patch('{"spec":{"containers":[{"name":"side","image":"busybox"}]}}', 'application/strategic-merge-patch+json')), [
    ['side', 'busybox'],
    ['nginx', 'nginx:1.25'],
  ]);
  t.deepEqual(image(patch('{"spec":{"containers":[{"name":"side","image":"busybox"}]}}', 'application/merge-patch+json; charset=utf-8')), [
    ['side', 'busybox'],
  ]);
  t.deepEqual(image(patch('[{"op":"replace","path":"/spec/containers/0/image","value":"nginx:2"}]', 'application/json-patch+json')), [['nginx', 'nginx:2']]);
  const applied = patch('apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  labels:\n    tier: front\n', 'application/apply-patch+yaml', {
    fieldManager: 'kubectl',
    force: false,
  });
  t.deepEqual((applied['metadata'] as JsonMap)['labels'], { app: 'web', tier: 'front' });
  // The pod had no managed fields: what it had belongs to before-first-apply, the labels to kubectl (Apply entries first).
  t.like(((applied['metadata'] as JsonMap)['managedFields'] as JsonMap[])[0], { manager: 'kubectl', operation: 'Apply', time: T0 });
  t.like(((applied['metadata'] as JsonMap)['managedFields'] as JsonMap[])[1], { manager: 'before-first-apply', operation: 'Update' });
  const now = patchObject('tsk.v1.Pod', pod(), 'kind: Pod\nmetadata: {name: web, labels: {a: b}}', 'application/apply-patch+yaml', {
    fieldManager: 'm',
    force: false,
  });
  t.regex(String(((now['metadata'] as JsonMap)['managedFields'] as JsonMap[])[0]!['time']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
});

test("another Content-Type is 415 with Kubernetes' message", (t) => {
  const err = t.throws(() => patch('{}', 'application/json'), { instanceOf: ApiError });
  t.is(err?.httpCode, 415);
  t.is(err?.reason, 'UnsupportedMediaType');
  t.is(
    err?.message,
    'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml',
  );
});

test('a body that does not parse or a malformed patch is 400; a patch that cannot apply is 422', (t) => {
  const bad = (body: string, type: string, code: number, message?: string): void => {
    const err = t.throws(() => patch(body, type, { fieldManager: 'm', force: false }), { instanceOf: ApiError });
    t.is(err?.httpCode, code, `${type} ${body}`);
    if (message !== undefined) t.is(err?.message, message);
  };
  bad('{', 'application/merge-patch+json', 400, 'Invalid JSON Patch');
  bad('{"op":"add"}', 'application/json-patch+json', 400, 'json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  bad('not json', 'application/strategic-merge-patch+json', 400);
  bad('{"spec":{"containers":[{"image":"x"}]}}', 'application/strategic-merge-patch+json', 400, 'map: map[image:x] does not contain declared merge key: name');
  bad('a: [', 'application/apply-patch+yaml', 400);
  bad('metadata: {name: web}', 'application/apply-patch+yaml', 400, "Object 'Kind' is missing in 'metadata: {name: web}'");
  bad(
    '[{"op":"test","path":"/metadata/name","value":"other"}]',
    'application/json-patch+json',
    422,
    'the server rejected our request due to an error in our request',
  );
  const forced = t.throws(() => patch('{}', 'application/merge-patch+json', { force: true }), { instanceOf: ApiError });
  t.is(forced?.message, 'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch');
  t.is(forced?.httpCode, 422);
  const err = t.throws(() => patch('[{"op":"test","path":"/metadata/name","value":"other"}]', 'application/json-patch+json'), { instanceOf: ApiError });
  t.is(err?.reason, 'Invalid');
  t.deepEqual(err?.causes, [{ field: '', message: 'testing value /metadata/name failed: test failed', reason: 'UnexpectedServerResponse' }]);
});
