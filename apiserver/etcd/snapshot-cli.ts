// `tsk etcd-snapshot save|ls|delete|prune`, as k3s's etcd-snapshot: run on a
// server machine as root, it works on that server's embedded etcd and its
// snapshot directory. save streams a snapshot from the running etcd (its URL
// is in DATA-DIR/etcd-client-url, its client certificate in DATA-DIR/tls);
// the others only touch the directory, so they work with the server down.

import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { flagBool, flagString, parseCommandLine, type FlagSpec } from '../../util/cli/parse';
import { runCommand } from '../../util/cli/command';
import { UsageError } from '../../util/cli/usage-error';
import { pathsIn } from '../../util/pki';
import { connectEtcd } from '../storage/etcd-connection';
import { etcdUrlFile } from './reset';
import { deleteSnapshots, listSnapshots, ON_DEMAND_PREFIX, pruneSnapshots, saveSnapshot, SCHEDULED_PREFIX, snapshotName, type SnapshotInfo } from './snapshots';
import { DEFAULT_SNAPSHOT_RETENTION } from './snapshot-schedule';

type Verb = 'save' | 'ls' | 'delete' | 'prune';

export interface SnapshotCommand {
  verb: Verb;
  dataDir: string;
  dir: string;
  name: string;
  names: string[];
  retention: number;
  help: boolean;
}

const FLAGS: FlagSpec[] = [
  { name: 'data-dir', type: 'string', valueName: 'DIR', help: "the server's data directory (default /var/lib/tsk)" },
  { name: 'etcd-snapshot-dir', type: 'string', valueName: 'DIR', help: 'the snapshot directory (default DATA-DIR/snapshots)' },
  { name: 'name', type: 'string', valueName: 'NAME', help: 'save: the name prefix (default on-demand)' },
  { name: 'snapshot-retention', type: 'string', valueName: 'N', help: `prune: scheduled snapshots to keep (default ${DEFAULT_SNAPSHOT_RETENTION})` },
  { name: 'help', short: 'h', type: 'bool', help: 'print this help' },
];

export const SNAPSHOT_HELP = `Usage: tsk etcd-snapshot COMMAND [FLAGS]

Snapshots of the embedded etcd of the server on this machine (as k3s etcd-snapshot).
A server also takes them on --etcd-snapshot-schedule-cron; restore one with
  tsk server --cluster-reset --cluster-reset-restore-path FILE

Commands:
  save [--name NAME]            take a snapshot now: NAME-<node>-<unix seconds>
  ls                            list the snapshots, newest first: NAME, LOCATION, SIZE, CREATED
  delete NAME...                delete snapshots
  prune [--snapshot-retention N]
                                keep the newest N scheduled snapshots (etcd-snapshot-*), delete the rest

Flags:
  --data-dir DIR                the server's data directory (default /var/lib/tsk)
  --etcd-snapshot-dir DIR       the snapshot directory (default DATA-DIR/snapshots)
  -h, --help                    print this help`;

export function parseSnapshotCommand(argv: string[]): SnapshotCommand {
  const args = parseCommandLine(argv, FLAGS);
  const [verbText, ...rest] = args.positionals;
  const help = flagBool(args, 'help');
  const verb = verbText === 'list' ? 'ls' : verbText;
  if (verb === undefined && help) return { verb: 'ls', dataDir: '', dir: '', name: '', names: [], retention: 0, help };
  if (verb !== 'save' && verb !== 'ls' && verb !== 'delete' && verb !== 'prune') {
    throw new UsageError(verb === undefined ? 'a command is required: save, ls, delete or prune' : `unknown command "${verb}": save, ls, delete or prune`);
  }
  if (verb === 'delete' && rest.length === 0) throw new UsageError('delete needs the names of the snapshots to delete');
  if (verb !== 'delete' && rest.length > 0) throw new UsageError(`${verb} takes no arguments (got "${rest[0]}")`);
  const dataDir = flagString(args, 'data-dir') ?? '/var/lib/tsk';
  const retentionText = flagString(args, 'snapshot-retention') ?? String(DEFAULT_SNAPSHOT_RETENTION);
  if (!/^\d+$/.test(retentionText) || Number(retentionText) < 1)
    throw new UsageError(`--snapshot-retention: "${retentionText}" must be a whole number of at least 1`);
  const name = flagString(args, 'name') ?? ON_DEMAND_PREFIX;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new UsageError(`--name: "${name}" must be letters, digits, '.', '_' or '-'`);
  return {
    verb,
    dataDir,
    dir: flagString(args, 'etcd-snapshot-dir') ?? join(dataDir, 'snapshots'),
    name,
    names: rest,
    retention: Number(retentionText),
    help,
  };
}

export function formatSnapshotTable(list: readonly SnapshotInfo[]): string {
  const rows = [['Name', 'Location', 'Size', 'Created'], ...list.map((s) => [s.name, `file://${s.path}`, String(s.sizeBytes), s.createdAt.toISOString()])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join(' ')).join('\n');
}

async function save(cmd: SnapshotCommand): Promise<void> {
  const url = (await readFile(etcdUrlFile(cmd.dataDir), 'utf8').catch(() => '')).trim();
  if (!url) throw new Error(`no running server with an embedded etcd on ${cmd.dataDir} (${etcdUrlFile(cmd.dataDir)} is missing)`);
  const files = pathsIn(join(cmd.dataDir, 'tls'));
  const read = (f: string): Promise<string> => readFile(f, 'utf8');
  const tls = {
    caPem: await read(files.ca.cert),
    certPem: await read(files['etcd-client'].cert),
    keyPem: await read(files['etcd-client'].key),
    serverName: 'localhost',
  };
  const etcd = connectEtcd([url], tls);
  try {
    const info = await saveSnapshot(etcd, cmd.dir, snapshotName(cmd.name, hostname(), new Date()));
    console.log(`Snapshot ${info.name} saved (${info.sizeBytes} bytes) in ${info.path}`);
  } finally {
    etcd.close();
  }
}

async function run(cmd: SnapshotCommand): Promise<number> {
  switch (cmd.verb) {
    case 'save':
      await save(cmd);
      return 0;
    case 'ls':
      console.log(formatSnapshotTable(await listSnapshots(cmd.dir)));
      return 0;
    case 'delete':
      await deleteSnapshots(cmd.dir, cmd.names);
      for (const n of cmd.names) console.log(`Snapshot ${n} deleted`);
      return 0;
    case 'prune': {
      const gone = await pruneSnapshots(cmd.dir, SCHEDULED_PREFIX, cmd.retention);
      console.log(gone.length === 0 ? 'Nothing to prune' : gone.map((n) => `Snapshot ${n} deleted`).join('\n'));
      return 0;
    }
  }
}

export function main(argv: string[]): Promise<number> {
  return runCommand({ name: 'tsk etcd-snapshot', parse: parseSnapshotCommand, help: SNAPSHOT_HELP, run }, argv);
}
