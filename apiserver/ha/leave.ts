// tsk server --leave: this server's etcd member leaves its cluster cleanly
// (etcd's MemberRemove, so the others' quorum shrinks with it instead of
// counting a dead member), then its etcd data is wiped so that it could
// join again with --server. Run with the server stopped: the member is
// started for the call, on the cluster's ports.

import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { EtcdProcess, type EtcdClusterOptions, type EtcdTlsFiles } from '../../util/etcd-process';
import { connectEtcd, type EtcdClientTls } from '../storage/etcd-connection';
import { removeMember } from './members';
import { hasEtcdData, memberFile, recordedMember } from './plan';

export interface LeaveOptions {
  dataDir: string;
  cluster: EtcdClusterOptions;
  tls: EtcdTlsFiles;
  clientTls: EtcdClientTls;
  log: (msg: string) => void;
}

/** The member name of dataDir, or a one-line error when it is not a member of a cluster. */
export async function memberToLeave(dataDir: string): Promise<string> {
  const name = await recordedMember(dataDir);
  if (name === undefined || !(await hasEtcdData(dataDir))) {
    throw new Error(`--leave: ${dataDir} is not an etcd member of a cluster (no ${memberFile(dataDir)} with etcd data)`);
  }
  return name;
}

export async function leaveCluster(opts: LeaveOptions): Promise<void> {
  const { dataDir, cluster, log } = opts;
  log(`starting etcd member ${cluster.name} to remove it from its cluster`);
  const etcd = await EtcdProcess.start({ dataDir, tls: opts.tls, cluster, log });
  const client = connectEtcd([etcd.clientUrl], opts.clientTls);
  try {
    if (!(await removeMember(client, cluster.name))) log(`etcd member ${cluster.name} was no longer in the cluster`);
    else log(`removed etcd member ${cluster.name} from the cluster`);
  } finally {
    client.close();
    // A removed member stops by itself; stop() also covers one that did not.
    await etcd.stop();
  }
  await rm(join(dataDir, 'etcd'), { recursive: true, force: true });
  await rm(memberFile(dataDir), { force: true });
  log(`wiped ${join(dataDir, 'etcd')}; this server may join a cluster again with --server URL --token TOKEN`);
}
