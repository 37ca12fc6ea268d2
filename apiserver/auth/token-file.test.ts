import test from 'ava';
import { parseCsvRecord, parseTokenFile } from './token-file';

test('records: token,user,uid,"groups" with groups optional', (t) => {
  const { tokens, warnings } = parseTokenFile('abc,alice,1,"dev,ops"\n\ndef,bob,2\n', 'tokens.csv');
  t.deepEqual(tokens.get('abc'), { name: 'alice', groups: ['dev', 'ops', 'system:authenticated'] });
  t.deepEqual(tokens.get('def'), { name: 'bob', groups: ['system:authenticated'] });
  t.deepEqual(warnings, []);
});

test('fewer than three columns is an error naming the file', (t) => {
  t.throws(() => parseTokenFile('abc,alice\n', 'tokens.csv'), {
    message: "token file 'tokens.csv' must have at least 3 columns (token, user name, user uid), found 2 on line 1",
  });
});

test('empty and duplicate tokens are warned about, as Kubernetes does', (t) => {
  const { tokens, warnings } = parseTokenFile(',alice,1\nabc,bob,2\nabc,carol,3\n', 'f');
  t.is(tokens.get('abc')?.name, 'carol');
  t.is(warnings.length, 2);
  t.regex(warnings[0] ?? '', /empty token/);
  t.regex(warnings[1] ?? '', /duplicate token .* record number '3'/);
});

test('CSV quoting', (t) => {
  t.deepEqual(parseCsvRecord('a,"b,c","d""e",', 'x'), ['a', 'b,c', 'd"e', '']);
  t.throws(() => parseCsvRecord('a,"b', 'f:1'), { message: 'f:1: unterminated quoted field' });
  t.throws(() => parseCsvRecord('a,b"c', 'f:1'), { message: 'f:1: bare " in a non-quoted field' });
});
