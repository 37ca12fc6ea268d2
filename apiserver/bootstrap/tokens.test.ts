import test from 'ava';
import { ApiError } from '../../api/errors';
import { parseJoinToken } from '../../util/join-token';
import { checkToken, newTokenRecord, USAGE_AUTHENTICATION } from './tokens';

const HASH = 'b'.repeat(64);
const token = parseJoinToken(`K10${HASH}::abcdef.0123456789abcdef`);
const now = new Date('2026-01-01T00:00:00Z');
const record = newTokenRecord(token, { ttlSeconds: 3600, description: 'test', usages: [USAGE_AUTHENTICATION], now });

test('a record keeps the hash of the secret, never the secret, and its expiry', (t) => {
  t.false(JSON.stringify(record).includes(token.secret));
  t.is(record.expires, '2026-01-01T01:00:00.000Z');
  t.is(newTokenRecord(token, { ttlSeconds: 0, description: '', usages: [], now }).expires, undefined);
});

test('a valid token is accepted until its expiry', (t) => {
  t.is(checkToken(token, record, HASH, now), record);
  t.is(checkToken(token, record, HASH, new Date('2026-01-01T00:59:59Z')), record);
  t.is(checkToken({ ...token, caHash: undefined }, record, HASH, now), record);
  const never = newTokenRecord(token, { ttlSeconds: 0, description: '', usages: [USAGE_AUTHENTICATION], now });
  t.is(checkToken(token, never, HASH, new Date('2099-01-01T00:00:00Z')), never);
});

test('expired, unknown, wrong-secret and other-cluster tokens are refused with one line', (t) => {
  const unauthorized = (fn: () => unknown, message: RegExp): void => {
    const err = t.throws(fn, { instanceOf: ApiError, message });
    t.is(err?.reason, 'Unauthorized');
  };
  unauthorized(() => checkToken(token, record, HASH, new Date('2026-01-01T01:00:00Z')), /^token abcdef has expired$/);
  unauthorized(() => checkToken(token, undefined, HASH, now), /^unknown token$/);
  unauthorized(() => checkToken({ ...token, secret: 'ffffffffffffffff' }, record, HASH, now), /^unknown token$/);
  unauthorized(() => checkToken(token, record, 'c'.repeat(64), now), /^token abcdef is for another cluster/);
});
