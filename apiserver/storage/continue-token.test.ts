import test from 'ava';
import { ApiError } from '../../api/errors';
import { decodeContinue, encodeContinue } from './continue-token';

test('a continue token round-trips the last key and revision', (t) => {
  const tok = encodeContinue('/registry/pods/default/web-7', 42);
  t.deepEqual(decodeContinue(tok, '/registry/pods/'), { key: '/registry/pods/default/web-7', revision: 42 });
  t.deepEqual(decodeContinue(tok, '/registry/pods/default/'), { key: '/registry/pods/default/web-7', revision: 42 });
});

test('a token for another list or a garbage token is a BadRequest', (t) => {
  const tok = encodeContinue('/registry/pods/default/web-7', 42);
  const other = t.throws(() => decodeContinue(tok, '/registry/services/'), { instanceOf: ApiError });
  t.is(other?.reason, 'BadRequest');
  t.regex(other?.message ?? '', /different list/);
  const garbage = t.throws(() => decodeContinue('not-a-token!!', '/registry/pods/'), { instanceOf: ApiError });
  t.is(garbage?.reason, 'BadRequest');
  const zero = Buffer.from(JSON.stringify({ v: 1, rv: 0, start: '/registry/pods/a' })).toString('base64url');
  t.throws(() => decodeContinue(zero, '/registry/pods/'), { instanceOf: ApiError });
});
