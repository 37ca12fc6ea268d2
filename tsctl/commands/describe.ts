// tsctl describe KIND [NAME...]: a readable report of objects with their events.

import { ApiError } from '../../api/errors';
import type * as core from '../../api/gen/tsk/v1/core';
import { KINDS, type ApiObject, type KindName } from '../../api/kinds';
import type { Clientset } from '../../client';
import { escapeFieldValue } from '../../api/fields';
import { flagString } from '../args';
import type { Command } from '../command';
import type { Context } from '../context';
import { formatError } from '../errors';
import { DESCRIBED_WITHOUT_EVENTS, describeObject, eventsSection } from '../printers/describe';
import { parseTargets } from './get';

/** The events about obj: by field selector, or filtered here if the server refuses the selector. */
export async function eventsFor(ctx: Context, cs: Clientset, kind: KindName, obj: ApiObject): Promise<core.Event[]> {
  const name = obj.metadata?.name ?? '';
  const namespace = KINDS[kind].namespaced ? (obj.metadata?.namespace ?? '') : '';
  const uid = obj.metadata?.uid ?? '';
  const matches = (e: core.Event): boolean =>
    e.involvedObject?.name === name && e.involvedObject?.kind === KINDS[kind].kind && (!uid || !e.involvedObject?.uid || e.involvedObject.uid === uid);
  const selector = [
    `involvedObject.name=${escapeFieldValue(name)}`,
    `involvedObject.kind=${KINDS[kind].kind}`,
    ...(uid ? [`involvedObject.uid=${uid}`] : []),
  ].join(',');
  try {
    const list = await ctx.wait(cs.events.listAll({ namespace: namespace || ctx.namespace, fieldSelector: selector }));
    return (list.items ?? []).filter(matches);
  } catch (err) {
    if (!(err instanceof ApiError) || err.reason !== 'BadRequest') throw err;
    const list = await ctx.wait(cs.events.listAll({ namespace: namespace || ctx.namespace }));
    return (list.items ?? []).filter(matches);
  }
}

export const describeCommand: Command = {
  name: 'describe',
  summary: 'Show details of objects, with their events',
  usage: 'tsctl describe KIND [NAME...] [flags]',
  examples: '  tsctl describe pod web\n  tsctl describe svc -l app=web',
  flags: [{ name: 'selector', short: 'l', type: 'string', valueName: 'SELECTOR', help: 'Describe the objects matching a label selector' }],
  async run(ctx: Context): Promise<number> {
    const targets = parseTargets(ctx.args.positionals, 'describe');
    const cs = await ctx.clientset();
    let code = 0;
    let first = true;
    for (const t of targets) {
      const client = cs.kind(t.kind);
      let objs: ApiObject[] = [];
      if (t.names.length > 0) {
        for (const name of t.names) {
          try {
            objs.push(await ctx.wait(client.get(name, ctx.namespace)));
          } catch (err) {
            ctx.io.stderr.write(`${formatError(err)}\n`);
            code = 1;
          }
        }
      } else {
        const list = await ctx.wait(client.listAll({ namespace: ctx.namespace, labelSelector: flagString(ctx.args, 'selector') ?? '' }));
        objs = (list.items ?? []) as ApiObject[];
        if (objs.length === 0) ctx.io.stderr.write(`No resources found${KINDS[t.kind].namespaced ? ` in ${ctx.namespace} namespace` : ''}.\n`);
      }
      for (const obj of objs) {
        const w = describeObject(t.kind, obj, ctx.now());
        if (!DESCRIBED_WITHOUT_EVENTS.has(t.kind)) eventsSection(w, await eventsFor(ctx, cs, t.kind, obj), ctx.now());
        ctx.io.stdout.write(`${first ? '' : '\n\n'}${w.toString()}`);
        first = false;
      }
    }
    return code;
  },
};
