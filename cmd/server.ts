// `tsk server`: the control plane in one process (k3s's server role). Start-up
// is a straight list: the API server (and its embedded etcd), then the
// controllers and the scheduler on a thread of their own (server-components.ts),
// clients of it over loopback. The embedded etcd is restarted when it dies
// (apiserver/etcd/embedded.ts); if it cannot be, the process says so and
// exits non-zero rather than limping on.

import { leave, resetCluster, startWithEtcd, USER_CONTROLLER_MANAGER, USER_SCHEDULER, type StartedApiServer } from '../apiserver';
import { onShutdownSignals, reportStop, untilStopped } from '../util/signals';
import { runCommand } from '../util/cli/command';
import { SERVER_HELP, parseServerFlags, type ServerFlags } from './server-flags';
import { serverLeaderIdentity } from './server-identity';
import { ComponentsThread, startComponents, type ComponentsData, type RunningComponents } from './server-components';

function log(line: string): void {
  console.log(`tsk server: ${line}`);
}

interface Parts {
  api?: StartedApiServer;
  /** The controllers and the scheduler, on a thread of their own (server-components.ts). */
  components?: ComponentsThread;
  /** ... or on the API server's own event loop (--components-thread=false). */
  inProcess?: RunningComponents;
}

/** Stops what started, last first. */
async function stopAll(p: Parts): Promise<void> {
  await p.components?.stop();
  await p.inProcess?.stop();
  await p.api?.stop();
}

async function start(argv: readonly string[], flags: ServerFlags, signal: AbortSignal, parts: Parts): Promise<void> {
  // The components' registries live on their thread; /metrics asks it for them at each scrape.
  const componentMetrics = { metrics: () => (parts.components ?? parts.inProcess)?.metrics() ?? Promise.resolve('') };
  parts.api = await startWithEtcd(flags.api, log, { extraMetrics: [componentMetrics] });
  // Each component is its own user, as in Kubernetes, with a certificate the
  // cluster CA issues at every start; the loopback address is in the
  // serving certificate whatever --address says.
  const data: ComponentsData = {
    argv: [...argv],
    address: parts.api.server.grpcAddress,
    controllerCredentials: await parts.api.credentialsFor(USER_CONTROLLER_MANAGER),
    schedulerCredentials: await parts.api.credentialsFor(USER_SCHEDULER),
    leaderIdentity: await serverLeaderIdentity(flags.api.dataDir, flags.api.etcdServers.length === 0),
  };
  if (flags.componentsThread) {
    parts.components = new ComponentsThread(data, log);
    // A signal while they start stops them: their thread then ends and `started` rejects.
    const components = parts.components;
    signal.addEventListener('abort', () => void components.stop(), { once: true });
    await components.started;
  } else {
    parts.inProcess = await startComponents(flags, data, signal, log);
  }
  // The test harnesses wait for this line: informers synced, scheduling (or standing by for the lease).
  log(`scheduler running${flags.scheduler.leaderElect ? ' (acting while it holds the kube-scheduler lease)' : ''}`);
}

export function main(argv: string[]): Promise<number> {
  return runCommand({ name: 'tsk server', parse: parseServerFlags, help: SERVER_HELP, run: (flags) => run(argv, flags) }, argv);
}

async function run(argv: readonly string[], flags: ServerFlags): Promise<number> {
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
    await start(argv, flags, shutdown.signal, parts);
  } catch (err) {
    await stopAll(parts);
    shutdown.dispose();
    if (shutdown.signal.aborted) return 0;
    throw err;
  }
  const never = new Promise<string>(() => undefined);
  const reason = await untilStopped(shutdown, Promise.race([parts.api?.died ?? never, parts.components?.died ?? never]));
  reportStop(reason, 'tsk server', log);
  await stopAll(parts);
  shutdown.dispose();
  log('stopped');
  return reason.ok ? 0 : 1;
}
