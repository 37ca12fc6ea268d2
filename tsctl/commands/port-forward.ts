// tsctl port-forward POD [LOCAL:]REMOTE...: kubectl's port-forward through
// the API server (PodService.PortForward) and the node's tunnel. Listens on
// the local addresses (localhost: 127.0.0.1 and ::1, as kubectl), and for
// each connection opens one to the pod's port. Output as kubectl's:
// "Forwarding from 127.0.0.1:8080 -> 80", "Handling connection for 8080".
// Runs until Ctrl-C; a connection that fails is reported and closed, and the
// others go on.

import { createServer, type Server, type Socket } from 'node:net';
import { PodServiceService } from '../../api/gen/tsk/v1/api';
import type { PortForwardClientMessage, PortForwardServerMessage } from '../../api/gen/tsk/v1/stream';
import type { Pod } from '../../api/gen/tsk/v1/core';
import { flagString } from '../args';
import type { Command } from '../command';
import type { Context } from '../context';
import { CliError, UsageError } from '../errors';
import { podArg } from './logs';

export interface PortPair {
  /** 0: a free port chosen at listen time. */
  local: number;
  remote: number;
}

function port(text: string, what: string, spec: string, zeroOk: boolean): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= (zeroOk ? 0 : 1) && n <= 65535)) throw new UsageError(`invalid ${what} port "${text}" in "${spec}": must be ${zeroOk ? 0 : 1}-65535`);
  return n;
}

/** [LOCAL:]REMOTE as kubectl takes it: "8080:80", "80" (the same locally), ":80" (a free local port). */
export function parsePortSpec(spec: string): PortPair {
  const parts = spec.split(':');
  if (parts.length > 2) throw new UsageError(`invalid port "${spec}": expected [LOCAL_PORT:]REMOTE_PORT`);
  if (parts.length === 1) {
    const p = port(parts[0]!, 'remote', spec, false);
    return { local: p, remote: p };
  }
  const remote = port(parts[1]!, 'remote', spec, false);
  return { local: parts[0] === '' ? 0 : port(parts[0]!, 'local', spec, true), remote };
}

/** --address as kubectl: a comma list; "localhost" is 127.0.0.1 and ::1. */
export function listenAddresses(flag: string): string[] {
  const out: string[] = [];
  for (const a of flag.split(',').map((s) => s.trim())) {
    if (a === '') continue;
    if (a === 'localhost') out.push('127.0.0.1', '::1');
    else out.push(a);
  }
  if (out.length === 0) throw new UsageError('--address: at least one address is required');
  return [...new Set(out)];
}

function hostPort(host: string, p: number): string {
  return host.includes(':') ? `[${host}]:${p}` : `${host}:${p}`;
}

function listen(server: Server, host: string, p: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(p, host, () => {
      server.off('error', reject);
      resolve((server.address() as { port: number }).port);
    });
  });
}

export const portForwardCommand: Command = {
  name: 'port-forward',
  summary: 'Forward one or more local ports to a pod',
  usage: 'tsctl port-forward POD [LOCAL_PORT:]REMOTE_PORT [...] [--address ADDR] [-n NS]',
  examples: '  tsctl port-forward pod/web 8080:80\n  tsctl port-forward web :80\n  tsctl port-forward web 8080:80 --address 0.0.0.0',
  flags: [{ name: 'address', type: 'string', help: 'Addresses to listen on, comma-separated (localhost: 127.0.0.1 and ::1)' }],
  async run(ctx: Context): Promise<number> {
    const [podText, ...specs] = ctx.args.positionals;
    if (podText === undefined || specs.length === 0) throw new UsageError('TYPE/NAME and list of ports are required for port-forward');
    const name = podArg(podText);
    const pairs = specs.map(parsePortSpec);
    const addresses = listenAddresses(flagString(ctx.args, 'address') ?? 'localhost');
    const clientset = await ctx.clientset();
    const pod: Pod = await clientset.pods.get(name, ctx.namespace);
    const phase = pod.status?.phase ?? 'Pending';
    if (phase !== 'Running') throw new CliError(`unable to forward port because pod is not running. Current status=${phase}`);
    const servers: Server[] = [];
    const sockets = new Set<Socket>();
    try {
      for (const pair of pairs) {
        let local = pair.local;
        for (const host of addresses) {
          const server = createServer((socket) => {
            sockets.add(socket);
            socket.on('close', () => sockets.delete(socket));
            ctx.io.stdout.write(`Handling connection for ${local}\n`);
            forward(ctx, name, local, pair.remote, socket);
          });
          servers.push(server);
          // The first address picks a free port for ":REMOTE"; the others listen on the same.
          local = await listen(server, host, local).catch((err: Error) => {
            throw new CliError(`unable to listen on ${hostPort(host, local)}: ${err.message}`);
          });
          ctx.io.stdout.write(`Forwarding from ${hostPort(host, local)} -> ${pair.remote}\n`);
        }
      }
      await new Promise<void>((resolve) => {
        if (ctx.signal.aborted) resolve();
        ctx.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      return 0;
    } finally {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    }
  },
};

/** One local connection: a PortForward call carrying its bytes both ways. */
function forward(ctx: Context, pod: string, local: number, remote: number, socket: Socket): void {
  void ctx.clientset().then((clientset) => {
    const conn = clientset.connection;
    const call = conn.bidiStream<PortForwardClientMessage, PortForwardServerMessage>(PodServiceService.portForward);
    call.write({ start: { namespace: ctx.namespace, name: pod, port: remote } });
    socket.on('data', (data: Buffer) => {
      if (!call.write({ data })) {
        socket.pause();
        call.once('drain', () => socket.resume());
      }
    });
    socket.on('end', () => call.end());
    socket.on('error', () => call.cancel());
    socket.on('close', () => call.cancel());
    call.on('data', (m: PortForwardServerMessage) => {
      if (m.data?.length && !socket.write(m.data)) {
        call.pause();
        socket.once('drain', () => call.resume());
      }
    });
    call.on('end', () => socket.end());
    call.on('error', (err: unknown) => {
      if (socket.destroyed) return;
      ctx.io.stderr.write(`error: an error occurred forwarding ${local} -> ${remote}: ${conn.streamError(err).message}\n`);
      socket.destroy();
    });
  });
}
