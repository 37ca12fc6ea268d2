// A thin, typed layer over etcd's KV API, called through etcd3's RPC layer
// (Etcd3.kv, a KVClient; see storage/etcd-connection.ts): ranges at a
// revision, compare-and-swap transactions, and the mapping of etcd's failures
// to API errors. It knows keys and bytes, not objects. Every value passes
// the transformer of its key's resource on the way in and out (encryption at
// rest, storage/encryption.ts). Every call is timed into
// etcd_request_duration_seconds.

import type { Etcd3, ICompare, IKeyValue, IRequestOp } from 'etcd3';
import { ApiError, ExpiredError, UnavailableError } from '../../api/errors';
import type { ApiServerMetrics } from '../metrics';
import { errorMessage } from '../../util/errors';
import { NO_TRANSFORMERS, type StorageTransformers } from './encryption';

export interface KeyValue {
  readonly key: string;
  readonly value: Buffer;
  readonly modRevision: number;
  readonly createRevision: number;
}

export interface RangeResult {
  readonly kvs: KeyValue[];
  /** The store's revision the range was served at. */
  readonly revision: number;
  readonly more: boolean;
  /** Keys in the whole range (not only those returned). */
  readonly count: number;
}

export interface RangeOptions {
  /** Exclusive end; default: only `start`. */
  end?: Buffer;
  /** Read at this revision (0: latest). Compacted -> ExpiredError. */
  revision?: number;
  limit?: number;
  keysOnly?: boolean;
}

/** One condition of a transaction. */
export type Compare =
  | { key: string; modRevision: number } // the key's mod revision equals (0: absent)
  | { key: string; exists: boolean };

/** A put, optionally under an etcd lease (an object that expires); or a delete. */
export type Op = { put: string; value: Buffer; lease?: string | undefined } | { delete: string };

export interface TxnResult {
  readonly succeeded: boolean;
  readonly revision: number;
  /**
   * When the compare failed and the transaction was asked to read a key on
   * failure: that key as the failed transaction saw it (null: absent); the
   * first one when it was asked to read several.
   */
  readonly current?: KeyValue | null;
  /** When the compare failed: every key it was asked to read, as the failed transaction saw them (null: absent). */
  readonly read?: ReadonlyMap<string, KeyValue | null>;
}

/** Whether an etcd error says the revision was compacted. */
export function isCompactedError(err: unknown): boolean {
  return err instanceof Error && /compacted/.test(err.message);
}

function mapError(err: unknown, what: string): never {
  if (isCompactedError(err)) {
    throw new ExpiredError(`the resourceVersion for the provided ${what} is too old (compacted in etcd); list again`);
  }
  const message = errorMessage(err);
  throw new UnavailableError(`etcd request failed (${what}): ${message}`);
}

function toCompare(c: Compare): ICompare {
  // The oneof target value is sent even when 0, so etcd knows which target is meant.
  if ('modRevision' in c) return { key: Buffer.from(c.key), target: 'Mod', result: 'Equal', mod_revision: c.modRevision };
  // A key exists iff its version is greater than 0.
  return { key: Buffer.from(c.key), target: 'Version', result: c.exists ? 'Greater' : 'Equal', version: 0 };
}

function toOp(op: Op, transformers: StorageTransformers): IRequestOp {
  if ('put' in op) {
    const value = transformers.toStorage(op.put, op.value);
    return { request_put: { key: Buffer.from(op.put), value, ...(op.lease ? { lease: op.lease } : {}) } };
  }
  return { request_delete_range: { key: Buffer.from(op.delete) } };
}

/** etcd3 decodes int64s as decimal strings (its proto-loader uses longs: String). */
export function toKeyValue(kv: IKeyValue): KeyValue {
  return { key: kv.key.toString(), value: kv.value, modRevision: Number(kv.mod_revision), createRevision: Number(kv.create_revision) };
}

export class EtcdStore {
  constructor(
    readonly etcd: Etcd3,
    private readonly metrics: ApiServerMetrics,
    /** What values become in etcd, by resource; default: stored as they are. */
    readonly transformers: StorageTransformers = NO_TRANSFORMERS,
  ) {}

  async get(key: string, type: string): Promise<{ kv: KeyValue | undefined; revision: number }> {
    const res = await this.range(key, type, {});
    return { kv: res.kvs[0], revision: res.revision };
  }

  async range(start: string | Buffer, type: string, opts: RangeOptions): Promise<RangeResult> {
    const end = this.metrics.etcdTimer('range', type);
    try {
      const res = await this.etcd.kv.range({
        key: Buffer.from(start),
        range_end: opts.end,
        revision: opts.revision ?? 0,
        limit: opts.limit ?? 0,
        keys_only: opts.keysOnly ?? false,
      });
      const kvs = res.kvs.map(toKeyValue);
      return { kvs: opts.keysOnly ? kvs : kvs.map((kv) => this.readable(kv)), revision: Number(res.header.revision), more: res.more, count: Number(res.count) };
    } catch (err) {
      if (err instanceof ApiError) throw err;
      return mapError(err, `range of ${type}`);
    } finally {
      end();
    }
  }

  /**
   * Applies `ops` when every compare holds; one etcd transaction. With
   * `readOnFailure`, a failed compare also reads that key in the same
   * transaction (Kubernetes' GuaranteedUpdate puts an OpGet in the Else
   * branch): a writer that lost a race learns the current object without a
   * second round trip. Several keys may be read so (a transaction of many
   * writes learns which of its compares failed).
   */
  async txn(type: string, operation: string, compares: Compare[], ops: Op[], readOnFailure?: string | readonly string[]): Promise<TxnResult> {
    const end = this.metrics.etcdTimer(operation, type);
    const reads = readOnFailure === undefined ? [] : typeof readOnFailure === 'string' ? [readOnFailure] : readOnFailure;
    try {
      const res = await this.etcd.kv.txn({
        compare: compares.map(toCompare),
        success: ops.map((op) => toOp(op, this.transformers)),
        failure: reads.map((key) => ({ request_range: { key: Buffer.from(key) } })),
      });
      const revision = Number(res.header.revision);
      if (res.succeeded) return { succeeded: true, revision };
      this.metrics.countCompareFailure(operation, type);
      if (reads.length === 0) return { succeeded: false, revision };
      const read = new Map<string, KeyValue | null>();
      reads.forEach((key, i) => {
        const kv = res.responses[i]?.response_range?.kvs[0];
        read.set(key, kv ? this.readable(toKeyValue(kv)) : null);
      });
      return { succeeded: false, revision, current: read.get(reads[0]!) ?? null, read };
    } catch (err) {
      return mapError(err, `${operation} of ${type}`);
    } finally {
      end();
    }
  }

  /** A stored key-value with its value as the registry wrote it (decrypted); the same object when nothing was transformed. */
  private readable(kv: KeyValue): KeyValue {
    const value = this.transformers.fromStorage(kv.key, kv.value);
    return value === kv.value ? kv : { ...kv, value };
  }

  /** A new lease of `ttlSeconds`; its ID as a decimal string (int64). */
  async grantLease(ttlSeconds: number): Promise<string> {
    const end = this.metrics.etcdTimer('grant', 'leases');
    try {
      const res = await this.etcd.leaseClient.leaseGrant({ TTL: ttlSeconds, ID: 0 });
      if (res.error) throw new Error(res.error);
      return String(res.ID);
    } catch (err) {
      return mapError(err, 'lease grant');
    } finally {
      end();
    }
  }

  /** The store's current revision. */
  async currentRevision(): Promise<number> {
    const res = await this.range('/registry/', 'revision', { limit: 1, keysOnly: true });
    return res.revision;
  }

  async compact(revision: number): Promise<void> {
    await this.etcd.kv.compact({ revision, physical: true });
  }

  /** etcd's version ("3.4.23"), or a rejection after `timeoutMs`. */
  async version(timeoutMs = 2000): Promise<string> {
    const res = await this.etcd.maintenance.status({ deadline: Date.now() + timeoutMs });
    return res.version;
  }
}
