// tsctl create: kubectl's imperative creates of a namespace, a ConfigMap and
// a Secret (generic or docker-registry). The data is read and checked
// before anything is sent (config-data.ts), so bad input creates nothing.
// --dry-run and -o yaml|json print the object, as kubectl's
// `create ... --dry-run=client -o yaml` idiom for writing manifests.

import { DOCKER_CONFIG_JSON_KEY, SECRET_TYPE_DOCKER_CONFIG_JSON } from '../../api/secret-types';
import type * as core from '../../api/gen/tsk/v1/core';
import type { ApiObject, KindName } from '../../api/kinds';
import { flagString, flagStrings, type FlagSpec } from '../args';
import type { Command } from '../command';
import { collectData, DEFAULT_DOCKER_SERVER, dockerConfigJson, splitText, type DataSources } from '../config-data';
import type { Context } from '../context';
import { UsageError } from '../errors';
import { formatJson, formatYaml, toKubeJson } from '../printers/output';

const DATA_FLAGS: readonly FlagSpec[] = [
  { name: 'from-literal', type: 'string', repeated: true, valueName: 'KEY=VALUE', help: 'A key and its literal value (configmap, secret generic; repeatable)' },
  {
    name: 'from-file',
    type: 'string',
    repeated: true,
    valueName: '[KEY=]PATH',
    help: "A file's content under KEY (default: the file's name), or every file of a directory (repeatable)",
  },
  { name: 'from-env-file', type: 'string', repeated: true, valueName: 'PATH', help: 'KEY=VALUE lines of a file, # comments skipped (repeatable)' },
];

const SECRET_FLAGS: readonly FlagSpec[] = [
  { name: 'type', type: 'string', valueName: 'TYPE', help: 'The type of a generic secret (default Opaque)' },
  { name: 'docker-server', type: 'string', valueName: 'SERVER', help: `The registry of a docker-registry secret (default ${DEFAULT_DOCKER_SERVER})` },
  { name: 'docker-username', type: 'string', valueName: 'USER', help: 'The registry user (docker-registry, required)' },
  { name: 'docker-password', type: 'string', valueName: 'PASSWORD', help: 'The registry password (docker-registry, required)' },
  { name: 'docker-email', type: 'string', valueName: 'EMAIL', help: 'The registry email (docker-registry)' },
];

const OUTPUT_FLAGS: readonly FlagSpec[] = [
  { name: 'dry-run', type: 'string', valueName: 'none|server|client', help: 'client: only print the object; server: have the server check it, store nothing' },
  { name: 'output', short: 'o', type: 'string', valueName: 'FORMAT', help: 'Print the created object: yaml, json or name' },
];

type DryRun = 'none' | 'server' | 'client';

function dryRunOf(ctx: Context): DryRun {
  const v = flagString(ctx.args, 'dry-run') ?? 'none';
  if (v !== 'none' && v !== 'server' && v !== 'client') throw new UsageError(`--dry-run: "${v}" must be none, server or client`);
  return v;
}

function outputOf(ctx: Context): 'yaml' | 'json' | 'name' | undefined {
  const o = flagString(ctx.args, 'output');
  if (o === undefined || o === 'yaml' || o === 'json' || o === 'name') return o;
  throw new UsageError(`--output: unable to match a printer suitable for the output format "${o}", allowed formats are: json,name,yaml`);
}

/** Exactly one NAME after the subcommand words. */
function oneName(rest: readonly string[], usage: string): string {
  const [name, ...more] = rest;
  if (!name) throw new UsageError(`exactly one NAME is required, got none: ${usage}`);
  if (more.length > 0) throw new UsageError(`exactly one NAME is required, got ${more.length + 1}`);
  return name;
}

/** Flags of other subcommands are refused rather than silently ignored. */
function refuseFlags(ctx: Context, names: readonly string[], what: string): void {
  for (const n of names) {
    if (ctx.args.strings.has(n)) throw new UsageError(`--${n} does not apply to ${what}`);
  }
}

function sources(ctx: Context): DataSources {
  return { literals: flagStrings(ctx.args, 'from-literal'), files: flagStrings(ctx.args, 'from-file'), envFiles: flagStrings(ctx.args, 'from-env-file') };
}

const DATA_FLAG_NAMES = DATA_FLAGS.map((f) => f.name);
const DOCKER_FLAG_NAMES = ['docker-server', 'docker-username', 'docker-password', 'docker-email'];

function namespaceObject(ctx: Context, rest: readonly string[]): { kind: KindName; obj: ApiObject } {
  refuseFlags(ctx, [...DATA_FLAG_NAMES, ...SECRET_FLAGS.map((f) => f.name)], 'create namespace');
  const name = oneName(rest, 'tsctl create namespace NAME');
  return { kind: 'Namespace', obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } };
}

function configMapObject(ctx: Context, rest: readonly string[]): { kind: KindName; obj: ApiObject } {
  refuseFlags(
    ctx,
    SECRET_FLAGS.map((f) => f.name),
    'create configmap',
  );
  const name = oneName(rest, 'tsctl create configmap NAME [--from-literal=K=V] [--from-file=[K=]PATH] [--from-env-file=PATH]');
  const { data, binaryData } = splitText(collectData(sources(ctx), 'ConfigMap'));
  const cm: core.ConfigMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ctx.namespace }, data, binaryData };
  return { kind: 'ConfigMap', obj: cm };
}

function genericSecret(ctx: Context, rest: readonly string[]): core.Secret {
  refuseFlags(ctx, DOCKER_FLAG_NAMES, 'create secret generic');
  const name = oneName(rest, 'tsctl create secret generic NAME [--type=TYPE] [--from-literal=K=V] [--from-file=[K=]PATH] [--from-env-file=PATH]');
  const data = Object.fromEntries(collectData(sources(ctx), 'Secret'));
  const type = flagString(ctx.args, 'type') ?? 'Opaque';
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ctx.namespace }, type, data };
}

function dockerRegistrySecret(ctx: Context, rest: readonly string[]): core.Secret {
  refuseFlags(ctx, [...DATA_FLAG_NAMES, 'type'], 'create secret docker-registry');
  const name = oneName(
    rest,
    'tsctl create secret docker-registry NAME --docker-username=USER --docker-password=PASSWORD [--docker-server=SERVER] [--docker-email=EMAIL]',
  );
  const username = flagString(ctx.args, 'docker-username');
  const password = flagString(ctx.args, 'docker-password');
  if (!username) throw new UsageError('--docker-username is required');
  if (!password) throw new UsageError('--docker-password is required');
  const json = dockerConfigJson({
    server: flagString(ctx.args, 'docker-server') || DEFAULT_DOCKER_SERVER,
    username,
    password,
    email: flagString(ctx.args, 'docker-email'),
  });
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: ctx.namespace },
    type: SECRET_TYPE_DOCKER_CONFIG_JSON,
    data: { [DOCKER_CONFIG_JSON_KEY]: Buffer.from(json) },
  };
}

function secretObject(ctx: Context, rest: readonly string[]): { kind: KindName; obj: ApiObject } {
  const [sub, ...more] = rest;
  if (sub === 'generic') return { kind: 'Secret', obj: genericSecret(ctx, more) };
  if (sub === 'docker-registry') return { kind: 'Secret', obj: dockerRegistrySecret(ctx, more) };
  throw new UsageError(
    sub === undefined
      ? 'specify the type of secret: generic or docker-registry'
      : `unknown secret type "${sub}": tsctl create secret supports generic and docker-registry`,
  );
}

/** The object the command line asks for, built and checked without the server. */
function objectFor(ctx: Context): { kind: KindName; obj: ApiObject } {
  const [what, ...rest] = ctx.args.positionals;
  switch (what) {
    case undefined:
      throw new UsageError('specify what to create: namespace, configmap or secret');
    case 'namespace':
    case 'ns':
      return namespaceObject(ctx, rest);
    case 'configmap':
    case 'cm':
      return configMapObject(ctx, rest);
    case 'secret':
      return secretObject(ctx, rest);
    default:
      throw new UsageError(`unknown resource to create "${what}": tsctl create supports namespace, configmap and secret (use tsctl apply -f for other kinds)`);
  }
}

export const createCommand: Command = {
  name: 'create',
  summary: 'Create a namespace, a configmap or a secret',
  usage: [
    'tsctl create namespace NAME',
    '       tsctl create configmap NAME [--from-literal=K=V] [--from-file=[K=]PATH] [--from-env-file=PATH]',
    '       tsctl create secret generic NAME [--type=TYPE] [--from-literal=K=V] [--from-file=[K=]PATH] [--from-env-file=PATH]',
    '       tsctl create secret docker-registry NAME --docker-username=USER --docker-password=PASSWORD [--docker-server=SERVER] [--docker-email=EMAIL]',
  ].join('\n'),
  examples: [
    '  tsctl create namespace staging',
    '  tsctl create configmap game-config --from-file=game.properties --from-literal=lives=3',
    '  tsctl create secret generic db-user-pass --from-literal=username=admin --from-file=password=./password.txt',
    '  tsctl create secret docker-registry regcred --docker-server=registry.example.com --docker-username=ci --docker-password=s3cr3t',
    '  tsctl create configmap app --from-env-file=app.env --dry-run=client -o yaml > app.yaml',
  ].join('\n'),
  flags: [...DATA_FLAGS, ...SECRET_FLAGS, ...OUTPUT_FLAGS],
  async run(ctx: Context): Promise<number> {
    const dryRun = dryRunOf(ctx);
    const output = outputOf(ctx);
    const { kind, obj } = objectFor(ctx);
    const resource = kind.toLowerCase();
    const name = obj.metadata?.name ?? '';
    let created = obj;
    if (dryRun !== 'client') {
      const cs = await ctx.clientset();
      created = await ctx.wait(cs.kind(kind).create(obj as never, { dryRun: dryRun === 'server' }));
    }
    if (output === 'yaml') ctx.io.stdout.write(formatYaml(toKubeJson(kind, created)));
    else if (output === 'json') ctx.io.stdout.write(formatJson(toKubeJson(kind, created)));
    else if (output === 'name') ctx.io.stdout.write(`${resource}/${name}\n`);
    else ctx.io.stdout.write(`${resource}/${name} created${dryRun === 'none' ? '' : ` (${dryRun === 'server' ? 'server dry run' : 'dry run'})`}\n`);
    return 0;
  },
};
