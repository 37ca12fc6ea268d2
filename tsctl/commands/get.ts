// tsctl get KIND [NAME...]: tables with kubectl's columns, -o yaml|json|name|wide,
// -w to follow changes (watching from the list's revision, so none is missed),
// --no-headers, --show-labels, -L KEY columns and --sort-by FIELD as kubectl.

import { setTimeout as sleep } from 'node:timers/promises';
import { ExpiredError, NotFoundError } from '../../api/errors';
import { KINDS, type ApiObject, type KindName } from '../../api/kinds';
import type { ResourceClient, WatchEvent } from '../../client';
import { flagBool, flagString, flagStrings, type ParsedArgs } from '../args';
import type { Command } from '../command';
import type { Context } from '../context';
import { CliError, UsageError, formatError } from '../errors';
import { kindArg, knownTypes } from '../kinds';
import { columnsFor, type Columns } from '../../api/printers/columns';
import { formatJson, formatName, formatYaml, parseOutputFormat, toKubeJson, toKubeList, type OutputFormat } from '../printers/output';
import { parseSortField, sortByField, type SortField } from '../printers/sort-by';
import { TableWriter } from '../printers/table';
import { errorMessage } from '../../util/errors';

interface Target {
  readonly kind: KindName;
  readonly names: string[];
}

/** KIND [NAME...] or KIND/NAME [KIND/NAME...]. */
export function parseTargets(positionals: readonly string[], verb: string): Target[] {
  if (positionals.length === 0) {
    throw new UsageError(`You must specify the type of resource to ${verb}. Known types: ${knownTypes()}`);
  }
  const first = positionals[0] as string;
  if (first.includes('/')) {
    const targets = new Map<KindName, string[]>();
    for (const p of positionals) {
      const [kind, name, extra] = p.split('/');
      if (!kind || !name || extra !== undefined)
        throw new UsageError(`there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (got "${p}")`);
      const k = kindArg(kind);
      targets.set(k, [...(targets.get(k) ?? []), name]);
    }
    return [...targets].map(([kind, names]) => ({ kind, names }));
  }
  const rest = positionals.slice(1);
  if (rest.some((r) => r.includes('/'))) throw new UsageError('arguments in resource/name form must have a single resource and name');
  return first.split(',').map((k) => ({ kind: kindArg(k), names: rest }));
}

/** -L a,b -L c: every key, in order (kubectl's string slice flag). */
export function labelColumns(args: ParsedArgs): string[] {
  return flagStrings(args, 'label-columns')
    .flatMap((v) => v.split(','))
    .filter((k) => k !== '');
}

interface Printer {
  /** Prints the first batch (header included for tables). */
  printAll(objs: readonly ApiObject[], single: boolean): void;
  /** Prints one more object (get -w). */
  printOne(obj: ApiObject): void;
}

function makePrinter(ctx: Context, kind: KindName, format: OutputFormat, args: ParsedArgs, allNamespaces: boolean): Printer {
  const out = (s: string): void => void ctx.io.stdout.write(s);
  switch (format) {
    case 'yaml':
      return {
        printAll: (objs, single) => out(formatYaml(single && objs[0] ? toKubeJson(kind, objs[0]) : toKubeList(kind, objs))),
        printOne: (obj) => out(`---\n${formatYaml(toKubeJson(kind, obj))}`),
      };
    case 'json':
      return {
        printAll: (objs, single) => out(formatJson(single && objs[0] ? toKubeJson(kind, objs[0]) : toKubeList(kind, objs))),
        printOne: (obj) => out(formatJson(toKubeJson(kind, obj))),
      };
    case 'name':
      return { printAll: (objs) => objs.forEach((o) => out(formatName(kind, o))), printOne: (o) => out(formatName(kind, o)) };
    case 'table':
    case 'wide': {
      const cols: Columns<ApiObject> = columnsFor(kind, {
        wide: format === 'wide',
        withNamespace: allNamespaces && KINDS[kind].namespaced,
        showLabels: flagBool(args, 'show-labels'),
        labelColumns: labelColumns(args),
      });
      const writer = new TableWriter();
      // --no-headers: as if the header had been printed already.
      let headerPrinted = flagBool(args, 'no-headers');
      const print = (objs: readonly ApiObject[]): void => {
        const rows = objs.map((o) => cols.row(o, ctx.now()));
        if (!headerPrinted) rows.unshift([...cols.headers]);
        headerPrinted = true;
        for (const line of writer.format(rows)) out(`${line}\n`);
      };
      return { printAll: (objs) => (objs.length > 0 ? print(objs) : undefined), printOne: (o) => print([o]) };
    }
  }
}

function noResources(ctx: Context, kind: KindName, allNamespaces: boolean): void {
  const where = KINDS[kind].namespaced && !allNamespaces ? ` in ${ctx.namespace} namespace` : '';
  ctx.io.stderr.write(`No resources found${where}.\n`);
}

/**
 * Follows changes from `resourceVersion`, printing each until interrupted.
 * A broken stream is resumed from the last revision seen; an expired one
 * cannot be resumed without missing changes, so it is an error.
 */
async function follow(
  ctx: Context,
  client: ResourceClient<ApiObject>,
  printer: Printer,
  opts: { namespace: string; labelSelector: string; fieldSelector: string },
  resourceVersion: string,
): Promise<number> {
  let rv = resourceVersion;
  let failures = 0;
  while (!ctx.signal.aborted) {
    const watch = client.watch({ ...opts, resourceVersion: rv, allowBookmarks: true });
    const onAbort = (): void => watch.cancel();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const ev of watch as AsyncIterable<WatchEvent<ApiObject>>) {
        failures = 0;
        rv = ev.object.metadata?.resourceVersion || rv;
        if (ev.type !== 'BOOKMARK') printer.printOne(ev.object);
      }
    } catch (err) {
      if (err instanceof ExpiredError) {
        ctx.io.stderr.write(`${formatError(err)}\nerror: the watch fell too far behind (revision ${rv} was compacted); run the command again\n`);
        return 1;
      }
      failures++;
      if (failures > 5) {
        ctx.io.stderr.write(`${formatError(err)}\n`);
        return 1;
      }
      ctx.io.stderr.write(`watch interrupted (${errorMessage(err)}); resuming from revision ${rv}\n`);
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
    }
    if (ctx.signal.aborted) break;
    await sleep(Math.min(5000, 250 * 2 ** failures)).catch(() => undefined);
  }
  return 0;
}

/** --sort-by applied to a batch of objects in kubectl's JSON form (the batch as is without the flag). */
function sorted(kind: KindName, objs: readonly ApiObject[], field: SortField | undefined): readonly ApiObject[] {
  return field ? sortByField(objs, field, (o) => toKubeJson(kind, o)) : objs;
}

async function getKind(ctx: Context, target: Target, format: OutputFormat, single: boolean, sortField: SortField | undefined): Promise<number> {
  const args = ctx.args;
  const cs = await ctx.clientset();
  const client = cs.kind(target.kind) as ResourceClient<ApiObject>;
  const allNamespaces = flagBool(args, 'all-namespaces');
  const namespace = allNamespaces ? '' : ctx.namespace;
  const labelSelector = flagString(args, 'selector') ?? '';
  const fieldSelector = flagString(args, 'field-selector') ?? '';
  const watch = flagBool(args, 'watch');
  const printer = makePrinter(ctx, target.kind, format, args, allNamespaces);
  let code = 0;

  if (target.names.length > 0) {
    if (labelSelector) throw new UsageError('name cannot be provided when a selector is specified');
    const found: ApiObject[] = [];
    const errors: string[] = [];
    for (const name of target.names) {
      try {
        found.push(await ctx.wait(client.get(name, namespace || ctx.namespace)));
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
        errors.push(formatError(err));
      }
    }
    if (found.length > 0) printer.printAll(sorted(target.kind, found, sortField), single && found.length === 1 && target.names.length === 1);
    for (const e of errors) ctx.io.stderr.write(`${e}\n`);
    if (errors.length > 0) code = 1;
    if (watch && target.names.length === 1 && found[0]) {
      const name = target.names[0] as string;
      const sel = [`metadata.name=${name}`, fieldSelector].filter(Boolean).join(',');
      return follow(
        ctx,
        client,
        printer,
        { namespace: namespace || ctx.namespace, labelSelector, fieldSelector: sel },
        found[0].metadata?.resourceVersion ?? '',
      );
    }
    if (watch && target.names.length > 1)
      throw new UsageError('watch is only supported on individual resources and resource collections, but multiple names were given');
    return code;
  }

  const list = await ctx.wait(client.listAll({ namespace, labelSelector, fieldSelector }));
  const items = list.items ?? [];
  if (items.length === 0 && format !== 'yaml' && format !== 'json') noResources(ctx, target.kind, allNamespaces);
  else printer.printAll(sorted(target.kind, items, sortField), false);
  // As kubectl: --sort-by orders the initial list; changes print as they come.
  if (watch) return follow(ctx, client, printer, { namespace, labelSelector, fieldSelector }, list.metadata?.resourceVersion ?? '');
  return code;
}

export const getCommand: Command = {
  name: 'get',
  summary: 'Display one or many objects',
  usage: 'tsctl get KIND[,KIND...] [NAME...] [flags]',
  examples:
    '  tsctl get pods\n  tsctl get po web -o yaml\n  tsctl get svc -A\n  tsctl get pods -l app=web -w\n  tsctl -n demo get pods -L app --sort-by .metadata.creationTimestamp\n  tsctl get pods --no-headers -o wide',
  flags: [
    { name: 'all-namespaces', short: 'A', type: 'bool', help: 'List across every namespace (adds a NAMESPACE column)' },
    { name: 'selector', short: 'l', type: 'string', valueName: 'SELECTOR', help: 'Label selector: a=b, a!=b, a in (x,y), a notin (x), a, !a' },
    { name: 'field-selector', type: 'string', valueName: 'SELECTOR', help: 'Field selector, e.g. spec.nodeName=n1, status.phase=Running' },
    { name: 'output', short: 'o', type: 'string', valueName: 'FORMAT', help: 'wide, yaml, json or name' },
    { name: 'watch', short: 'w', type: 'bool', help: 'After listing, print a row for every change until interrupted' },
    { name: 'show-labels', type: 'bool', help: "Add a LABELS column (the object's labels)" },
    {
      name: 'label-columns',
      short: 'L',
      type: 'string',
      repeated: true,
      valueName: 'KEY[,KEY...]',
      help: 'Add a column per label key (header: the upper-cased last segment of the key); repeatable',
    },
    { name: 'no-headers', type: 'bool', help: "Don't print the header row of tables" },
    { name: 'sort-by', type: 'string', valueName: 'FIELD', help: 'Sort lists by a JSONPath field, e.g. .metadata.name or {.metadata.creationTimestamp}' },
  ],
  async run(ctx: Context): Promise<number> {
    const format = parseOutputFormat(flagString(ctx.args, 'output'));
    if (!format)
      throw new UsageError(
        `unable to match a printer suitable for the output format "${flagString(ctx.args, 'output')}", allowed formats are: json,name,wide,yaml`,
      );
    const targets = parseTargets(ctx.args.positionals, 'get');
    const sortBy = flagString(ctx.args, 'sort-by');
    const sortField = sortBy ? parseSortField(sortBy) : undefined;
    if (flagBool(ctx.args, 'watch') && targets.length > 1) throw new UsageError('you may only specify a single resource type with --watch');
    let code = 0;
    for (const t of targets) {
      const c = await getKind(ctx, t, format, targets.length === 1, sortField);
      if (c !== 0) code = c;
    }
    return code;
  },
};

export { CliError };
