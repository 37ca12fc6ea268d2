// `tsk runtime VERB ...`: the debug CLI of the built-in runtime. Image verbs
// go to the image side (image-commands.ts), container verbs to
// container-commands.ts. `--data-dir DIR` is accepted anywhere after the verb.

import { DEFAULT_DATA_DIR } from '../image/store';
import { RuntimeError } from '../errors';
import { ImageError } from '../image/errors';
import { runImageCommand } from './image-commands';
import { CONTAINER_VERBS, ContainerCommands, ContainerVerb, EXEC_VALUED_FLAGS, RUN_VALUED_FLAGS, USAGE, UsageError } from './container-commands';
import { errorMessage } from '../../../util/errors';

const IMAGE_VERBS = ['pull', 'import', 'images', 'rmi'] as const;
type ImageVerb = (typeof IMAGE_VERBS)[number];

const SUMMARY: Array<[string, string]> = [
  ['pull', 'Pull an image from a registry'],
  ['import', 'Import images from a docker save tarball or an OCI layout archive'],
  ['images', 'List images'],
  ['rmi', 'Remove images'],
  ['run', 'Create and start a container in its own sandbox'],
  ['ps', 'List containers'],
  ['logs', 'Show the logs of a container'],
  ['exec', 'Run a command in a running container'],
  ['stop', 'Stop running containers'],
  ['rm', 'Remove containers'],
];

function usage(): string {
  return `Usage: tsk runtime COMMAND [FLAGS] [--data-dir DIR]\n\nCommands:\n${SUMMARY.map(([n, s]) => `  ${n.padEnd(8)} ${s}`).join('\n')}\n\nState lives under --data-dir (default ${DEFAULT_DATA_DIR}).`;
}

/** Takes --data-dir out of argv (before a command's own positionals end), returns the rest. */
export function extractDataDir(argv: string[], verb: string): { dataDir: string; rest: string[] } {
  let dataDir = DEFAULT_DATA_DIR;
  const rest: string[] = [];
  // For run/exec the container's command line starts at the first positional: leave it untouched.
  const stopAtArg = verb === 'run' || verb === 'exec';
  const valued = verb === 'run' ? RUN_VALUED_FLAGS : EXEC_VALUED_FLAGS;
  let positional = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (!positional && (a === '--data-dir' || a.startsWith('--data-dir='))) {
      const v = a === '--data-dir' ? argv[++i] : a.slice('--data-dir='.length);
      if (v === undefined || v === '') throw new UsageError('--data-dir needs a value');
      dataDir = v;
      continue;
    }
    if (stopAtArg && !a.startsWith('-') && !positional) {
      // A flag value (e.g. "--name x") is not the first positional.
      const prev = rest[rest.length - 1] ?? '';
      if (!(valued.includes(prev) && !prev.includes('='))) positional = true;
    }
    rest.push(a);
  }
  return { dataDir, rest };
}

export async function main(argv: string[]): Promise<number> {
  const [verb, ...args] = argv;
  if (verb === undefined || verb === '--help' || verb === '-h' || verb === 'help') {
    console.log(usage());
    return verb === undefined ? 2 : 0;
  }
  const isImage = (IMAGE_VERBS as readonly string[]).includes(verb);
  const isContainer = (CONTAINER_VERBS as string[]).includes(verb);
  if (!isImage && !isContainer) {
    console.error(`tsk runtime: unknown command "${verb}"\n\n${usage()}`);
    return 2;
  }
  let parsed: { dataDir: string; rest: string[] };
  try {
    parsed = extractDataDir(args, verb);
  } catch (e) {
    console.error(`tsk runtime ${verb}: ${errorMessage(e)}`);
    return 2;
  }
  if (isImage) return runImageCommand(verb as ImageVerb, parsed.rest, parsed.dataDir);
  const v = verb as ContainerVerb;
  if (parsed.rest.includes('--help') && !(v === 'run' || v === 'exec')) {
    console.log(USAGE[v]);
    return 0;
  }
  try {
    return await new ContainerCommands(parsed.dataDir).run(v, parsed.rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`tsk runtime ${v}: ${e.message}\n${USAGE[v]}`);
      return v === 'run' ? 125 : 2;
    }
    const known = e instanceof RuntimeError || e instanceof ImageError;
    console.error(`tsk runtime ${v}: ${known ? e.message : ((e as Error).stack ?? String(e))}`);
    // docker run reports its own failures (not the container's) as 125.
    return v === 'run' ? 125 : 1;
  }
}
