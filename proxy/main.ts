// `tsk proxy`: parse flags, connect to the API server, serve health and
// metrics, run the proxy until SIGINT/SIGTERM (leaving its rules in place),
// or with --cleanup remove its rules and exit. Never calls process.exit: the
// exit code is returned.

import { Registry } from 'prom-client';
import { join } from 'node:path';
import { Clientset, nodeServing, resolveComponentClient, SharedInformerFactory, type NodeServing } from '../client';
import type { ListeningHealthServer } from '../util/health-server';
import { cleanupRules } from './cleanup';
import { FLAG_HELP, UsageError, parseFlags, type ProxyFlags } from './flags';
import { listenProxyHealthServer } from './health';
import { ExecIptables } from './iptables';
import { startProxy, type RunningProxy } from './proxier';
import { onShutdownSignals } from '../util/signals';
import { errorMessage } from '../util/errors';

function log(line: string): void {
  console.log(`tsk proxy: ${line}`);
}

async function cleanup(): Promise<number> {
  try {
    const n = await cleanupRules(new ExecIptables());
    log(n === 0 ? 'no proxy rules to remove' : `removed the proxy's rules and ${n} chain(s)`);
    return 0;
  } catch (err) {
    console.error(`tsk proxy: cleanup failed: ${errorMessage(err)}`);
    return 1;
  }
}

export async function main(argv: string[]): Promise<number> {
  let flags: ProxyFlags;
  try {
    flags = parseFlags(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`tsk proxy: ${err.message}\nRun 'tsk proxy --help' for the flags.`);
      return 2;
    }
    throw err;
  }
  if (flags.help) {
    console.log(FLAG_HELP);
    return 0;
  }
  if (flags.cleanup) return cleanup();

  let target: Awaited<ReturnType<typeof resolveComponentClient>>;
  try {
    target = await resolveComponentClient({
      server: flags.server,
      kubeconfig: flags.kubeconfig,
      token: flags.token,
      identity: 'node',
      nodeName: flags.nodeName,
      dir: join(flags.dataDir, 'agent'),
      log,
    });
  } catch (err) {
    console.error(`tsk proxy: ${errorMessage(err)}`);
    return 1;
  }
  const address = target.server;
  let serving: NodeServing;
  try {
    serving = await nodeServing('--http-address', flags.httpAddress, {
      server: address,
      credentials: target.credentials,
      nodeName: flags.nodeName,
      nodeIPs: flags.nodeIPs ?? [],
      dir: join(flags.dataDir, 'agent'),
      log,
    });
  } catch (err) {
    console.error(`tsk proxy: ${errorMessage(err)}`);
    return 1;
  }
  const registry = new Registry();
  let proxy: RunningProxy | undefined;
  let health: ListeningHealthServer;
  const notStarted = { healthy: false, lastUpdated: undefined, reason: 'the proxy is starting' };
  try {
    health = await listenProxyHealthServer(flags.httpAddress, registry, () => proxy?.health() ?? { ...notStarted, currentTime: Date.now() }, serving.tls);
  } catch (err) {
    console.error(`tsk proxy: ${errorMessage(err)}`);
    return 1;
  }
  const renewal = serving.keepRenewed((tls) => health.setTls(tls));
  log(`node ${flags.nodeName}; serving /healthz and /metrics on ${health.scheme}://${health.address}; API server ${address}`);
  const clientset = new Clientset(address, target.credentials);
  const informers = new SharedInformerFactory(clientset, { onError: (err, context) => log(`informer: ${context}: ${errorMessage(err)}`) });
  const sig = onShutdownSignals();
  let code = 0;
  try {
    proxy = await startProxy({
      clientset,
      informers,
      nodeName: flags.nodeName,
      ...(flags.nodeIPs ? { nodeIPs: flags.nodeIPs } : {}),
      ...(flags.clusterCIDR ? { clusterCIDR: flags.clusterCIDR } : {}),
      syncPeriodMs: flags.syncPeriodMs,
      minSyncPeriodMs: flags.minSyncPeriodMs,
      masqueradeBit: flags.masqueradeBit,
      registry,
      log,
    });
    log(`received ${await sig.received}, shutting down (the rules stay in place)`);
  } catch (err) {
    console.error(`tsk proxy: ${errorMessage(err)}`);
    code = 1;
  } finally {
    sig.dispose();
    renewal.stop();
    await proxy?.stop();
    await informers.stop();
    clientset.close();
    await health.close();
  }
  log('stopped');
  return code;
}
