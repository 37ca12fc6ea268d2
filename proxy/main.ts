// `tsk proxy`: parse flags, connect to the API server, serve health and
// metrics, run the proxy until SIGINT/SIGTERM (leaving its rules in place),
// or with --cleanup remove its rules and exit. Never calls process.exit: the
// exit code is returned.

import { Registry } from 'prom-client';
import { Clientset, credentialsDir, nodeServing, resolveComponentClientFromFlags, SharedInformerFactory } from '../client';
import { cleanupIptables, cleanupNftables } from './cleanup';
import { FLAG_HELP, parseFlags, type ProxyFlags } from './flags';
import { runCommand } from '../util/cli/command';
import { listenProxyHealthServer } from './health';
import { ExecIptables } from './iptables';
import { ExecNftables } from './nftables';
import { startProxy, type RunningProxy } from './proxier';
import { onShutdownSignals } from '../util/signals';
import { errorMessage } from '../util/errors';

function log(line: string): void {
  console.log(`tsk proxy: ${line}`);
}

/** kube-proxy --cleanup: the rules of both modes go. A mode whose tool is not installed has nothing to remove. */
async function cleanup(): Promise<number> {
  let code = 0;
  const modes = [
    { mode: 'iptables', remove: () => cleanupIptables(new ExecIptables()) },
    { mode: 'nftables', remove: () => cleanupNftables(new ExecNftables()) },
  ];
  for (const { mode, remove } of modes) {
    try {
      const n = await remove();
      log(n === 0 ? `no ${mode} proxy rules to remove` : `removed the proxy's ${mode} rules and ${n} chain(s)`);
    } catch (err) {
      if (/ENOENT/.test(errorMessage(err))) {
        log(`${mode}: not installed, nothing to remove`);
        continue;
      }
      console.error(`tsk proxy: ${mode} cleanup failed: ${errorMessage(err)}`);
      code = 1;
    }
  }
  return code;
}

export function main(argv: string[]): Promise<number> {
  return runCommand({ name: 'tsk proxy', parse: (a) => parseFlags(a), help: FLAG_HELP, run }, argv);
}

async function run(flags: ProxyFlags): Promise<number> {
  if (flags.cleanup) return cleanup();
  const target = await resolveComponentClientFromFlags(flags, 'node', log, flags.nodeName);
  const address = target.server;
  // Beyond loopback the port is HTTPS only, with the node's serving certificate.
  const serving = await nodeServing('--http-address', flags.httpAddress, {
    server: address,
    credentials: target.credentials,
    nodeName: flags.nodeName,
    nodeIPs: flags.nodeIPs ?? [],
    dir: credentialsDir(flags.dataDir, 'node'),
    log,
  });
  const registry = new Registry();
  let proxy: RunningProxy | undefined;
  const notStarted = { healthy: false, lastUpdated: undefined, reason: 'the proxy is starting' };
  const health = await listenProxyHealthServer(flags.httpAddress, registry, () => proxy?.health() ?? { ...notStarted, currentTime: Date.now() }, serving.tls);
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
      mode: flags.proxyMode,
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
