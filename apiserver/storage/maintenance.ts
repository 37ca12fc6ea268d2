// etcd upkeep beyond compaction: every interval the API server asks each etcd
// member for its database size, publishes it (and the quota left), warns when
// a member nears its backend quota (etcd refuses every write once it is
// reached, with "mvcc: database space exceeded"), and defragments a member
// whose file is mostly free space: compaction frees pages inside the file
// but only a defragmentation gives them back. Members are defragmented one at
// a time, because a member blocks reads and writes while it rewrites its
// file; with several members the others keep the cluster available.

import type { Etcd3 } from 'etcd3';
import { errorMessage } from '../../util/errors';

export interface MemberStatus {
  /** The member's client URL. */
  url: string;
  /** Bytes of the database file. */
  dbSizeBytes: number;
  /** Bytes of it that hold data; the rest is free pages left by compaction. */
  dbSizeInUseBytes: number;
}

/** What the maintenance loop asks of etcd (a fake in unit tests). */
export interface MaintenanceBackend {
  status(): Promise<MemberStatus[]>;
  defragment(url: string): Promise<void>;
  close?(): void;
}

export interface DefragPolicy {
  /** Defragment only files at least this big (small files are cheap to keep). */
  minDbSizeBytes: number;
  /** ... and at least this share of them free. */
  minFreeRatio: number;
}

/** Defaults: a file of at least 100 MiB that is at least half free. */
export const DEFAULT_DEFRAG_POLICY: DefragPolicy = { minDbSizeBytes: 100 * 1024 * 1024, minFreeRatio: 0.5 };

/** A warning is raised at this share of the quota. */
export const QUOTA_WARNING_RATIO = 0.8;

export function needsDefrag(m: MemberStatus, policy: DefragPolicy): boolean {
  if (m.dbSizeBytes < policy.minDbSizeBytes || m.dbSizeBytes <= 0) return false;
  return (m.dbSizeBytes - m.dbSizeInUseBytes) / m.dbSizeBytes >= policy.minFreeRatio;
}

export interface StorageHealth {
  members: MemberStatus[];
  /** The backend quota per member, bytes; 0 when unknown. */
  quotaBytes: number;
  /** The largest member's file (the first to reach the quota). */
  largestDbSizeBytes: number;
  /** Quota minus the largest file, or undefined when the quota is unknown. */
  quotaLeftBytes: number | undefined;
  nearQuota: boolean;
  checkedAt: Date;
}

export function storageHealth(members: MemberStatus[], quotaBytes: number, now: Date): StorageHealth {
  const largest = members.reduce((n, m) => Math.max(n, m.dbSizeBytes), 0);
  const left = quotaBytes > 0 ? Math.max(0, quotaBytes - largest) : undefined;
  return {
    members,
    quotaBytes,
    largestDbSizeBytes: largest,
    quotaLeftBytes: left,
    nearQuota: quotaBytes > 0 && largest >= quotaBytes * QUOTA_WARNING_RATIO,
    checkedAt: now,
  };
}

export interface MaintenanceOptions {
  intervalMs: number;
  quotaBytes: number;
  policy?: DefragPolicy;
  log: (msg: string) => void;
  onHealth?: (h: StorageHealth) => void;
  /** Called once each time the database crosses into QUOTA_WARNING_RATIO of the quota. */
  onNearQuota?: (h: StorageHealth) => void;
  onDefragmented?: (url: string) => void;
  now?: () => Date;
}

/**
 * One round: the members' status, then defragment those that need it, one
 * after the other (each awaited before the next starts). Returns the health
 * after defragmenting.
 */
export async function maintainOnce(backend: MaintenanceBackend, opts: MaintenanceOptions): Promise<StorageHealth> {
  const now = opts.now ?? (() => new Date());
  let members = await backend.status();
  const policy = opts.policy ?? DEFAULT_DEFRAG_POLICY;
  let defragged = false;
  for (const m of members) {
    if (!needsDefrag(m, policy)) continue;
    const before = m.dbSizeBytes;
    await backend.defragment(m.url);
    defragged = true;
    opts.log(`defragmented etcd member ${m.url} (${mib(before)} MiB, ${mib(m.dbSizeInUseBytes)} MiB in use)`);
    opts.onDefragmented?.(m.url);
  }
  if (defragged) members = await backend.status();
  return storageHealth(members, opts.quotaBytes, now());
}

function mib(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}

export interface RunningMaintenance {
  /** The last round's result, for /readyz and metrics. */
  health(): StorageHealth | undefined;
  stop(): void;
}

export function startMaintenance(backend: MaintenanceBackend, opts: MaintenanceOptions): RunningMaintenance {
  let last: StorageHealth | undefined;
  let warned = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const round = async (): Promise<void> => {
    try {
      last = await maintainOnce(backend, opts);
      opts.onHealth?.(last);
      if (last.nearQuota && !warned) opts.onNearQuota?.(last);
      warned = last.nearQuota;
    } catch (err) {
      opts.log(`etcd maintenance failed (retried in ${Math.round(opts.intervalMs / 1000)}s): ${errorMessage(err)}`);
    }
    if (!stopped) {
      timer = setTimeout(() => void round(), opts.intervalMs);
      timer.unref();
    }
  };
  void round();
  return {
    health: () => last,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      backend.close?.();
    },
  };
}

/**
 * The backend on etcd: members from the cluster's member list, each asked
 * through a client of its own URL (a status or defragment call concerns the
 * member that answers it), made by `connect`.
 */
export function etcdMaintenanceBackend(etcd: Etcd3, connect: (url: string) => Etcd3): MaintenanceBackend {
  const perMember = new Map<string, Etcd3>();
  const client = (url: string): Etcd3 => {
    let c = perMember.get(url);
    if (!c) {
      c = connect(url);
      perMember.set(url, c);
    }
    return c;
  };
  return {
    async status() {
      const list = await etcd.cluster.memberList({ linearizable: false });
      const urls = list.members.map((m) => m.clientURLs[0]).filter((u): u is string => typeof u === 'string' && u !== '');
      return Promise.all(
        urls.map(async (url) => {
          const s = await client(url).maintenance.status();
          return { url, dbSizeBytes: Number(s.dbSize), dbSizeInUseBytes: Number(s.dbSizeInUse) };
        }),
      );
    },
    async defragment(url) {
      await client(url).maintenance.defragment();
    },
    close() {
      for (const c of perMember.values()) c.close();
      perMember.clear();
    },
  };
}
