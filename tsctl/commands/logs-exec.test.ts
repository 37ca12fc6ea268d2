import test from 'ava';
import { GLOBAL_FLAGS, parseArgs } from '../args';
import { UsageError } from '../errors';
import { attachCommand, attachStart } from './attach';
import { execCommand, execStart } from './exec';
import { logsCommand, logsRequest, podArg } from './logs';

const logsArgs = (argv: string[]) => logsRequest(parseArgs(argv, [...GLOBAL_FLAGS, ...logsCommand.flags]));
const execArgs = (argv: string[]) => execStart(parseArgs(argv, [...GLOBAL_FLAGS, ...execCommand.flags]));
const attachArgs = (argv: string[]) => attachStart(parseArgs(argv, [...GLOBAL_FLAGS, ...attachCommand.flags]));

test('logs: flags map onto the request', (t) => {
  t.deepEqual(logsArgs(['web', '-c', 'app', '-f', '--tail', '10', '--timestamps']), {
    name: 'web',
    container: 'app',
    follow: true,
    previous: false,
    timestamps: true,
    tailLines: 10,
  });
  t.deepEqual(logsArgs(['pod/web']), { name: 'web', container: '', follow: false, previous: false, timestamps: false });
  t.is(logsArgs(['-p', 'web']).previous, true);
  t.is(logsArgs(['web', '--tail', '-1']).tailLines, undefined);
  t.is(logsArgs(['web', '--tail', '0']).tailLines, 0);
});

const badLogs: [string[], RegExp][] = [
  [[], /a pod name is required/],
  [['a', 'b'], /unexpected argument "b"/],
  [['web', '--tail', '-2'], /--tail: -2/],
  [['rc/web'], /only pods are supported/],
  [['pod/'], /a NAME is required/],
];
for (const [argv, re] of badLogs) {
  test(`logs: ${argv.join(' ') || '(nothing)'} is a usage error`, (t) => {
    const err = t.throws(() => logsArgs(argv), { instanceOf: UsageError });
    t.regex(err!.message, re);
  });
}

test('exec: the command follows --, flags before it', (t) => {
  t.deepEqual(execArgs(['-i', 'web', '-c', 'app', '--', 'sh', '-c', 'echo hi; exit 3']), {
    name: 'web',
    container: 'app',
    command: ['sh', '-c', 'echo hi; exit 3'],
    stdin: true,
    tty: false,
  });
  const it = execArgs(['-it', 'pods/web', '--', 'sh']);
  t.true(it.stdin && it.tty);
  t.is(it.name, 'web');
  // Flags of the command are not tsctl's.
  t.deepEqual(execArgs(['web', '--', 'ls', '-n', '-t']).command, ['ls', '-n', '-t']);
});

test('exec: a pod and a command are required', (t) => {
  t.regex(t.throws(() => execArgs([]), { instanceOf: UsageError })!.message, /a pod name is required/);
  t.regex(t.throws(() => execArgs(['web']), { instanceOf: UsageError })!.message, /at least one command/);
  t.regex(t.throws(() => execArgs(['web', '--']), { instanceOf: UsageError })!.message, /at least one command/);
});

test('attach: the main process, no command; -i and -t as exec', (t) => {
  t.deepEqual(attachArgs(['-it', 'pod/shell', '-c', 'main']), { name: 'shell', container: 'main', command: [], stdin: true, tty: true });
  t.deepEqual(attachArgs(['web']), { name: 'web', container: '', command: [], stdin: false, tty: false });
  t.regex(t.throws(() => attachArgs([]), { instanceOf: UsageError })!.message, /a pod name is required/);
  t.regex(
    t.throws(() => attachArgs(['web', '--', 'sh']), { instanceOf: UsageError })!.message,
    /unexpected argument "sh": attach joins the main process; to run a command use tsctl exec/,
  );
});

test('podArg takes NAME and pod/NAME forms', (t) => {
  t.is(podArg('web'), 'web');
  t.is(podArg('po/web'), 'web');
  t.is(podArg('Pod/web'), 'web');
});
