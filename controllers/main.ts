// `tsk controller-manager`: parse flags, connect to the API server, serve
// health and metrics, start the controllers, and run until SIGINT/SIGTERM.
// Never calls process.exit: the exit code is returned.

import { Registry } from 'prom-client';
import { Clientset, LeaderElectionMetrics, resolveComponentClientFromFlags, SharedInformerFactory, trimForCache } from '../client';
import { listenHealthServer } from '../util/health-server';
import { flagHelp, parseFlags, type ControllerManagerFlags } from './flags';
import { runCommand } from '../util/cli/command';
import { startControllerManager, type RunningControllerManager } from './manager';
import { onShutdownSignals } from '../util/signals';
import { errorMessage } from '../util/errors';

function log(line: string): void {
  console.log(`tsk controller-manager: ${line}`);
}

export function main(argv: string[]): Promise<number> {
  return runCommand({ name: 'tsk controller-manager', parse: parseFlags, help: flagHelp(), run }, argv);
}

async function run(flags: ControllerManagerFlags): Promise<number> {
  const target = await resolveComponentClientFromFlags(flags, 'controller-manager', log);
  const address = target.server;
  const registry = new Registry();
  let manager: RunningControllerManager | undefined;
  const health = await listenHealthServer(
    flags.httpAddress,
    {
      registry,
      checkReady: async () => {
        if (!manager) throw new Error('the informers have not synced yet');
      },
    },
    'the controller manager health server',
  );
  log(`serving /healthz, /readyz and /metrics on http://${health.address}; API server ${address}`);
  const clientset = new Clientset(address, target.credentials);
  const informers = new SharedInformerFactory(clientset, {
    onError: (err, context) => log(`informer: ${context}: ${errorMessage(err)}`),
    transform: trimForCache,
  });
  const sig = onShutdownSignals();
  let code = 0;
  try {
    manager = await startControllerManager({
      clientset,
      informers,
      controllers: flags.controllers,
      workers: flags.workers,
      table: flags.table,
      registry,
      log,
      signal: sig.signal,
      leaderElection: flags.leaderElection,
      leaderMetrics: new LeaderElectionMetrics(registry),
    });
    log(`received ${await sig.received}, shutting down`);
  } catch (err) {
    if (!sig.signal.aborted) {
      console.error(`tsk controller-manager: ${errorMessage(err)}`);
      code = 1;
    } else log('interrupted before the informers synced; shutting down');
  } finally {
    sig.dispose();
    await manager?.stop();
    await informers.stop();
    clientset.close();
    await health.close();
  }
  log('stopped');
  return code;
}
