// Scheduled etcd snapshots (k3s's --etcd-snapshot-schedule-cron and
// --etcd-snapshot-retention): at each cron time a snapshot named
// etcd-snapshot-<node>-<unix seconds>, then the oldest scheduled ones beyond
// the retention are deleted (on-demand snapshots are the user's to delete).

import { Cron } from 'croner';
import type { Etcd3 } from 'etcd3';
import { errorMessage } from '../../util/errors';
import { pruneSnapshots, saveSnapshot, SCHEDULED_PREFIX, snapshotName, type SnapshotInfo } from './snapshots';

/** k3s's defaults: every 12 hours, keep 5. */
export const DEFAULT_SNAPSHOT_CRON = '0 */12 * * *';
export const DEFAULT_SNAPSHOT_RETENTION = 5;

/** A clear message for a cron expression croner refuses, or undefined when it is valid. */
export function cronError(expr: string): string | undefined {
  try {
    new Cron(expr, { paused: true }).stop();
    return undefined;
  } catch (err) {
    return errorMessage(err);
  }
}

export interface SnapshotScheduleOptions {
  cron: string;
  retention: number;
  dir: string;
  node: string;
  etcd: Etcd3;
  log: (msg: string) => void;
  onSnapshot?: (s: SnapshotInfo) => void;
}

export interface RunningSnapshotSchedule {
  /** When the next snapshot is due. */
  next(): Date | undefined;
  stop(): void;
}

/** Takes one scheduled snapshot and prunes; what the cron job runs. */
export async function scheduledSnapshot(opts: SnapshotScheduleOptions, now: Date): Promise<SnapshotInfo> {
  const info = await saveSnapshot(opts.etcd, opts.dir, snapshotName(SCHEDULED_PREFIX, opts.node, now));
  const pruned = await pruneSnapshots(opts.dir, SCHEDULED_PREFIX, opts.retention);
  opts.log(`saved etcd snapshot ${info.path} (${info.sizeBytes} bytes)${pruned.length > 0 ? `; pruned ${pruned.join(', ')}` : ''}`);
  return info;
}

export function startSnapshotSchedule(opts: SnapshotScheduleOptions): RunningSnapshotSchedule {
  // protect: a snapshot still running when the next is due is not started twice.
  const job = new Cron(opts.cron, { protect: true }, async () => {
    try {
      opts.onSnapshot?.(await scheduledSnapshot(opts, new Date()));
    } catch (err) {
      opts.log(`scheduled etcd snapshot failed: ${errorMessage(err)}`);
    }
  });
  return { next: () => job.nextRun() ?? undefined, stop: () => job.stop() };
}
