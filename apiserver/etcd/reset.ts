// `tsk server --cluster-reset`, as k3s: run once on a stopped server, it
// makes the embedded etcd a one-member cluster again (etcd's
// --force-new-cluster), after first rebuilding its data from a snapshot when
// --cluster-reset-restore-path is given; it starts that etcd to prove it
// comes up, stops it, and tells the user to start the server normally.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EtcdProcess, type EtcdTlsFiles } from '../../util/etcd-process';
import { freePort } from '../../util/free-port';
import { restoreSnapshot } from './restore';
import { verifySnapshotFile } from './snapshot-file';

/** The file where a running server publishes its embedded etcd's client URL (for `tsk etcd-snapshot save`). */
export function etcdUrlFile(dataDir: string): string {
  return join(dataDir, 'etcd-client-url');
}

/** The embedded etcd's member name. */
export const EMBEDDED_MEMBER_NAME = 'tsk';

export interface ClusterResetOptions {
  dataDir: string;
  restorePath: string | undefined;
  tls: EtcdTlsFiles | undefined;
  /** Whether an etcd already serves this data directory (a server is running): then nothing is done. */
  isRunning: () => Promise<boolean>;
  log: (msg: string) => void;
}

export async function clusterReset(opts: ClusterResetOptions): Promise<void> {
  // First what can fail without harm: the snapshot's checksum, and a running server.
  if (opts.restorePath !== undefined) await verifySnapshotFile(opts.restorePath);
  if (await opts.isRunning()) {
    const url = (await readFile(etcdUrlFile(opts.dataDir), 'utf8').catch(() => '')).trim();
    throw new Error(`a server is running on ${opts.dataDir} (its etcd answers at ${url}): stop it before --cluster-reset`);
  }
  if (opts.restorePath !== undefined) {
    const scheme = opts.tls === undefined ? 'http' : 'https';
    const res = await restoreSnapshot({
      dataDir: opts.dataDir,
      file: opts.restorePath,
      memberName: EMBEDDED_MEMBER_NAME,
      peerUrl: `${scheme}://127.0.0.1:${await freePort()}`,
    });
    opts.log(`restored etcd from ${opts.restorePath} (${res.sizeBytes} bytes)${res.previous ? `; the previous data is kept in ${res.previous}` : ''}`);
  }
  const etcd = await EtcdProcess.start({ dataDir: opts.dataDir, ...(opts.tls ? { tls: opts.tls } : {}), forceNewCluster: true });
  await etcd.stop();
  opts.log(`etcd in ${join(opts.dataDir, 'etcd')} is a one-member cluster and starts; restart without --cluster-reset now`);
}
