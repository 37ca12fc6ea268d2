// tsctl's command line in kubectl's (cobra's) shape, on the tree's one
// parser (util/flags): global flags may come before or after the command
// word, and the command's own flags and positionals interleave freely.

import { parseCommandLine, type FlagSpec, type ParsedArgs } from '../util/flags';

export { flagBool, flagInt, flagString, flagStrings, formatFlags, type FlagSpec, type FlagType, type ParsedArgs } from '../util/flags';

/** The flags every command accepts. */
export const GLOBAL_FLAGS: readonly FlagSpec[] = [
  {
    name: 'server',
    short: 's',
    type: 'string',
    valueName: 'HOST:PORT',
    help: "The API server (default: $TSCTL_SERVER, then the context's, then 127.0.0.1:6443); repeat it for servers to fail over to",
  },
  {
    name: 'kubeconfig',
    type: 'string',
    valueName: 'FILE',
    help: 'The client config: contexts of server, CA and credential (default: $TSK_CONFIG, then ~/.tsk/config)',
  },
  { name: 'context', type: 'string', valueName: 'NAME', help: "The context to use (default: the config's current-context)" },
  { name: 'token', type: 'string', valueName: 'TOKEN', help: "A bearer token to authenticate with instead of the context's credential" },
  { name: 'namespace', short: 'n', type: 'string', valueName: 'NS', help: 'The namespace (default "default")' },
  { name: 'request-timeout', type: 'int', valueName: 'SECONDS', help: 'Deadline of each request in seconds (default 30)' },
  { name: 'help', short: 'h', type: 'bool', help: 'Show help for the command' },
];

/** A command's flags and positionals, the global flags included. */
export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[]): ParsedArgs {
  return parseCommandLine(argv, [...GLOBAL_FLAGS, ...specs]);
}

/** Boolean flags that may stand before the command word: they take no value. */
const BOOLS_BEFORE_COMMAND = new Set(['--help', '-h', '--all-namespaces', '-A']);

/**
 * Finds the command word as cobra does (its stripFlags): flags before it are
 * skipped, and a flag not known to be boolean is taken to have its value in
 * the next argument (`tsctl -n demo get pods`). Returns the command word and
 * every other argument, in order, for the command's own parser, which then
 * checks them all (an unknown flag before the command is reported there).
 */
export function splitCommand(argv: readonly string[]): { command: string | undefined; rest: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') break;
    if (!a.startsWith('-') || a === '-') return { command: a, rest: [...argv.slice(0, i), ...argv.slice(i + 1)] };
    const inline = a.includes('=') || (!a.startsWith('--') && a.length > 2);
    if (!inline && !BOOLS_BEFORE_COMMAND.has(a)) i++;
  }
  return { command: undefined, rest: [...argv] };
}
