// tsctl attach [-i] [-t] POD [-c CONTAINER]: kubectl's attach through the API
// server and the node's tunnel. It joins the container's main process: its
// output from now on; with -i tsctl's stdin goes to the process (the
// container must be made with stdin: true; with stdinOnce: true the end of
// tsctl's stdin closes the process's stdin for good). tsctl exits with the
// process's exit code if it exited while attached, 0 if it still runs, and
// 130 on Ctrl-C (with -t and a terminal, Ctrl-C goes to the process).

import { PodServiceService } from '../../api/gen/tsk/v1/api';
import type { ExecStart } from '../../api/gen/tsk/v1/stream';
import { flagBool, flagString, type ParsedArgs } from '../args';
import type { Command } from '../command';
import type { Context } from '../context';
import { UsageError } from '../errors';
import { runSession } from './exec';
import { CONTAINER_FLAG, podArg } from './logs';

/** The ExecStart of an attach command line (without namespace): no command, the main process. */
export function attachStart(args: ParsedArgs): Omit<ExecStart, 'namespace'> {
  const [pod, ...rest] = args.positionals;
  if (pod === undefined) throw new UsageError('a pod name is required: tsctl attach POD [-c CONTAINER]');
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}": attach joins the main process; to run a command use tsctl exec POD -- COMMAND`);
  return {
    name: podArg(pod),
    container: flagString(args, 'container') ?? '',
    command: [],
    stdin: flagBool(args, 'stdin'),
    tty: flagBool(args, 'tty'),
  };
}

export const attachCommand: Command = {
  name: 'attach',
  summary: "Attach to a container's main process",
  usage: 'tsctl attach [-i] [-t] POD [-c CONTAINER] [-n NS]',
  examples: '  tsctl attach web-x7k2p\n  tsctl attach -it shell          # a pod made with stdin: true, tty: true\n  echo hi | tsctl attach -i reader',
  flags: [
    CONTAINER_FLAG,
    { name: 'stdin', short: 'i', type: 'bool', help: "Pass tsctl's stdin to the process (the container needs stdin: true)" },
    { name: 'tty', short: 't', type: 'bool', help: 'Stdin is a terminal (the container needs tty: true)' },
  ],
  run(ctx: Context): Promise<number> {
    const start: ExecStart = { ...attachStart(ctx.args), namespace: ctx.namespace };
    // The session ends without an exit code when the process still runs (the caller left).
    return runSession(ctx, PodServiceService.attach, start, () => 0);
  },
};
