// The cluster's bootstrap data (k3s's "bootstrap data"): the files every
// server of one cluster must share, sent to a joining server by one already
// in it. Anything else under <data-dir>/tls (serving, etcd and admin
// certificates) is issued by each server itself from these CAs.

import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writePrivate } from '../../util/pki';

/** Paths under the data dir, in the order they are written. */
export const BOOTSTRAP_FILES: readonly string[] = [
  'tls/ca.crt',
  'tls/ca.key',
  'tls/etcd-peer-ca.crt',
  'tls/etcd-peer-ca.key',
  'encryption-config.yaml',
  'token',
];

/** Reads the bootstrap files of dataDir; a missing one is an error naming it (the server is not a whole cluster member). */
export async function packBootstrapData(dataDir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const name of BOOTSTRAP_FILES) {
    try {
      files[name] = await readFile(join(dataDir, name), 'utf8');
    } catch (err) {
      throw new Error(`${join(dataDir, name)}: cannot read the cluster's bootstrap data (${(err as NodeJS.ErrnoException).code ?? String(err)})`, {
        cause: err,
      });
    }
  }
  return files;
}

/** Checks that `files` is exactly the bootstrap set, with no empty file; returns a one-line problem, or undefined. */
export function bootstrapDataProblem(files: Readonly<Record<string, string>>): string | undefined {
  for (const name of Object.keys(files)) if (!BOOTSTRAP_FILES.includes(name)) return `unexpected file "${name}" in the bootstrap data`;
  for (const name of BOOTSTRAP_FILES) if (!files[name]) return `the bootstrap data lacks ${name}`;
  return undefined;
}

/** Writes the bootstrap files under dataDir (0600, each through a rename). */
export async function unpackBootstrapData(dataDir: string, files: Readonly<Record<string, string>>): Promise<void> {
  const problem = bootstrapDataProblem(files);
  if (problem !== undefined) throw new Error(problem);
  for (const name of BOOTSTRAP_FILES) {
    const path = join(dataDir, name);
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writePrivate(path, files[name] ?? '');
  }
}
