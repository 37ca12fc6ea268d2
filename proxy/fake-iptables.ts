// An in-memory iptables for unit tests: applies iptables-restore --noflush
// input the way the kernel would (declaring a chain flushes it, -I prepends,
// -D removes the first equal rule, -X deletes an empty unreferenced chain,
// a table is applied whole or not at all) and prints it as iptables-save.

import type { Iptables } from './iptables';

type Tables = Map<string, Map<string, string[]>>;

const BUILTIN: Record<string, string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
};

export class FakeIptables implements Iptables {
  tables: Tables = new Map();
  /** Every restore input received, applied or not. */
  readonly restores: string[] = [];
  saves = 0;
  /** When set, the next restores fail with this message. */
  failWith: string | undefined;

  save(): Promise<string> {
    this.saves++;
    let out = '';
    for (const [name, chains] of this.tables) {
      out += `*${name}\n`;
      for (const chain of chains.keys()) out += `:${chain} ${BUILTIN[name]?.includes(chain) ? 'ACCEPT' : '-'} [0:0]\n`;
      for (const [chain, rules] of chains) for (const r of rules) out += `-A ${chain} ${r}\n`;
      out += 'COMMIT\n';
    }
    return Promise.resolve(out);
  }

  restore(input: string): Promise<void> {
    this.restores.push(input);
    if (this.failWith !== undefined) return Promise.reject(new Error(this.failWith));
    const next: Tables = new Map([...this.tables].map(([n, c]) => [n, new Map([...c].map(([k, v]) => [k, [...v]]))]));
    let table: Map<string, string[]> | undefined;
    for (const line of input.split('\n')) {
      if (line.startsWith('*')) {
        const name = line.slice(1);
        table = next.get(name) ?? new Map((BUILTIN[name] ?? []).map((c) => [c, []]));
        next.set(name, table);
        continue;
      }
      if (!table || line === '' || line === 'COMMIT') continue;
      const [op, chain = '', ...rest] = line.split(' ');
      const spec = rest.join(' ');
      const rules = table.get(chain);
      if (op?.startsWith(':')) table.set(op.slice(1), []);
      else if (!rules) return Promise.reject(new Error(`fake iptables: no chain ${chain}: ${line}`));
      else if (op === '-A') rules.push(spec);
      else if (op === '-I') rules.unshift(spec);
      else if (op === '-D') {
        const i = rules.indexOf(spec);
        if (i < 0) return Promise.reject(new Error(`fake iptables: no such rule: ${line}`));
        rules.splice(i, 1);
      } else if (op === '-X') {
        if (rules.length > 0) return Promise.reject(new Error(`fake iptables: chain ${chain} not empty: ${line}`));
        table.delete(chain);
      } else return Promise.reject(new Error(`fake iptables: cannot parse: ${line}`));
    }
    this.tables = next;
    return Promise.resolve();
  }

  /** The rules of one chain. */
  chain(table: string, chain: string): string[] | undefined {
    return this.tables.get(table)?.get(chain);
  }
}
