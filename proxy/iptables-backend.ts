// The iptables mode: rules.ts builds the ruleset in pieces, one
// iptables-restore --noflush per sync applies it. A full sync reads
// iptables-save, writes every chain and deletes stale ones (skipped when the
// result equals the last full write and iptables still holds it); a partial
// one writes only the chains that differ from the last successful write.

import type { ProxyBackend, SyncWrite } from './backend';
import { parseIptablesSave, type Iptables } from './iptables';
import { matchesSaved, ownedRuleCounts, renderFullInput, renderPartialInput, RuleBuilder, ruleCounts, type RuleSet, type RulesOptions } from './rules';
import type { PortUpdate } from './service-ports';

export class IptablesBackend implements ProxyBackend {
  readonly mode = 'iptables';
  private readonly rules: RuleBuilder;
  /** What iptables holds since the last successful write; undefined: unknown, the next sync is full. */
  private lastRules: RuleSet | undefined;
  private lastApplied: string | undefined;

  /** `removeOther`: called before the first full sync, to remove the nftables mode's rules. */
  constructor(
    private readonly iptables: Iptables,
    options: RulesOptions,
    private removeOther?: () => Promise<void>,
  ) {
    this.rules = new RuleBuilder(options);
  }

  get synced(): boolean {
    return this.lastRules !== undefined;
  }

  reset(): void {
    this.lastRules = undefined;
    this.lastApplied = undefined;
  }

  ruleCounts(): Record<string, number> {
    return this.lastRules ? ruleCounts(this.lastRules) : { filter: 0, nat: 0 };
  }

  async sync(ports: PortUpdate, full: boolean): Promise<SyncWrite> {
    const rules = this.rules.build(ports.all());
    const prev = this.lastRules;
    let input: string;
    if (full || prev === undefined) {
      if (this.removeOther) {
        await this.removeOther();
        this.removeOther = undefined;
      }
      input = await this.writeFull(rules);
    } else input = await this.writePartial(prev, rules);
    this.lastRules = rules;
    return { input };
  }

  /** Reads iptables and writes every chain, unless iptables already holds exactly what the last full write wrote. */
  private async writeFull(rules: RuleSet): Promise<string> {
    const saved = parseIptablesSave(await this.iptables.save());
    const input = renderFullInput(rules, saved);
    // Nothing changed since the last restore and nobody touched the chains: skip the write.
    if (input === this.lastApplied && matchesSaved(ownedRuleCounts(input), saved)) return '';
    this.lastApplied = undefined;
    await this.iptables.restore(input);
    this.lastApplied = input;
    return input;
  }

  /** Writes only the chains that differ from what the last successful sync left in iptables. */
  private async writePartial(prev: RuleSet, rules: RuleSet): Promise<string> {
    const input = renderPartialInput(prev, rules);
    if (input === '') return '';
    // The full input last written no longer describes iptables: the next full sync writes whatever it builds.
    this.lastApplied = undefined;
    await this.iptables.restore(input);
    return input;
  }
}
