// bench:scale's hollow nodes in several `tsk hollow-nodes` processes. One
// process runs every kubelet and proxy on one event loop: at 2,000 nodes it
// stalled up to 28 s, Leases came late, nodes went Unknown and their pods
// were evicted. Kubernetes' kubemark runs each hollow node in a pod of its
// own; here each process takes a contiguous range of the node names
// (`--name-offset`), so the nodes are still hollow-node-0..N-1 and the
// process count changes nothing else in the bench.

import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rssMb, startChild, type Child } from './child';

/** Nodes per process by default: at 500 one process stalled about 2 s, under the Lease's 40 s by far. */
export const NODES_PER_HOLLOW_PROCESS = 500;

/** Nodes registering at once over all processes, `tsk hollow-nodes`' own default: the server sees the same start whatever K. */
const START_CONCURRENCY = 50;

/** One process per NODES_PER_HOLLOW_PROCESS nodes, at least one. */
export function defaultHollowProcesses(nodes: number): number {
  return Math.max(1, Math.ceil(nodes / NODES_PER_HOLLOW_PROCESS));
}

/** The nodes of one process: hollow-node-<offset> onwards, count of them. */
export interface NodeRange {
  readonly offset: number;
  readonly count: number;
}

/** `nodes` split into `processes` contiguous ranges whose sizes differ by at most one. */
export function splitNodes(nodes: number, processes: number): NodeRange[] {
  const k = Math.max(1, Math.min(processes, nodes));
  return Array.from({ length: k }, (_, i) => {
    const offset = Math.floor((i * nodes) / k);
    return { offset, count: Math.floor(((i + 1) * nodes) / k) - offset };
  });
}

/** What `tsk hollow-nodes` prints once its nodes run: its JSON line. */
export interface HollowReport {
  readonly nodes: number;
  readonly rss_mb: number;
  /** RSS grown by starting the nodes, per node. */
  readonly rss_per_node_kib: number;
}

/** The report line in a hollow process's output, undefined before it printed one. */
export function parseHollowReport(output: string): HollowReport | undefined {
  const line = /^\{"nodes".*\}$/m.exec(output)?.[0];
  return line === undefined ? undefined : (JSON.parse(line) as HollowReport);
}

/**
 * The longest event-loop stall a hollow process reported (it logs only
 * those of 2 s or more, per 30 s window), in seconds; 0 when none was.
 */
export function hollowMaxStallS(output: string): number {
  let max = 0;
  for (const m of output.matchAll(/event loop stalled up to ([\d.]+) s/g)) max = Math.max(max, Number(m[1]));
  return max;
}

/** The start-up RSS per node over every process: the sum of what each grew by, over all nodes. */
export function startRssPerNodeKib(reports: readonly HollowReport[]): number {
  const nodes = reports.reduce((n, r) => n + r.nodes, 0);
  return Math.round(reports.reduce((kib, r) => kib + r.rss_per_node_kib * r.nodes, 0) / Math.max(1, nodes));
}

export interface HollowFleetOptions {
  readonly nodes: number;
  readonly processes: number;
  readonly kubeconfig: string;
  readonly server: string;
  /** Process i keeps its kubelets' state in DIR/hollow-<i>. */
  readonly dir: string;
  readonly proxies: boolean;
  readonly cpuProfDir: string | undefined;
  readonly logDir: string | undefined;
  /** Every process is added here as it starts, so the bench's scope stops it whatever happens next. */
  readonly group: ChildProcess[];
  /** The nodes' own tokens (writeNodeTokens), so each acts as its kubelet would; absent: the kubeconfig's user. */
  readonly nodeTokenFile?: string;
  /**
   * The hollow processes' niceness. They are the load, not the system
   * measured: kubemark runs them on machines of their own, and here, at the
   * same priority, ten of them took 1.7 of the 2 cores while the API server
   * they queue on got a fifth of one.
   */
  readonly nice?: number;
}

/**
 * A --token-auth-file giving hollow-node-0..N-1 each its own identity
 * (system:node:NAME in system:nodes), for the server and `tsk hollow-nodes
 * --node-token-file`: kubemark's hollow kubelets have theirs, and an admin
 * identity would put every heartbeat in priority and fairness' exempt level.
 */
export function writeNodeTokens(path: string, nodes: number, prefix = 'hollow-node-'): void {
  const lines = Array.from({ length: nodes }, (_, i) => `${randomBytes(16).toString('hex')},system:node:${prefix}${i},${prefix}${i},system:nodes`);
  writeFileSync(path, lines.join('\n') + '\n', { mode: 0o600 });
}

/** The running hollow processes and the figures read from all of them. */
export class HollowFleet {
  private constructor(readonly processes: readonly Child[]) {}

  /**
   * Starts one `tsk hollow-nodes` per range of splitNodes, named
   * hollow-nodes-<i> (its log DIR/hollow-nodes-<i>.log, its V8 log
   * hollow-nodes-<i>.v8.log), each with its own data directory.
   */
  static start(o: HollowFleetOptions): HollowFleet {
    const ranges = splitNodes(o.nodes, o.processes);
    const processes = ranges.map((r, i) => {
      const p = startChild(
        [
          'hollow-nodes',
          '--count',
          String(r.count),
          '--name-offset',
          String(r.offset),
          '--start-concurrency',
          String(Math.ceil(START_CONCURRENCY / ranges.length)),
          '--kubeconfig',
          o.kubeconfig,
          '--server',
          o.server,
          '--data-dir',
          join(o.dir, `hollow-${i}`),
          `--proxy=${o.proxies}`,
          ...(o.nodeTokenFile === undefined ? [] : ['--node-token-file', o.nodeTokenFile]),
        ],
        o.cpuProfDir,
        { logDir: o.logDir, name: `hollow-nodes-${i}`, ...(o.nice ? { nice: o.nice } : {}) },
      );
      o.group.push(p.child);
      return p;
    });
    return new HollowFleet(processes);
  }

  /** Resolves when every process reported its nodes running; rejects when one exits or the time is up. */
  async untilUp(timeoutMs: number): Promise<HollowReport[]> {
    await Promise.all(this.processes.map((p) => p.until(/"rss_per_node_kib"/, timeoutMs)));
    return this.processes.map((p, i) => {
      const r = parseHollowReport(p.out());
      if (r === undefined) throw new Error(`tsk hollow-nodes-${i} printed no report line`);
      return r;
    });
  }

  /** A message naming the first process that has exited, undefined while all run. */
  exited(): string | undefined {
    const i = this.processes.findIndex((p) => p.child.exitCode !== null || p.child.signalCode !== null);
    const p = this.processes[i];
    return p === undefined ? undefined : `tsk hollow-nodes-${i} exited (${p.child.exitCode ?? p.child.signalCode}):\n${p.out().slice(-3000)}`;
  }

  /** The processes' RSS summed, MB. */
  rssMb(): number {
    return this.processes.reduce((mb, p) => mb + rssMb(p.child.pid), 0);
  }

  /** The longest event-loop stall any process reported, s (0: none of 2 s or more). */
  maxStallS(): number {
    return Math.max(0, ...this.processes.map((p) => hollowMaxStallS(p.out())));
  }
}
