// tsk lab up / down / status: a local multi-node cluster (like kind) made of
// tsk's own processes: the server (API server with its embedded etcd,
// scheduler, controllers) in the host namespace listening on loopback and
// on a unix socket, and one agent per node inside the node's network
// namespace, reaching the API through that socket by its own link (relay.ts).
// With --servers N (HA) every server runs in a namespace of its own on the lab
// bridge, the agents reach them over the lab network, and the host through
// each server's unix socket (the lab's kubeconfig names them all).
// Every process is a record of the lab's process table (machines.ts) in its
// state file, which `tsk lab kill|start|partition|heal` (ops.ts) change.

import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile, rename } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  adminConfigPath,
  Clientset,
  defaultConfigPath,
  readClientConfig,
  resolveClient,
  upsertContext,
  writeClientConfig,
  writeKubeconfig,
  type ContextEntry,
} from '../client';
import { createLabNetwork, removeLabNetwork } from './net';
import { freezeProcess, isRunning, killProcess, logTail, startDetached, stopProcess, type ProcessRecord } from './processes';
import { machineState, replaceMachine, type MachineRecord, type MachineState } from './machines';
import { planLab, type LabNode, type LabPlan, type LabServer, type LabServerMachine, type PlanInput } from './topology';
import { errorMessage } from '../util/errors';
import { durationMs } from '../util/flags';
import { freePort } from '../util/free-port';
import { stopStaleEtcd } from '../util/etcd-process';

export interface LabUpOptions extends PlanInput {
  /** The API server's TCP address for users on the host (tsctl), e.g. 127.0.0.1:6443. */
  address: string;
  /** The server's /healthz, /readyz, /metrics address on the host. */
  httpAddress: string;
  /** How to run tsk: e.g. [node, /path/to/dist/cmd/tsk.js]. */
  tsk: readonly string[];
  /** Every agent's --pod-network-backend; default the agent's, vxlan. */
  podNetworkBackend?: 'vxlan' | 'host-gw' | undefined;
  /** Every agent's --resolv-conf (the cluster DNS's upstreams); default the agent's, /etc/resolv.conf. */
  resolvConf?: string | undefined;
  /** The server's --node-monitor-grace-period (e.g. 10s): how long a silent node stays Ready. */
  nodeMonitorGracePeriod?: string | undefined;
  /** How long to wait for the server and for every node to be Ready; default 120 s. */
  timeoutMs?: number;
  log: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  /** Removes what the runtime of a node left (containers, sandboxes, cgroups) once its agent is stopped. */
  cleanupNode: (node: LabNode) => Promise<void>;
}

export interface LabState {
  readonly input: PlanInput;
  readonly address: string;
  readonly httpAddress: string;
  /** The process table: servers first, then nodes, in the order they were started. */
  readonly machines: readonly MachineRecord[];
  readonly createdAt: string;
  /** An HA lab's relays of server-1's REST API to the host's loopback (startHaRest). */
  readonly restRelays?: readonly ProcessRecord[];
}

const STATE = 'state.json';

export async function readLabState(dir: string): Promise<LabState | undefined> {
  try {
    const state = JSON.parse(await readFile(`${dir}/${STATE}`, 'utf8')) as Partial<LabState> &
      Pick<LabState, 'input' | 'address' | 'httpAddress' | 'createdAt'>;
    // A state written before the lab kept a process table has no machines to act on.
    return { ...state, machines: state.machines ?? [] };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`${dir}/${STATE}: ${errorMessage(err)}`, { cause: err });
  }
}

/** The state file of lab `name` under dataDir (<dataDir>/lab/<name>); undefined when the lab does not exist. */
export async function readLabStateOf(name: string, dataDir: string): Promise<{ dir: string; state: LabState | undefined }> {
  const dir = planLab({ name, nodes: 1, dataDir, network: '172.30.0.0/24' }).dir;
  return { dir, state: await readLabState(dir) };
}

export async function writeLabState(dir: string, state: LabState): Promise<void> {
  await writeFile(`${dir}/${STATE}.tmp`, JSON.stringify(state, null, 1));
  await rename(`${dir}/${STATE}.tmp`, `${dir}/${STATE}`);
}

/** A failure no wait can mend (a process exited): waitFor rethrows it at once. */
class FatalError extends Error {}

async function waitFor(what: string, timeoutMs: number, log: (l: string) => void, check: () => Promise<string | true>): Promise<void> {
  const start = Date.now();
  let lastReport = start;
  for (;;) {
    const r = await check().catch((err: unknown) => {
      if (err instanceof FatalError) throw err;
      return errorMessage(err);
    });
    if (r === true) return;
    const last = r;
    const now = Date.now();
    if (now - start > timeoutMs) throw new Error(`${what}: not done after ${Math.round(timeoutMs / 1000)}s (${last})`);
    if (now - lastReport >= 5000) {
      log(`    waiting for ${what}: ${last} (${Math.round((now - start) / 1000)}s)`);
      lastReport = now;
    }
    await sleep(250);
  }
}

function serverArgv(o: LabUpOptions, plan: LabPlan): string[] {
  return [
    ...o.tsk,
    'server',
    '--data-dir',
    plan.serverDataDir,
    '--address',
    `${o.address},unix:${plan.apiSocket}`,
    '--http-address',
    o.httpAddress,
    '--service-cidr',
    plan.serviceCidr,
    // The lab's own context in the user's client config, as kind's "kind-NAME".
    '--cluster-name',
    labContextName(o.name),
    ...(o.nodeMonitorGracePeriod !== undefined ? ['--node-monitor-grace-period', o.nodeMonitorGracePeriod] : []),
  ];
}

/** The admin kubeconfig `tsk server` writes for kubectl (its --write-kubeconfig default) in a one-server lab. */
export function labKubectlConfig(plan: Pick<LabPlan, 'serverDataDir'>): string {
  return `${plan.serverDataDir}/admin.kubeconfig`;
}

export function labContextName(labName: string): string {
  return `lab-${labName}`;
}

/** The API port every server of an HA lab listens on, in its own namespace (k3s's 6443). */
const HA_API_PORT = 6443;

/** The URL the other machines reach an HA server on. */
function haServerUrl(m: LabServerMachine): string {
  return `https://${m.ip}:${HA_API_PORT}`;
}

/**
 * A server of an HA lab, in its namespace: server-1 starts the etcd cluster
 * (--cluster-init), the others join it through server-1 with the server token
 * (--token: tsk server reads no $TSK_TOKEN; the state file holding this command
 * line is in the lab's directory, mode 0700). Besides its lab address, each listens
 * on a unix socket, the host's way in: the host has no route into the lab.
 */
export function haServerArgv(o: Pick<LabUpOptions, 'tsk' | 'name' | 'nodeMonitorGracePeriod'>, plan: LabPlan, server: LabServer, token: string): string[] {
  const m = server.ha;
  const first = plan.servers[0]?.ha;
  if (!m || !first) throw new Error(`${server.name} is not a server of an HA lab`);
  return [
    ...o.tsk,
    'server',
    '--data-dir',
    server.dataDir,
    '--address',
    `${m.ip}:${HA_API_PORT},unix:${m.apiSocket}`,
    '--http-address',
    `${m.ip}:6080`,
    '--advertise-address',
    m.ip,
    '--service-cidr',
    plan.serviceCidr,
    '--cluster-name',
    labContextName(o.name),
    // The lab writes the context itself, with every server's socket (writeHaKubeconfig).
    '--write-config=false',
    ...(m === first ? ['--cluster-init'] : ['--server', haServerUrl(first), '--token', token]),
    ...(o.nodeMonitorGracePeriod !== undefined ? ['--node-monitor-grace-period', o.nodeMonitorGracePeriod] : []),
  ];
}

/**
 * The command line `tsk lab start` runs for an HA server that has joined: the
 * same without --server and --token. A restarted member finds its member file
 * and etcd data and starts as the member it was (apiserver/ha/plan.ts), so it
 * needs neither server-1 (which may be the one down) nor the token, which then
 * stays out of the state file.
 */
export function haRestartArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--server' || a === '--token') i++;
    else out.push(a);
  }
  return out;
}

/** Every server of an HA lab as an agent's --server flags: the agent fails over between them. */
export function haAgentServerFlags(plan: LabPlan): string[] {
  return plan.servers.flatMap((s) => (s.ha ? ['--server', haServerUrl(s.ha)] : []));
}

/** The lab's kubeconfig of an HA lab: server-1's socket first, the others' as `servers:` (tsctl fails over to them). */
export function haKubeconfigPath(plan: LabPlan): string {
  return `${plan.dir}/kubeconfig`;
}

function agentArgv(o: LabUpOptions, plan: LabPlan, node: LabNode): string[] {
  const ha = plan.servers.length > 1;
  return [
    ...o.tsk,
    'agent',
    ...(ha ? haAgentServerFlags(plan) : ['--server', `unix:${node.apiSocket}`]),
    '--hostname-override',
    node.name,
    '--node-ip',
    node.ip,
    '--data-dir',
    node.dataDir,
    '--cgroup-root',
    node.cgroupRoot,
    // The proxy's /metrics on the node's lab address, as on a VM, so a Prometheus in the lab finds every proxy (manifests/prometheus).
    '--proxy-http-address',
    `${node.ip}:10256`,
    ...(o.resolvConf !== undefined ? ['--resolv-conf', o.resolvConf] : []),
    ...(o.podNetworkBackend !== undefined ? ['--pod-network-backend', o.podNetworkBackend] : []),
    ...(o.nodeMonitorGracePeriod !== undefined ? ['--node-lease-duration-seconds', String(nodeLeaseSecondsFor(o.nodeMonitorGracePeriod))] : []),
  ];
}

/**
 * The agents' Lease duration for a server's --node-monitor-grace-period: the
 * grace itself, so a node renews four times per grace period, as with
 * Kubernetes' defaults (40 s, renewed every 10 s).
 */
export function nodeLeaseSecondsFor(grace: string): number {
  return Math.max(1, Math.floor(durationMs('node-monitor-grace-period', grace) / 1000));
}

function relayArgv(o: LabUpOptions, plan: LabPlan, node: LabNode): string[] {
  return [...o.tsk, 'lab', 'relay', node.apiSocket, plan.apiSocket];
}

/** The environment an agent starts with: the server's join token as TSK_TOKEN (k3s's K3S_TOKEN), read from the server's data directory, so it is not on command lines nor in the state file. */
export async function agentEnv(plan: LabPlan, env: NodeJS.ProcessEnv = process.env): Promise<NodeJS.ProcessEnv> {
  const token = (await readFile(`${plan.serverDataDir}/token`, 'utf8')).trim();
  return { ...env, TSK_TOKEN: token };
}

/** Waits until the relay of a node listens (its socket file exists). */
async function waitForLink(link: ProcessRecord, socket: string): Promise<void> {
  await waitFor(
    `${link.what} to listen`,
    10_000,
    () => undefined,
    async () => {
      if (!isRunning(link)) throw new FatalError(`${link.what} exited; its log:\n${logTail(link.log)}`);
      return existsSync(socket) ? true : `no ${socket} yet`;
    },
  );
}

function readyNodes(nodes: readonly { metadata?: { name?: string }; status?: { conditions?: { type?: string; status?: string }[] } }[]): string[] {
  return nodes.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).map((n) => n.metadata?.name ?? '');
}

/** Starts a node's link (relay) to the one server's socket and waits until it listens. */
async function startLink(o: LabUpOptions, plan: LabPlan, node: LabNode): Promise<ProcessRecord> {
  const link = startDetached(`the link of ${node.name}`, relayArgv(o, plan, node), `${node.dataDir}/link.log`, undefined, o.env);
  try {
    await waitForLink(link, node.apiSocket);
  } catch (err) {
    await killProcess(link);
    throw err;
  }
  return link;
}

/** The one server of a one-server lab, in the host's namespace; recorded in the state, and ready. */
async function startServer(o: LabUpOptions, plan: LabPlan, state: LabState, timeoutMs: number): Promise<LabState> {
  o.log(`==> server: API on ${o.address} and unix:${plan.apiSocket} (log ${plan.dir}/server.log)`);
  const server1 = plan.servers[0];
  if (!server1) throw new Error('the lab plan has no server');
  const argv = serverArgv(o, plan);
  const log = `${plan.dir}/server.log`;
  const server = startDetached(server1.name, argv, log, undefined, o.env);
  const record: MachineRecord = { name: server1.name, role: 'server', argv, address: o.address, log, process: server, killed: false, partitioned: false };
  const next = { ...state, machines: [record] };
  await writeLabState(plan.dir, next);
  await waitFor('the server to be ready', timeoutMs, o.log, async () => {
    if (!isRunning(server)) throw new FatalError(`the server exited; its log:\n${logTail(server.log)}`);
    const res = await fetch(`http://${o.httpAddress}/readyz`, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) return `readyz ${res.status}`;
    // The agents' credential: written just after the API server starts serving.
    return existsSync(adminConfigPath(plan.serverDataDir)) ? true : 'admin.conf not written yet';
  });
  return next;
}

/**
 * The servers of an HA lab, one after another as k3s's are: server-1 starts
 * the cluster; each next one joins once the one before answers on its socket.
 * Once all run, the lab's kubeconfig names every server's socket.
 */
async function startHaServers(o: LabUpOptions, plan: LabPlan, state: LabState, timeoutMs: number): Promise<LabState> {
  let next = state;
  for (const server of plan.servers) {
    const m = server.ha;
    if (!m) throw new Error(`${server.name}: not planned as a server of an HA lab`);
    await mkdir(server.dataDir, { recursive: true, mode: 0o700 });
    const log = `${plan.dir}/${server.name}.log`;
    o.log(`==> server ${server.name}: ${m.ip} in ${m.netns}, API also on unix:${m.apiSocket} (log ${log})`);
    const token = server === plan.servers[0] ? '' : (await readFile(`${plan.serverDataDir}/token`, 'utf8')).trim();
    const argv = haServerArgv(o, plan, server, token);
    const proc = startDetached(server.name, argv, log, m.netns, o.env);
    const record: MachineRecord = {
      name: server.name,
      role: 'server',
      argv,
      netns: m.netns,
      address: m.ip,
      log,
      process: proc,
      killed: false,
      partitioned: false,
    };
    next = { ...next, machines: [...next.machines, record] };
    await writeLabState(plan.dir, next);
    await waitFor(`${server.name} to be ready`, timeoutMs, o.log, async () => {
      if (!isRunning(proc)) throw new FatalError(`${server.name} exited; its log:\n${logTail(log)}`);
      return haServerAnswers(plan, m);
    });
    next = { ...next, machines: replaceMachine(next.machines, { ...record, argv: haRestartArgv(argv) }) };
    await writeLabState(plan.dir, next);
  }
  await writeHaKubeconfig(o, plan);
  return next;
}

/** The REST API's port beside an HA server's 6443 (apiserver's default). */
const REST_PORT = 6444;

/** kubectl's kubeconfig of an HA lab: server-1's REST API relayed to the host's loopback. */
export function haKubectlConfigPath(plan: Pick<LabPlan, 'dir'>): string {
  return `${plan.dir}/kubectl.kubeconfig`;
}

/**
 * Makes server-1's REST API (on its lab address, port 6444, inside its
 * namespace, where the host has no route) reachable on a free port of the
 * host's loopback for kubectl: a relay in server-1's namespace from a unix
 * socket of the lab's directory to the API, and one on the host from the
 * loopback port to that socket. When a relay cannot start the lab goes on
 * without it (with a note): kubectl is a convenience.
 */
async function startHaRest(o: LabUpOptions, plan: LabPlan, state: LabState): Promise<LabState> {
  const m = plan.servers[0]?.ha;
  if (!m) return state;
  // A free loopback port: two labs (or tests) on one host must not collide.
  const hostPort = await freePort();
  const socket = `${plan.dir}/${plan.servers[0]?.name ?? 'server-1'}-rest.sock`;
  const inside = startDetached(
    `the REST relay of ${plan.servers[0]?.name ?? 'server-1'}`,
    [...o.tsk, 'lab', 'relay', socket, `tcp:${m.ip}:${REST_PORT}`],
    `${plan.dir}/rest-relay.log`,
    m.netns,
    o.env,
  );
  const relays: ProcessRecord[] = [inside];
  try {
    await waitForLink(inside, socket);
    const host = startDetached(
      'the REST relay on the host',
      [...o.tsk, 'lab', 'relay', `tcp:127.0.0.1:${hostPort}`, socket],
      `${plan.dir}/rest-relay-host.log`,
      undefined,
      o.env,
    );
    relays.push(host);
    await sleep(500);
    if (!isRunning(host)) throw new Error(`it exited; its log:\n${logTail(host.log)}`);
    const admin = await readClientConfig(adminConfigPath(plan.serverDataDir));
    const base = admin?.contexts.find((c) => c.name === admin.currentContext) ?? admin?.contexts[0];
    if (!base?.caPem || !base.certPem || !base.keyPem) throw new Error(`${adminConfigPath(plan.serverDataDir)} has no admin certificate`);
    await writeKubeconfig(haKubectlConfigPath(plan), {
      name: labContextName(o.name),
      server: `https://127.0.0.1:${hostPort}`,
      caPem: base.caPem,
      certPem: base.certPem,
      keyPem: base.keyPem,
    });
    return { ...state, restRelays: relays };
  } catch (err) {
    for (const r of relays) await killProcess(r);
    o.log(`==> kubectl: server-1's REST API is not relayed to the host: ${errorMessage(err)}`);
    return state;
  }
}

/** Whether an HA server answers on its socket with server-1's admin credential (one CA for the whole cluster). */
async function haServerAnswers(plan: LabPlan, m: LabServerMachine): Promise<string | true> {
  if (!existsSync(adminConfigPath(plan.serverDataDir))) return 'admin.conf not written yet';
  if (!existsSync(m.apiSocket)) return `no ${m.apiSocket} yet`;
  const target = await resolveClient({ kubeconfig: adminConfigPath(plan.serverDataDir), server: `unix:${m.apiSocket}` });
  const cs = new Clientset(target.server, target.credentials);
  try {
    await cs.nodes.list();
    return true;
  } finally {
    cs.close();
  }
}

/** Writes <lab>/kubeconfig (server-1's socket first, the others' as `servers:`) and the same context into the user's client config. */
async function writeHaKubeconfig(o: LabUpOptions, plan: LabPlan): Promise<void> {
  const admin = await readClientConfig(adminConfigPath(plan.serverDataDir));
  const base = admin?.contexts.find((c) => c.name === admin.currentContext) ?? admin?.contexts[0];
  if (!base) throw new Error(`${adminConfigPath(plan.serverDataDir)}: no context`);
  const sockets = plan.servers.flatMap((s) => (s.ha ? [`unix:${s.ha.apiSocket}`] : []));
  const entry: ContextEntry = { ...base, name: labContextName(o.name), server: sockets[0] ?? base.server, servers: sockets.slice(1) };
  await writeClientConfig({ currentContext: entry.name, contexts: [entry] }, haKubeconfigPath(plan));
  const user = defaultConfigPath(o.env ?? process.env);
  await upsertContext(entry, user);
  o.log(`==> wrote ${haKubeconfigPath(plan)} and context "${entry.name}" in ${user} (servers ${sockets.join(', ')})`);
}

/** Brings a lab up; on any failure it takes down what it started and rethrows. */
export async function upLab(o: LabUpOptions): Promise<LabState> {
  const plan = planLab(o);
  const existing = await readLabState(plan.dir);
  if (existing?.machines.some((m) => m.role === 'server' && isRunning(m.process)))
    throw new Error(`lab "${o.name}" is already up; take it down with: tsk lab down --name ${o.name}`);
  if (existing) await downLab({ name: o.name, dataDir: o.dataDir, log: o.log, cleanupNode: o.cleanupNode });
  await mkdir(plan.dir, { recursive: true, mode: 0o700 });
  let state: LabState = {
    input: {
      name: o.name,
      nodes: o.nodes,
      servers: plan.servers.length,
      dataDir: o.dataDir,
      network: o.network,
      ...(o.subnets !== undefined ? { subnets: o.subnets } : {}),
    },
    // An HA lab's servers are reached from the host on their sockets (server-1's first; the kubeconfig names all).
    address: plan.servers[0]?.ha ? `unix:${plan.servers[0].ha.apiSocket}` : o.address,
    httpAddress: o.httpAddress,
    machines: [],
    createdAt: new Date().toISOString(),
  };
  await writeLabState(plan.dir, state);
  const timeoutMs = o.timeoutMs ?? 120_000;
  try {
    const nets = plan.subnets.map((n) => `${n.base}/${n.prefix}`).join(', ');
    o.log(
      `==> network: switch ${plan.switchNetns}, ${plan.nodes.length} node namespace(s) on ${nets}` +
        (plan.routerNetns ? `, routed by ${plan.routerNetns}` : ''),
    );
    await createLabNetwork(plan);
    state = plan.servers.length > 1 ? await startHaServers(o, plan, state, timeoutMs) : await startServer(o, plan, state, timeoutMs);
    if (plan.servers.length > 1) {
      state = await startHaRest(o, plan, state);
      await writeLabState(plan.dir, state);
    }
    // The agents join as a node on a VM does: with the server's token.
    const env = await agentEnv(plan, o.env);
    const agents: ProcessRecord[] = [];
    for (const node of plan.nodes) {
      await mkdir(node.dataDir, { recursive: true, mode: 0o700 });
      o.log(`==> node ${node.name}: ${node.ip} in ${node.netns} (log ${node.dataDir}/agent.log)`);
      const argv = agentArgv(o, plan, node);
      const log = `${node.dataDir}/agent.log`;
      // An HA lab's agents reach the servers over the lab network; a one-server lab's through their link.
      const link = plan.servers.length > 1 ? undefined : await startLink(o, plan, node);
      let agent: ProcessRecord;
      try {
        agent = startDetached(node.name, argv, log, node.netns, env);
      } catch (err) {
        // Not in the state file yet: down would not find it.
        if (link) await killProcess(link);
        throw err;
      }
      agents.push(agent);
      const record: MachineRecord = {
        name: node.name,
        role: 'agent',
        argv,
        netns: node.netns,
        address: node.ip,
        log,
        process: agent,
        killed: false,
        partitioned: false,
        ...(link ? { link } : {}),
      };
      state = { ...state, machines: [...state.machines, record] };
      await writeLabState(plan.dir, state);
    }
    const target =
      plan.servers.length > 1
        ? await resolveClient({ kubeconfig: haKubeconfigPath(plan) })
        : await resolveClient({ kubeconfig: adminConfigPath(plan.serverDataDir), server: o.address });
    const cs = new Clientset(target.server, target.credentials);
    try {
      await waitFor(`${plan.nodes.length} node(s) to be Ready`, timeoutMs, o.log, async () => {
        for (const a of agents) if (!isRunning(a)) throw new FatalError(`${a.what} exited; its log:\n${logTail(a.log)}`);
        const ready = readyNodes((await cs.nodes.list()).items ?? []);
        return ready.length >= plan.nodes.length ? true : `${ready.length}/${plan.nodes.length} Ready`;
      });
    } finally {
      cs.close();
    }
    const reach = plan.servers.length > 1 ? `tsctl --kubeconfig ${haKubeconfigPath(plan)}` : `tsctl talks to ${o.address}`;
    o.log(`==> lab "${o.name}" is up: ${plan.servers.length} server(s), ${plan.nodes.length} node(s); ${reach}`);
    // The one server listens in the host's namespace: its REST API (by default beside --address, port 6444) is on loopback;
    // an HA lab's server-1 is relayed there (startHaRest).
    if (plan.servers.length === 1) o.log(`==> kubectl: KUBECONFIG=${labKubectlConfig(plan)} kubectl get nodes`);
    else if ((state.restRelays ?? []).length > 0) o.log(`==> kubectl: KUBECONFIG=${haKubectlConfigPath(plan)} kubectl get nodes`);
    return state;
  } catch (err) {
    o.log(`==> bringing lab "${o.name}" up failed; taking it down`);
    await downLab({ name: o.name, dataDir: o.dataDir, log: () => undefined, cleanupNode: o.cleanupNode }).catch(() => undefined);
    throw err;
  }
}

export interface LabDownOptions {
  name: string;
  dataDir: string;
  log: (line: string) => void;
  cleanupNode: (node: LabNode) => Promise<void>;
}

/** Takes a lab down: agents, the nodes' pods, the server, the network, and the lab's directory. Idempotent. */
export async function downLab(o: LabDownOptions): Promise<void> {
  const dir = planLab({ name: o.name, nodes: 1, dataDir: o.dataDir, network: '172.30.0.0/24' }).dir;
  const state = await readLabState(dir);
  if (!state) {
    o.log(`lab "${o.name}" does not exist (no ${dir}/${STATE})`);
    return;
  }
  const plan = planLab(state.input);
  const agents = state.machines.filter((m) => m.role === 'agent');
  // Links reconnected first, so an agent shuts down as it would on a healthy network.
  for (const a of agents) if (a.link) freezeProcess(a.link, false);
  for (const a of agents) await stopProcess(a.process);
  for (const a of agents) if (a.link) await killProcess(a.link);
  for (const node of plan.nodes) {
    o.log(`==> node ${node.name}: removing its pods`);
    await o.cleanupNode(node);
  }
  for (const r of state.restRelays ?? []) await killProcess(r);
  for (const s of state.machines.filter((m) => m.role === 'server')) {
    o.log(`==> stopping ${s.name}`);
    await stopProcess(s.process, 20_000);
  }
  // A server killed with SIGKILL may have left its embedded etcd behind (pid file checked against its command line).
  for (const s of plan.servers) await stopStaleEtcd(s.dataDir, (msg) => o.log(`==> ${msg}`));
  await removeLabNetwork(plan);
  await rm(plan.dir, { recursive: true, force: true });
  o.log(`==> lab "${o.name}" is down`);
}

export interface MachineStatus {
  readonly name: string;
  readonly role: 'server' | 'agent';
  /** Its network namespace, or "host". */
  readonly namespace: string;
  readonly address: string;
  readonly pid: number;
  readonly state: MachineState;
}

export interface LabStatus {
  readonly name: string;
  readonly address: string;
  readonly machines: readonly MachineStatus[];
}

export async function labStatus(name: string, dataDir: string): Promise<LabStatus | undefined> {
  const { state } = await readLabStateOf(name, dataDir);
  if (!state) return undefined;
  return {
    name,
    address: state.address,
    machines: state.machines.map((m) => ({
      name: m.name,
      role: m.role,
      namespace: m.netns ?? 'host',
      address: m.address,
      pid: m.process.pid,
      state: machineState(m, isRunning(m.process)),
    })),
  };
}

/**
 * Imports image archives (`docker save` tarballs or OCI layouts) into every
 * node's image store, as `kind load image-archive` does, so pods can use
 * images that no registry reachable from the lab holds.
 */
export async function loadImages(
  name: string,
  dataDir: string,
  files: readonly string[],
  log: (line: string) => void,
  importInto: (node: LabNode, file: string) => Promise<string[]>,
): Promise<void> {
  const state = await readLabState(planLab({ name, nodes: 1, dataDir, network: '172.30.0.0/24' }).dir);
  if (!state) throw new Error(`lab "${name}" does not exist; create it with: tsk lab up --name ${name}`);
  for (const node of planLab(state.input).nodes) {
    for (const file of files) {
      const refs = await importInto(node, file);
      log(`node ${node.name}: loaded ${refs.join(', ') || '(untagged image)'} from ${file}`);
    }
  }
}
