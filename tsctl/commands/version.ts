// tsctl version and tsctl cluster-info.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { flagBool, flagString } from '../args';
import type { Command } from '../command';
import type { Context } from '../context';
import { UsageError } from '../errors';
import { formatJson, formatYaml } from '../printers/output';

/** The client's version, from package.json (dist/tsctl/commands -> repository root). */
export function clientVersion(): string {
  for (const up of [
    ['..', '..', '..'],
    ['..', '..'],
  ]) {
    try {
      const pkg = JSON.parse(readFileSync(join(__dirname, ...up, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'tsk' && pkg.version) return `v${pkg.version}`;
    } catch {
      // try the next location
    }
  }
  return 'v0.0.0-unknown';
}

export const versionCommand: Command = {
  name: 'version',
  summary: 'Print the client and server versions',
  usage: 'tsctl version [--client] [-o json|yaml]',
  flags: [
    { name: 'client', type: 'bool', help: 'Only the client version (no server needed)' },
    { name: 'output', short: 'o', type: 'string', valueName: 'FORMAT', help: 'json or yaml' },
  ],
  async run(ctx: Context): Promise<number> {
    const output = flagString(ctx.args, 'output');
    if (output !== undefined && output !== 'json' && output !== 'yaml') throw new UsageError(`--output must be json or yaml, got "${output}"`);
    const client = { gitVersion: clientVersion(), platform: `${process.platform}/${process.arch}`, nodeVersion: process.version };
    let server: Record<string, string> | undefined;
    if (!flagBool(ctx.args, 'client')) {
      const cs = await ctx.clientset();
      const v = await ctx.wait(cs.version());
      server = {
        gitVersion: v.version ?? '',
        gitCommit: v.gitCommit ?? '',
        platform: v.platform ?? '',
        nodeVersion: v.nodeVersion ?? '',
        etcdVersion: v.etcdVersion ?? '',
      };
    }
    if (output) {
      const doc = { clientVersion: client, ...(server ? { serverVersion: server } : {}) };
      ctx.io.stdout.write(output === 'json' ? formatJson(doc) : formatYaml(doc));
      return 0;
    }
    ctx.io.stdout.write(`Client Version: ${client.gitVersion}\n`);
    if (server) ctx.io.stdout.write(`Server Version: ${server['gitVersion']}${server['etcdVersion'] ? ` (etcd ${server['etcdVersion']})` : ''}\n`);
    return 0;
  },
};

export const clusterInfoCommand: Command = {
  name: 'cluster-info',
  summary: 'Show where the control plane is running',
  usage: 'tsctl cluster-info',
  flags: [],
  async run(ctx: Context): Promise<number> {
    const cs = await ctx.clientset();
    await ctx.wait(cs.version());
    ctx.io.stdout.write(`tsk control plane is running at ${cs.address}\n`);
    return 0;
  },
};
