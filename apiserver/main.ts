// `tsk apiserver`: parse flags, start (or connect to) etcd, start the API
// server, write the client config, and run until SIGINT/SIGTERM or until
// the embedded etcd dies (then say so and exit non-zero).

import { join } from 'node:path';
import { writeClientConfig, defaultConfigPath } from '../client/config';
import { EtcdProcess } from '../util/etcd-process';
import { loadOrCreateClusterPki } from '../util/pki';
import { onShutdownSignals } from '../util/signals';
import { FLAG_HELP, UsageError, parseFlags, type ApiServerFlags } from './flags';
import { startApiServer, type ApiServerOptions, type RunningApiServer } from './server';

function log(msg: string): void {
  console.log(`tsk apiserver: ${msg}`);
}

/** An API server with the etcd it started (the embedded default), as `tsk apiserver` and `tsk server` run it. */
export interface StartedApiServer {
  readonly server: RunningApiServer;
  /** Resolves with a message when the embedded etcd died; the process should then exit non-zero. */
  readonly died: Promise<string>;
  /** Stops the API server, then the embedded etcd. */
  stop(): Promise<void>;
}

/**
 * Starts the embedded etcd unless --etcd-servers was given, then the API
 * server, and writes the client config when asked. Throws a message for the
 * user (etcd missing, address in use, ...) having stopped what it started.
 */
export async function startWithEtcd(flags: ApiServerFlags, log: (msg: string) => void, extra: Pick<ApiServerOptions, 'extraMetrics'> = {}): Promise<StartedApiServer> {
  let etcd: EtcdProcess | undefined;
  let etcdDied: (msg: string) => void = () => undefined;
  const died = new Promise<string>((resolve) => (etcdDied = resolve));
  let etcdServers = flags.etcdServers;
  if (etcdServers.length === 0) {
    log(`starting embedded etcd with data in ${join(flags.dataDir, 'etcd')}`);
    etcd = await EtcdProcess.start({
      dataDir: flags.dataDir,
      onUnexpectedExit: (code, signal) =>
        etcdDied(`the embedded etcd exited unexpectedly (${signal ?? `code ${code}`}); see ${join(flags.dataDir, 'etcd.log')}`),
    });
    etcdServers = [etcd.clientUrl];
    log(`embedded etcd ready at ${etcd.clientUrl} (pid ${etcd.pid ?? '?'})`);
  } else {
    log(`using etcd at ${etcdServers.join(',')}`);
  }
  let server: RunningApiServer;
  try {
    const pki = await loadOrCreateClusterPki(flags.dataDir, { sans: {}, log: (l) => log(`tls: ${l}`) });
    server = await startApiServer({
      bootstrap: { ca: pki.ca, tokenFile: join(flags.dataDir, 'token') },
      etcdServers,
      address: flags.address,
      httpAddress: flags.httpAddress,
      serviceCidr: flags.serviceCidr,
      eventTtlSeconds: flags.eventTtlSeconds,
      nodePortRange: flags.nodePortRange,
      log,
      ...extra,
    });
  } catch (err) {
    await etcd?.stop();
    throw err;
  }
  if (server.serverToken) {
    const t = server.serverToken;
    log(`${t.created ? 'created the node join token' : 'node join token'} (stored in ${t.file}); nodes join with: tsk agent --server https://HOST:PORT --token TOKEN`);
    console.log(`Node join token: ${t.text}`);
  }
  if (flags.writeConfig) {
    await writeClientConfig({ server: server.grpcAddress });
    log(`wrote ${defaultConfigPath()} (server: ${server.grpcAddress})`);
  }
  return {
    server,
    died,
    stop: async () => {
      await server.stop();
      await etcd?.stop();
    },
  };
}

export async function main(argv: string[]): Promise<number> {
  let flags: ApiServerFlags;
  try {
    flags = parseFlags(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`tsk apiserver: ${err.message}\nRun 'tsk apiserver --help' for the flags.`);
      return 2;
    }
    throw err;
  }
  if (flags.help) {
    console.log(FLAG_HELP);
    return 0;
  }

  let running: StartedApiServer;
  try {
    running = await startWithEtcd(flags, log);
  } catch (err) {
    console.error(`tsk apiserver: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  const { died } = running;

  const shutdown = onShutdownSignals();
  const reason = await Promise.race([shutdown.received.then((s) => ({ ok: true, msg: `received ${s}, shutting down` })), died.then((m) => ({ ok: false, msg: m }))]);
  if (reason.ok) log(reason.msg);
  else console.error(`tsk apiserver: ${reason.msg}; shutting down`);
  await running.stop();
  shutdown.dispose();
  log('stopped');
  return reason.ok ? 0 : 1;
}
