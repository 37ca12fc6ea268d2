import test from 'ava';
import { runCommand, type Command, type CommandOutput } from './command';
import { UsageError } from './usage-error';

interface Flags {
  help: boolean;
  name: string;
}

function parse(argv: string[]): Flags {
  if (argv[0] === '--bad') throw new UsageError('--bad: unknown flag');
  if (argv[0] === '--bug') throw new TypeError('a bug in the parser');
  return { help: argv[0] === '--help', name: argv[1] ?? '' };
}

function capture(): CommandOutput & { lines: string[] } {
  const lines: string[] = [];
  return { lines, out: (t) => lines.push(`out: ${t}`), err: (t) => lines.push(`err: ${t}`) };
}

function command(run: Command<Flags>['run'], usageShowsHelp = false): Command<Flags> {
  return { name: 'tsk test', parse, help: 'Usage: tsk test', usageShowsHelp, run };
}

test('runs the command with its flags and returns its exit code', async (t) => {
  const o = capture();
  let seen: Flags | undefined;
  const code = await runCommand(
    command(async (f) => {
      seen = f;
      return 3;
    }),
    ['--name', 'x'],
    o,
  );
  t.is(code, 3);
  t.deepEqual(seen, { help: false, name: 'x' });
  t.deepEqual(o.lines, []);
});

test('--help prints the help and exits 0 without running', async (t) => {
  const o = capture();
  const code = await runCommand(
    command(async () => t.fail('ran') ?? 1),
    ['--help'],
    o,
  );
  t.is(code, 0);
  t.deepEqual(o.lines, ['out: Usage: tsk test']);
});

test('a usage error exits 2 with a hint to --help, or the whole help', async (t) => {
  const o = capture();
  t.is(
    await runCommand(
      command(async () => 0),
      ['--bad'],
      o,
    ),
    2,
  );
  t.deepEqual(o.lines, ["err: tsk test: --bad: unknown flag\nRun 'tsk test --help' for the flags."]);
  const o2 = capture();
  t.is(
    await runCommand(
      command(async () => 0, true),
      ['--bad'],
      o2,
    ),
    2,
  );
  t.deepEqual(o2.lines, ['err: tsk test: --bad: unknown flag\n\nUsage: tsk test']);
});

test('a failure of the command exits 1 naming the command; a parser bug is not a usage error', async (t) => {
  const o = capture();
  const code = await runCommand(
    command(async () => {
      throw new Error('etcd at http://127.0.0.1:2379 is not reachable');
    }),
    [],
    o,
  );
  t.is(code, 1);
  t.deepEqual(o.lines, ['err: tsk test: etcd at http://127.0.0.1:2379 is not reachable']);
  await t.throwsAsync(
    runCommand(
      command(async () => 0),
      ['--bug'],
      capture(),
    ),
    { instanceOf: TypeError },
  );
});
