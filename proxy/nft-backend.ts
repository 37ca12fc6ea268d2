// The nftables mode (kube-proxy's --proxy-mode=nftables): nft-rules.ts
// builds the rules in pieces, one `nft -f -` transaction per sync applies
// them to the proxy's own table. A full sync lists the table's chains and
// sets (to delete stale ones), flushes the table and writes everything; a
// partial one writes only the pieces of the service ports that changed.

import type { ProxyBackend, SyncWrite } from './backend';
import type { Nftables } from './nftables';
import {
  countElements,
  ElementCounts,
  NftRuleBuilder,
  nftRuleCount,
  parseNftList,
  renderNftFull,
  renderNftPartial,
  type NftRuleSet,
  type NftRulesOptions,
} from './nft-rules';
import type { ServicePortState } from './service-ports';

export class NftablesBackend implements ProxyBackend {
  readonly mode = 'nftables';
  private readonly builder: NftRuleBuilder;
  private readonly fixed: string;
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
  }

  get synced(): boolean {
    return this.last !== undefined && this.generation === this.nft.generation;
  }

  reset(): void {
    this.last = undefined;
    this.counts = new ElementCounts();
  }

  ruleCounts(): Record<string, number> {
    return { nftables: this.last ? nftRuleCount(this.last, this.fixed) : 0 };
  }

  async sync(ports: readonly ServicePortState[], full: boolean): Promise<SyncWrite> {
    const rules = this.builder.build(ports);
    const prev = this.last;
    let input: string;
    if (full || prev === undefined) {
      if (this.removeOther) {
        await this.removeOther();
        this.removeOther = undefined;
      }
      this.last = undefined;
      const counts = countElements(rules.pieces.values());
      input = renderNftFull(rules, this.fixed, parseNftList(await this.nft.list()), counts);
      await this.nft.run(input);
      this.counts = counts;
    } else {
      // renderNftPartial updates the counts to the new rules: on failure they are wrong, and reset() drops them.
      this.last = undefined;
      input = renderNftPartial(prev, rules, this.counts);
      if (input !== '') await this.nft.run(input);
    }
    this.last = rules;
    this.generation = this.nft.generation;
    return { input };
  }
}
