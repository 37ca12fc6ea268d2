// Saving, listing, deleting and pruning etcd snapshots in a directory, with
// k3s's names: scheduled snapshots are etcd-snapshot-<node>-<unix seconds>,
// on-demand ones <name>-<node>-<unix seconds> (default name on-demand).
// A snapshot is streamed from etcd's Snapshot RPC into NAME.part, its
// SHA-256 checked, fsync'd and renamed: a file under its final name is
// always a whole, verified snapshot.

import type { Etcd3 } from 'etcd3';
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { NotASnapshotError } from './snapshot-file';

export const SCHEDULED_PREFIX = 'etcd-snapshot';
export const ON_DEMAND_PREFIX = 'on-demand';

export interface SnapshotInfo {
  name: string;
  path: string;
  sizeBytes: number;
  createdAt: Date;
}

/** k3s's snapshot name: PREFIX-NODE-UNIXSECONDS. */
export function snapshotName(prefix: string, node: string, at: Date): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(prefix)) throw new Error(`snapshot name "${prefix}" must be letters, digits, '.', '_' or '-'`);
  return `${prefix}-${node}-${Math.floor(at.getTime() / 1000)}`;
}

/** The creation time a name carries, or undefined for names tsk did not make. */
export function createdFromName(name: string): Date | undefined {
  const m = /-(\d{9,11})$/.exec(name);
  return m ? new Date(Number(m[1]) * 1000) : undefined;
}

/** Streams a snapshot of the member `etcd` talks to into DIR/NAME; verifies etcd's SHA-256 trailer before it is renamed into place. */
export async function saveSnapshot(etcd: Etcd3, dir: string, name: string): Promise<SnapshotInfo> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const final = join(dir, name);
  const part = `${final}.part`;
  const fh = await open(part, 'wx', 0o600);
  const hash = createHash('sha256');
  let tail = Buffer.alloc(0);
  let written = 0;
  try {
    const stream = await etcd.maintenance.snapshot();
    await new Promise<void>((resolve, reject) => {
      let chain = Promise.resolve();
      stream.on('data', (msg) => {
        const blob = msg.blob;
        chain = chain.then(async () => {
          await fh.write(blob);
          written += blob.length;
          // Everything but the last 32 bytes is the database; the last 32 are its hash.
          const joined = Buffer.concat([tail, blob]);
          const keep = Math.max(0, joined.length - 32);
          hash.update(joined.subarray(0, keep));
          tail = joined.subarray(keep);
        });
        chain.catch(reject);
      });
      stream.on('error', reject);
      stream.on('end', () => void chain.then(resolve, reject));
    });
    if (tail.length !== 32 || !hash.digest().equals(tail))
      throw new NotASnapshotError(part, 'the SHA-256 etcd sent does not match the data (interrupted stream)');
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(part, { force: true });
    throw err;
  }
  await fh.close();
  await rename(part, final);
  return { name, path: final, sizeBytes: written, createdAt: createdFromName(name) ?? new Date() };
}

/** The snapshots in DIR, newest first (unfinished .part files are not snapshots). */
export async function listSnapshots(dir: string): Promise<SnapshotInfo[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: SnapshotInfo[] = [];
  for (const name of names) {
    if (name.endsWith('.part')) continue;
    const st = await stat(join(dir, name)).catch(() => undefined);
    if (!st?.isFile()) continue;
    out.push({ name, path: join(dir, name), sizeBytes: st.size, createdAt: createdFromName(name) ?? st.mtime });
  }
  return out.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.name.localeCompare(a.name));
}

/** Deletes the named snapshots; a name that is not in DIR is an error naming it, and nothing is deleted. */
export async function deleteSnapshots(dir: string, names: readonly string[]): Promise<void> {
  const existing = new Set((await listSnapshots(dir)).map((s) => s.name));
  const missing = names.filter((n) => !existing.has(n));
  if (missing.length > 0) throw new Error(`no snapshot named ${missing.map((n) => `"${n}"`).join(', ')} in ${dir}`);
  for (const n of names) await rm(join(dir, n));
}

/** Keeps the newest `retention` snapshots whose name starts with PREFIX-; returns the names deleted. */
export async function pruneSnapshots(dir: string, prefix: string, retention: number): Promise<string[]> {
  const own = (await listSnapshots(dir)).filter((s) => s.name.startsWith(`${prefix}-`));
  const doomed = own.slice(Math.max(0, retention)).map((s) => s.name);
  for (const n of doomed) await rm(join(dir, n), { force: true });
  return doomed;
}
