// `tsk token list`'s table, with kubeadm's columns and words: TTL "<forever>"
// and EXPIRES "<never>" for a token that never expires, "<invalid>" TTL once
// it has expired.

import type { BootstrapToken } from '../api/gen/tsk/v1/bootstrap';
import { formatTable, humanDuration } from '../tsctl';

export function tokenRows(items: readonly BootstrapToken[], now: number): string[][] {
  const rows = [['TOKEN ID', 'TTL', 'EXPIRES', 'USAGES', 'DESCRIPTION']];
  for (const t of items) {
    const expires = t.expires ?? '';
    const left = expires === '' ? undefined : Date.parse(expires) - now;
    const ttl = left === undefined ? '<forever>' : left <= 0 ? '<invalid>' : humanDuration(left);
    rows.push([t.id ?? '', ttl, expires === '' ? '<never>' : expires, (t.usages ?? []).join(',') || '<none>', t.description || '<none>']);
  }
  return rows;
}

export function formatTokenTable(items: readonly BootstrapToken[], now: number): string {
  return formatTable(tokenRows(items, now));
}
