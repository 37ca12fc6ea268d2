// `tsk apiserver`: parse flags, start (or connect to) etcd, start the API
// server, write the client config, and run until SIGINT/SIGTERM or until
// the embedded etcd dies (then say so and exit non-zero).

import { join } from 'node:path';
import { writeClientConfig, defaultConfigPath } from '../client/config';
import { EtcdNotFoundError, EtcdProcess } from '../util/etcd-process';
import { FLAG_HELP, UsageError, parseFlags, type ApiServerFlags } from './flags';
import { startApiServer } from './server';

function log(msg: string): void {
  console.log(`tsk apiserver: ${msg}`);
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

  let etcd: EtcdProcess | undefined;
  let etcdDied: (msg: string) => void = () => undefined;
  const died = new Promise<string>((resolve) => (etcdDied = resolve));
  let etcdServers = flags.etcdServers;
  if (etcdServers.length === 0) {
    log(`starting embedded etcd with data in ${join(flags.dataDir, 'etcd')}`);
    try {
      etcd = await EtcdProcess.start({
        dataDir: flags.dataDir,
        onUnexpectedExit: (code, signal) =>
          etcdDied(`the embedded etcd exited unexpectedly (${signal ?? `code ${code}`}); see ${join(flags.dataDir, 'etcd.log')}`),
      });
    } catch (err) {
      if (err instanceof EtcdNotFoundError) {
        console.error(`tsk apiserver: ${err.message}`);
        return 1;
      }
      throw err;
    }
    etcdServers = [etcd.clientUrl];
    log(`embedded etcd ready at ${etcd.clientUrl} (pid ${etcd.pid ?? '?'})`);
  } else {
    log(`using etcd at ${etcdServers.join(',')}`);
  }

  let server;
  try {
    server = await startApiServer({
      etcdServers,
      address: flags.address,
      httpAddress: flags.httpAddress,
      serviceCidr: flags.serviceCidr,
      eventTtlSeconds: flags.eventTtlSeconds,
      nodePortRange: flags.nodePortRange,
      log,
    });
  } catch (err) {
    await etcd?.stop();
    console.error(`tsk apiserver: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  if (flags.writeConfig) {
    await writeClientConfig({ server: server.grpcAddress });
    log(`wrote ${defaultConfigPath()} (server: ${server.grpcAddress})`);
  }

  const signalled = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  const reason = await Promise.race([signalled.then((s) => ({ ok: true, msg: `received ${s}, shutting down` })), died.then((m) => ({ ok: false, msg: m }))]);
  if (reason.ok) log(reason.msg);
  else console.error(`tsk apiserver: ${reason.msg}; shutting down`);
  await server.stop();
  await etcd?.stop();
  log('stopped');
  return reason.ok ? 0 : 1;
}
