// The `tsk runtime` image and container verbs' flags, written as docker's
// (`-e`, `--env`, each its own key), on the tree's one parser (util/flags).
// The two sides differ in a few docker-compatible leniencies and in the
// wording of their errors, chosen per call through ParseOptions.

import { parseCommandLine, UsageError, type FlagSpec, type UsageMessages } from '../../../util/flags';

export { UsageError };

export interface ParsedArgs {
  /** Every value given per flag as written ("-e", "--env"), in order; a boolean flag's values are "true". */
  flags: Map<string, string[]>;
  args: string[];
}

export interface ParseOptions {
  /** Flags that take a value (`--name x` or `--name=x`), as written: "--name", "-e". */
  valued: readonly string[];
  /** Flags that take none. */
  booleans: readonly string[];
  /** Everything from the first positional on is positional (run's IMAGE COMMAND..., exec's CONTAINER COMMAND...). */
  stopAtFirstArg?: boolean;
  /**
   * Docker's leniency (the container verbs): `--flag=` with an empty value,
   * a boolean given `=VALUE` is simply set, and an unknown flag is reported
   * as written ("unknown flag: --x=1"). Without it (the image verbs) those
   * are usage errors and an unknown flag is named without its value
   * ("unknown flag --x").
   */
  docker?: boolean;
}

const DOCKER_MESSAGES: UsageMessages = {
  unknownFlag: (_rawName, arg) => `unknown flag: ${arg}`,
  missingValue: (rawName) => `flag ${rawName} needs a value`,
  unexpectedValue: (rawName) => `flag ${rawName} takes no value`,
};

const IMAGE_MESSAGES: UsageMessages = {
  ...DOCKER_MESSAGES,
  unknownFlag: (_rawName, arg) => `unknown flag ${arg.split('=')[0] ?? arg}`,
};

/** "-e" is a short-only flag keyed "-e"; "--env" the long flag "env". */
function specOf(written: string, type: 'string' | 'bool'): FlagSpec {
  if (written.startsWith('--')) return { name: written.slice(2), type, repeated: true, help: '' };
  return { name: written, short: written.slice(1), shortOnly: true, type, repeated: true, help: '' };
}

const writtenName = (key: string): string => (key.startsWith('-') ? key : `--${key}`);

export function parseArgs(argv: readonly string[], o: ParseOptions): ParsedArgs {
  const docker = o.docker === true;
  const specs = [...o.valued.map((n) => specOf(n, 'string')), ...o.booleans.map((n) => specOf(n, 'bool'))];
  const parsed = parseCommandLine(argv, specs, {
    stopAtFirstPositional: o.stopAtFirstArg === true,
    emptyValues: docker,
    boolValues: docker ? 'ignore' : 'reject',
    messages: docker ? DOCKER_MESSAGES : IMAGE_MESSAGES,
  });
  const flags = new Map<string, string[]>();
  for (const [key, values] of parsed.strings) flags.set(writtenName(key), values);
  for (const [key, set] of parsed.bools) if (set) flags.set(writtenName(key), ['true']);
  return { flags, args: parsed.positionals };
}
