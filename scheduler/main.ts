// `tsk scheduler`: parse flags, connect to the API server, serve health and
// metrics, and schedule until SIGINT/SIGTERM; then stop cleanly (Binds in
// progress finish, Events are flushed).

import { Registry } from 'prom-client';
import { Clientset, LeaderElectionMetrics, resolveComponentClientFromFlags, SharedInformerFactory, trimForCache } from '../client';
import { listenHealthServer } from '../util/health-server';
import { FLAG_HELP, parseFlags, type SchedulerFlags } from './flags';
import { runCommand } from '../util/cli/command';
import { startScheduler } from './start';
import { onShutdownSignals } from '../util/signals';
import { errorMessage } from '../util/errors';

function log(line: string): void {
  console.log(`tsk scheduler: ${line}`);
}

export function main(argv: string[]): Promise<number> {
  return runCommand({ name: 'tsk scheduler', parse: parseFlags, help: FLAG_HELP, run }, argv);
}

async function run(flags: SchedulerFlags): Promise<number> {
  const target = await resolveComponentClientFromFlags(flags, 'scheduler', log);
  const server = target.server;
  const clientset = new Clientset(server, target.credentials);
  const informers = new SharedInformerFactory(clientset, {
    onError: (err, context) => log(`${context}: ${errorMessage(err)}`),
    transform: trimForCache,
  });
  const registry = new Registry();
  const scheduler = startScheduler({
    clientset,
    informers,
    registry,
    log,
    leaderElection: flags.leaderElection,
    leaderMetrics: new LeaderElectionMetrics(registry),
    percentageOfNodesToScore: flags.percentageOfNodesToScore,
  });
  let health;
  try {
    health = await listenHealthServer(flags.httpAddress, { registry, checkReady: () => scheduler.checkReady() }, 'the scheduler HTTP server');
  } catch (err) {
    await scheduler.stop();
    await informers.stop();
    clientset.close();
    throw err;
  }
  log(`using API server ${server}; health and metrics on http://${health.address}`);

  const shutdown = onShutdownSignals();
  log(`received ${await shutdown.received}, shutting down`);
  shutdown.dispose();
  await scheduler.stop();
  await informers.stop();
  await health.close();
  clientset.close();
  log('stopped');
  return 0;
}
