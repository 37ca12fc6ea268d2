import test from 'ava';
import { ERR_FORMAT_WRONG, ERR_SUFFIX, parseQuantity, Quantity, QuantityParseError, quantityError, tryParseQuantity } from './quantity';

// [input, canonical String(), milliValue, value]
const VALID: Array<[string, string, number, number]> = [
  ['0', '0', 0, 0],
  ['000', '0', 0, 0],
  ['1', '1', 1000, 1],
  ['100m', '100m', 100, 1],
  ['1000m', '1', 1000, 1],
  ['1500m', '1500m', 1500, 2],
  ['0.1', '100m', 100, 1],
  ['0.5', '500m', 500, 1],
  ['.5', '500m', 500, 1],
  ['1.', '1', 1000, 1],
  ['1.5', '1500m', 1500, 2],
  ['1.1', '1100m', 1100, 2],
  ['2', '2', 2000, 2],
  ['1024', '1024', 1024000, 1024],
  ['1k', '1k', 1000000, 1000],
  ['1000', '1k', 1000000, 1000],
  ['1500', '1500', 1500000, 1500],
  ['1000k', '1M', 1000000000, 1000000],
  ['1M', '1M', 1e9, 1e6],
  ['2G', '2G', 2e12, 2e9],
  ['1T', '1T', 1e15, 1e12],
  ['1P', '1P', 1e18, 1e15],
  ['1E', '1E', 1e21, 1e18],
  ['1n', '1n', 1, 1],
  ['1u', '1u', 1, 1],
  ['1000u', '1m', 1, 1],
  ['0.0000000001', '1n', 1, 1],
  ['1Ki', '1Ki', 1024000, 1024],
  ['128Mi', '128Mi', 134217728000, 134217728],
  ['1Gi', '1Gi', 1073741824000, 1073741824],
  ['1.5Gi', '1536Mi', 1610612736000, 1610612736],
  ['1024Mi', '1Gi', 1073741824000, 1073741824],
  ['1000Mi', '1000Mi', 1048576000000, 1048576000],
  ['0.5Ki', '512', 512000, 512],
  ['1.1Ki', '1126400m', 1126400, 1127],
  ['0.5Mi', '512Ki', 524288000, 524288],
  ['1e3', '1e3', 1000000, 1000],
  ['1E3', '1e3', 1000000, 1000],
  ['1e+3', '1e3', 1000000, 1000],
  ['12e2', '1200', 1200000, 1200],
  ['1.5e3', '1500', 1500000, 1500],
  ['1e-3', '1e-3', 1, 1],
  ['1e0', '1', 1000, 1],
  ['+1', '1', 1000, 1],
  ['-1', '-1', -1000, -1],
  ['-100m', '-100m', -100, -1],
  ['-1.5Gi', '-1536Mi', -1610612736000, -1610612736],
  ['-0.0000000001', '-1n', -1, -1],
  ['-0', '0', 0, 0],
  ['+', '0', 0, 0],
  ['.', '0', 0, 0],
];

for (const [input, canonical, milli, value] of VALID) {
  test(`parses ${JSON.stringify(input)}`, (t) => {
    const q = parseQuantity(input);
    t.is(q.toString(), canonical);
    t.is(q.milliValue(), milli);
    t.is(q.value(), value);
    // The canonical form is stable.
    t.is(parseQuantity(canonical).toString(), canonical);
    t.is(parseQuantity(canonical).cmp(q), 0);
    t.is(quantityError(input), undefined);
  });
}

const INVALID: Array<[string, string]> = [
  ['', ERR_FORMAT_WRONG],
  [' ', ERR_FORMAT_WRONG],
  [' 1', ERR_FORMAT_WRONG],
  ['1 ', ERR_FORMAT_WRONG],
  ['1 Gi', ERR_FORMAT_WRONG],
  ['abc', ERR_FORMAT_WRONG],
  ['1.2.3', ERR_FORMAT_WRONG],
  ['--1', ERR_SUFFIX],
  ['0x10', ERR_FORMAT_WRONG],
  ['1Gib', ERR_FORMAT_WRONG],
  ['1K', ERR_SUFFIX],
  ['1ki', ERR_SUFFIX],
  ['1KiB', ERR_FORMAT_WRONG],
  ['1e', ERR_SUFFIX],
  ['1Mii', ERR_SUFFIX],
  ['1mi', ERR_SUFFIX],
  ['1mm', ERR_SUFFIX],
  ['1e1.5', ERR_FORMAT_WRONG],
  ['1e99999999999', ERR_SUFFIX],
];

for (const [input, message] of INVALID) {
  test(`rejects ${JSON.stringify(input)}`, (t) => {
    const err = t.throws(() => parseQuantity(input), { instanceOf: QuantityParseError });
    t.is(err.message, message);
    t.is(quantityError(input), message);
    t.is(tryParseQuantity(input), undefined);
  });
}

test("the format-wrong message is Kubernetes' own", (t) => {
  t.is(ERR_FORMAT_WRONG, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
});

test('cmp compares across suffixes', (t) => {
  const cases: Array<[string, string, -1 | 0 | 1]> = [
    ['1', '1000m', 0],
    ['1Ki', '1024', 0],
    ['1k', '1Ki', -1],
    ['1Gi', '1G', 1],
    ['100m', '0.1', 0],
    ['-1', '0', -1],
    ['1e3', '1k', 0],
    ['999m', '1', -1],
  ];
  for (const [a, b, want] of cases) {
    t.is(parseQuantity(a).cmp(parseQuantity(b)), want, `${a} vs ${b}`);
    t.is(parseQuantity(b).cmp(parseQuantity(a)), (want === 0 ? 0 : -want) as -1 | 0 | 1, `${b} vs ${a}`);
  }
});

test('binary quantities are capped at the largest int64 as in Kubernetes', (t) => {
  const q = parseQuantity('16Ei');
  t.is(q.bigValue(), 9223372036854775807n);
});

test('constructors, arithmetic and formats', (t) => {
  t.is(Quantity.fromMilli(1500).toString(), '1500m');
  t.is(Quantity.fromValue(134217728, 'BinarySI').toString(), '128Mi');
  t.is(Quantity.fromValue(100, 'BinarySI').toString(), '100');
  t.is(Quantity.zero().toString(), '0');
  t.true(Quantity.zero().isZero());
  const sum = parseQuantity('100m').add(parseQuantity('900m'));
  t.is(sum.toString(), '1');
  t.is(Quantity.zero().add(parseQuantity('1Gi')).toString(), '1Gi');
  t.is(parseQuantity('1Gi').sub(parseQuantity('512Mi')).toString(), '512Mi');
  t.is(parseQuantity('1').neg().toString(), '-1');
  t.is(parseQuantity('-1').sign(), -1);
  t.is(parseQuantity('128Mi').format, 'BinarySI');
  t.is(parseQuantity('1e3').format, 'DecimalExponent');
  t.is(parseQuantity('0.5').format, 'DecimalSI');
  t.is(JSON.stringify({ q: parseQuantity('1.5Gi') }), '{"q":"1536Mi"}');
  t.true(parseQuantity('1').equals(parseQuantity('1000m')));
});
