// Compaction of etcd's history, as kube-apiserver's compactor
// (storage/etcd3/compact.go). etcd keeps every revision of every key until
// compacted; without this its database only grows (node heartbeats alone add
// a revision every few seconds) until the backend quota stops all writes.
//
// Every interval, each API server tries a compare-and-swap on one key,
// compact_rev_key: "if its version is still the one I saw last, write the
// revision I saw last". The server that wins compacts to the revision
// recorded one interval ago, so at least one interval of history is always
// kept for watchers that are behind; the others see a newer version, adopt it
// and do nothing this round. Several API servers on one etcd thus compact
// about once per interval in all, not once each.

import type { Etcd3 } from 'etcd3';
import { errorMessage } from '../../util/errors';

export const COMPACT_REV_KEY = 'compact_rev_key';

/** The two etcd calls the compactor makes (a fake in unit tests). */
export interface CompactionBackend {
  /**
   * If compact_rev_key's version equals `expectVersion`, writes `revision`
   * into it. Returns whether it did, the key's version when it did not, and
   * the store's revision at the time.
   */
  swapCompactRevision(expectVersion: number, revision: number): Promise<{ succeeded: boolean; version: number; revision: number }>;
  /** Compacts the history up to `revision`. */
  compact(revision: number): Promise<void>;
}

/** What one round knows from the previous: compact_rev_key's version and the revision to compact to next. */
export interface CompactorState {
  version: number;
  revision: number;
}

export interface CompactionResult {
  state: CompactorState;
  /** The revision compacted to this round, if this server compacted. */
  compacted?: number;
}

/** One round (Kubernetes' compact()): the state for the next round and what was compacted. */
export async function compactOnce(backend: CompactionBackend, state: CompactorState): Promise<CompactionResult> {
  const res = await backend.swapCompactRevision(state.version, state.revision);
  if (!res.succeeded) return { state: { version: res.version, revision: res.revision } };
  const next = { version: state.version + 1, revision: res.revision };
  // Revision 0 is the first round after start: nothing recorded yet to compact to.
  if (state.revision === 0) return { state: next };
  await backend.compact(state.revision);
  return { state: next, compacted: state.revision };
}

/** The backend on an etcd3 client: one transaction and one compact call. */
export function etcdCompactionBackend(etcd: Etcd3): CompactionBackend {
  const key = Buffer.from(COMPACT_REV_KEY);
  return {
    async swapCompactRevision(expectVersion, revision) {
      const res = await etcd.kv.txn({
        compare: [{ key, target: 'Version', result: 'Equal', version: expectVersion }],
        success: [{ request_put: { key, value: Buffer.from(String(revision)) } }],
        failure: [{ request_range: { key } }],
      });
      const kv = res.responses[0]?.response_range?.kvs[0];
      return { succeeded: res.succeeded, version: kv ? Number(kv.version) : 0, revision: Number(res.header.revision) };
    },
    async compact(revision) {
      await etcd.kv.compact({ revision, physical: false });
    },
  };
}

export interface CompactorOptions {
  intervalMs: number;
  log: (msg: string) => void;
  /** Called after each round this server compacted, with the revision. */
  onCompacted?: (revision: number) => void;
  onError?: () => void;
}

export interface RunningCompactor {
  stop(): void;
}

/** Runs compactOnce every intervalMs until stop(); errors are logged and the round retried next interval. */
export function startCompactor(backend: CompactionBackend, opts: CompactorOptions): RunningCompactor {
  let state: CompactorState = { version: 0, revision: 0 };
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const round = async (): Promise<void> => {
    try {
      const res = await compactOnce(backend, state);
      state = res.state;
      if (res.compacted !== undefined) {
        opts.log(`compacted etcd to revision ${res.compacted}`);
        opts.onCompacted?.(res.compacted);
      }
    } catch (err) {
      opts.onError?.();
      opts.log(`etcd compaction failed (retried in ${Math.round(opts.intervalMs / 1000)}s): ${errorMessage(err)}`);
    }
    if (!stopped) schedule();
  };
  const schedule = (): void => {
    timer = setTimeout(() => void round(), opts.intervalMs);
    timer.unref();
  };
  schedule();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
