import test from 'ava';
import { ApiError, ConflictError, InvalidError, NotFoundError, TooLargeError } from '../../api/errors';
import { warningHeaders } from './http';
import { asApiError, statusOf, successStatus } from './status';

test('a NotFound is Kubernetes Status with the resource as details.kind', (t) => {
  t.deepEqual(statusOf(new NotFoundError('Pod', 'web-1')), {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: 'pods "web-1" not found',
    reason: 'NotFound',
    details: { name: 'web-1', kind: 'pods' },
    code: 404,
  });
});

test('an Invalid keeps the Kind and lists its causes', (t) => {
  const s = statusOf(new InvalidError('Pod', 'p', [{ field: 'spec.containers[0].name', message: 'Required value', reason: 'FieldValueRequired' }]));
  t.is(s['code'], 422);
  t.deepEqual(s['details'], {
    name: 'p',
    kind: 'Pod',
    causes: [{ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.containers[0].name' }],
  });
});

test('codes follow the reasons: Conflict 409, too large 413, unsupported media type 415, Timeout 504', (t) => {
  t.is(statusOf(new ConflictError('x'))['code'], 409);
  t.is(statusOf(new TooLargeError('x'))['code'], 413);
  t.is(statusOf(new ApiError('UnsupportedMediaType', 'x'))['code'], 415);
  t.is(statusOf(new ApiError('Timeout', 'x'))['code'], 504);
  t.false('details' in statusOf(new ApiError('BadRequest', 'x')), 'no empty details');
});

test('anything else thrown is a logged internal error', (t) => {
  const logged: string[] = [];
  const err = asApiError(new Error('boom'), (m) => logged.push(m));
  t.is(err.httpCode, 500);
  t.is(err.message, 'boom');
  t.regex(logged[0] ?? '', /^internal error: Error: boom/);
});

test('a delete that removed the object is a Success Status', (t) => {
  t.deepEqual(successStatus('configmaps', 'c', 'u-1'), {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    details: { name: 'c', kind: 'configmaps', uid: 'u-1' },
  });
});

test('Warning headers: 299 with the quoted text, beyond ASCII escaped', (t) => {
  t.deepEqual(warningHeaders(['unknown field "x"', 'naïve']), ['299 - "unknown field \\"x\\""', '299 - "na\\u00efve"']);
});
