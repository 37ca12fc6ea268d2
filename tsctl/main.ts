// tsctl: the command-line client of tsk, shaped like kubectl.
// main(argv) -> exit code: 0 success, 1 failure, 2 usage error.

import { ApiError } from '../api/errors';
import { GLOBAL_FLAGS, flagBool, formatFlags, parseArgs, splitCommand } from './args';
import type { Command } from './command';
import { applyCommand } from './commands/apply';
import { createCommand } from './commands/create';
import { patchCommand } from './commands/patch';
import { scaleCommand } from './commands/scale';
import { attachCommand } from './commands/attach';
import { execCommand } from './commands/exec';
import { logsCommand } from './commands/logs';
import { portForwardCommand } from './commands/port-forward';
import { deleteCommand } from './commands/delete';
import { describeCommand } from './commands/describe';
import { getCommand } from './commands/get';
import { clusterInfoCommand, versionCommand } from './commands/version';
import { Context, type ContextOptions, type Io } from './context';
import { CliError, UsageError, formatError } from './errors';
import { knownTypes } from './kinds';

const COMMANDS: readonly Command[] = [
  applyCommand,
  getCommand,
  describeCommand,
  patchCommand,
  scaleCommand,
  deleteCommand,
  logsCommand,
  execCommand,
  attachCommand,
  portForwardCommand,
  createCommand,
  versionCommand,
  clusterInfoCommand,
];

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'tsctl controls a tsk cluster.',
    '',
    'Usage: tsctl [global flags] COMMAND [ARGS] [flags]  (global flags may also follow the command)',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}   ${c.summary}`),
    '',
    `Kinds: ${knownTypes()}`,
    '',
    'Global flags:',
    formatFlags(GLOBAL_FLAGS),
    '',
    "Run 'tsctl COMMAND --help' for a command's flags.",
    '',
  ].join('\n');
}

function commandHelp(c: Command): string {
  return [
    c.summary,
    '',
    `Usage: ${c.usage}`,
    ...(c.examples ? ['', 'Examples:', c.examples] : []),
    ...(c.flags.length > 0 ? ['', 'Flags:', formatFlags(c.flags)] : []),
    '',
    'Global flags:',
    formatFlags(GLOBAL_FLAGS),
    '',
  ].join('\n');
}

export interface MainOptions extends Partial<Omit<ContextOptions, 'io'>> {
  readonly io?: Io;
}

export async function main(argv: readonly string[], options: MainOptions = {}): Promise<number> {
  const io: Io = options.io ?? { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin };
  // Global flags may stand before the command word, as with kubectl.
  const { command: name, rest } = splitCommand(argv);
  if (name === undefined || name === 'help') {
    const help = name === 'help' || rest.includes('--help') || rest.includes('-h');
    (help ? io.stdout : io.stderr).write(usage());
    return help ? 0 : 2;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(`error: unknown command "${name}" for "tsctl"\n\n${usage()}`);
    return 2;
  }
  let ctx: Context | undefined;
  try {
    const args = parseArgs(rest, command.flags);
    if (flagBool(args, 'help')) {
      io.stdout.write(commandHelp(command));
      return 0;
    }
    ctx = new Context(args, { ...options, io });
    return await command.run(ctx);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`error: ${err.message}\nSee 'tsctl ${command.name} --help' for usage.\n`);
      return 2;
    }
    if (err instanceof CliError || err instanceof ApiError) {
      io.stderr.write(`${formatError(err)}\n`);
      return 1;
    }
    io.stderr.write(`${formatError(err)}\n`);
    return 1;
  } finally {
    ctx?.close();
  }
}
