// A thin, typed layer over etcd's KV API (storage/etcd-client.ts): ranges at
// a revision, compare-and-swap transactions, and the mapping of etcd's
// failures to API errors. It knows keys and bytes, not objects. Every call is
// timed into etcd_request_duration_seconds.

import { ExpiredError, UnavailableError } from '../../api/errors';
import type { ApiServerMetrics } from '../metrics';
import type { CompareSpec, EtcdClient, RequestOp } from './etcd-client';

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

export type Op = { put: string; value: Buffer } | { delete: string };

export interface TxnResult {
  readonly succeeded: boolean;
  readonly revision: number;
}

/** Whether an etcd error says the revision was compacted. */
export function isCompactedError(err: unknown): boolean {
  return err instanceof Error && /compacted/.test(err.message);
}

function mapError(err: unknown, what: string): never {
  if (isCompactedError(err)) {
    throw new ExpiredError(`the resourceVersion for the provided ${what} is too old (compacted in etcd); list again`);
  }
  const message = err instanceof Error ? err.message : String(err);
  throw new UnavailableError(`etcd request failed (${what}): ${message}`);
}

function toCompare(c: Compare): CompareSpec {
  if ('modRevision' in c) return { key: Buffer.from(c.key), target: 'mod', result: 'equal', value: c.modRevision };
  // A key exists iff its version is greater than 0.
  return { key: Buffer.from(c.key), target: 'version', result: c.exists ? 'greater' : 'equal', value: 0 };
}

function toOp(op: Op): RequestOp {
  if ('put' in op) return { put: { key: Buffer.from(op.put), value: op.value } };
  return { deleteRange: { key: Buffer.from(op.delete) } };
}

export class EtcdStore {
  constructor(
    readonly client: EtcdClient,
    private readonly metrics: ApiServerMetrics,
  ) {}

  async get(key: string, type: string): Promise<{ kv: KeyValue | undefined; revision: number }> {
    const res = await this.range(key, type, {});
    return { kv: res.kvs[0], revision: res.revision };
  }

  async range(start: string | Buffer, type: string, opts: RangeOptions): Promise<RangeResult> {
    const res = await this.metrics
      .timeEtcd('range', type, () =>
        this.client.range({
          key: Buffer.from(start),
          rangeEnd: opts.end,
          revision: opts.revision ?? 0,
          limit: opts.limit ?? 0,
          keysOnly: opts.keysOnly ?? false,
        }),
      )
      .catch((err: unknown) => mapError(err, `range of ${type}`));
    return res;
  }

  /** Applies `ops` when every compare holds; one etcd transaction. */
  async txn(type: string, operation: string, compares: Compare[], ops: Op[]): Promise<TxnResult> {
    const res = await this.metrics
      .timeEtcd(operation, type, () =>
        this.client.txn(compares.map(toCompare), ops.map(toOp)),
      )
      .catch((err: unknown) => mapError(err, `${operation} of ${type}`));
    return res;
  }

  /** The store's current revision. */
  async currentRevision(): Promise<number> {
    const res = await this.range('/registry/', 'revision', { limit: 1, keysOnly: true });
    return res.revision;
  }

  async compact(revision: number): Promise<void> {
    await this.client.compact(revision);
  }
}
