import test from 'ava';
import { formatJoinToken, generateJoinToken, hashSecret, parseJoinToken, secretMatches, tokenIdOf, TokenFormatError } from './join-token';

const HASH = 'a'.repeat(64);
const FULL = `K10${HASH}::abcdef.0123456789abcdef`;

test('parses the secure form and formats it back', (t) => {
  const tok = parseJoinToken(`  ${FULL}\n`);
  t.deepEqual(tok, { caHash: HASH, id: 'abcdef', secret: '0123456789abcdef' });
  t.is(formatJoinToken(tok), FULL);
});

test('parses the short form without a CA hash', (t) => {
  t.deepEqual(parseJoinToken('abcdef.0123456789abcdef'), { caHash: undefined, id: 'abcdef', secret: '0123456789abcdef' });
  t.is(formatJoinToken({ caHash: undefined, id: 'abcdef', secret: '0123456789abcdef' }), 'abcdef.0123456789abcdef');
});

test('every malformed form has its own one-line error that never shows the secret', (t) => {
  const cases: [string, RegExp][] = [
    ['', /the token is empty/],
    [`K10${'a'.repeat(63)}::abcdef.0123456789abcdef`, /CA hash is not 64 hex digits/],
    [`K10${'g'.repeat(64)}::abcdef.0123456789abcdef`, /CA hash is not 64 hex digits/],
    [`K11${HASH}::abcdef.0123456789abcdef`, /does not start with K10/],
    [`K10${HASH}::abcdef0123456789abcdef`, /no "<id>\.<secret>" part/],
    [`K10${HASH}::ABCDEF.0123456789abcdef`, /token id must be 6 characters/],
    [`K10${HASH}::abcde.0123456789abcdef`, /token id must be 6 characters/],
    [`K10${HASH}::abcdef.0123456789abcde`, /secret of token abcdef must be 16 characters/],
    [`K10${HASH}::abcdef.0123456789abcdeF`, /secret of token abcdef must be 16 characters/],
  ];
  for (const [text, message] of cases) {
    const err = t.throws(() => parseJoinToken(text), { instanceOf: TokenFormatError, message }, text);
    t.false(err?.message.includes('\n'));
    t.false(err?.message.includes('0123456789abcde'), 'the secret never appears in an error');
  }
});

test('generated tokens have the id and secret alphabets and the given CA hash', (t) => {
  for (let i = 0; i < 20; i++) {
    const tok = generateJoinToken(HASH);
    t.regex(formatJoinToken(tok), /^K10a{64}::[a-z0-9]{6}\.[a-z0-9]{16}$/);
  }
  // The randomness is injected: a fixed pick gives a fixed token.
  t.deepEqual(
    generateJoinToken(HASH, () => 0),
    { caHash: HASH, id: 'aaaaaa', secret: 'aaaaaaaaaaaaaaaa' },
  );
  t.deepEqual(generateJoinToken(HASH, (n) => n - 1).id, '999999');
});

test('only a hash of the secret is kept, and it is checked exactly', (t) => {
  const stored = hashSecret('0123456789abcdef');
  t.regex(stored, /^[0-9a-f]{64}$/);
  t.true(secretMatches('0123456789abcdef', stored));
  t.false(secretMatches('0123456789abcdeg', stored));
  t.false(secretMatches('0123456789abcdef', 'abcd'));
});

test('token ids for delete: an id or a whole token', (t) => {
  t.is(tokenIdOf('abcdef'), 'abcdef');
  t.is(tokenIdOf(FULL), 'abcdef');
  t.is(tokenIdOf('abcdef.0123456789abcdef'), 'abcdef');
  t.throws(() => tokenIdOf('nope'), { instanceOf: TokenFormatError });
});
