// The iptables of a hollow node's proxy (kubemark's fake iptables): every
// restore is built by the real proxier and then dropped, so the rule-building
// work of a node is done and measured while nothing touches the kernel.
// save() answers an empty ruleset, so each full sync writes everything.

import type { Iptables } from './iptables';

export class DiscardingIptables implements Iptables {
  /** Restores received and their total size, for the hollow nodes' report. */
  restores = 0;
  bytes = 0;

  async save(): Promise<string> {
    return '';
  }

  async restore(input: string): Promise<void> {
    this.restores++;
    this.bytes += input.length;
  }
}
