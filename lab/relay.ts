// `tsk lab relay LISTEN TARGET`: a node's link to the API server. The server
// runs in the host namespace and the nodes reach it through a unix socket,
// which no network namespace or link state can cut; so each node's agent
// talks to a socket of its own, relayed byte for byte to the server's by
// this process, and `tsk lab partition` cuts the link by stopping it
// (SIGSTOP): the agent's requests then hang and time out as over a network
// that drops packets, and SIGCONT reconnects it.

import { createServer, connect, type Server, type Socket } from 'node:net';
import { rm } from 'node:fs/promises';

/** A relay's end: a unix socket's path, or `tcp:HOST:PORT` (the REST API relayed for kubectl on the host). */
export type Endpoint = { readonly path: string } | { readonly host: string; readonly port: number };

export function parseEndpoint(text: string): Endpoint {
  if (!text.startsWith('tcp:')) return { path: text };
  const m = /^tcp:(.+):(\d+)$/.exec(text);
  if (!m || Number(m[2]) > 65535) throw new Error(`relay: "${text}" is not tcp:HOST:PORT`);
  return { host: m[1]!, port: Number(m[2]) };
}

/** Pipes one accepted connection to a new connection to target; either side closing closes both. */
function pipeTo(client: Socket, target: Endpoint): void {
  // Half-open on both sides: an end from one side is passed on (pipe), and
  // the other side's answer still flows back until it ends too.
  const upstream = connect({ ...target, allowHalfOpen: true });
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

/** Listens on `listen` (a unix socket, whose stale file is replaced, or tcp:HOST:PORT) and relays every connection to `target`. */
export async function startRelay(listen: string, target: string): Promise<Server> {
  const from = parseEndpoint(listen);
  const to = parseEndpoint(target);
  if ('path' in from) await rm(from.path, { force: true });
  const server = createServer({ allowHalfOpen: true }, (client) => pipeTo(client, to));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(from, resolve);
  });
  return server;
}

/** startRelay until SIGTERM. */
export async function runRelay(listen: string, target: string): Promise<void> {
  const server = await startRelay(listen, target);
  await new Promise<void>((resolve) => process.once('SIGTERM', resolve));
  server.close();
}
