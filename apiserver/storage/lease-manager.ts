// etcd leases for objects that expire (Events, after --event-ttl), shared the
// way Kubernetes' storage/etcd3 leaseManager shares them: one lease per short
// window instead of one per object, because every lease is state etcd keeps
// and checks. A lease is granted for the TTL plus a reuse window and handed
// to every write in that window, so each object lives at least the TTL and
// at most the TTL plus the window (5% of the TTL, at most a minute).

/** Grants an etcd lease of `ttlSeconds`; resolves to its ID (int64 as a decimal string). */
export type GrantLease = (ttlSeconds: number) => Promise<string>;

/** Kubernetes' LeaseReuseDurationSeconds and LeaseReuseDurationPercent. */
const MAX_REUSE_SECONDS = 60;
const REUSE_FRACTION = 0.05;

interface Granted {
  readonly id: string;
  /** When the lease expires (ms since the epoch, by our clock). */
  readonly expiresAt: number;
}

export class LeaseManager {
  private current = new Map<number, Granted>();
  /** A grant in flight per TTL: concurrent writes wait for it instead of granting their own. */
  private pending = new Map<number, Promise<Granted>>();

  constructor(
    private readonly grant: GrantLease,
    private readonly now: () => number = Date.now,
  ) {}

  /** A lease under which an object written now lives at least `ttlSeconds`. */
  async leaseFor(ttlSeconds: number): Promise<string> {
    const cur = this.current.get(ttlSeconds);
    if (cur && cur.expiresAt - this.now() >= ttlSeconds * 1000) return cur.id;
    let p = this.pending.get(ttlSeconds);
    if (!p) {
      p = this.grantNew(ttlSeconds).finally(() => this.pending.delete(ttlSeconds));
      this.pending.set(ttlSeconds, p);
    }
    return (await p).id;
  }

  private async grantNew(ttlSeconds: number): Promise<Granted> {
    const leaseSeconds = ttlSeconds + reuseSeconds(ttlSeconds);
    const start = this.now();
    const id = await this.grant(leaseSeconds);
    // From before the request: etcd's countdown started no earlier.
    const granted = { id, expiresAt: start + leaseSeconds * 1000 };
    this.current.set(ttlSeconds, granted);
    return granted;
  }
}

/** Seconds a lease stays in use: 5% of the TTL, at most a minute, whole seconds. */
export function reuseSeconds(ttlSeconds: number): number {
  return Math.min(MAX_REUSE_SECONDS, Math.floor(ttlSeconds * REUSE_FRACTION));
}
