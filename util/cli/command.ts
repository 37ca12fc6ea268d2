// The start and end every long-running tsk command shares (tsk apiserver,
// scheduler, controller-manager, proxy, kubelet, server, agent): parse the
// flags, answer --help, turn a bad command line into exit code 2 and an
// error the command did not handle into "NAME: message" and exit code 1.
// Like every main here it returns the exit code and never calls
// process.exit, so tests can run it in-process.

import { errorMessage } from '../errors';
import { UsageError } from './usage-error';

/** A command's flags: whatever its parser returns, with --help. */
export interface HelpFlag {
  readonly help: boolean;
}

export interface Command<F extends HelpFlag> {
  /** "tsk scheduler": the prefix of its error lines and the name in the --help hint. */
  readonly name: string;
  /** Pure: returns the flags or throws a UsageError naming the flag. */
  readonly parse: (argv: string[]) => F;
  /** The --help text. */
  readonly help: string;
  /** A bad command line prints the whole help instead of a hint to --help (the kubelet's habit, as pflag's usage on error). */
  readonly usageShowsHelp?: boolean;
  /** Runs the command; resolves to the exit code. What it throws is printed as "NAME: message" and exits 1. */
  readonly run: (flags: F) => Promise<number>;
}

/** Where the lines go; console by default (tests capture them). */
export interface CommandOutput {
  out(text: string): void;
  err(text: string): void;
}

const CONSOLE: CommandOutput = { out: (t) => console.log(t), err: (t) => console.error(t) };

/** Parses argv and runs `command`; resolves to the process's exit code (0, 1 on failure, 2 on a bad command line). */
export async function runCommand<F extends HelpFlag>(command: Command<F>, argv: string[], output: CommandOutput = CONSOLE): Promise<number> {
  let flags: F;
  try {
    flags = command.parse(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    const after = command.usageShowsHelp ? `\n\n${command.help}` : `\nRun '${command.name} --help' for the flags.`;
    output.err(`${command.name}: ${err.message}${after}`);
    return 2;
  }
  if (flags.help) {
    output.out(command.help);
    return 0;
  }
  try {
    return await command.run(flags);
  } catch (err) {
    output.err(`${command.name}: ${errorMessage(err)}`);
    return 1;
  }
}
