import test from 'ava';
import { flagBool, flagString, parseArgs, splitCommand } from './args';
import { getCommand, labelColumns } from './commands/get';

test('the command word is found after global flags, as cobra does', (t) => {
  t.deepEqual(splitCommand(['-s', 'h:1', 'get', 'pods']), { command: 'get', rest: ['-s', 'h:1', 'pods'] });
  t.deepEqual(splitCommand(['-n', 'demo', 'get', 'pods']), { command: 'get', rest: ['-n', 'demo', 'pods'] });
  t.deepEqual(splitCommand(['--namespace=demo', '-A', '--help', 'get']), { command: 'get', rest: ['--namespace=demo', '-A', '--help'] });
  t.deepEqual(splitCommand(['-ndemo', '--request-timeout', '5', 'get', '-n', 'x']), { command: 'get', rest: ['-ndemo', '--request-timeout', '5', '-n', 'x'] });
  t.deepEqual(splitCommand(['get', '-n', 'demo', 'pods']), { command: 'get', rest: ['-n', 'demo', 'pods'] });
  t.deepEqual(splitCommand(['-s', 'h:1']), { command: undefined, rest: ['-s', 'h:1'] });
  t.deepEqual(splitCommand(['--', 'get']), { command: undefined, rest: ['--', 'get'] });
});

test('global flags parse wherever they stand', (t) => {
  const { rest } = splitCommand(['-s', 'h:1', '-n', 'demo', 'get', 'pods', '--show-labels']);
  const a = parseArgs(rest, [{ name: 'show-labels', type: 'bool', help: '' }]);
  t.is(flagString(a, 'server'), 'h:1');
  t.is(flagString(a, 'namespace'), 'demo');
  t.true(flagBool(a, 'show-labels'));
  t.deepEqual(a.positionals, ['pods']);
});

test('get -L: comma-separated and repeatable, in order, as kubectl string slices', (t) => {
  t.deepEqual(labelColumns(parseArgs(['pods', '-L', 'app,tier', '--label-columns=example.com/zone', '-Lrank'], getCommand.flags)), [
    'app',
    'tier',
    'example.com/zone',
    'rank',
  ]);
  t.deepEqual(labelColumns(parseArgs(['pods'], getCommand.flags)), []);
  t.true(flagBool(parseArgs(['pods', '--no-headers'], getCommand.flags), 'no-headers'));
});
