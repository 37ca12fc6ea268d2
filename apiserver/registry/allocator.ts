// Range allocators for service ClusterIPs and NodePorts (Kubernetes'
// pkg/registry/core/service/allocator): a bitmap over the range, kept in etcd
// beside the services so allocations survive restarts and are never handed
// out twice. Pure: no I/O; the service strategy loads, mutates and saves it
// in the same transaction as the service.

import { broadcastAddress, formatCidr, formatIPv4, hasHostBits, parseIPv4, tryParseIPv4Cidr } from '../../util/ipv4';

/** A bitmap of `size` slots. */
export class Bitmap {
  readonly bits: Uint8Array;
  constructor(
    readonly size: number,
    bits?: Uint8Array,
  ) {
    this.bits = new Uint8Array(Math.ceil(size / 8));
    if (bits) this.bits.set(bits.subarray(0, this.bits.length));
  }

  has(i: number): boolean {
    return (this.bits[i >> 3]! & (1 << (i & 7))) !== 0;
  }

  set(i: number): void {
    this.bits[i >> 3] = this.bits[i >> 3]! | (1 << (i & 7));
  }

  clear(i: number): void {
    this.bits[i >> 3] = this.bits[i >> 3]! & ~(1 << (i & 7));
  }

  get used(): number {
    let n = 0;
    for (let i = 0; i < this.size; i++) if (this.has(i)) n++;
    return n;
  }

  /** The first free slot at or after `start` (wrapping), or -1 when full. */
  nextFree(start: number): number {
    for (let k = 0; k < this.size; k++) {
      const i = (start + k) % this.size;
      if (!this.has(i)) return i;
    }
    return -1;
  }
}

/** Maps values (an IP as a number, a port) to bitmap slots. */
export interface Range {
  /** Text form stored with the bitmap ("10.96.0.0/16", "30000-32767"). */
  readonly spec: string;
  readonly size: number;
  /** Slot of a value, or -1 when out of range or reserved. */
  slotOf(value: string): number;
  valueOf(slot: number): string;
}

/**
 * An IPv4 CIDR as an allocation range. Like Kubernetes, the network address
 * and the first address (the `kubernetes` service's) are never handed out,
 * nor the broadcast address.
 */
export function parseServiceCidr(cidr: string): Range {
  const parsed = tryParseIPv4Cidr(cidr);
  if (!parsed || !(parsed.prefix >= 8 && parsed.prefix <= 30)) {
    throw new Error(`invalid service CIDR "${cidr}": want an IPv4 CIDR with a prefix length from 8 to 30, such as 10.96.0.0/16`);
  }
  if (hasHostBits(parsed)) throw new Error(`invalid service CIDR "${cidr}": host bits are set (did you mean ${formatCidr(parsed)}?)`);
  // Slots are addresses network+2 .. broadcast-1.
  const first = parsed.network + 2;
  const size = broadcastAddress(parsed) - first;
  return {
    spec: cidr,
    size,
    slotOf(value: string): number {
      const n = parseIPv4(value);
      if (n === undefined) return -1;
      const slot = n - first;
      return slot >= 0 && slot < size ? slot : -1;
    },
    valueOf: (slot) => formatIPv4(first + slot),
  };
}

export function parsePortRange(spec: string): Range {
  const m = /^(\d+)-(\d+)$/.exec(spec);
  const lo = m ? Number(m[1]) : NaN;
  const hi = m ? Number(m[2]) : NaN;
  if (!m || !(lo >= 1 && hi <= 65535 && lo <= hi)) {
    throw new Error(`invalid node port range "${spec}": want LOW-HIGH within 1-65535, such as 30000-32767`);
  }
  return {
    spec,
    size: hi - lo + 1,
    slotOf(value: string): number {
      if (!/^\d+$/.test(value)) return -1;
      const n = Number(value);
      return n >= lo && n <= hi ? n - lo : -1;
    },
    valueOf: (slot) => String(lo + slot),
  };
}

/** What is stored in etcd for one allocator (JSON). */
export interface RangeAllocationRecord {
  range: string;
  /** The bitmap, base64. */
  data: string;
}

export function encodeAllocation(range: Range, bitmap: Bitmap): Buffer {
  const rec: RangeAllocationRecord = { range: range.spec, data: Buffer.from(bitmap.bits).toString('base64') };
  return Buffer.from(JSON.stringify(rec));
}

/**
 * Loads a stored bitmap for `range`. A bitmap stored for another range (the
 * flag changed) is re-mapped value by value so no allocation is forgotten.
 */
export function decodeAllocation(range: Range, stored: Buffer | undefined, oldRange?: (spec: string) => Range): Bitmap {
  const bitmap = new Bitmap(range.size);
  if (!stored || stored.length === 0) return bitmap;
  const rec = JSON.parse(stored.toString()) as RangeAllocationRecord;
  const data = Buffer.from(rec.data, 'base64');
  if (rec.range === range.spec) return new Bitmap(range.size, data);
  if (!oldRange) return bitmap;
  const old = oldRange(rec.range);
  const oldBits = new Bitmap(old.size, data);
  for (let i = 0; i < old.size; i++) {
    if (!oldBits.has(i)) continue;
    const slot = range.slotOf(old.valueOf(i));
    if (slot >= 0) bitmap.set(slot);
  }
  return bitmap;
}
