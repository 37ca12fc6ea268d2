// What a V8 heap snapshot holds, by kind of node: count and self size of
// every (type, constructor) pair, largest first (Chrome DevTools' Summary
// view without the browser). For the snapshots of bench/memory.ts:
//   node dist/bench/heap-summary.js FILE [--per N] [--top K]
// --per N divides counts and sizes by N (e.g. the pod count: per pod).

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export interface HeapRow {
  readonly key: string;
  count: number;
  bytes: number;
}

/** Rows by type and name (constructor for objects; "(string)", "(code)", ... for the rest), largest first. */
export function summarize(snap: Snapshot): HeapRow[] {
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = [fields.indexOf('type'), fields.indexOf('name'), fields.indexOf('self_size')];
  const rows = new Map<string, HeapRow>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]!] ?? '?';
    // Objects by constructor; strings and the rest by type (their names are their contents).
    const key = type === 'object' || type === 'closure' || type === 'native' ? `${type} ${snap.strings[snap.nodes[i + nameAt]!]}` : `(${type})`;
    let row = rows.get(key);
    if (!row) {
      row = { key, count: 0, bytes: 0 };
      rows.set(key, row);
    }
    row.count++;
    row.bytes += snap.nodes[i + sizeAt]!;
  }
  return [...rows.values()].sort((a, b) => b.bytes - a.bytes);
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { per: { type: 'string', default: '1' }, top: { type: 'string', default: '30' } },
  });
  const file = positionals[0];
  if (file === undefined) throw new Error('usage: heap-summary FILE [--per N] [--top K]');
  const per = Number(values.per);
  if (!(per > 0)) throw new Error(`--per: "${values.per}" must be a positive number`);
  const rows = summarize(JSON.parse(readFileSync(file, 'utf8')) as Snapshot);
  const total = rows.reduce((n, r) => n + r.bytes, 0);
  console.log(`total ${(total / 1024 / 1024).toFixed(1)} MB, ${(total / per).toFixed(0)} bytes per unit`);
  console.log('| type constructor | count per unit | bytes per unit | share |');
  console.log('| --- | --- | --- | --- |');
  for (const r of rows.slice(0, Number(values.top))) {
    console.log(`| ${r.key.slice(0, 60)} | ${(r.count / per).toFixed(2)} | ${(r.bytes / per).toFixed(0)} | ${((100 * r.bytes) / total).toFixed(1)}% |`);
  }
}

if (require.main === module) main();
