// etcd snapshot files as etcd writes them: the backend database (a bbolt file,
// whole 512-byte pages) followed by the SHA-256 of those bytes, which the
// Snapshot RPC appends and `etcdctl snapshot restore` checks. Checking it here
// tells a real snapshot from any other file before a restore touches the
// cluster's data.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';

const HASH_BYTES = 32;

export class NotASnapshotError extends Error {
  constructor(file: string, why: string) {
    super(`${file} is not an etcd snapshot: ${why}`);
    this.name = 'NotASnapshotError';
  }
}

/** Throws NotASnapshotError unless `file` is a database followed by its own SHA-256, as etcd's Snapshot RPC sends it. */
export async function verifySnapshotFile(file: string): Promise<{ sizeBytes: number }> {
  let size: number;
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new NotASnapshotError(file, 'not a regular file');
    size = st.size;
  } catch (err) {
    if (err instanceof NotASnapshotError) throw err;
    throw new NotASnapshotError(file, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(err));
  }
  // The database is whole 512-byte multiples; the hash makes the remainder 32 (etcd's own test).
  if (size < 512 + HASH_BYTES || size % 512 !== HASH_BYTES) throw new NotASnapshotError(file, `its size (${size} bytes) is not a database plus a SHA-256`);
  const hash = createHash('sha256');
  await new Promise<void>((resolve, reject) => {
    createReadStream(file, { start: 0, end: size - HASH_BYTES - 1 })
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve())
      .on('error', reject);
  });
  const trailer = Buffer.alloc(HASH_BYTES);
  const fh = await open(file, 'r');
  try {
    await fh.read(trailer, 0, HASH_BYTES, size - HASH_BYTES);
  } finally {
    await fh.close();
  }
  if (!hash.digest().equals(trailer)) throw new NotASnapshotError(file, 'its SHA-256 does not match (truncated or corrupt)');
  return { sizeBytes: size };
}
