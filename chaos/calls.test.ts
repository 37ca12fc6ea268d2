import test from 'ava';
import { ConflictError, UnavailableError } from '../api/errors';
import { CallLog } from './calls';

const fast = { hangMs: 200, attempts: 3, retryDelayMs: 1 };

test('an unavailable server is retried until the call answers', async (t) => {
  const log = new CallLog(fast);
  let n = 0;
  const r = await log.call('get', async () => {
    if (n++ < 2) throw new UnavailableError('cannot reach the API server');
    return 'ok';
  });
  t.deepEqual(r, { ok: true, value: 'ok' });
  t.is(log.retries, 2);
  t.is(log.failures, 0);
  t.deepEqual(log.violations, []);
});

test('a clean API error fails at once, with no violation', async (t) => {
  const log = new CallLog(fast);
  const r = await log.call('update', () => Promise.reject(new ConflictError('the object has been modified')));
  t.false(r.ok);
  t.is(log.retries, 0);
  t.is(log.failures, 1);
  t.deepEqual(log.violations, []);
});

test('a failure without an API status and a hang are violations', async (t) => {
  const log = new CallLog(fast);
  await log.call('create', () => Promise.reject(new TypeError('boom')));
  await log.call('list', () => new Promise(() => undefined));
  t.deepEqual(
    log.violations.map((v) => v.text),
    ['create failed without an API status: boom', 'list neither answered nor failed in 0.2s'],
  );
});
