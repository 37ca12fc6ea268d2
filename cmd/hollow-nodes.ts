// `tsk hollow-nodes`: start N hollow nodes (the kubelet's, kubelet/hollow),
// each with the real proxy beside it over DiscardingIptables, report what
// they cost, run until SIGINT/SIGTERM, then stop them (their Nodes stay in
// the API, as a stopped kubelet's do) and remove a temporary data directory.

import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { readTokenFile } from '../util/token-file';
import { Clientset, SharedInformerFactory, resolveClient, resolveClusterDNS } from '../client';
import { hollowMachine, startHollowNodes, type HollowCompanion } from '../kubelet';
import { DiscardingIptables, startProxy } from '../proxy';
import { runCommand } from '../util/cli/command';
import { errorMessage } from '../util/errors';
import { onShutdownSignals } from '../util/signals';
import { Turns } from '../util/turns';
import { HOLLOW_HELP, parseHollowFlags, type HollowFlags } from './hollow-flags';

function log(line: string): void {
  console.error(`tsk hollow-nodes: ${line}`);
}

export function main(argv: string[]): Promise<number> {
  return runCommand({ name: 'tsk hollow-nodes', parse: parseHollowFlags, help: HOLLOW_HELP, usageShowsHelp: true, run }, argv);
}

const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);

/** Per-node lines would drown the output at thousands of nodes: only failures and warnings pass. */
function quiet(line: string): void {
  if (/fail|error|warn/i.test(line)) log(line);
}

/**
 * kube-proxy's FullSyncPeriod (an hour): a full sync exists to repair what
 * someone else did to iptables, and a hollow node's iptables hold nothing.
 * Every sync period a full one, with thousands of proxies in one process,
 * was rebuilding every rule of every node twice a minute.
 */
const HOLLOW_FULL_SYNC_PERIOD_MS = 3_600_000;

/**
 * Hollow nodes per HTTP/2 connection. One connection for a thousand nodes
 * made the whole process one client to the server: when thousands of calls
 * reached their deadline together, their stream resets passed nghttp2's
 * per-connection limit (1,000 at once, 33 a second after that, its
 * CVE-2023-44487 mitigation), the server closed the connection with GOAWAY
 * INTERNAL_ERROR, and every call and watch of every node failed at once.
 * Real kubelets have a connection each; 50 nodes a connection keeps the
 * server's connection count modest (100 at 5,000 nodes).
 */
const NODES_PER_CONNECTION = 50;

/** How often the event loop's delay is looked at, and above what it is reported. */
const LOOP_REPORT_MS = 30_000;
const LOOP_STALL_MS = 2_000;

/**
 * Reports when the process's event loop stalled: every kubelet, proxy and
 * connection keepalive of the process waits meanwhile, so a stall shows as
 * late heartbeats (NotReady nodes) and keepalive timeouts (every watch
 * restarted at once).
 */
function watchEventLoop(): { stop(): void } {
  const h = monitorEventLoopDelay({ resolution: 50 });
  h.enable();
  const timer = setInterval(() => {
    const maxMs = h.max / 1e6;
    if (maxMs >= LOOP_STALL_MS)
      log(`event loop stalled up to ${(maxMs / 1000).toFixed(1)} s in the last ${LOOP_REPORT_MS / 1000} s (p99 ${(h.percentile(99) / 1e6).toFixed(0)} ms)`);
    h.reset();
  }, LOOP_REPORT_MS);
  return {
    stop: () => {
      clearInterval(timer);
      h.disable();
    },
  };
}

/** A hollow node's proxy: the real proxier, its rules built and dropped. */
function hollowProxy(
  flags: HollowFlags,
  clientset: Clientset,
  informers: SharedInformerFactory,
  tables: DiscardingIptables[],
): (nodeName: string, nodeIP: string) => Promise<HollowCompanion> {
  // One change wakes every node's proxy at once: their syncs take turns with the process's sockets and timers.
  const turns = new Turns();
  const runSync = (sync: () => Promise<void>): Promise<void> => turns.run(sync);
  return async (nodeName, nodeIP) => {
    const iptables = new DiscardingIptables();
    tables.push(iptables);
    return startProxy({
      clientset,
      informers,
      nodeName,
      nodeIPs: [nodeIP],
      iptables,
      conntrack: { deleteFlows: async () => undefined },
      syncPeriodMs: flags.proxySyncPeriodMs,
      fullSyncPeriodMs: HOLLOW_FULL_SYNC_PERIOD_MS,
      minSyncPeriodMs: flags.proxyMinSyncPeriodMs,
      runSync,
      stopInformers: false,
      log: (line) => quiet(`${nodeName} proxy: ${line}`),
    });
  };
}

/** Kubernetes' node identity: user system:node:NAME in group system:nodes (as client/bootstrap.ts's certificates name it). */
const NODE_USER_PREFIX = 'system:node:';
const GROUP_NODES = 'system:nodes';

/**
 * Each node's clientset with its own bearer token (--node-token-file): the
 * records of users system:node:NAME. Nodes share a connection per
 * NODES_PER_CONNECTION (the token travels with each call), as without it.
 */
async function nodeIdentities(
  file: string,
  server: string,
  caPem: string | undefined,
): Promise<{ clientsetFor: (nodeName: string, index: number) => Clientset; close: () => void }> {
  const tokens = new Map<string, string>();
  for (const r of (await readTokenFile(file)).records) {
    if (r.user.startsWith(NODE_USER_PREFIX) && r.groups.includes(GROUP_NODES)) tokens.set(r.user.slice(NODE_USER_PREFIX.length), r.token);
  }
  const made: Clientset[] = [];
  const clientsetFor = (nodeName: string, index: number): Clientset => {
    const token = tokens.get(nodeName);
    if (token === undefined) throw new Error(`--node-token-file ${file}: no token of user ${NODE_USER_PREFIX}${nodeName} in group ${GROUP_NODES}`);
    const cs = new Clientset(server, { ...(caPem === undefined ? {} : { caPem }), token, connectionGroup: String(Math.floor(index / NODES_PER_CONNECTION)) });
    made.push(cs);
    return cs;
  };
  return { clientsetFor, close: () => made.forEach((cs) => cs.close()) };
}

async function run(flags: HollowFlags): Promise<number> {
  const target = await resolveClient({ server: flags.server, kubeconfig: flags.kubeconfig });
  if (target.warning !== undefined) log(`warning: ${target.warning}`);
  const temporary = flags.dataDir === undefined;
  const dataDir = flags.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'tsk-hollow-')));
  const clientset = new Clientset(target.server, target.credentials);
  const nodeClientsets = Array.from(
    { length: Math.ceil(flags.count / NODES_PER_CONNECTION) },
    () => new Clientset(target.server, { ...target.credentials, ownConnection: true }),
  );
  const own = flags.nodeTokenFile === undefined ? undefined : await nodeIdentities(flags.nodeTokenFile, target.server, target.credentials.caPem);
  const informers = new SharedInformerFactory(clientset, { onError: (err, ctx) => log(`informer: ${ctx}: ${errorMessage(err)}`) });
  const shutdown = onShutdownSignals();
  const keepAlive = setInterval(() => undefined, 1 << 30);
  const loop = watchEventLoop();
  const tables: DiscardingIptables[] = [];
  try {
    global.gc?.();
    const before = process.memoryUsage();
    const startedAt = Date.now();
    let reported = 0;
    // As an agent's kubelet: ClusterFirst pods get the cluster DNS (without it each pod's start recorded a MissingClusterDNS Warning).
    const clusterDns = await resolveClusterDNS(clientset, { clusterDNS: undefined, clusterDomain: undefined }, log);
    const nodes = await startHollowNodes({
      ...(clusterDns ? { clusterDns } : {}),
      clientset,
      clientsets: nodeClientsets,
      ...(own ? { clientsetFor: own.clientsetFor } : {}),
      informers,
      count: flags.count,
      namePrefix: flags.namePrefix,
      firstIndex: flags.nameOffset,
      dataDir,
      maxPods: flags.maxPods,
      machine: hollowMachine(flags.cpus, flags.memoryKi),
      nodeStatusUpdateFrequencyMs: flags.nodeStatusUpdateFrequencyMs,
      nodeLeaseDurationSeconds: flags.nodeLeaseDurationSeconds,
      startConcurrency: flags.startConcurrency,
      ...(flags.proxy ? { companion: hollowProxy(flags, clientset, informers, tables) } : {}),
      onStarted: (n) => {
        // Progress every tenth, as a long start must show it.
        if (n === flags.count || n - reported >= Math.max(1, Math.floor(flags.count / 10))) {
          reported = n;
          log(`${n}/${flags.count} hollow nodes started (${((Date.now() - startedAt) / 1000).toFixed(1)}s)`);
        }
      },
      log: quiet,
    });
    global.gc?.();
    const after = process.memoryUsage();
    const perNode = (after.rss - before.rss) / flags.count;
    log(
      `${flags.count} hollow nodes${flags.proxy ? ' with proxies' : ''} running in ${((Date.now() - startedAt) / 1000).toFixed(1)}s: ` +
        `RSS ${mib(after.rss)} MiB, heap ${mib(after.heapUsed)} MiB, ${(perNode / 1024).toFixed(0)} KiB RSS per node`,
    );
    console.log(JSON.stringify({ nodes: flags.count, proxies: flags.proxy, rss_mb: Number(mib(after.rss)), rss_per_node_kib: Math.round(perNode / 1024) }));
    await shutdown.received;
    log('stopping');
    await nodes.stop();
    if (flags.proxy) {
      const restores = tables.reduce((n, t) => n + t.restores, 0);
      const bytes = tables.reduce((n, t) => n + t.bytes, 0);
      log(`the proxies built ${restores} rule sets (${mib(bytes)} MiB of iptables-restore input, dropped)`);
    }
    return 0;
  } finally {
    clearInterval(keepAlive);
    loop.stop();
    shutdown.dispose();
    await informers.stop();
    clientset.close();
    for (const cs of nodeClientsets) cs.close();
    own?.close();
    if (temporary) await rm(dataDir, { recursive: true, force: true });
  }
}
