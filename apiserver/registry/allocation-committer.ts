// Group commit of the writes that allocate from range bitmaps (service
// ClusterIPs and NodePorts). Each bitmap is one etcd key, and a write that
// takes or releases a value must commit the new bitmap in its own
// transaction, compared with the bitmap's mod revision, so that a value is
// never handed out twice and a failed transaction never leaks one.
//
// Two transactions of one server comparing the same revision would only
// conflict, and reading the bitmap for each write costs a round trip. So the
// bitmaps stay in memory with the revision this server last read or wrote
// them at, and the writes queued while one transaction is in flight are
// planned one after another on them and committed together in the next one:
// a single etcd transaction with every write's compares and ops, the
// bitmaps' compares and puts once. Kubernetes' allocator (a mutex around a
// GuaranteedUpdate of the range per allocation) commits one at a time.
//
// Several API servers on one etcd stay correct because every transaction
// still compares the bitmaps' revisions: when another server wrote one, the
// transaction fails, reads the current bitmaps in its failure branch (no
// extra round trip), and the writes are planned again on them. Memory is
// only a guess at etcd's state; etcd stays the truth, so a restart loses
// nothing. Only the writes whose plans touch a bitmap queue; the others
// (status updates) go at once, alone.

import { ConflictError, InvalidError } from '../../api/errors';
import type { Compare, EtcdStore, KeyValue, Op } from '../storage/etcd-store';
import { Bitmap, decodeAllocation, encodeAllocation, type Range } from './allocator';
import type { PlannedOutcome, TxnParts } from './strategy';

/** One range allocator stored in etcd. */
export interface AllocatorSpec {
  readonly key: string;
  readonly range: Range;
  /** Parses a range stored with an older bitmap (the flag changed), to carry its allocations over. */
  readonly parse: (spec: string) => Range;
}

/** One allocator's bitmap as a write plans on it. */
export interface Allocation {
  readonly key: string;
  readonly range: Range;
  readonly bitmap: Bitmap;
  /**
   * The plan took or released a value: the transaction carries the bitmap,
   * compared with the revision it is based on. A release counts even when
   * the bit was clear here: memory may be behind etcd, and the compare is
   * what finds out.
   */
  touched: boolean;
}

/** The allocations a write plans on, by key. */
export type Allocations = ReadonlyMap<string, Allocation>;

/** A bitmap as etcd held it at modRevision (0: absent). */
interface Known {
  readonly bitmap: Bitmap;
  readonly modRevision: number;
}

type Operation = 'create' | 'update' | 'delete';

interface Pending {
  readonly type: string;
  readonly operation: Operation;
  readonly build: (allocations: Allocations) => TxnParts | undefined;
  readonly resolve: (outcome: PlannedOutcome) => void;
  readonly reject: (err: unknown) => void;
  /** Transactions this write was in that failed on another server's bitmap. */
  races: number;
  /** Refused on bitmaps from memory: planned again on etcd's before the refusal stands. */
  verify: boolean;
}

interface Member {
  readonly pending: Pending;
  readonly parts: TxnParts;
}

/** Transactions a write may lose to other servers before it gives up (the registry's own bound). */
const MAX_RACES = 16;
/**
 * Compares, puts and failure reads per transaction at most: below etcd's
 * --max-txn-ops (128 by default), which bounds each of the three lists.
 */
const GROUP_TXN_OPS = 100;
/** Value bytes per transaction at most: etcd refuses requests over 1.5 MiB (--max-request-bytes). */
const GROUP_TXN_BYTES = 1024 * 1024;

/** Whether a compare holds for a key as a transaction read it (null or undefined: absent). */
function holds(c: Compare, kv: KeyValue | null | undefined): boolean {
  if ('modRevision' in c) return (kv?.modRevision ?? 0) === c.modRevision;
  return (kv != null) === c.exists;
}

function uniqueKeys(compares: readonly Compare[]): string[] {
  return [...new Set(compares.map((c) => c.key))];
}

function putBytes(ops: readonly Op[]): number {
  let n = 0;
  for (const op of ops) if ('put' in op) n += op.value.length;
  return n;
}

/** The key a put or delete writes. */
function opKey(op: Op): string {
  return 'put' in op ? op.put : op.delete;
}

/**
 * The writes gathered for one transaction: within etcd's limits, and no key
 * written twice (etcd refuses a transaction that writes a key twice; two
 * writes of one object go in turn, and the second's compare fails).
 */
class Group {
  readonly members: Member[] = [];
  private compares: number;
  private ops: number;
  private bytes = 0;
  private readonly written = new Set<string>();

  /** `reserved`: the compares and puts of the bitmaps. */
  constructor(reserved: number) {
    this.compares = reserved;
    this.ops = reserved;
  }

  get full(): boolean {
    return this.compares >= GROUP_TXN_OPS;
  }

  /** Whether a write fits; the first always does. */
  fits(parts: TxnParts): boolean {
    if (parts.ops.some((op) => this.written.has(opKey(op)))) return false;
    if (this.members.length === 0) return true;
    return (
      this.compares + parts.compares.length <= GROUP_TXN_OPS &&
      this.ops + parts.ops.length <= GROUP_TXN_OPS &&
      this.bytes + putBytes(parts.ops) <= GROUP_TXN_BYTES
    );
  }

  add(member: Member): void {
    this.members.push(member);
    this.compares += member.parts.compares.length;
    this.ops += member.parts.ops.length;
    this.bytes += putBytes(member.parts.ops);
    for (const op of member.parts.ops) this.written.add(opKey(op));
  }
}

export class AllocationCommitter {
  /** What this server last read or wrote; a key missing is read from etcd before the next plan. */
  private readonly known = new Map<string, Known>();
  private queue: Pending[] = [];
  private draining = false;

  constructor(
    private readonly store: EtcdStore,
    private readonly specs: readonly AllocatorSpec[],
  ) {}

  /** See PlanCommitter.commit: `build` plans on the allocations and returns the write's own parts. */
  commit(type: string, operation: Operation, build: (allocations: Allocations) => TxnParts | undefined): Promise<PlannedOutcome> {
    return new Promise<PlannedOutcome>((resolve, reject) => {
      const pending: Pending = { type, operation, build, resolve, reject, races: 0, verify: false };
      if (this.tryAlone(pending)) return;
      this.queue.push(pending);
      if (!this.draining) void this.drain();
    });
  }

  /** Plans `build` on a copy of the bitmaps read from etcd now; memory is left as it is. */
  async dryRun(build: (allocations: Allocations) => void): Promise<void> {
    const state = new Map<string, Known>();
    await Promise.all(this.specs.map(async (s) => state.set(s.key, await this.read(s))));
    build(this.fork(state));
  }

  /**
   * A write whose plan touches no bitmap (a status update) needs no place in
   * the queue: planned on memory, it goes at once in a transaction of its
   * own. False when it must queue (it touches one, its plan failed, or
   * memory has no bitmaps yet).
   */
  private tryAlone(p: Pending): boolean {
    if (this.specs.some((s) => !this.known.has(s.key))) return false;
    const allocations = this.fork(this.known);
    let parts: TxnParts | undefined;
    try {
      parts = p.build(allocations);
    } catch {
      return false; // planned again in the queue, where a refusal is checked against etcd
    }
    if ([...allocations.values()].some((a) => a.touched)) return false;
    if (!parts) p.resolve({ status: 'noop' });
    else void this.writeAlone(p, parts);
    return true;
  }

  private async writeAlone(p: Pending, parts: TxnParts): Promise<void> {
    try {
      const res = await this.store.txn(p.type, p.operation, parts.compares, parts.ops, uniqueKeys(parts.compares));
      p.resolve(res.succeeded ? { status: 'written', revision: res.revision } : { status: 'failed', read: res.read ?? new Map() });
    } catch (err) {
      p.reject(err);
    }
  }

  /** One transaction at a time; the writes queued meanwhile go together in the next. */
  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        // Writes planned again keep their place ahead of the newcomers.
        let again: Pending[];
        try {
          again = await this.round(batch);
        } catch (err) {
          // A bug, not a race: the batch's writes fail (those settled stay so) rather than wait forever.
          for (const p of batch) p.reject(err);
          again = [];
        }
        this.queue = [...again, ...this.queue];
      }
    } finally {
      this.draining = false;
    }
  }

  /** Plans and commits what fits of `batch` in one transaction; returns the writes to plan again. Settles the others; never throws. */
  private async round(batch: Pending[]): Promise<Pending[]> {
    let state: Map<string, Known>;
    let fresh: boolean;
    try {
      ({ state, fresh } = await this.state(batch.some((p) => p.verify)));
    } catch (err) {
      for (const p of batch) p.reject(err);
      return [];
    }
    const work = this.fork(state);
    const group = new Group(this.specs.length);
    const later: Pending[] = [];
    for (const p of batch) {
      if (group.full) {
        later.push(p);
        continue;
      }
      const scratch = this.forkAllocations(work);
      let parts: TxnParts | undefined;
      try {
        parts = p.build(scratch);
      } catch (err) {
        // A refusal decided on memory may be stale (another server released the value): decided again on etcd's bitmaps.
        if (err instanceof InvalidError && !fresh && !p.verify) {
          p.verify = true;
          later.push(p);
        } else p.reject(err);
        continue;
      }
      const touched = [...scratch.values()].filter((a) => a.touched);
      if (!parts) p.resolve({ status: 'noop' });
      else if (touched.length === 0) void this.writeAlone(p, parts);
      else if (!group.fits(parts))
        later.push(p); // the next transaction's, planned again
      else {
        for (const a of touched) {
          const w = work.get(a.key)!;
          w.bitmap.bits.set(a.bitmap.bits);
          w.touched = true;
        }
        group.add({ pending: p, parts });
      }
    }
    const members = group.members;
    if (members.length === 0) return later;
    return [...(await this.commitGroup(members, work, state)), ...later];
  }

  /** One transaction for the members and the bitmaps they touched; returns the members to plan again. */
  private async commitGroup(members: readonly Member[], work: Allocations, state: ReadonlyMap<string, Known>): Promise<Pending[]> {
    const touched = [...work.values()].filter((a) => a.touched);
    const compares: Compare[] = [
      ...members.flatMap((m) => m.parts.compares),
      ...touched.map((a) => ({ key: a.key, modRevision: state.get(a.key)!.modRevision })),
    ];
    const ops: Op[] = [...members.flatMap((m) => m.parts.ops), ...touched.map((a) => ({ put: a.key, value: encodeAllocation(a.range, a.bitmap) }))];
    const first = members[0]!.pending;
    const operation = members.every((m) => m.pending.operation === first.operation) ? first.operation : 'write';
    let res;
    try {
      res = await this.store.txn(first.type, operation, compares, ops, uniqueKeys(compares));
    } catch (err) {
      // Whether it was written is unknown: etcd is read again before the next plan.
      for (const a of touched) this.known.delete(a.key);
      for (const m of members) m.pending.reject(err);
      return [];
    }
    if (res.succeeded) {
      for (const a of touched) this.known.set(a.key, { bitmap: a.bitmap, modRevision: res.revision });
      for (const m of members) m.pending.resolve({ status: 'written', revision: res.revision });
      return [];
    }
    const read = res.read ?? new Map<string, KeyValue | null>();
    for (const a of touched) this.learn(a.key, read.get(a.key) ?? null);
    const again: Pending[] = [];
    for (const m of members) {
      const p = m.pending;
      if (!m.parts.compares.every((c) => holds(c, read.get(c.key)))) p.resolve({ status: 'failed', read });
      else if (++p.races >= MAX_RACES) p.reject(new ConflictError(`too many concurrent allocations (${first.type}); try again`));
      else again.push(p);
    }
    return again;
  }

  /** The bitmaps to plan on: memory, with the keys it lacks (all with `all`) read from etcd; `fresh` when all were read now. */
  private async state(all: boolean): Promise<{ state: Map<string, Known>; fresh: boolean }> {
    const missing = this.specs.filter((s) => all || !this.known.has(s.key));
    await Promise.all(missing.map(async (s) => this.known.set(s.key, await this.read(s))));
    return { state: new Map(this.known), fresh: missing.length === this.specs.length };
  }

  private async read(spec: AllocatorSpec): Promise<Known> {
    const { kv } = await this.store.get(spec.key, 'ranges');
    return { bitmap: decodeAllocation(spec.range, kv?.value, spec.parse), modRevision: kv?.modRevision ?? 0 };
  }

  /** Memory takes a bitmap as a failed transaction read it. */
  private learn(key: string, kv: KeyValue | null): void {
    const spec = this.specs.find((s) => s.key === key);
    if (spec) this.known.set(key, { bitmap: decodeAllocation(spec.range, kv?.value, spec.parse), modRevision: kv?.modRevision ?? 0 });
  }

  /** Allocations to plan on: copies of the bitmaps, untouched. */
  private fork(state: ReadonlyMap<string, Known>): Map<string, Allocation> {
    const out = new Map<string, Allocation>();
    for (const s of this.specs) {
      const known = state.get(s.key);
      out.set(s.key, { key: s.key, range: s.range, bitmap: new Bitmap(s.range.size, known?.bitmap.bits), touched: false });
    }
    return out;
  }

  private forkAllocations(work: Allocations): Map<string, Allocation> {
    const out = new Map<string, Allocation>();
    for (const a of work.values()) out.set(a.key, { key: a.key, range: a.range, bitmap: new Bitmap(a.range.size, a.bitmap.bits), touched: false });
    return out;
  }
}
