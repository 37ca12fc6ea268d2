// tsctl create namespace NAME.

import type { Command } from '../command';
import type { Context } from '../context';
import { UsageError } from '../errors';

export const createCommand: Command = {
  name: 'create',
  summary: 'Create a namespace (tsctl create namespace NAME)',
  usage: 'tsctl create namespace NAME',
  examples: '  tsctl create namespace staging',
  flags: [],
  async run(ctx: Context): Promise<number> {
    const [what, name, ...rest] = ctx.args.positionals;
    if (what === undefined) throw new UsageError('specify what to create: namespace NAME');
    if (what !== 'namespace' && what !== 'ns')
      throw new UsageError(`unknown resource to create "${what}": tsctl create supports namespace NAME (use tsctl apply -f for other kinds)`);
    if (!name) throw new UsageError('exactly one NAME is required, got none');
    if (rest.length > 0) throw new UsageError(`exactly one NAME is required, got ${rest.length + 1}`);
    const cs = await ctx.clientset();
    await ctx.wait(cs.namespaces.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }));
    ctx.io.stdout.write(`namespace/${name} created\n`);
    return 0;
  },
};
