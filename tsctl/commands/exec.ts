// tsctl exec [-i] [-t] POD [-c CONTAINER] -- COMMAND [ARG...]: kubectl's
// exec through the API server and the node's tunnel. tsctl exits with the
// command's exit code, as kubectl does; -i forwards stdin (its end closes the
// command's stdin); Ctrl-C ends the session (with -t and a terminal, Ctrl-C
// goes to the command instead, as in kubectl).

import { PodServiceService } from '../../api/gen/tsk/v1/api';
import type { ExecClientMessage, ExecServerMessage, ExecStart } from '../../api/gen/tsk/v1/stream';
import type { MethodDef } from '../../api/kinds';
import { flagBool, flagString, type ParsedArgs } from '../args';
import type { Command } from '../command';
import type { Context } from '../context';
import { CliError, UsageError } from '../errors';
import { CONTAINER_FLAG, podArg } from './logs';

/** The ExecStart of a command line (without namespace). */
export function execStart(args: ParsedArgs): Omit<ExecStart, 'namespace'> {
  const [pod, ...command] = args.positionals;
  if (pod === undefined) throw new UsageError('a pod name is required: tsctl exec POD -- COMMAND [ARG...]');
  if (command.length === 0) throw new UsageError('you must specify at least one command for the container');
  return {
    name: podArg(pod),
    container: flagString(args, 'container') ?? '',
    command,
    stdin: flagBool(args, 'stdin'),
    tty: flagBool(args, 'tty'),
  };
}

type TtyIn = NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };

export const execCommand: Command = {
  name: 'exec',
  summary: 'Run a command in a container of a pod',
  usage: 'tsctl exec [-i] [-t] POD [-c CONTAINER] [-n NS] -- COMMAND [ARG...]',
  examples: '  tsctl exec web-x7k2p -n demo -- hostname\n  tsctl exec -it web-x7k2p -- sh\n  echo hi | tsctl exec -i web-x7k2p -- cat',
  flags: [
    CONTAINER_FLAG,
    { name: 'stdin', short: 'i', type: 'bool', help: "Pass tsctl's stdin to the command" },
    { name: 'tty', short: 't', type: 'bool', help: 'Run the command on a terminal (stderr is merged into stdout)' },
  ],
  async run(ctx: Context): Promise<number> {
    const start: ExecStart = { ...execStart(ctx.args), namespace: ctx.namespace };
    return runSession(ctx, PodServiceService.exec, start, () => {
      throw new CliError('the exec session ended without an exit code');
    });
  },
};

/**
 * One exec or attach session: `start` first, then tsctl's stdin (with
 * start.stdin; raw with a terminal and -t), the output to tsctl's. Resolves
 * with the process's exit code; when the session ends without one, with what
 * `noExitCode` returns. Ctrl-C cancels the session and resolves 130.
 */
export async function runSession(
  ctx: Context,
  method: MethodDef<ExecClientMessage, ExecServerMessage>,
  start: ExecStart,
  noExitCode: () => number,
): Promise<number> {
  const conn = (await ctx.clientset()).connection;
  const call = conn.bidiStream<ExecClientMessage, ExecServerMessage>(method);
  const stdin = ctx.io.stdin as TtyIn;
  const raw = start.tty === true && start.stdin === true && stdin.isTTY === true && typeof stdin.setRawMode === 'function';
  let exitCode: number | undefined;
  const onStdin = (data: Buffer): void => {
    if (!call.write({ stdin: data })) {
      stdin.pause();
      call.once('drain', () => stdin.resume());
    }
  };
  const onStdinEnd = (): void => {
    call.write({ stdinEof: true });
  };
  const cleanup = (): void => {
    stdin.removeListener('data', onStdin);
    stdin.removeListener('end', onStdinEnd);
    stdin.pause();
    if (raw) stdin.setRawMode?.(false);
  };
  call.write({ start });
  if (start.stdin) {
    if (raw) stdin.setRawMode?.(true);
    stdin.on('data', onStdin);
    stdin.on('end', onStdinEnd);
    stdin.resume();
  } else {
    call.end();
  }
  return new Promise<number>((resolve, reject) => {
    const onAbort = (): void => call.cancel();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    call.on('data', (m: ExecServerMessage) => {
      if (m.stdout?.length) ctx.io.stdout.write(m.stdout);
      if (m.stderr?.length) ctx.io.stderr.write(m.stderr);
      if (m.exitCode !== undefined) exitCode = m.exitCode;
    });
    call.on('end', () => {
      cleanup();
      ctx.signal.removeEventListener('abort', onAbort);
      if (exitCode !== undefined) resolve(exitCode);
      else {
        try {
          resolve(noExitCode());
        } catch (err) {
          reject(err);
        }
      }
    });
    call.on('error', (err: unknown) => {
      cleanup();
      ctx.signal.removeEventListener('abort', onAbort);
      if (ctx.signal.aborted) resolve(130);
      else reject(conn.streamError(err));
    });
  });
}
