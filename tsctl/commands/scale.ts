// tsctl scale rc NAME --replicas N: kubectl's scale for replication
// controllers. A conflict with a concurrent writer re-reads and retries, so
// the count is never written over a change it did not see; --current-replicas
// makes it conditional, as in kubectl.

import { ConflictError } from '../../api/errors';
import type { Command } from '../command';
import type { Context } from '../context';
import { CliError, UsageError } from '../errors';
import { kindArg } from '../kinds';

const ATTEMPTS = 5;

export const scaleCommand: Command = {
  name: 'scale',
  summary: 'Set the number of replicas of a replication controller',
  usage: 'tsctl scale rc NAME --replicas N [--current-replicas N] [-n NS]',
  examples: '  tsctl scale rc web --replicas 5 -n demo\n  tsctl scale replicationcontroller/web --replicas 0',
  flags: [
    { name: 'replicas', type: 'int', valueName: 'N', help: 'The new number of replicas (required)' },
    { name: 'current-replicas', type: 'int', valueName: 'N', help: 'Only scale if the replicas are N now' },
  ],
  async run(ctx: Context): Promise<number> {
    const { kind, name } = target(ctx.args.positionals);
    const replicas = ctx.args.ints.get('replicas');
    if (replicas === undefined) throw new UsageError('--replicas is required');
    if (replicas < 0) throw new UsageError(`--replicas: ${replicas} must be 0 or more`);
    const current = ctx.args.ints.get('current-replicas');
    if (kindArg(kind) !== 'ReplicationController') throw new UsageError(`cannot scale "${kind}": tsctl scale supports replicationcontrollers (rc)`);
    const cs = await ctx.clientset();
    for (let attempt = 1; ; attempt++) {
      const rc = await ctx.wait(cs.replicationControllers.get(name, ctx.namespace));
      const now = rc.spec?.replicas ?? 1;
      if (current !== undefined && now !== current) {
        throw new CliError(`expected ${current} replicas of replicationcontroller/${name}, found ${now}: not scaled`);
      }
      try {
        await ctx.wait(cs.replicationControllers.update({ ...rc, spec: { ...rc.spec, replicas } }));
        ctx.io.stdout.write(`replicationcontroller/${name} scaled\n`);
        return 0;
      } catch (err) {
        if (!(err instanceof ConflictError) || attempt >= ATTEMPTS) throw err;
      }
    }
  },
};

/** "rc NAME" or "rc/NAME". */
function target(positionals: readonly string[]): { kind: string; name: string } {
  const [first, second, ...rest] = positionals;
  if (first === undefined) throw new UsageError('specify what to scale: rc NAME');
  if (first.includes('/')) {
    if (second !== undefined) throw new UsageError(`unexpected argument "${second}"`);
    const [kind = '', name = ''] = first.split('/', 2);
    if (!name) throw new UsageError(`"${first}": a NAME is required after the "/"`);
    return { kind, name };
  }
  if (!second) throw new UsageError('a NAME is required: tsctl scale rc NAME --replicas N');
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
  return { kind: first, name: second };
}
