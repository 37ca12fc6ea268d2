// etcd membership of the servers of one cluster: the joining server's
// --initial-cluster (as `etcdctl member add` prints it), adding a member on
// a joiner's behalf, and a server removing itself (tsk server --leave).

import type { Etcd3, IMember } from 'etcd3';
import { setTimeout as sleep } from 'node:timers/promises';

/** What tsk needs of an etcd member. */
export interface Member {
  readonly id: string;
  /** Empty while the member was added but has not started. */
  readonly name: string;
  readonly peerUrls: readonly string[];
}

export function toMember(m: IMember): Member {
  return { id: String(m.ID), name: m.name ?? '', peerUrls: [...(m.peerURLs ?? [])] };
}

/** NAME=URL for every peer URL of every member, the joiner (id `joinerId`) under its own name: etcd's --initial-cluster. */
export function initialCluster(members: readonly Member[], joinerId: string, joinerName: string): string[] {
  return members.flatMap((m) => m.peerUrls.map((u) => `${m.id === joinerId ? joinerName : m.name}=${u}`));
}

/**
 * What to do about a server asking to join with name and peerUrl: add it,
 * reuse its entry (an earlier join that added it but never started it), or
 * refuse with a one-line reason.
 */
export function joinDecision(
  members: readonly Member[],
  name: string,
  peerUrl: string,
): { kind: 'add' } | { kind: 'reuse'; id: string } | { kind: 'refuse'; reason: string } {
  const byUrl = members.find((m) => m.peerUrls.includes(peerUrl));
  if (byUrl !== undefined) {
    if (byUrl.name === '' || byUrl.name === name) {
      if (byUrl.name === '') return { kind: 'reuse', id: byUrl.id };
      return {
        kind: 'refuse',
        reason: `etcd member ${name} (${peerUrl}) is already in the cluster; if its data was lost, remove it first (tsk server --leave, or etcdctl member remove ${byUrl.id})`,
      };
    }
    return { kind: 'refuse', reason: `the peer URL ${peerUrl} belongs to etcd member ${byUrl.name} already` };
  }
  if (members.some((m) => m.name === name)) return { kind: 'refuse', reason: `an etcd member named ${name} is already in the cluster` };
  return { kind: 'add' };
}

/** Thrown for a join that cannot be accepted; its message is for the joiner. */
export class MemberRefused extends Error {
  override readonly name = 'MemberRefused';
}

/** Adds (or reuses) the member and returns the joiner's --initial-cluster. */
export async function addMember(etcd: Etcd3, name: string, peerUrl: string): Promise<string[]> {
  const before = (await etcd.cluster.memberList({})).members.map(toMember);
  const decision = joinDecision(before, name, peerUrl);
  if (decision.kind === 'refuse') throw new MemberRefused(decision.reason);
  let id: string;
  if (decision.kind === 'reuse') id = decision.id;
  else id = await whenHealthy(async () => String((await etcd.cluster.memberAdd({ peerURLs: [peerUrl] })).member.ID));
  const after = (await etcd.cluster.memberList({})).members.map(toMember);
  return initialCluster(after, id, name);
}

/** How long a membership change is retried while etcd calls the cluster unhealthy. */
const UNHEALTHY_RETRY_MS = 30_000;

/**
 * etcd refuses membership changes (its strict reconfiguration check:
 * "unhealthy cluster") until every member has been connected for a few
 * seconds, as right after a server joined or started: wait that out.
 */
async function whenHealthy<T>(change: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + UNHEALTHY_RETRY_MS;
  for (;;) {
    try {
      return await change();
    } catch (err) {
      if (!(err instanceof Error && /unhealthy cluster/.test(err.message)) || Date.now() > deadline) throw err;
      await sleep(1000);
    }
  }
}

/** Removes the member named `name`; false when there is none. */
export async function removeMember(etcd: Etcd3, name: string): Promise<boolean> {
  const members = (await etcd.cluster.memberList({})).members.map(toMember);
  const self = members.find((m) => m.name === name);
  if (self === undefined) return false;
  await whenHealthy(() => etcd.cluster.memberRemove({ ID: self.id }));
  return true;
}

/**
 * Moves this member's peer URL to `peerUrl` when its data says otherwise: a
 * lone server's etcd (peer on 127.0.0.1) turned into a cluster with
 * --cluster-init, one rebuilt by --cluster-reset, or a changed
 * --advertise-address. Returns the old URLs when they were changed.
 */
export async function ensurePeerUrl(etcd: Etcd3, peerUrl: string): Promise<string[] | undefined> {
  const self = String((await etcd.maintenance.status({})).header.member_id);
  const members = (await etcd.cluster.memberList({})).members.map(toMember);
  const me = members.find((m) => m.id === self);
  if (me === undefined || (me.peerUrls.length === 1 && me.peerUrls[0] === peerUrl)) return undefined;
  await whenHealthy(() => etcd.cluster.memberUpdate({ ID: self, peerURLs: [peerUrl] }));
  return [...me.peerUrls];
}
