// The nftables mode (kube-proxy's --proxy-mode=nftables): nft-rules.ts
// builds the rules in pieces, one `nft -f -` transaction per sync applies
// them to the proxy's own table. A full sync lists the table's chains and
// sets (to delete stale ones), flushes the table and writes everything; a
// partial one writes only the pieces of the service ports that changed.

import type { ProxyBackend, SyncWrite } from './backend';
import { keepChunks, type Nftables } from './nftables';
import {
  ElementCounts,
  NftRuleBuilder,
  nftFixedRuleCount,
  parseNftList,
  renderNftChanges,
  renderNftFullChunks,
  renderNftPartial,
  type NftRuleSet,
  type NftRulesOptions,
} from './nft-rules';
import type { PortUpdate } from './service-ports';

export class NftablesBackend implements ProxyBackend {
  readonly mode = 'nftables';
  private readonly builder: NftRuleBuilder;
  private readonly fixed: string;
  private readonly fixedRules: number;
  /** What the table holds since the last successful write; undefined: unknown, the next sync is full. */
  private last: NftRuleSet | undefined;
  /** The map elements of `last`, with how many pieces hold each. */
  private counts = new ElementCounts();
  /** The helper's generation when `last` was written: a restarted helper makes the next sync full. */
  private generation: number | undefined;

  /** `removeOther`: called before the first full sync, to remove the iptables mode's rules. */
  constructor(
    private readonly nft: Nftables,
    options: NftRulesOptions,
    private removeOther?: () => Promise<void>,
  ) {
    this.builder = new NftRuleBuilder(options);
    this.fixed = this.builder.fixed();
    this.fixedRules = nftFixedRuleCount(this.fixed);
  }

  get synced(): boolean {
    return this.last !== undefined && this.generation === this.nft.generation;
  }

  reset(): void {
    this.last = undefined;
    this.counts = new ElementCounts();
  }

  ruleCounts(): Record<string, number> {
    return { nftables: this.last ? this.fixedRules + this.builder.rules() : 0 };
  }

  /**
   * Full: the table listed, everything written. Partial: with the changes
   * of `ports`, only the pieces of the changed ports are built and written
   * (O(changed ports), no pass over the others); without them, every port's
   * piece is compared with the last write.
   */
  async sync(ports: PortUpdate, full: boolean): Promise<SyncWrite> {
    const prev = this.last;
    let input: string;
    if (full || prev === undefined || !this.synced) {
      // The table is listed (by the helper, started meanwhile if need be) while the rules are built.
      const listing = this.nft.list();
      listing.catch(() => undefined); // awaited below; a build that throws first leaves it unread
      const rules = this.builder.build(ports.all());
      if (this.removeOther) {
        await this.removeOther();
        this.removeOther = undefined;
      }
      this.last = undefined;
      const existing = parseNftList(await listing);
      // The text goes to nft chunk by chunk as it is rendered (nft parses the start while the rest is made),
      // the map elements counted as they pass (for the partial syncs after).
      const chunks: string[] = [];
      const counts = new ElementCounts();
      const text = keepChunks(renderNftFullChunks(rules, this.fixed, existing, counts), chunks);
      await this.nft.run(text);
      while (!text.next().done) {
        // What a writer left unread (none of the real ones does) is still kept and counted.
      }
      input = chunks.join('');
      this.counts = counts;
    } else {
      // The counts are updated to the new rules first: on failure they are wrong, and reset() drops them.
      this.last = undefined;
      if (ports.changes) {
        const { removed, added } = this.builder.apply(ports.changes.removed, ports.changes.added);
        input = renderNftChanges(removed, added, this.counts);
      } else input = renderNftPartial(prev, this.builder.build(ports.all()), this.counts);
      if (input !== '') await this.nft.run(input);
    }
    this.last = this.builder.current();
    this.generation = this.nft.generation;
    return { input };
  }
}
