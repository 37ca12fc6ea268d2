// Host-local IPAM, as Kubernetes' host-local CNI plugin keeps it: one file
// per address in use, named after the address and holding the sandbox ID,
// plus "last_reserved_ip.0" so that allocation goes round the range instead
// of handing a just-freed address straight to the next pod (connections and
// endpoints of the old pod may still point at it).
//
// An address is claimed by link(2)ing a fully written temporary file to its
// name: link fails with EEXIST when the name exists, so two allocators (two
// processes, or two calls) can never take one address, and a crash never
// leaves an address file without its owner. Everything is on disk: a
// restarted kubelet sees what its predecessor allocated.

import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatIPv4, parseIPv4 } from '../../util/ipv4';
import { processAlive } from '../../util/process';
import { isPodAddress, PodCidr } from './cidr';

const LAST_RESERVED = 'last_reserved_ip.0';
const TMP_PREFIX = '.reserve-';

export class IpamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IpamError';
  }
}

export class HostLocalIpam {
  /**
   * The owner of each address file seen. An address file is written whole
   * before it gets its name and never rewritten, so its owner changes only
   * when it is released and claimed again: done here (kept up to date), or
   * by another allocator on the same directory, seen as the name going away
   * (unless both happen between two of our reads, which the round-robin
   * allocation makes unlikely). Reading every address file on each call
   * made a batch of pod starts quadratic in file reads.
   */
  private readonly owners = new Map<string, string>();

  constructor(
    readonly dir: string,
    readonly cidr: PodCidr,
  ) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.removeStaleTemporaries();
  }

  /** Every address file: address -> sandbox ID (addresses outside the CIDR included). */
  allocations(): Map<string, string> {
    const out = new Map<string, string>();
    for (const name of fs.readdirSync(this.dir)) {
      if (parseIPv4(name) === undefined) continue;
      const owner = this.owners.get(name) ?? this.owner(name);
      if (owner !== undefined) out.set(name, owner);
    }
    this.owners.clear();
    for (const [name, owner] of out) this.owners.set(name, owner);
    return out;
  }

  /** The address the sandbox holds in this CIDR, if any. */
  get(sandboxId: string): string | undefined {
    for (const [ip, owner] of this.allocations()) {
      if (owner === sandboxId && isPodAddress(this.cidr, parseIPv4(ip) ?? -1)) return ip;
    }
    return undefined;
  }

  /**
   * The sandbox's address: the one it holds, or a newly claimed one.
   * Idempotent. Throws IpamError when the range is full.
   */
  allocate(sandboxId: string): string {
    checkId(sandboxId);
    return this.get(sandboxId) ?? this.allocateNew(sandboxId);
  }

  /**
   * A new address for a sandbox the caller has just found holding none
   * (get): allocate without reading every address file a second time.
   * Throws IpamError when the range is full.
   */
  allocateNew(sandboxId: string): string {
    checkId(sandboxId);
    const { first, last } = this.cidr;
    const size = last - first + 1;
    const lastReserved = this.lastReserved();
    const start = lastReserved !== undefined && isPodAddress(this.cidr, lastReserved) ? lastReserved + 1 : first;
    for (let i = 0; i < size; i++) {
      const ip = first + ((start - first + i) % size);
      const name = formatIPv4(ip);
      if (this.claim(name, sandboxId)) {
        fs.writeFileSync(path.join(this.dir, LAST_RESERVED), name);
        return name;
      }
    }
    throw new IpamError(`no free address in ${this.cidr.text} (${size} addresses, all in use)`);
  }

  /** Frees every address the sandbox holds. Idempotent. */
  release(sandboxId: string): void {
    for (const [ip, owner] of this.allocations()) {
      if (owner === sandboxId) {
        fs.rmSync(path.join(this.dir, ip), { force: true });
        this.owners.delete(ip);
      }
    }
  }

  private owner(name: string): string | undefined {
    try {
      return fs.readFileSync(path.join(this.dir, name), 'utf8').split('\n')[0];
    } catch {
      return undefined; // released meanwhile
    }
  }

  /** Claims the address atomically; false if it is taken. */
  private claim(name: string, sandboxId: string): boolean {
    const tmp = path.join(this.dir, `${TMP_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`);
    const fd = fs.openSync(tmp, 'wx', 0o600);
    try {
      // No fsync, as CNI's host-local store: it blocks the kubelet's event loop for as long as the
      // disk takes, on every pod start. A claim whose content a crash lost reads as no owner, and
      // the kubelet's garbage collection at start frees it (no live sandbox holds it).
      fs.writeSync(fd, `${sandboxId}\n`);
    } finally {
      fs.closeSync(fd);
    }
    try {
      fs.linkSync(tmp, path.join(this.dir, name));
      this.owners.set(name, sandboxId);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }

  private lastReserved(): number | undefined {
    try {
      return parseIPv4(fs.readFileSync(path.join(this.dir, LAST_RESERVED), 'utf8').trim());
    } catch {
      return undefined;
    }
  }

  /** Temporaries of processes that died between writing and linking them. */
  private removeStaleTemporaries(): void {
    for (const name of fs.readdirSync(this.dir)) {
      if (!name.startsWith(TMP_PREFIX)) continue;
      const pid = Number(name.slice(TMP_PREFIX.length).split('-')[0]);
      if (Number.isInteger(pid) && pid !== process.pid && !processAlive(pid)) fs.rmSync(path.join(this.dir, name), { force: true });
    }
  }
}

function checkId(id: string): void {
  if (id === '' || /[\n\0/]/.test(id)) throw new IpamError(`sandbox ID ${JSON.stringify(id)} is empty or contains a newline, NUL or slash`);
}
