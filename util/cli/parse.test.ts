import test from 'ava';
import { UsageError } from './usage-error';
import { flagBool, flagInt, flagString, flagStrings, formatFlags, parseCommandLine, type FlagSpec } from './parse';

const specs: FlagSpec[] = [
  { name: 'filename', short: 'f', type: 'string', repeated: true, help: 'files' },
  { name: 'all-namespaces', short: 'A', type: 'bool', help: 'all' },
  { name: 'watch', short: 'w', type: 'bool', help: 'watch' },
  { name: 'output', short: 'o', type: 'string', valueName: 'FORMAT', help: 'format' },
  { name: 'tail', type: 'int', help: 'lines' },
];

test('pflag forms: interleaved positionals, =, attached short values, combined booleans, --', (t) => {
  const a = parseCommandLine(['pods', '-f', 'x', '--filename=y', '-Aw', '-oyaml', 'web', '--tail', '-1', '--', '-n', 'z'], specs);
  t.deepEqual(a.positionals, ['pods', 'web', '-n', 'z']);
  t.deepEqual(flagStrings(a, 'filename'), ['x', 'y']);
  t.true(flagBool(a, 'all-namespaces'));
  t.true(flagBool(a, 'watch'));
  t.is(flagString(a, 'output'), 'yaml');
  t.is(flagInt(a, 'tail'), -1);
  t.is(flagString(parseCommandLine(['-o=json'], specs), 'output'), 'json');
  t.is(flagString(parseCommandLine(['-o', 'a', '-o', 'b'], specs), 'output'), 'b', 'a single-valued flag keeps the last');
  t.is(flagString(parseCommandLine(['--output='], specs), 'output'), '');
});

test('booleans take =true and =false', (t) => {
  t.false(flagBool(parseCommandLine(['-A', '--all-namespaces=false'], specs), 'all-namespaces'));
  t.true(flagBool(parseCommandLine(['--watch=true'], specs), 'watch'));
  t.throws(() => parseCommandLine(['--watch=maybe'], specs), {
    instanceOf: UsageError,
    message: 'invalid argument "maybe" for "--watch" flag: must be true or false',
  });
});

test("pflag's errors", (t) => {
  t.throws(() => parseCommandLine(['--bogus'], specs), { instanceOf: UsageError, message: 'unknown flag: --bogus' });
  t.throws(() => parseCommandLine(['--bogus=1'], specs), { message: 'unknown flag: --bogus' });
  t.throws(() => parseCommandLine(['-Axw'], specs), { message: "unknown shorthand flag: 'x' in -Axw" });
  t.throws(() => parseCommandLine(['-o'], specs), { message: 'flag needs an argument: -o' });
  t.throws(() => parseCommandLine(['--tail', 'ten'], specs), { message: 'invalid argument "ten" for "--tail" flag: must be an integer' });
});

test('docker: flags stop at the first positional; short-only flags; own wording', (t) => {
  const docker: FlagSpec[] = [
    { name: '-e', short: 'e', shortOnly: true, type: 'string', repeated: true, help: '' },
    { name: 'detach', type: 'bool', help: '' },
  ];
  const opts = { stopAtFirstPositional: true, boolValues: 'ignore', messages: { unknownFlag: (_r: string, arg: string) => `unknown flag: ${arg}` } } as const;
  const a = parseCommandLine(['-e', 'A=1', '--detach=no', 'img', 'sh', '-c', '-e'], docker, opts);
  t.deepEqual(a.positionals, ['img', 'sh', '-c', '-e']);
  t.deepEqual(flagStrings(a, '-e'), ['A=1']);
  t.true(flagBool(a, 'detach'));
  t.throws(() => parseCommandLine(['---e', 'x'], docker, opts), { message: 'unknown flag: ---e' }, 'a short-only flag has no long form');
  t.throws(() => parseCommandLine(['--x=1'], docker, opts), { message: 'unknown flag: --x=1' });
  t.throws(() => parseCommandLine(['--detach=1'], docker, { boolValues: 'reject' }), { message: 'flag --detach takes no value' });
  t.throws(() => parseCommandLine(['-e='], docker, { emptyValues: false }), { message: 'flag needs an argument: -e' });
});

test('help lists short and long names with the value name', (t) => {
  t.is(formatFlags(specs.slice(2, 4)), '  -w, --watch           watch\n  -o, --output FORMAT   format');
});
