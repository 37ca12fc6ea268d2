// A network namespace's interface counters from /proc/<pid>/net/dev (the
// namespace of that process), as cAdvisor reads them for
// container_network_*: loopback and the host side of veth pairs are left
// out, as cAdvisor ignores "lo", "veth*" and "docker*" devices.

export interface InterfaceStats {
  name: string;
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
}

const IGNORED_PREFIXES = ['lo', 'veth', 'docker'];

/**
 * Parses /proc/net/dev: two header lines, then "NAME: rx-bytes packets errs
 * drop fifo frame compressed multicast tx-bytes packets errs drop ...".
 */
export function parseNetDev(text: string): InterfaceStats[] {
  const out: InterfaceStats[] = [];
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    if (name === '' || f.length < 16 || f.some((n) => !Number.isFinite(n))) continue;
    if (IGNORED_PREFIXES.some((p) => name.startsWith(p))) continue;
    const at = (i: number): number => f[i] ?? 0;
    out.push({
      name,
      rxBytes: at(0),
      rxPackets: at(1),
      rxErrors: at(2),
      rxDropped: at(3),
      txBytes: at(8),
      txPackets: at(9),
      txErrors: at(10),
      txDropped: at(11),
    });
  }
  return out;
}
