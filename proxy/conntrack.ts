// Stale UDP flows. A UDP "connection" lives in conntrack for as long as
// packets keep coming, so after a rules change it would still be DNATed to
// an endpoint that is gone (or still hit the REJECT of a service that now has
// endpoints). As kube-proxy does, after each sync the proxy deletes the
// conntrack entries of UDP service ports whose endpoints were removed, and of
// UDP service ports that had none and now have some. TCP needs none of this:
// a dead endpoint resets or times out the connection.

import { execFile } from 'node:child_process';
import { spnOf, type ServicePortState } from './service-ports';

/** Deletes conntrack entries; behind an interface so tests capture the calls. */
export interface Conntrack {
  /** Runs `conntrack -D <filter>`; resolves when done, also when nothing matched. */
  deleteFlows(filter: readonly string[]): Promise<void>;
}

/** The conntrack -D filters that clear the UDP flows `next` makes stale, given the ports of the previous sync. */
export function staleUdpFlowFilters(allPrevious: readonly ServicePortState[], allNext: readonly ServicePortState[]): string[][] {
  // Only UDP ports matter: leave the (many) others out before building any map.
  const previous = allPrevious.filter((sp) => sp.protocol === 'UDP');
  const next = allNext.filter((sp) => sp.protocol === 'UDP');
  const key = (sp: ServicePortState): string => `${spnOf(sp)}/${sp.protocol}`;
  const nextByKey = new Map(next.map((sp) => [key(sp), sp]));
  const prevByKey = new Map(previous.map((sp) => [key(sp), sp]));
  const filters: string[][] = [];
  const dests = (sp: ServicePortState): string[][] => [
    ['--orig-dst', sp.clusterIP],
    ...sp.externalIPs.map((ip) => ['--orig-dst', ip]),
    ...sp.loadBalancerIPs.map((ip) => ['--orig-dst', ip]),
    ...(sp.nodePort !== undefined ? [['--orig-port-dst', String(sp.nodePort)]] : []),
  ];
  for (const old of previous) {
    if (old.protocol !== 'UDP') continue;
    const now = nextByKey.get(key(old));
    if (now === old) continue; // the same object: unchanged (ServicePortCache)
    const kept = new Set(now?.endpoints.map((e) => `${e.ip}:${e.port}`) ?? []);
    for (const ep of old.endpoints) {
      if (kept.has(`${ep.ip}:${ep.port}`)) continue;
      for (const d of dests(old)) filters.push(['-p', 'udp', ...d, '--dst-nat', ep.ip]);
    }
  }
  for (const sp of next) {
    if (sp.protocol !== 'UDP' || sp.endpoints.length === 0) continue;
    const before = prevByKey.get(key(sp));
    if (before && before.endpoints.length > 0) continue;
    for (const d of dests(sp)) filters.push(['-p', 'udp', ...d]);
  }
  // Several ports may share a filter (one endpoint IP behind two ports): one call each.
  return [...new Map(filters.map((f) => [f.join(' '), f])).values()];
}

/** The conntrack tool is not installed. */
export class ConntrackMissingError extends Error {}

/** The conntrack command line tool (Debian package "conntrack"). */
export class ExecConntrack implements Conntrack {
  constructor(private readonly command = 'conntrack') {}

  deleteFlows(filter: readonly string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      execFile(this.command, ['-D', ...filter], { timeout: 30_000 }, (err, _stdout, stderr) => {
        // Exit status 1 with "0 flow entries have been deleted" is success: nothing was stale.
        if (!err || /0 flow entries/.test(String(stderr))) resolve();
        else if ((err as NodeJS.ErrnoException).code === 'ENOENT') reject(new ConntrackMissingError(`${this.command} not found (Debian package "conntrack")`));
        else reject(new Error(`${this.command} -D ${filter.join(' ')} failed: ${String(stderr).trim() || err.message}`));
      });
    });
  }
}
