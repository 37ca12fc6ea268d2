// tsctl logs POD: kubectl's logs through the API server, which reaches the
// pod's node through the node's tunnel. Prints the raw lines; -f follows
// until the container ends or Ctrl-C.

import { PodServiceService } from '../../api/gen/tsk/v1/api';
import type { PodLogsChunk, PodLogsRequest } from '../../api/gen/tsk/v1/stream';
import type { Command } from '../command';
import type { Context } from '../context';
import { flagBool, flagInt, flagString, type FlagSpec, type ParsedArgs } from '../args';
import { UsageError } from '../errors';

/** POD or pod/POD (pods/POD, po/POD), as kubectl takes it. */
export function podArg(arg: string): string {
  const slash = arg.indexOf('/');
  if (slash < 0) return arg;
  const kind = arg.slice(0, slash).toLowerCase();
  const name = arg.slice(slash + 1);
  if (!['pod', 'pods', 'po'].includes(kind)) throw new UsageError(`"${arg}": only pods are supported (pod/NAME)`);
  if (!name) throw new UsageError(`"${arg}": a NAME is required after the "/"`);
  return name;
}

/** The PodLogsRequest of a command line (without namespace). */
export function logsRequest(args: ParsedArgs): Omit<PodLogsRequest, 'namespace'> {
  const [pod, ...rest] = args.positionals;
  if (pod === undefined) throw new UsageError('a pod name is required: tsctl logs POD [-c CONTAINER]');
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}": tsctl logs takes one pod`);
  const tail = flagInt(args, 'tail') ?? -1;
  if (tail < -1) throw new UsageError(`--tail: ${tail} must be -1 (all) or more`);
  return {
    name: podArg(pod),
    container: flagString(args, 'container') ?? '',
    follow: flagBool(args, 'follow'),
    previous: flagBool(args, 'previous'),
    timestamps: flagBool(args, 'timestamps'),
    ...(tail >= 0 ? { tailLines: tail } : {}),
  };
}

/** -c CONTAINER, the same for logs and exec (read with flagString(args, 'container')). */
export const CONTAINER_FLAG: FlagSpec = {
  name: 'container',
  short: 'c',
  type: 'string',
  valueName: 'CONTAINER',
  help: 'The container (optional when the pod has one)',
};

export const logsCommand: Command = {
  name: 'logs',
  summary: 'Print the logs of a container in a pod',
  usage: 'tsctl logs POD [-c CONTAINER] [-f] [--tail N] [--timestamps] [-p] [-n NS]',
  examples: '  tsctl logs web-x7k2p -n demo\n  tsctl logs -f web-x7k2p -c web --tail 10',
  flags: [
    CONTAINER_FLAG,
    { name: 'follow', short: 'f', type: 'bool', help: 'Keep printing new lines until the container ends' },
    { name: 'tail', type: 'int', valueName: 'N', help: 'Only the last N lines (default -1: all)' },
    { name: 'timestamps', type: 'bool', help: 'Prefix each line with its RFC 3339 time' },
    { name: 'previous', short: 'p', type: 'bool', help: 'The previous, terminated instance of the container' },
  ],
  async run(ctx: Context): Promise<number> {
    const request: PodLogsRequest = { ...logsRequest(ctx.args), namespace: ctx.namespace };
    const conn = (await ctx.clientset()).connection;
    const call = conn.serverStream(PodServiceService.logs, request);
    return new Promise((resolve, reject) => {
      const onAbort = (): void => call.cancel();
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      call.on('data', (chunk: PodLogsChunk) => {
        if (chunk.data?.length) ctx.io.stdout.write(chunk.data);
      });
      call.on('end', () => resolve(0));
      call.on('error', (err: unknown) => {
        ctx.signal.removeEventListener('abort', onAbort);
        if (ctx.signal.aborted) resolve(0);
        else reject(conn.streamError(err));
      });
    });
  },
};
