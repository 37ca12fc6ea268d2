// `tsk controller-manager`: parse flags, connect to the API server, serve
// health and metrics, start the controllers, and run until SIGINT/SIGTERM.
// Never calls process.exit: the exit code is returned.

import { Registry } from 'prom-client';
import { join } from 'node:path';
import { Clientset, resolveComponentClient, SharedInformerFactory } from '../client';
import { listenHealthServer, type ListeningHealthServer } from '../util/health-server';
import { UsageError, flagHelp, parseFlags, type ControllerManagerFlags } from './flags';
import { startControllerManager, type RunningControllerManager } from './manager';
import { onShutdownSignals } from '../util/signals';
import { errorMessage } from '../util/errors';

function log(line: string): void {
  console.log(`tsk controller-manager: ${line}`);
}

export async function main(argv: string[]): Promise<number> {
  let flags: ControllerManagerFlags;
  try {
    flags = parseFlags(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`tsk controller-manager: ${err.message}\nRun 'tsk controller-manager --help' for the flags.`);
      return 2;
    }
    throw err;
  }
  if (flags.help) {
    console.log(flagHelp());
    return 0;
  }
  let target: Awaited<ReturnType<typeof resolveComponentClient>>;
  try {
    target = await resolveComponentClient({
      server: flags.server,
      kubeconfig: flags.kubeconfig,
      token: flags.token,
      identity: 'controller-manager',
      dir: join(flags.dataDir, 'controller-manager'),
      log,
    });
  } catch (err) {
    console.error(`tsk controller-manager: ${errorMessage(err)}`);
    return 1;
  }
  const address = target.server;
  const registry = new Registry();
  let manager: RunningControllerManager | undefined;
  let health: ListeningHealthServer;
  try {
    health = await listenHealthServer(
      flags.httpAddress,
      {
        registry,
        checkReady: async () => {
          if (!manager) throw new Error('the informers have not synced yet');
        },
      },
      'the controller manager health server',
    );
  } catch (err) {
    console.error(`tsk controller-manager: ${errorMessage(err)}`);
    return 1;
  }
  log(`serving /healthz, /readyz and /metrics on http://${health.address}; API server ${address}`);
  const clientset = new Clientset(address, target.credentials);
  const informers = new SharedInformerFactory(clientset, {
    onError: (err, context) => log(`informer: ${context}: ${errorMessage(err)}`),
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
