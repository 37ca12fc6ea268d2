// tsctl apply -f FILE|DIR|-: create or update every object of the manifests,
// keeping the last-applied configuration for three-way merges.

import { DecodeError, decodeJson, encodeJson, type JsonObject } from '../../api/codec';
import { AlreadyExistsError, ApiError, NotFoundError } from '../../api/errors';
import { KINDS, type ApiObject } from '../../api/kinds';
import type { ResourceClient } from '../../client';
import { applyObject, planUpdate, withLastApplied, type ApplyResult } from '../apply/apply';
import type { JsonMap } from '../../api/patch/merge';
import { flagString, flagStrings, type FlagSpec } from '../args';
import type { Command } from '../command';
import type { Context } from '../context';
import { CliError, formatError } from '../errors';
import { resourceName } from '../kinds';
import { readManifests } from '../manifest';
import { decodeManifest, parseValidateMode, unknownFieldWarnings, type ManifestObject } from '../objects';
import { errorMessage } from '../../util/errors';

/** Puts the namespace on an object the way kubectl does: file, else -n, else default. */
export function resolveNamespace(obj: ManifestObject, explicit: string | undefined): JsonMap {
  const json = structuredClone(obj.json) as JsonMap;
  const meta = (json['metadata'] ?? {}) as JsonMap;
  json['metadata'] = meta;
  if (!KINDS[obj.kind].namespaced) {
    delete meta['namespace'];
    return json;
  }
  const fromFile = typeof meta['namespace'] === 'string' && meta['namespace'] !== '' ? meta['namespace'] : undefined;
  if (fromFile && explicit && fromFile !== explicit) {
    throw new CliError(
      `the namespace from the provided object "${fromFile}" does not match the namespace "${explicit}". You must pass '--namespace=${fromFile}' to perform this operation.`,
    );
  }
  meta['namespace'] = fromFile ?? explicit ?? 'default';
  return json;
}

/** -f FILE (repeatable), read by loadObjects; each command says what it does with the files (kubectl's AddFilenameOptionFlags). */
export function filenameFlag(help: string): FlagSpec {
  return { name: 'filename', short: 'f', type: 'string', repeated: true, valueName: 'FILE', help };
}

/** Reads and checks every document; nothing is sent unless all of them are good. */
export async function loadObjects(ctx: Context, verb: string): Promise<{ obj: ManifestObject; json: JsonMap }[]> {
  const mode = parseValidateMode(flagString(ctx.args, 'validate'));
  const docs = await readManifests(flagStrings(ctx.args, 'filename'), ctx.io.stdin, verb);
  const objects = docs.map((d) => decodeManifest(d, mode));
  const explicit = ctx.explicitNamespace;
  const out = objects.map((obj) => ({ obj, json: resolveNamespace(obj, explicit) }));
  for (const { obj } of out) for (const w of unknownFieldWarnings(obj)) ctx.io.stderr.write(`${w}\n`);
  return out;
}

function describeFailure(err: unknown, verb: string, obj: ManifestObject): string {
  if (err instanceof ApiError || err instanceof DecodeError) return formatError(err);
  return `error: ${verb} ${resourceName(obj.kind, obj.object.metadata?.name ?? '')} from "${obj.doc.source}": ${errorMessage(err)}`;
}

/**
 * Whether apply first sends every object with dryRun, so the server's
 * defaulting, validation and admission judge all of them before any is
 * stored (the API server honours CreateOptions/UpdateOptions.dryRun).
 */
export const SERVER_DRY_RUN = true;

/** The namespace that always exists, where objects bound for a namespace not created yet are checked. */
const CHECK_NAMESPACE = 'default';

/**
 * Dry-runs one object. An object in a namespace this same apply creates
 * cannot be checked there (the namespace does not exist yet, and so neither
 * can the object): it is checked as a create in the default namespace, which
 * exercises everything but the namespace; a same-named object there is no
 * objection.
 */
async function dryRunOne(client: ResourceClient<ApiObject>, obj: ManifestObject, json: JsonMap, newNamespace: boolean): Promise<ApplyResult> {
  if (!newNamespace) return applyObject(obj.kind, client, json, { dryRun: true });
  const moved = withLastApplied({ ...json, metadata: { ...(json['metadata'] as JsonMap), namespace: CHECK_NAMESPACE } });
  try {
    await client.create(decodeJson<ApiObject>(KINDS[obj.kind].typeName, moved).value, { dryRun: true });
  } catch (err) {
    if (!(err instanceof AlreadyExistsError)) throw err;
  }
  return 'created';
}

/**
 * Lets the server validate and default every object before any is stored,
 * so one bad document leaves the cluster unchanged. Returns the exit code
 * (0: all good) and what apply would do to each object, in order.
 */
async function dryRunAll(ctx: Context, items: readonly { obj: ManifestObject; json: JsonMap }[]): Promise<{ code: number; results: ApplyResult[] }> {
  const cs = await ctx.clientset();
  const newNamespaces = new Set<string>();
  for (const { obj } of items) {
    if (obj.kind !== 'Namespace') continue;
    const name = obj.object.metadata?.name ?? '';
    const exists = await ctx.wait(cs.namespaces.get(name)).then(
      () => true,
      (err: unknown) => {
        if (err instanceof NotFoundError) return false;
        throw err;
      },
    );
    if (!exists) newNamespaces.add(name);
  }
  const results: ApplyResult[] = [];
  for (const { obj, json } of items) {
    const ns = KINDS[obj.kind].namespaced ? String((json['metadata'] as JsonMap)['namespace'] ?? '') : '';
    try {
      results.push(await ctx.wait(dryRunOne(cs.kind(obj.kind) as ResourceClient<ApiObject>, obj, json, newNamespaces.has(ns))));
    } catch (err) {
      ctx.io.stderr.write(`${describeFailure(err, 'validating', obj)}\n`);
      ctx.io.stderr.write(`error: nothing was applied: ${obj.doc.source} (document ${obj.doc.index}) was refused\n`);
      return { code: 1, results };
    }
  }
  return { code: 0, results };
}

/** kubectl's --dry-run strategies: none applies; server has the server judge (and default) every object but store none; client only reads. */
export type DryRunMode = 'none' | 'server' | 'client';

export function parseDryRun(value: string | undefined): DryRunMode {
  const mode = value ?? 'none';
  if (mode === 'none' || mode === 'server' || mode === 'client') return mode;
  throw new CliError(`Invalid dry-run value (${mode}). Must be "none", "server", or "client".`);
}

/** What apply would do to one object, computed from the live object without writing (--dry-run=client). */
async function planOne(client: ResourceClient<ApiObject>, obj: ManifestObject, json: JsonMap): Promise<ApplyResult> {
  const meta = json['metadata'] as JsonMap;
  try {
    const live = await client.get(String(meta['name'] ?? ''), typeof meta['namespace'] === 'string' ? meta['namespace'] : '');
    return planUpdate(obj.kind, json, encodeJson(KINDS[obj.kind].typeName, live) as JsonMap) ? 'configured' : 'unchanged';
  } catch (err) {
    if (err instanceof NotFoundError) return 'created';
    throw err;
  }
}

async function clientDryRun(ctx: Context, items: readonly { obj: ManifestObject; json: JsonMap }[]): Promise<number> {
  const cs = await ctx.clientset();
  for (const { obj, json } of items) {
    const result = await ctx.wait(planOne(cs.kind(obj.kind) as ResourceClient<ApiObject>, obj, json));
    ctx.io.stdout.write(`${resourceName(obj.kind, obj.object.metadata?.name ?? '')} ${result} (dry run)\n`);
  }
  return 0;
}

export const applyCommand: Command = {
  name: 'apply',
  summary: 'Create or update objects from manifest files (multi-document YAML or JSON)',
  usage: 'tsctl apply -f FILENAME|DIRECTORY|- [flags]',
  examples: '  tsctl apply -f manifests/\n  cat pod.yaml | tsctl apply -f -\n  tsctl apply --validate=strict --dry-run=server -f pod.yaml',
  flags: [
    filenameFlag('A manifest file, a directory of them, or - for stdin (repeatable)'),
    { name: 'validate', type: 'string', valueName: 'MODE', help: 'strict: unknown fields are errors; warn (default): they are warnings; ignore' },
    {
      name: 'dry-run',
      type: 'string',
      valueName: 'STRATEGY',
      help: 'none (default); server: the server validates, defaults and admits every object but stores none; client: only show what would change',
    },
  ],
  async run(ctx: Context): Promise<number> {
    if (ctx.args.positionals.length > 0) throw new CliError(`unexpected arguments: ${ctx.args.positionals.join(' ')} (use -f FILE)`);
    const dryRun = parseDryRun(flagString(ctx.args, 'dry-run'));
    const items = await loadObjects(ctx, 'apply');
    if (dryRun === 'client') return clientDryRun(ctx, items);
    const cs = await ctx.clientset();
    if (SERVER_DRY_RUN || dryRun === 'server') {
      const checked = await dryRunAll(ctx, items);
      if (dryRun === 'server') {
        checked.results.forEach((result, i) => {
          const obj = (items[i] as { obj: ManifestObject }).obj;
          ctx.io.stdout.write(`${resourceName(obj.kind, obj.object.metadata?.name ?? '')} ${result} (server dry run)\n`);
        });
      }
      if (checked.code !== 0 || dryRun === 'server') return checked.code;
    }
    let failed = false;
    for (const { obj, json } of items) {
      let result: ApplyResult;
      try {
        result = await ctx.wait(applyObject(obj.kind, cs.kind(obj.kind) as ResourceClient<ApiObject>, json));
      } catch (err) {
        failed = true;
        ctx.io.stderr.write(`${describeFailure(err, 'applying', obj)}\n`);
        continue;
      }
      ctx.io.stdout.write(`${resourceName(obj.kind, obj.object.metadata?.name ?? '')} ${result}\n`);
    }
    return failed ? 1 : 0;
  },
};

export type { JsonObject };
