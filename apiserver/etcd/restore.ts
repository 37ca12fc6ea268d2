// `tsk server --cluster-reset [--cluster-reset-restore-path FILE]`, as k3s:
// with a file, the embedded etcd's data directory is rebuilt from that
// snapshot (`etcdutl`/`etcdctl snapshot restore`); the old one is kept aside
// as etcd-old-<unix seconds>, never deleted. Nothing is touched until the file
// has proved to be a whole etcd snapshot.

import { execFile } from 'node:child_process';
import { access, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { verifySnapshotFile } from './snapshot-file';

const run = promisify(execFile);

export interface RestoreOptions {
  /** The server's --data-dir: the embedded etcd's data is DIR/etcd. */
  dataDir: string;
  /** The snapshot file. */
  file: string;
  /** The member name the embedded etcd runs with. */
  memberName: string;
  /** Its peer URL (the restored cluster's only member). */
  peerUrl: string;
  now?: () => Date;
}

export interface RestoreResult {
  /** Where the previous data went (undefined when there was none). */
  previous: string | undefined;
  sizeBytes: number;
}

/** etcdutl (etcd 3.5+) restores; older etcds only have `etcdctl snapshot restore`. */
async function restoreTool(): Promise<{ cmd: string; env: NodeJS.ProcessEnv }> {
  for (const dir of (process.env['PATH'] ?? '').split(':')) {
    if (!dir) continue;
    if (
      await access(join(dir, 'etcdutl')).then(
        () => true,
        () => false,
      )
    )
      return { cmd: 'etcdutl', env: process.env };
  }
  return { cmd: 'etcdctl', env: { ...process.env, ETCDCTL_API: '3' } };
}

export async function restoreSnapshot(opts: RestoreOptions): Promise<RestoreResult> {
  const { sizeBytes } = await verifySnapshotFile(opts.file);
  const target = join(opts.dataDir, 'etcd');
  const staging = join(opts.dataDir, 'etcd-restore.tmp');
  await rm(staging, { recursive: true, force: true });
  const tool = await restoreTool();
  try {
    await run(
      tool.cmd,
      [
        'snapshot',
        'restore',
        opts.file,
        '--data-dir',
        staging,
        '--name',
        opts.memberName,
        '--initial-cluster',
        `${opts.memberName}=${opts.peerUrl}`,
        '--initial-advertise-peer-urls',
        opts.peerUrl,
      ],
      { env: tool.env },
    );
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error(`${tool.cmd} not found: install etcd's client tools (Debian: apt-get install etcd-client)`, { cause: err });
    throw new Error(`${tool.cmd} snapshot restore ${opts.file} failed: ${(e.stderr ?? e.message).trim()}`, { cause: err });
  }
  let previous: string | undefined;
  if (
    await stat(target).then(
      () => true,
      () => false,
    )
  ) {
    previous = join(opts.dataDir, `etcd-old-${Math.floor((opts.now?.() ?? new Date()).getTime() / 1000)}`);
    await rename(target, previous);
  }
  await rename(staging, target);
  return { previous, sizeBytes };
}
