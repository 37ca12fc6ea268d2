// The user-namespace ID ranges of pods with hostUsers: false (Kubernetes'
// pkg/kubelet/userns): each pod gets 65536 host IDs (the same for users and
// groups), a slot of the node-wide range the kubelet may give out, recorded
// in the pod's directory (<data-dir>/pods/<uid>/userns, Kubernetes' file
// and JSON shape). The records are the only state: which slots are taken is
// read from them, so a restarted kubelet gives every pod its range back and
// a pod's range is free again once its directory is removed with it.
//
// The node-wide range is Kubernetes': the `kubelet` user's entries in
// /etc/subuid and /etc/subgid when it has them (they must be equal, start at
// and last a multiple of 65536), else the IDs from 65536 up to 2^32.

import * as fs from 'node:fs';
import * as path from 'node:path';

/** IDs per pod, as Kubernetes (userNsLength; a pod's IDs 0..65535). */
export const IDS_PER_POD = 65536;

/** The pod directory's record of its range. */
export const USERNS_FILE = 'userns';

/** A range of host IDs. */
export interface IdRange {
  hostId: number;
  length: number;
}

/** Kubernetes' default when the kubelet user has no subordinate IDs: everything above the first 65536 IDs. */
export const DEFAULT_NODE_RANGE: IdRange = { hostId: IDS_PER_POD, length: 2 ** 32 - IDS_PER_POD };

export class UserNamespaceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserNamespaceError';
  }
}

/** The first entry of `user` in an /etc/subuid or /etc/subgid text ("name:start:count"); undefined without one. */
export function parseSubIds(text: string, user: string): IdRange | undefined {
  for (const line of text.split('\n')) {
    const [name, start, count] = line.trim().split(':');
    if (name !== user || start === undefined || count === undefined) continue;
    const hostId = Number(start);
    const length = Number(count);
    if (!Number.isSafeInteger(hostId) || !Number.isSafeInteger(length))
      throw new UserNamespaceError(`subordinate IDs of "${user}": "${line.trim()}" is not name:start:count`);
    return { hostId, length };
  }
  return undefined;
}

/**
 * The node-wide range: the `kubelet` user's subordinate IDs (subuid and
 * subgid texts; undefined when a file is missing), else the default.
 * Throws UserNamespaceError with Kubernetes' checks.
 */
export function nodeRange(subuid: string | undefined, subgid: string | undefined, user = 'kubelet'): IdRange {
  const uids = subuid === undefined ? undefined : parseSubIds(subuid, user);
  const gids = subgid === undefined ? undefined : parseSubIds(subgid, user);
  if (uids === undefined && gids === undefined) return DEFAULT_NODE_RANGE;
  if (uids === undefined || gids === undefined || uids.hostId !== gids.hostId || uids.length !== gids.length)
    throw new UserNamespaceError(`the ${user} user's subordinate user and group IDs (/etc/subuid, /etc/subgid) must be the same range`);
  if (uids.hostId % IDS_PER_POD !== 0)
    throw new UserNamespaceError(`the ${user} user's subordinate IDs must start at a multiple of ${IDS_PER_POD}, not ${uids.hostId}`);
  if (uids.length < IDS_PER_POD || uids.length % IDS_PER_POD !== 0)
    throw new UserNamespaceError(`the ${user} user's subordinate IDs must be a multiple of ${IDS_PER_POD}, not ${uids.length}`);
  if (uids.hostId === 0) throw new UserNamespaceError(`the ${user} user's subordinate IDs must not include the host's root (ID 0)`);
  return uids;
}

/**
 * Why this node cannot run pods in user namespaces, or undefined: the
 * kernel (uname's release) must idmap overlayfs layers (Linux 5.19), and
 * user namespaces must not be switched off (user.max_user_namespaces, read
 * from /proc/sys/user/max_user_namespaces; undefined when unreadable).
 */
export function userNamespaceSupportProblem(kernelRelease: string, maxUserNamespaces: string | undefined): string | undefined {
  const m = /^(\d+)\.(\d+)/.exec(kernelRelease);
  const [major, minor] = m ? [Number(m[1]), Number(m[2])] : [0, 0];
  if (major < 5 || (major === 5 && minor < 19)) return `Linux 5.19 or later is needed for idmapped overlayfs layers, this node runs ${kernelRelease}`;
  if (maxUserNamespaces !== undefined && maxUserNamespaces.trim() === '0') return 'user namespaces are switched off (user.max_user_namespaces is 0)';
  return undefined;
}

/** Reads the node-wide range from /etc/subuid and /etc/subgid (or the given files). */
export function readNodeRange(subuidFile = '/etc/subuid', subgidFile = '/etc/subgid'): IdRange {
  const read = (f: string): string | undefined => {
    try {
      return fs.readFileSync(f, 'utf8');
    } catch {
      return undefined;
    }
  };
  return nodeRange(read(subuidFile), read(subgidFile));
}

interface IdMapping {
  hostId: number;
  containerId: number;
  length: number;
}

/** The record's JSON, as Kubernetes' userNsPodsManager writes it. */
interface UsernsRecord {
  uidMappings: IdMapping[];
  gidMappings: IdMapping[];
}

/** The range a record holds; undefined for a file that is not one (a pod gets a new range then). */
export function parseRecord(text: string): IdRange | undefined {
  let rec: Partial<UsernsRecord>;
  try {
    rec = JSON.parse(text) as Partial<UsernsRecord>;
  } catch {
    return undefined;
  }
  const u = rec.uidMappings?.[0];
  const g = rec.gidMappings?.[0];
  if (!u || !g || rec.uidMappings?.length !== 1 || rec.gidMappings?.length !== 1) return undefined;
  if (u.hostId !== g.hostId || u.length !== g.length || u.containerId !== 0 || g.containerId !== 0) return undefined;
  if (!Number.isSafeInteger(u.hostId) || u.length !== IDS_PER_POD) return undefined;
  return { hostId: u.hostId, length: u.length };
}

export function renderRecord(r: IdRange): string {
  const m = [{ hostId: r.hostId, containerId: 0, length: r.length }];
  return `${JSON.stringify({ uidMappings: m, gidMappings: m } satisfies UsernsRecord)}\n`;
}

/**
 * Gives pods their ranges. `podsDir` is <data-dir>/pods: one directory per
 * pod UID. Calls are synchronous, so two pods never race for a slot.
 */
export class UserNamespaceAllocator {
  constructor(
    private readonly podsDir: string,
    private readonly range: IdRange,
  ) {}

  /** The pod's range: the one recorded in its directory, else the lowest free slot (recorded before it is returned). */
  allocate(podUid: string): IdRange {
    const own = this.recorded(podUid);
    if (own !== undefined && this.inRange(own)) return own;
    const taken = new Set<number>();
    for (const uid of this.podUids()) {
      if (uid === podUid) continue;
      const r = this.recorded(uid);
      if (r !== undefined) taken.add(r.hostId);
    }
    const slots = Math.floor(this.range.length / IDS_PER_POD);
    for (let i = 0; i < slots; i++) {
      const hostId = this.range.hostId + i * IDS_PER_POD;
      if (taken.has(hostId)) continue;
      const r = { hostId, length: IDS_PER_POD };
      this.record(podUid, r);
      return r;
    }
    throw new UserNamespaceError('could not find an empty slot to allocate a user namespace');
  }

  /** The pod's recorded range, if any (undefined for no record or one that cannot be read). */
  recorded(podUid: string): IdRange | undefined {
    try {
      return parseRecord(fs.readFileSync(path.join(this.podsDir, podUid, USERNS_FILE), 'utf8'));
    } catch {
      return undefined;
    }
  }

  private inRange(r: IdRange): boolean {
    return r.hostId >= this.range.hostId && r.hostId + r.length <= this.range.hostId + this.range.length && (r.hostId - this.range.hostId) % IDS_PER_POD === 0;
  }

  private podUids(): string[] {
    try {
      return fs.readdirSync(this.podsDir);
    } catch {
      return [];
    }
  }

  /** Written atomically (temp file, rename): a crash leaves the old record or the new one. */
  private record(podUid: string, r: IdRange): void {
    const dir = path.join(this.podsDir, podUid);
    fs.mkdirSync(dir, { recursive: true });
    const tmp = path.join(dir, `.${USERNS_FILE}.tmp`);
    fs.writeFileSync(tmp, renderRecord(r), { mode: 0o600 });
    fs.renameSync(tmp, path.join(dir, USERNS_FILE));
  }
}
