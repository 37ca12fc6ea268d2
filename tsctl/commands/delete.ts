// tsctl delete -f FILE | KIND NAME... | KIND -l SELECTOR: prints `pod "web" deleted`.

import { NotFoundError } from '../../api/errors';
import { KINDS, type ApiObject, type KindName } from '../../api/kinds';
import type { DeleteOptions, ResourceClient } from '../../client';
import { flagBool, flagInt, flagString, flagStrings } from '../args';
import type { Command } from '../command';
import type { Context } from '../context';
import { UsageError, formatError } from '../errors';
import { filenameFlag, loadObjects } from './apply';
import { parseTargets } from './get';

interface Victim {
  readonly kind: KindName;
  readonly name: string;
  readonly namespace: string;
}

/** kubectl's --cascade: background (default), orphan or foreground; true/false are its deprecated spellings. */
const CASCADE: Readonly<Record<string, string>> = { background: 'Background', orphan: 'Orphan', foreground: 'Foreground', true: 'Background', false: 'Orphan' };

function propagationPolicy(ctx: Context): { propagationPolicy?: string } {
  const cascade = flagString(ctx.args, 'cascade');
  if (cascade === undefined) return {};
  const policy = CASCADE[cascade];
  if (!policy) throw new UsageError(`invalid cascade value (${cascade}). Must be "background", "foreground", or "orphan".`);
  return { propagationPolicy: policy };
}

function deleteOptions(ctx: Context): Omit<DeleteOptions, 'namespace'> {
  return { ...graceOptions(ctx), ...propagationPolicy(ctx) };
}

function graceOptions(ctx: Context): Pick<DeleteOptions, 'gracePeriodSeconds'> {
  const grace = flagInt(ctx.args, 'grace-period');
  const now = flagBool(ctx.args, 'now');
  const force = flagBool(ctx.args, 'force');
  if (now && grace !== undefined && grace >= 0) throw new UsageError('--now and --grace-period cannot be specified together');
  // kubectl: --now is a grace period of 1 s; --force with 0 deletes at once.
  if (now) return { gracePeriodSeconds: 1 };
  if (grace !== undefined && grace >= 0) {
    if (grace === 0 && !force) return { gracePeriodSeconds: 1 };
    return { gracePeriodSeconds: grace };
  }
  if (force) return { gracePeriodSeconds: 0 };
  return {};
}

async function victims(ctx: Context): Promise<Victim[]> {
  if (flagStrings(ctx.args, 'filename').length > 0) {
    if (ctx.args.positionals.length > 0) throw new UsageError('specify either -f FILE or KIND NAME, not both');
    return (await loadObjects(ctx, 'delete')).map(({ obj, json }) => {
      const meta = json['metadata'] as { name?: string; namespace?: string };
      return { kind: obj.kind, name: meta.name ?? '', namespace: meta.namespace ?? '' };
    });
  }
  const targets = parseTargets(ctx.args.positionals, 'delete');
  const selector = flagString(ctx.args, 'selector');
  const all = flagBool(ctx.args, 'all');
  const out: Victim[] = [];
  for (const t of targets) {
    if (t.names.length > 0) {
      if (selector || all) throw new UsageError('name cannot be provided when a selector or --all is specified');
      out.push(...t.names.map((name) => ({ kind: t.kind, name, namespace: ctx.namespace })));
      continue;
    }
    if (!selector && !all) throw new UsageError(`resource(s) were provided, but no name was specified (use a NAME, -l SELECTOR or --all)`);
    const cs = await ctx.clientset();
    const list = await ctx.wait(cs.kind(t.kind).listAll({ namespace: ctx.namespace, labelSelector: selector ?? '' }));
    for (const o of (list.items ?? []) as ApiObject[]) out.push({ kind: t.kind, name: o.metadata?.name ?? '', namespace: o.metadata?.namespace ?? '' });
  }
  return out;
}

export const deleteCommand: Command = {
  name: 'delete',
  summary: 'Delete objects by file, by kind and name, or by label selector',
  usage: 'tsctl delete (-f FILENAME | KIND NAME... | KIND -l SELECTOR | KIND --all) [flags]',
  examples: '  tsctl delete pod web\n  tsctl delete -f manifests/\n  tsctl delete pods -l app=web --now\n  tsctl delete rc web --cascade=orphan',
  flags: [
    filenameFlag('Delete the objects of a manifest file, directory or - (repeatable)'),
    { name: 'selector', short: 'l', type: 'string', valueName: 'SELECTOR', help: 'Delete the objects matching a label selector' },
    { name: 'all', type: 'bool', help: 'Delete every object of the kind in the namespace' },
    { name: 'grace-period', type: 'int', valueName: 'SECONDS', help: 'Seconds a pod gets to stop (default: its own; -1 too)' },
    { name: 'now', type: 'bool', help: 'Stop pods at once (grace period 1)' },
    { name: 'force', type: 'bool', help: 'With --grace-period=0: remove without waiting for the kubelet' },
    {
      name: 'cascade',
      type: 'string',
      valueName: 'MODE',
      help: 'What happens to dependents (pods of an RC): background (default) deletes them after, foreground before, orphan keeps them',
    },
    { name: 'ignore-not-found', type: 'bool', help: 'Treat "not found" as success' },
    { name: 'validate', type: 'string', valueName: 'MODE', help: 'strict, warn (default) or ignore unknown fields in -f files' },
  ],
  async run(ctx: Context): Promise<number> {
    const options = deleteOptions(ctx);
    const list = await victims(ctx);
    const cs = await ctx.clientset();
    const ignoreNotFound = flagBool(ctx.args, 'ignore-not-found');
    if (list.length === 0 && !ignoreNotFound) ctx.io.stderr.write('No resources found\n');
    let code = 0;
    for (const v of list) {
      const client = cs.kind(v.kind) as ResourceClient<ApiObject>;
      try {
        await ctx.wait(client.delete(v.name, { ...options, namespace: v.namespace }));
        ctx.io.stdout.write(`${KINDS[v.kind].singular} "${v.name}" deleted\n`);
      } catch (err) {
        if (err instanceof NotFoundError && ignoreNotFound) continue;
        ctx.io.stderr.write(`${formatError(err)}\n`);
        code = 1;
      }
    }
    return code;
  },
};
