// The ledger of acknowledged writes: every create, update and delete the
// workload made that the API acknowledged, as what must be true at the end
// (the object exists, with these replicas; or it is gone). A write that failed
// may or may not have happened: its object is "unknown" until the next
// acknowledged write of it. lostObjects compares the ledger with a final list:
// an acknowledged object that is missing, or a deleted one that is back, was
// lost by the cluster.

import { violation, type Violation } from './violation';

export type Expectation = { readonly state: 'present'; readonly replicas?: number } | { readonly state: 'absent' } | { readonly state: 'unknown' };

/** "Kind/namespace/name" ("Namespace//name" for a namespace). */
export function ledgerKey(kind: string, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

/** An object as the final list shows it. */
export interface Observed {
  readonly replicas?: number;
}

export class Ledger {
  private readonly entries = new Map<string, Expectation>();
  private acknowledgedWrites = 0;

  /** An acknowledged write: `key` must end as `expectation` says (until the next write of it). */
  acknowledge(key: string, expectation: Expectation): void {
    this.entries.set(key, expectation);
    this.acknowledgedWrites++;
  }

  /** A write whose outcome is unknown (it failed or hung): either outcome is right. */
  unsure(key: string): void {
    this.entries.set(key, { state: 'unknown' });
  }

  /** An acknowledged delete of a namespace: it and everything in it must end gone. */
  namespaceDeleted(namespace: string): void {
    for (const key of this.entries.keys()) if (key.split('/')[1] === namespace) this.entries.set(key, { state: 'absent' });
    this.acknowledge(ledgerKey('Namespace', '', namespace), { state: 'absent' });
  }

  expectation(key: string): Expectation | undefined {
    return this.entries.get(key);
  }

  get writes(): number {
    return this.acknowledgedWrites;
  }

  snapshot(): ReadonlyMap<string, Expectation> {
    return new Map(this.entries);
  }
}

/** The acknowledged writes the final state contradicts. `observed` holds every object of the kinds the ledger names. */
export function lostObjects(ledger: ReadonlyMap<string, Expectation>, observed: ReadonlyMap<string, Observed>): Violation[] {
  const out: Violation[] = [];
  for (const [key, want] of ledger) {
    const got = observed.get(key);
    if (want.state === 'present') {
      if (!got) out.push(violation('lost-objects', `${key}: created or updated (acknowledged) but missing from the list`));
      else if (want.replicas !== undefined && got.replicas !== want.replicas)
        out.push(violation('lost-objects', `${key}: spec.replicas is ${got.replicas ?? 'unset'}, the acknowledged update set ${want.replicas}`));
    } else if (want.state === 'absent' && got) {
      out.push(violation('lost-objects', `${key}: deleted (acknowledged) but still listed`));
    }
  }
  return out;
}
