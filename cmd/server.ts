// `tsk server`: the control plane in one process (k3s's server role). Start-up
// is a straight list: the API server (and its embedded etcd), a client of it,
// the controllers, the scheduler. The embedded etcd is restarted when it dies
// (apiserver/etcd/embedded.ts); if it cannot be, the process says so and
// exits non-zero rather than limping on.

import { Registry } from 'prom-client';
import { leave, resetCluster, startWithEtcd, USER_CONTROLLER_MANAGER, USER_SCHEDULER, type StartedApiServer } from '../apiserver';
import { Clientset, EventRecorderMetrics, LeaderElectionMetrics, SharedInformerFactory, trimForCache } from '../client';
import { startControllerManager, type RunningControllerManager } from '../controllers';
import { startScheduler, type RunningScheduler } from '../scheduler';
import { onShutdownSignals, reportStop, untilStopped } from '../util/signals';
import { runCommand } from '../util/cli/command';
import { SERVER_HELP, parseServerFlags, type ServerFlags } from './server-flags';
import { serverLeaderIdentity } from './server-identity';

function log(line: string): void {
  console.log(`tsk server: ${line}`);
}

interface Parts {
  api?: StartedApiServer;
  /** The controllers' identity; the shared informers list and watch with it. */
  clientset?: Clientset;
  /** The scheduler's identity, for its writes (binds, status, events). */
  schedulerClientset?: Clientset;
  informers?: SharedInformerFactory;
  controllers?: RunningControllerManager;
  scheduler?: RunningScheduler;
}

/** Stops what started, last first. */
async function stopAll(p: Parts): Promise<void> {
  await p.scheduler?.stop();
  await p.controllers?.stop();
  await p.informers?.stop();
  p.clientset?.close();
  p.schedulerClientset?.close();
  await p.api?.stop();
}

async function start(flags: ServerFlags, signal: AbortSignal, parts: Parts): Promise<void> {
  const schedulerMetrics = new Registry();
  const controllerMetrics = new Registry();
  // One registry for both electors: leader_election_master_status, a line per Lease.
  const electionMetrics = new Registry();
  const leaderMetrics = new LeaderElectionMetrics(electionMetrics);
  // And one for both components' event recorders: event_recorder_dropped_events_total, a line per component.
  const eventRegistry = new Registry();
  const eventMetrics = new EventRecorderMetrics(eventRegistry);
  parts.api = await startWithEtcd(flags.api, log, { extraMetrics: [schedulerMetrics, controllerMetrics, electionMetrics, eventRegistry] });
  // Each component is its own user, as in Kubernetes, with a certificate the
  // cluster CA issues at every start; the loopback address is in the
  // serving certificate whatever --address says.
  const address = parts.api.server.grpcAddress;
  parts.clientset = new Clientset(address, await parts.api.credentialsFor(USER_CONTROLLER_MANAGER));
  parts.schedulerClientset = new Clientset(address, await parts.api.credentialsFor(USER_SCHEDULER));
  // Slim cached objects, as kube-controller-manager's and kube-scheduler's informers keep.
  parts.informers = new SharedInformerFactory(parts.clientset, { transform: trimForCache });
  const leaderIdentity = await serverLeaderIdentity(flags.api.dataDir, flags.api.etcdServers.length === 0);
  parts.controllers = await startControllerManager({
    clientset: parts.clientset,
    informers: parts.informers,
    controllers: flags.controllers.controllers,
    workers: flags.controllers.workers,
    table: flags.controllers.table,
    registry: controllerMetrics,
    stopInformers: false,
    signal,
    log: (l) => log(`controllers: ${l}`),
    leaderElection: flags.controllerManager,
    leaderMetrics,
    leaderIdentity,
    eventMetrics,
  });
  log(`controllers running: ${parts.controllers.controllers.map((c) => c.name).join(', ')}`);
  parts.scheduler = startScheduler({
    clientset: parts.schedulerClientset,
    informers: parts.informers,
    registry: schedulerMetrics,
    log: (l) => log(`scheduler: ${l}`),
    leaderElection: flags.scheduler,
    leaderMetrics,
    leaderIdentity,
    eventMetrics,
    percentageOfNodesToScore: flags.percentageOfNodesToScore,
  });
  await parts.scheduler.started;
  // The test harnesses wait for this line: informers synced, scheduling (or standing by for the lease).
  log(`scheduler running${flags.scheduler.leaderElect ? ' (acting while it holds the kube-scheduler lease)' : ''}`);
}

export function main(argv: string[]): Promise<number> {
  return runCommand({ name: 'tsk server', parse: parseServerFlags, help: SERVER_HELP, run }, argv);
}

async function run(flags: ServerFlags): Promise<number> {
  if (flags.api.clusterReset) {
    await resetCluster(flags.api, log);
    return 0;
  }
  if (flags.api.ha.leave) {
    await leave(flags.api, log);
    return 0;
  }
  const shutdown = onShutdownSignals();
  const parts: Parts = {};
  try {
    await start(flags, shutdown.signal, parts);
  } catch (err) {
    await stopAll(parts);
    shutdown.dispose();
    if (shutdown.signal.aborted) return 0;
    throw err;
  }
  const reason = await untilStopped(shutdown, parts.api?.died ?? new Promise<string>(() => undefined));
  reportStop(reason, 'tsk server', log);
  await stopAll(parts);
  shutdown.dispose();
  log('stopped');
  return reason.ok ? 0 : 1;
}
