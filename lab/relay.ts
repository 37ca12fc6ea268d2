// `tsk lab relay LISTEN TARGET`: a node's link to the API server. The server
// runs in the host namespace and the nodes reach it through a unix socket,
// which no network namespace or link state can cut; so each node's agent
// talks to a socket of its own, relayed byte for byte to the server's by
// this process, and `tsk lab partition` cuts the link by stopping it
// (SIGSTOP): the agent's requests then hang and time out as over a network
// that drops packets, and SIGCONT reconnects it.

import { createServer, connect, type Server, type Socket } from 'node:net';
import { rm } from 'node:fs/promises';

/** Pipes one accepted connection to a new connection to target; either side closing closes both. */
function pipeTo(client: Socket, target: string): void {
  // Half-open on both sides: an end from one side is passed on (pipe), and
  // the other side's answer still flows back until it ends too.
  const upstream = connect({ path: target, allowHalfOpen: true });
  const close = (): void => {
    client.destroy();
    upstream.destroy();
  };
  for (const s of [client, upstream]) {
    s.on('error', close);
    s.on('close', close);
  }
  client.pipe(upstream);
  upstream.pipe(client);
}

/** Listens on the unix socket `listen` (a stale file there is replaced) and relays every connection to `target`. */
export async function startRelay(listen: string, target: string): Promise<Server> {
  await rm(listen, { force: true });
  const server = createServer({ allowHalfOpen: true }, (client) => pipeTo(client, target));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen, resolve);
  });
  return server;
}

/** startRelay until SIGTERM. */
export async function runRelay(listen: string, target: string): Promise<void> {
  const server = await startRelay(listen, target);
  await new Promise<void>((resolve) => process.once('SIGTERM', resolve));
  server.close();
}
