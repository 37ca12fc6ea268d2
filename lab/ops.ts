// The faults the chaos suite injects into a lab (issue 9): `tsk lab kill`
// (kill -9 of a server or of a node's agent), `tsk lab start` (the same
// command line again, in the same namespace, appending to the same log),
// `tsk lab partition` and `tsk lab heal` (a machine cut off the lab network
// and reconnected). Each reads the lab's state, checks the machine is in a
// state the operation applies to, acts, and records the result.

import { errorMessage } from '../util/errors';
import { execRunner, type CommandRunner } from './net';
import { agentEnv, readLabStateOf, writeLabState, type LabState } from './lab';
import { checkHeal, checkKill, checkPartition, checkStart, findMachine, LabOpError, linkCut, replaceMachine, type MachineRecord } from './machines';
import { freezeProcess, isRunning, killProcess, startDetached } from './processes';
import { planLab, type LabPlan } from './topology';

interface Loaded {
  dir: string;
  state: LabState;
  plan: LabPlan;
  machine: MachineRecord;
}

async function load(lab: string, dataDir: string, machine: string): Promise<Loaded> {
  const { dir, state } = await readLabStateOf(lab, dataDir);
  if (!state) throw new LabOpError(`lab "${lab}" does not exist; create it with: tsk lab up --name ${lab}`);
  return { dir, state, plan: planLab(state.input), machine: findMachine(state.machines, machine) };
}

async function save(l: Loaded, next: MachineRecord): Promise<LabState> {
  const state = { ...l.state, machines: replaceMachine(l.state.machines, next) };
  await writeLabState(l.dir, state);
  return state;
}

/** Kills (SIGKILL) the machine's component: a node's agent (its pods' containers run on, their shims being detached) or a server (its embedded etcd dies with it, by its parent-death signal). */
export async function killMachine(lab: string, dataDir: string, machine: string, log: (line: string) => void): Promise<void> {
  const l = await load(lab, dataDir, machine);
  checkKill(l.machine, isRunning(l.machine.process));
  await killProcess(l.machine.process);
  await save(l, { ...l.machine, killed: true });
  log(`${l.machine.name}: killed (pid ${l.machine.process.pid})`);
}

/** Starts the machine's component again with the command line and namespace it was first started with, its output appended to the same log. */
export async function startMachine(lab: string, dataDir: string, machine: string, log: (line: string) => void): Promise<void> {
  const l = await load(lab, dataDir, machine);
  const m = l.machine;
  checkStart(m, isRunning(m.process));
  const env = m.role === 'agent' ? await agentEnv(l.plan) : process.env;
  const started = startDetached(m.name, m.argv, m.log, m.netns, env);
  await save(l, { ...m, process: started, killed: false });
  log(`${m.name}: started (pid ${started.pid}, log ${m.log})`);
}

/** The command that takes a machine's switch port down (cut) or up: its veth on the lab bridge, in the switch namespace. A one-server lab's server has none. */
export function switchPortCommand(plan: LabPlan, machine: string, cut: boolean): string[] | undefined {
  const port = plan.nodes.find((x) => x.name === machine)?.switchPort ?? plan.servers.find((x) => x.name === machine)?.ha?.switchPort;
  return port ? ['ip', '-n', plan.switchNetns, 'link', 'set', port, cut ? 'down' : 'up'] : undefined;
}

/** Stops or continues every node's link to the API server as the recorded partitions say. Idempotent. */
function applyLinks(state: LabState): void {
  for (const m of state.machines) if (m.link) freezeProcess(m.link, linkCut(state.machines, m));
}

async function setPartitioned(lab: string, dataDir: string, machine: string, cut: boolean, run: CommandRunner): Promise<MachineRecord> {
  const l = await load(lab, dataDir, machine);
  if (cut) checkPartition(l.machine);
  else checkHeal(l.machine);
  const port = switchPortCommand(l.plan, l.machine.name, cut);
  if (port) await run(port).catch((err: unknown) => Promise.reject(new Error(`${l.machine.name}: ${errorMessage(err)}`, { cause: err })));
  applyLinks(await save(l, { ...l.machine, partitioned: cut }));
  return l.machine;
}

/** Cuts the machine off the lab network: a node's port on the lab bridge goes down and its link to the API server stops; a server's links to every node stop. */
export async function partitionMachine(
  lab: string,
  dataDir: string,
  machine: string,
  log: (line: string) => void,
  run: CommandRunner = execRunner,
): Promise<void> {
  const m = await setPartitioned(lab, dataDir, machine, true, run);
  log(`${m.name}: partitioned (cut off the lab network)`);
}

/** Reconnects a partitioned machine. */
export async function healMachine(lab: string, dataDir: string, machine: string, log: (line: string) => void, run: CommandRunner = execRunner): Promise<void> {
  const m = await setPartitioned(lab, dataDir, machine, false, run);
  log(`${m.name}: healed (back on the lab network)`);
}
