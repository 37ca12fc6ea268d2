// Where the API server listens for gRPC: TCP HOST:PORT addresses and unix
// domain sockets ("unix:/run/tsk/api.sock", as gRPC names them). A unix
// socket is a file, so it reaches processes in other network namespaces
// with no network link at all: that is how `tsk lab` nodes and the kubelet
// tests, which run in namespaces of their own, reach an API server in the
// host namespace, which listens only on loopback there.

import * as grpc from '@grpc/grpc-js';
import { lstat, mkdir, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname, isAbsolute } from 'node:path';

export type ListenAddress = { kind: 'tcp'; host: string; port: number; text: string } | { kind: 'unix'; path: string; text: string };

/** Parses HOST:PORT or unix:/ABS/PATH (also unix:///ABS/PATH); throws an Error naming what is wrong. */
export function parseListenAddress(text: string): ListenAddress {
  if (text.startsWith('unix:')) {
    const path = text.slice('unix:'.length).replace(/^\/\/(?=\/)/, '');
    if (!isAbsolute(path)) throw new Error(`"${text}" is not unix:/ABSOLUTE/PATH`);
    return { kind: 'unix', path, text: `unix:${path}` };
  }
  const m = /^(.+):(\d+)$/.exec(text);
  if (!m || Number(m[2]) > 65535) throw new Error(`"${text}" is not HOST:PORT or unix:/PATH (for example 127.0.0.1:6443)`);
  return { kind: 'tcp', host: m[1] ?? '', port: Number(m[2]), text };
}

/** True when something accepts connections on the socket file. */
function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Removes a socket file left by a server that died without cleaning up; a
 * socket something still answers on is left alone (the bind then fails with
 * "address in use"), and a path that is not a socket is never removed.
 */
async function removeStaleSocket(path: string): Promise<void> {
  const st = await lstat(path).catch(() => undefined);
  if (!st) return;
  if (!st.isSocket()) throw new Error(`${path} exists and is not a socket`);
  if (!(await socketAnswers(path))) await unlink(path);
}

export interface Bound {
  /** The address clients use: HOST:PORT with the real port, or unix:/PATH. */
  readonly address: string;
  /** Removes what binding left behind (the socket file). */
  cleanup(): Promise<void>;
}

/** Binds the server to one address with `credentials` (TLS, or plaintext for the benchmark only); errors name the address. */
export async function bindListenAddress(server: grpc.Server, addr: ListenAddress, credentials: grpc.ServerCredentials): Promise<Bound> {
  if (addr.kind === 'unix') {
    await mkdir(dirname(addr.path), { recursive: true, mode: 0o755 });
    await removeStaleSocket(addr.path);
  }
  const target = addr.kind === 'unix' ? `unix:${addr.path}` : `${addr.host}:${addr.port}`;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(target, credentials, (err, p) => (err ? reject(new Error(`cannot listen on ${addr.text} for gRPC: ${err.message}`)) : resolve(p))),
  );
  if (addr.kind === 'unix') return { address: addr.text, cleanup: () => unlink(addr.path).catch(() => undefined) };
  return { address: `${dialHost(addr.host)}:${port}`, cleanup: async () => undefined };
}

/** A wildcard listen host is not an address to dial, nor a name in the serving certificate: use loopback. */
function dialHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '[::1]';
  return host;
}
