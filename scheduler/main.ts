// `tsk scheduler`: parse flags, connect to the API server, serve health and
// metrics, and schedule until SIGINT/SIGTERM; then stop cleanly (Binds in
// progress finish, Events are flushed).

import { Registry } from 'prom-client';
import { join } from 'node:path';
import { Clientset, resolveComponentClient, SharedInformerFactory } from '../client';
import { listenHealthServer } from '../util/health-server';
import { FLAG_HELP, UsageError, parseFlags, type SchedulerFlags } from './flags';
import { startScheduler } from './start';
import { onShutdownSignals } from '../util/signals';
import { errorMessage } from '../util/errors';

function log(line: string): void {
  console.log(`tsk scheduler: ${line}`);
}

export async function main(argv: string[]): Promise<number> {
  let flags: SchedulerFlags;
  try {
    flags = parseFlags(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`tsk scheduler: ${err.message}\nRun 'tsk scheduler --help' for the flags.`);
      return 2;
    }
    throw err;
  }
  if (flags.help) {
    console.log(FLAG_HELP);
    return 0;
  }

  let target: Awaited<ReturnType<typeof resolveComponentClient>>;
  try {
    target = await resolveComponentClient({
      server: flags.server,
      kubeconfig: flags.kubeconfig,
      token: flags.token,
      identity: 'scheduler',
      dir: join(flags.dataDir, 'scheduler'),
      log,
    });
  } catch (err) {
    console.error(`tsk scheduler: ${errorMessage(err)}`);
    return 1;
  }
  const server = target.server;
  const clientset = new Clientset(server, target.credentials);
  const informers = new SharedInformerFactory(clientset, { onError: (err, context) => log(`${context}: ${errorMessage(err)}`) });
  const registry = new Registry();
  const scheduler = startScheduler({ clientset, informers, registry, log });
  let health;
  try {
    health = await listenHealthServer(flags.httpAddress, { registry, checkReady: () => scheduler.checkReady() }, 'the scheduler HTTP server');
  } catch (err) {
    console.error(`tsk scheduler: ${errorMessage(err)}`);
    await scheduler.stop();
    await informers.stop();
    clientset.close();
    return 1;
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
