// How this server's embedded etcd runs (k3s's embedded-etcd HA):
//   - lone (no flag, never clustered): 127.0.0.1 only, takes no members;
//   - --cluster-init: the first member of a cluster others may join (a lone
//     server's data kept: its member's peer URL is moved after the start);
//   - --server URL --token T: joins the cluster of the server at URL, which
//     adds it as a member and sends the cluster's bootstrap data;
//   - a restart of a clustered server: the member it already is.
// A server once clustered stays so (<data-dir>/etcd-member.json records its
// member name), as k3s's does without --cluster-init on later starts.

import { randomBytes } from 'node:crypto';
import { access, mkdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { joinServerCluster, pinnedClusterCa } from '../../client';
import { etcdUrl, ETCD_PEER_PORT, type EtcdClusterOptions } from '../../util/etcd-process';
import { caHash, writePrivate } from '../../util/pki';
import { unpackBootstrapData } from './bootstrap-data';

export interface HaFlags {
  dataDir: string;
  clusterInit: boolean;
  /** --server URL: the server of the cluster to join. */
  server: string | undefined;
  token: string | undefined;
  /** The address the other servers reach this one on (--advertise-address, or the host's first IPv4 address); undefined when the host has none. */
  advertiseAddress: string | undefined;
}

/** The clustered etcd's settings but its peer TLS files (from the PKI, loaded after the plan). */
export type EtcdClusterPlan = Omit<EtcdClusterOptions, 'peerTls'>;

/** <data-dir>/etcd-member.json: the member name of a clustered server. */
export function memberFile(dataDir: string): string {
  return join(dataDir, 'etcd-member.json');
}

/** k3s's member names: the host name and 8 random hex digits, so two machines with one host name stay apart. */
export function newMemberName(host: string, suffix = randomBytes(4).toString('hex')): string {
  const base =
    host
      .toLowerCase()
      .replace(/[^a-z0-9.-]/g, '-')
      .replace(/^[^a-z0-9]+/, '')
      .slice(0, 50) || 'server';
  return `${base}-${suffix}`;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** The member name recorded for dataDir, if it was clustered. */
export async function recordedMember(dataDir: string): Promise<string | undefined> {
  const text = await readFile(memberFile(dataDir), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const name = (JSON.parse(text) as { name?: unknown }).name;
  if (typeof name !== 'string' || name === '') throw new Error(`${memberFile(dataDir)}: no member name; remove the file and the etcd directory to join again`);
  return name;
}

async function recordMember(dataDir: string, name: string): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await writePrivate(memberFile(dataDir), `${JSON.stringify({ name })}\n`);
}

/** Whether dataDir holds etcd data (a member, of whichever cluster). */
export function hasEtcdData(dataDir: string): Promise<boolean> {
  return exists(join(dataDir, 'etcd', 'member'));
}

/**
 * Decides (and for a join, prepares: bootstrap data written, member added)
 * how the embedded etcd runs; undefined for a lone etcd. Throws one line for
 * the user when the join cannot be done; the running cluster is unchanged
 * then, as every check comes before the member is added.
 */
export async function planEmbeddedEtcd(flags: HaFlags, log: (msg: string) => void): Promise<EtcdClusterPlan | undefined> {
  const recorded = await recordedMember(flags.dataDir);
  const hasData = await hasEtcdData(flags.dataDir);
  const clustered = flags.server !== undefined || flags.clusterInit || recorded !== undefined;
  if (!clustered) return undefined;
  const address = flags.advertiseAddress;
  if (address === undefined) throw new Error('--advertise-address: this host has no non-loopback IPv4 address for the other servers to reach; give one');
  const peerUrl = etcdUrl(address, ETCD_PEER_PORT);
  if (flags.server !== undefined) {
    const caPem = await pinnedClusterCa(flags.server, flags.token ?? '', 10_000);
    const local = await readFile(join(flags.dataDir, 'tls', 'ca.crt'), 'utf8').catch(() => undefined);
    if (local !== undefined && caHash(local) !== caHash(caPem)) {
      throw new Error(
        `--data-dir ${flags.dataDir} belongs to another cluster (its CA is not the CA of the server at ${flags.server}): use an empty --data-dir, or remove this one's tls and etcd directories to join`,
      );
    }
    if (recorded !== undefined && hasData) {
      log(`etcd member ${recorded} of the cluster already; starting it`);
      return { name: recorded, address, initialCluster: `${recorded}=${peerUrl}`, state: 'existing' };
    }
    if (hasData) {
      throw new Error(
        `--data-dir ${flags.dataDir} holds an etcd that is not a member of a cluster (a lone server's): remove ${join(flags.dataDir, 'etcd')} to join`,
      );
    }
    const name = recorded ?? newMemberName(hostname());
    log(`joining the cluster at ${flags.server} as etcd member ${name} (${peerUrl})`);
    const answer = await joinServerCluster(flags.server, caPem, flags.token ?? '', name, peerUrl, 60_000);
    await unpackBootstrapData(flags.dataDir, answer.files);
    await recordMember(flags.dataDir, name);
    log(`added as etcd member ${name}; the cluster: ${answer.initialCluster.join(',')}`);
    return { name, address, initialCluster: answer.initialCluster.join(','), state: 'existing' };
  }
  if (recorded !== undefined && hasData) return { name: recorded, address, initialCluster: `${recorded}=${peerUrl}`, state: 'existing' };
  if (recorded !== undefined && !flags.clusterInit) {
    throw new Error(
      `${memberFile(flags.dataDir)}: member ${recorded} never started its etcd: start with --server URL --token TOKEN to join, or --cluster-init`,
    );
  }
  if (!flags.clusterInit) return undefined;
  const name = recorded ?? newMemberName(hostname());
  await recordMember(flags.dataDir, name);
  if (hasData) {
    // k3s's conversion: a lone server restarted with --cluster-init keeps its data; its peer URL is moved after the start (ensurePeerUrl).
    log(`turning the lone etcd of ${flags.dataDir} into a cluster others may join: member ${name} (${peerUrl})`);
    return { name, address, initialCluster: `${name}=${peerUrl}`, state: 'existing' };
  }
  log(`starting a new etcd cluster others may join: member ${name} (${peerUrl})`);
  return { name, address, initialCluster: `${name}=${peerUrl}`, state: 'new' };
}
