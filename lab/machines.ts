// The lab's process table: one record per machine (server-1..N, node-1..M),
// each with the command line it was started with, so `tsk lab kill` and
// `tsk lab start` can stop and restart exactly that, and the faults the chaos
// suite injected into it (killed, partitioned), so `tsk lab down` and `status`
// know them. The functions here are pure; lab.ts and ops.ts act on them.

import type { ProcessRecord } from './processes';

export type MachineRole = 'server' | 'agent';

export interface MachineRecord {
  /** As `tsk lab status` shows it and `tsk lab kill|start|partition|heal` take it. */
  readonly name: string;
  readonly role: MachineRole;
  /** The command line it was started with: `tsk lab start` runs exactly this again. */
  readonly argv: readonly string[];
  /** The network namespace it runs in; none for a server, which runs in the host's. */
  readonly netns?: string;
  /** Its address on the lab network (a node's), or the API address on the host (a server's). */
  readonly address: string;
  /** Its output, appended to by every start. */
  readonly log: string;
  /** The process last started; killed or exited when not running. */
  readonly process: ProcessRecord;
  /** Killed with `tsk lab kill` (and not started since). */
  readonly killed: boolean;
  /** Cut off the lab network with `tsk lab partition` (and not healed since). */
  readonly partitioned: boolean;
  /**
   * A node's link to the API server: a relay (`tsk lab relay`) from the node's
   * socket to the server's, stopped with SIGSTOP while the link is cut, so the
   * agent's requests hang and time out as they do when a network drops packets.
   */
  readonly link?: ProcessRecord;
}

/** A `tsk lab` operation refused for what the user asked (unknown machine, wrong state): one line, exit code 1. */
export class LabOpError extends Error {}

/** The machine of that name, or a LabOpError listing the valid names. */
export function findMachine(machines: readonly MachineRecord[], name: string): MachineRecord {
  const m = machines.find((x) => x.name === name);
  if (m) return m;
  const names = machines.map((x) => x.name).join(', ');
  throw new LabOpError(`unknown machine "${name}"; the lab's machines are: ${names || '(none)'}`);
}

/** The table with one record replaced (matched by name). */
export function replaceMachine(machines: readonly MachineRecord[], next: MachineRecord): MachineRecord[] {
  return machines.map((m) => (m.name === next.name ? next : m));
}

/**
 * Whether a node's link to the API server is cut: when the node is
 * partitioned, or when any server is (a server cut off the lab network is
 * reachable from no node; the host, where the user's tsctl runs, still reaches it).
 */
export function linkCut(machines: readonly MachineRecord[], node: MachineRecord): boolean {
  return node.partitioned || machines.some((m) => m.role === 'server' && m.partitioned);
}

export type MachineState = 'running' | 'killed' | 'exited' | 'partitioned' | 'killed, partitioned' | 'exited, partitioned';

/** What `tsk lab status` shows: killed by the lab, exited on its own, or running; and partitioned. */
export function machineState(m: MachineRecord, running: boolean): MachineState {
  const life = m.killed ? 'killed' : running ? 'running' : 'exited';
  if (!m.partitioned) return life;
  return life === 'running' ? 'partitioned' : `${life}, partitioned`;
}

/** Refuses a kill of a machine that is not running, naming why. */
export function checkKill(m: MachineRecord, running: boolean): void {
  if (m.killed) throw new LabOpError(`${m.name} is already killed; start it with: tsk lab start ${m.name}`);
  if (!running) throw new LabOpError(`${m.name} is not running (it exited; see ${m.log}); start it with: tsk lab start ${m.name}`);
}

/** Refuses a start of a machine that runs. */
export function checkStart(m: MachineRecord, running: boolean): void {
  if (running) throw new LabOpError(`${m.name} is already running (pid ${m.process.pid})`);
}

export function checkPartition(m: MachineRecord): void {
  if (m.partitioned) throw new LabOpError(`${m.name} is already partitioned; reconnect it with: tsk lab heal ${m.name}`);
}

export function checkHeal(m: MachineRecord): void {
  if (!m.partitioned) throw new LabOpError(`${m.name} is not partitioned`);
}
