// The API servers a client knows, as k3s's agent load balancer keeps them:
// the seeds the user configured (--server, repeated) and the addresses
// learned from the `default/kubernetes` Endpoints, which every API server
// publishes. One is current; a connection failure on it moves to the next.
// Pure state: no I/O here (server-list-file.ts keeps the learned ones on disk).

/** The servers a client may use, in the order it tries them. */
export class ServerList {
  private seeds: readonly string[];
  private learned: readonly string[] = [];
  private order: readonly string[];
  private index = 0;

  /** `seeds` must not be empty; `learned` are addresses kept from an earlier run. */
  constructor(seeds: readonly string[], learned: readonly string[] = []) {
    if (seeds.length === 0 && learned.length === 0) throw new Error('invariant: a server list needs at least one address');
    this.seeds = dedupe(seeds);
    this.learned = dedupe(learned);
    this.order = dedupe([...this.seeds, ...this.learned]);
  }

  /** The server calls go to now. */
  get current(): string {
    return this.order[this.index] as string;
  }

  /** Every server, seeds first, then the learned ones. */
  all(): readonly string[] {
    return this.order;
  }

  /** The addresses learned so far (what is worth keeping across restarts). */
  learnedAddresses(): readonly string[] {
    return this.learned;
  }

  get size(): number {
    return this.order.length;
  }

  /**
   * `address` failed: move to the next server. A failure reported for a server
   * that is no longer current (a second call that failed on it) changes
   * nothing, so N calls failing together move one step, not N. Returns the new
   * current server.
   */
  failed(address: string): string {
    if (address === this.current) this.index = (this.index + 1) % this.order.length;
    return this.current;
  }

  /**
   * Replaces the learned addresses (the servers published in the Endpoints
   * now). The current server stays current when it is still listed; seeds
   * stay even when not published (they are what the user typed). Returns
   * whether the list changed.
   */
  learn(addresses: readonly string[]): boolean {
    const next = dedupe(addresses);
    if (sameSet(next, this.learned)) return false;
    const current = this.current;
    this.learned = next;
    this.order = dedupe([...this.seeds, ...this.learned]);
    const at = this.order.indexOf(current);
    this.index = at >= 0 ? at : 0;
    return true;
  }
}

function dedupe(list: readonly string[]): string[] {
  return [...new Set(list.filter((a) => a !== ''))];
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
