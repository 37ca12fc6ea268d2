// tsctl patch KIND NAME -p PATCH: kubectl patch. The patch (JSON or YAML,
// inline or from --patch-file) is applied client-side to the object read,
// and the result written back with that object's resourceVersion through
// Update, UpdateStatus (--subresource status) or UpdateResize (--subresource
// resize, a pod's in-place resize); a conflict with another writer re-reads
// and re-applies, so nothing is written over a change the patch did not see.

import { readFile } from 'node:fs/promises';
import { load, YAMLException } from 'js-yaml';
import { decodeJson, encodeJson } from '../../api/codec';
import { ConflictError } from '../../api/errors';
import type { Pod } from '../../api/gen/tsk/v1/core';
import { KINDS, type ApiObject, type KindName } from '../../api/kinds';
import type { Clientset } from '../../client';
import { errorMessage } from '../../util/errors';
import { KUBE_YAML_SCHEMA } from '../../util/kube-yaml';
import { flagString } from '../args';
import type { Command } from '../command';
import type { Context } from '../context';
import { CliError, UsageError } from '../errors';
import { kindArg, resourceName } from '../kinds';
import { applyPatch, PATCH_TYPES, PatchError, type PatchType } from '../../api/patch/patch';
import { jsonEqual, type Json, type JsonMap } from '../../api/patch/merge';
import { formatJson, formatYaml, toKubeJson } from '../printers/output';

const ATTEMPTS = 5;

type Subresource = '' | 'status' | 'resize';

export const patchCommand: Command = {
  name: 'patch',
  summary: 'Update fields of an object with a strategic merge, JSON merge or JSON patch',
  usage: 'tsctl patch KIND NAME (-p PATCH | --patch-file FILE) [--type strategic|merge|json] [--subresource status|resize] [-n NS] [-o yaml|json|name]',
  examples: [
    `  tsctl patch pod resize-demo --subresource resize -p '{"spec":{"containers":[{"name":"pause","resources":{"requests":{"cpu":"800m"},"limits":{"cpu":"800m"}}}]}}'`,
    `  tsctl patch rc web --type merge -p '{"spec":{"replicas":3}}'`,
    `  tsctl patch pod web --type json -p '[{"op":"replace","path":"/spec/containers/0/image","value":"nginx:1.27"}]'`,
  ].join('\n'),
  flags: [
    { name: 'patch', short: 'p', type: 'string', valueName: 'PATCH', help: 'The patch, JSON or YAML' },
    { name: 'patch-file', type: 'string', valueName: 'FILE', help: 'A file holding the patch' },
    { name: 'type', type: 'string', valueName: 'TYPE', help: 'strategic (default), merge (RFC 7386) or json (RFC 6902)' },
    { name: 'subresource', type: 'string', valueName: 'NAME', help: 'status, or resize (pods: in-place resize of cpu and memory)' },
    { name: 'output', short: 'o', type: 'string', valueName: 'FORMAT', help: 'Print the patched object: yaml, json or name' },
  ],
  async run(ctx: Context): Promise<number> {
    const { kind, name } = target(ctx.args.positionals);
    const type = patchTypeOf(flagString(ctx.args, 'type'));
    const subresource = subresourceOf(kind, flagString(ctx.args, 'subresource'));
    const output = outputOf(flagString(ctx.args, 'output'));
    const patch = await readPatch(flagString(ctx.args, 'patch'), flagString(ctx.args, 'patch-file'));
    const cs = await ctx.clientset();
    const client = cs.kind(kind);
    const { typeName } = KINDS[kind];
    for (let attempt = 1; ; attempt++) {
      const live = await ctx.wait(client.get(name, ctx.namespace));
      const liveJson = encodeJson(typeName, live) as JsonMap;
      let patched: JsonMap;
      try {
        patched = applyPatch(type, typeName, liveJson, patch);
      } catch (err) {
        if (err instanceof PatchError) throw new CliError(`${resourceName(kind, name)}: ${err.message}`);
        throw err;
      }
      if (jsonEqual(patched, liveJson)) return printResult(ctx, kind, name, live, output, ' (no change)');
      const decoded = decodeJson<ApiObject>(typeName, patched);
      for (const f of decoded.unknownFields) ctx.io.stderr.write(`Warning: unknown field "${f}"\n`);
      const obj = decoded.value;
      // The read's resourceVersion: a write in between is a conflict, and the patch is applied again.
      obj.metadata = { ...obj.metadata, resourceVersion: live.metadata?.resourceVersion ?? '' };
      try {
        const written = await ctx.wait(write(cs, kind, subresource, obj));
        return printResult(ctx, kind, name, written, output, '');
      } catch (err) {
        if (!(err instanceof ConflictError) || attempt >= ATTEMPTS) throw err;
      }
    }
  },
};

function write(cs: Clientset, kind: KindName, subresource: Subresource, obj: ApiObject): Promise<ApiObject> {
  if (subresource === 'resize') return cs.pods.updateResize(obj as Pod);
  const client = cs.kind(kind) as unknown as { update(o: ApiObject): Promise<ApiObject>; updateStatus(o: ApiObject): Promise<ApiObject> };
  return subresource === 'status' ? client.updateStatus(obj) : client.update(obj);
}

function printResult(ctx: Context, kind: KindName, name: string, obj: ApiObject, output: 'yaml' | 'json' | 'name' | undefined, note: string): number {
  if (output === 'yaml') ctx.io.stdout.write(formatYaml(toKubeJson(kind, obj)));
  else if (output === 'json') ctx.io.stdout.write(formatJson(toKubeJson(kind, obj)));
  else if (output === 'name') ctx.io.stdout.write(`${resourceName(kind, name)}\n`);
  else ctx.io.stdout.write(`${resourceName(kind, name)} patched${note}\n`);
  return 0;
}

/** "KIND NAME" or "KIND/NAME". */
function target(positionals: readonly string[]): { kind: KindName; name: string } {
  const [first, second, ...rest] = positionals;
  if (first === undefined) throw new UsageError('specify what to patch: KIND NAME');
  if (first.includes('/')) {
    if (second !== undefined) throw new UsageError(`unexpected argument "${second}"`);
    const [kind = '', name = ''] = first.split('/', 2);
    if (!name) throw new UsageError(`"${first}": a NAME is required after the "/"`);
    return { kind: kindArg(kind), name };
  }
  if (!second) throw new UsageError('a NAME is required: tsctl patch KIND NAME -p PATCH');
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
  return { kind: kindArg(first), name: second };
}

function patchTypeOf(value: string | undefined): PatchType {
  if (value === undefined || value === '') return 'strategic';
  if ((PATCH_TYPES as readonly string[]).includes(value)) return value as PatchType;
  throw new UsageError(`--type: "${value}" is not a patch type; allowed: ${PATCH_TYPES.join(', ')}`);
}

function subresourceOf(kind: KindName, value: string | undefined): Subresource {
  if (value === undefined || value === '') return '';
  if (value === 'resize') {
    if (kind !== 'Pod') throw new UsageError(`--subresource resize: only pods have it, not ${KINDS[kind].plural}`);
    return value;
  }
  if (value === 'status') {
    if (!KINDS[kind].hasStatus) throw new UsageError(`--subresource status: ${KINDS[kind].plural} have no status subresource`);
    return value;
  }
  throw new UsageError(`--subresource: "${value}" is not supported; allowed: status, resize`);
}

function outputOf(value: string | undefined): 'yaml' | 'json' | 'name' | undefined {
  if (value === undefined || value === 'yaml' || value === 'json' || value === 'name') return value;
  throw new UsageError(`--output: unable to match a printer suitable for the output format "${value}", allowed formats are: json,name,yaml`);
}

/** The patch text (-p or --patch-file, exactly one), parsed as YAML (JSON is YAML). */
async function readPatch(inline: string | undefined, file: string | undefined): Promise<Json> {
  if (inline !== undefined && file !== undefined) throw new UsageError('--patch and --patch-file cannot be used together');
  let text: string;
  let source: string;
  if (inline !== undefined) {
    text = inline;
    source = '--patch';
  } else if (file !== undefined) {
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new CliError(`--patch-file: cannot read ${file}: ${errorMessage(err)}`);
    }
    source = file;
  } else {
    throw new UsageError('must specify --patch or --patch-file containing the contents of the patch');
  }
  if (text.trim() === '') throw new UsageError(`${source}: the patch is empty`);
  try {
    return load(text, { schema: KUBE_YAML_SCHEMA }) as Json;
  } catch (err) {
    const reason = err instanceof YAMLException ? err.reason : errorMessage(err);
    throw new CliError(`${source}: the patch is not valid JSON or YAML: ${reason}`);
  }
}
