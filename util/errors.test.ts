import test from 'ava';
import { errnoCode, errorMessage } from './errors';

test('errorMessage: an Error gives its message', (t) => {
  t.is(errorMessage(new Error('connection refused')), 'connection refused');
  t.is(errorMessage(new TypeError('x is not a function')), 'x is not a function');
});

test('errorMessage: anything else thrown becomes readable text', (t) => {
  t.is(errorMessage('plain string'), 'plain string');
  t.is(errorMessage({ code: 14, message: 'UNAVAILABLE: no connection' }), 'UNAVAILABLE: no connection');
  t.is(errorMessage(42), '42');
  t.is(errorMessage(undefined), 'undefined');
  t.is(errorMessage(null), 'null');
  t.is(errorMessage({ message: 7 }), '[object Object]');
});

test('errnoCode: the code of a system error only', (t) => {
  const enoent = Object.assign(new Error('ENOENT: no such file or directory'), { code: 'ENOENT' });
  t.is(errnoCode(enoent), 'ENOENT');
  t.is(errnoCode(new Error('plain')), undefined);
  t.is(errnoCode({ code: 5 }), undefined, 'a gRPC status code is a number, not an errno');
  t.is(errnoCode('ENOENT'), undefined);
  t.is(errnoCode(undefined), undefined);
});
