import test from 'ava';
import {
  labelSelectorAsSelector,
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  parseSelector,
  SelectorParseError,
  selectorFromSet,
  validateLabelKey,
  validateLabelValue,
} from './labels';

// [selector, canonical String() form]
const VALID: Array<[string, string]> = [
  ['', ''],
  ['   ', ''],
  ['x=a', 'x=a'],
  ['x==a', 'x==a'],
  ['x!=a', 'x!=a'],
  ['x=', 'x='],
  ['x!=', 'x!='],
  ['x', 'x'],
  ['!x', '!x'],
  ['! x', '!x'],
  ['x in (a,b)', 'x in (a,b)'],
  ['x in (b,a,a)', 'x in (a,b)'],
  ['x notin (a)', 'x notin (a)'],
  ['x in ()', 'x in ()'],
  ['x in (a,,b)', 'x in (,a,b)'],
  ['x in (,a)', 'x in (,a)'],
  ['x in (a,)', 'x in (,a)'],
  ['x in (in)', 'x in (in)'],
  ['x notin (notin,in)', 'x notin (in,notin)'],
  ['in=notin', 'in=notin'],
  ['z=1,a=2,m', 'a=2,m,z=1'],
  ['  app = web ,  tier!=db  ', 'app=web,tier!=db'],
  ['x>1', 'x>1'],
  ['x<5', 'x<5'],
  ['example.com/app=v1.2_3-x', 'example.com/app=v1.2_3-x'],
  ['a=b,a!=c', 'a=b,a!=c'],
  ['x\tin\t(a)', 'x in (a)'],
];

for (const [sel, canonical] of VALID) {
  test(`parses ${JSON.stringify(sel)}`, (t) => {
    const s = parseSelector(sel);
    t.is(s.toString(), canonical);
    // The canonical form parses to the same selector.
    t.is(parseSelector(s.toString()).toString(), canonical);
  });
}

// [selector, substring of the error]
const INVALID: Array<[string, string]> = [
  ['x=a b', "found 'b' at position 4, expected: ',' or end of string"],
  [',x', "found ',' at position 0, expected: !, identifier, or end of string"],
  ['x,', "found end of string at position 2, expected: identifier after ','"],
  ['x,,y', "identifier after ','"],
  ['x in a', "found 'a' at position 5, expected: '('"],
  ['x in (a', "expected: ',' or ')'"],
  ['x in (a b)', "found 'b' at position 8, expected: ',' or ')'"],
  ['x in', "expected: '('"],
  ['x in (a) y', "expected: ',' or end of string"],
  ['x=(a)', "found '(' at position 2, expected: identifier"],
  ['!', "found end of string at position 1, expected: identifier after '!'"],
  ['!x=a', "expected: ',' or end of string after '!x'"],
  ['x (a)', 'expected: in, notin, =, ==, !=, >, <'],
  ['x notin', "expected: '('"],
  ['=a', 'expected: !, identifier, or end of string'],
  ['Bad Key=a', 'expected: in, notin'],
  ['-x=a', 'name part must consist of alphanumeric characters'],
  ['a/b/c=d', 'a qualified name must consist of'],
  ['/x=a', 'prefix part must be non-empty'],
  ['Example.com/x=a', 'prefix part a lowercase RFC 1123 subdomain'],
  [`x=${'a'.repeat(64)}`, 'must be no more than 63 characters'],
  ['x=-a', 'a valid label must be an empty string or consist of'],
  ['x in (a,-b)', 'value "-b" of key "x"'],
  ['x>a', "for 'Gt', 'Lt' operators, the value must be an integer"],
  ['x<-5', 'value "-5" of key "x"'],
  ['x>', "for 'Gt', 'Lt' operators, the value must be an integer"],
];

for (const [sel, message] of INVALID) {
  test(`rejects ${JSON.stringify(sel)}`, (t) => {
    const err = t.throws(() => parseSelector(sel), { instanceOf: SelectorParseError });
    t.true(err.message.includes(message), err.message);
    t.true(err.message.includes(JSON.stringify(sel)), 'the message quotes the selector');
  });
}

// [selector, labels, expected]
const MATCH: Array<[string, Record<string, string> | undefined, boolean]> = [
  ['', undefined, true],
  ['', { a: 'b' }, true],
  ['x=a', { x: 'a' }, true],
  ['x=a', { x: 'b' }, false],
  ['x=a', {}, false],
  ['x=a', undefined, false],
  ['x==a', { x: 'a' }, true],
  ['x!=a', { x: 'a' }, false],
  ['x!=a', { x: 'b' }, true],
  ['x!=a', {}, true],
  ['x=', { x: '' }, true],
  ['x=', {}, false],
  ['x', { x: '' }, true],
  ['x', { y: 'x' }, false],
  ['!x', { y: 'x' }, true],
  ['!x', { x: '' }, false],
  ['x in (a,b)', { x: 'b' }, true],
  ['x in (a,b)', { x: 'c' }, false],
  ['x in (a,b)', {}, false],
  ['x notin (a,b)', { x: 'c' }, true],
  ['x notin (a,b)', { x: 'a' }, false],
  ['x notin (a,b)', {}, true],
  ['x in (a,)', { x: '' }, true],
  ['x>5', { x: '6' }, true],
  ['x>5', { x: '5' }, false],
  ['x>5', { x: 'z' }, false],
  ['x>5', {}, false],
  ['x<5', { x: '-1' }, true],
  ['x<5', { x: '+4' }, true],
  ['app=web,tier in (fe,be),!canary', { app: 'web', tier: 'be' }, true],
  ['app=web,tier in (fe,be),!canary', { app: 'web', tier: 'be', canary: 'yes' }, false],
  ['app=web,tier in (fe,be),!canary', { app: 'db', tier: 'be' }, false],
  ['toString', {}, false],
  ['!toString', {}, true],
  ['constructor=x', {}, false],
];

for (const [sel, labels, expected] of MATCH) {
  test(`${JSON.stringify(sel)} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(labels)}`, (t) => {
    t.is(parseSelector(sel).matches(labels), expected);
  });
}

test('requirements are exposed sorted by key with sorted values', (t) => {
  const s = parseSelector('z notin (b,a),a');
  t.deepEqual(
    s.requirements.map((r) => ({ ...r })),
    [
      { key: 'a', operator: 'exists', values: [] },
      { key: 'z', operator: 'notin', values: ['a', 'b'] },
    ],
  );
  t.false(s.empty());
  t.true(parseSelector('').empty());
});

test('requiresExactMatch finds the one value a key must have', (t) => {
  t.is(parseSelector('a=1,b!=2').requiresExactMatch('a'), '1');
  t.is(parseSelector('a in (1)').requiresExactMatch('a'), '1');
  t.is(parseSelector('a in (1,2)').requiresExactMatch('a'), undefined);
  t.is(parseSelector('a=1,b!=2').requiresExactMatch('b'), undefined);
  t.is(parseSelector('a=1').requiresExactMatch('c'), undefined);
});

test('selectorFromSet matches exactly the set and prints sorted', (t) => {
  const s = selectorFromSet({ tier: 'fe', app: 'web' });
  t.is(s.toString(), 'app=web,tier=fe');
  t.true(s.matches({ app: 'web', tier: 'fe', extra: 'x' }));
  t.false(s.matches({ app: 'web' }));
  t.true(selectorFromSet({}).empty());
  t.true(selectorFromSet(undefined).matches({}));
});

const KEYS: Array<[string, boolean]> = [
  ['a', true],
  ['A-b_c.d', true],
  ['example.com/a', true],
  ['kubernetes.io/metadata.name', true],
  ['', false],
  ['-a', false],
  ['a-', false],
  ['a b', false],
  ['/a', false],
  ['a/', false],
  ['a/b/c', false],
  ['EXAMPLE.com/a', false],
  ['x'.repeat(63), true],
  ['x'.repeat(64), false],
  [`${'a'.repeat(253)}/x`, true],
  [`${'a'.repeat(254)}/x`, false],
];

for (const [key, ok] of KEYS) {
  test(`label key ${JSON.stringify(key.length > 20 ? `${key.slice(0, 10)}…(${key.length})` : key)} is ${ok ? 'valid' : 'invalid'}`, (t) => {
    t.is(validateLabelKey(key).length === 0, ok, validateLabelKey(key).join('; '));
  });
}

const VALUES: Array<[string, boolean]> = [
  ['', true],
  ['a', true],
  ['A.b-c_d', true],
  ['1', true],
  ['-a', false],
  ['a_', false],
  ['a/b', false],
  ['a b', false],
  ['x'.repeat(63), true],
  ['x'.repeat(64), false],
];

for (const [value, ok] of VALUES) {
  test(`label value ${JSON.stringify(value.length > 20 ? `len ${value.length}` : value)} is ${ok ? 'valid' : 'invalid'}`, (t) => {
    t.is(validateLabelValue(value).length === 0, ok);
  });
}

test("name rule messages are Kubernetes' words", (t) => {
  t.deepEqual(isDNS1123Subdomain('Foo'), [
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
  ]);
  t.deepEqual(isDNS1123Label('a.b'), [
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
  ]);
  t.deepEqual(isDNS1035Label('1abc'), [
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
  ]);
  t.deepEqual(isDNS1123Label('a'.repeat(64)), ['must be no more than 63 characters']);
  t.is(isDNS1123Subdomain(`${'a'.repeat(63)}.${'b'.repeat(63)}`).length, 0);
  t.deepEqual(isDNS1123Subdomain('a'.repeat(254)), ['must be no more than 253 characters']);
});

test('labelSelectorAsSelector: unset selects nothing, {} everything, matchLabels and expressions AND together', (t) => {
  t.is(labelSelectorAsSelector(undefined), undefined);
  t.true(labelSelectorAsSelector({})!.empty());
  const s = labelSelectorAsSelector({
    matchLabels: { app: 'web' },
    matchExpressions: [
      { key: 'tier', operator: 'NotIn', values: ['db'] },
      { key: 'x', operator: 'DoesNotExist' },
    ],
  })!;
  t.true(s.matches({ app: 'web', tier: 'front' }));
  t.false(s.matches({ app: 'web', tier: 'db' }));
  t.false(s.matches({ app: 'web', x: '1' }));
  t.throws(() => labelSelectorAsSelector({ matchExpressions: [{ key: 'a', operator: 'Gt', values: ['1'] }] }), {
    message: /"Gt" is not a valid label selector operator/,
  });
});
