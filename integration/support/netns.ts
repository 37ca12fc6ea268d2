// Helpers of the tests that run a kubelet in a network namespace of its own:
// a checked command runner, a TCP-to-unix forwarder inside the namespace (so
// the namespace reaches the test registry without a link to the host), and
// killing a child process.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { busyboxImage, pushImage } from '../../kubelet/runtime/image/builder';
import type { CleanupStack } from './cleanups';
import { startRegistry } from './registry';

export function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error?.message || `exit ${r.status}`}`);
}

/** Pipes every connection of `server` to a connection `connect()` opens. */
export function pipeTo(connect: () => net.Socket): net.Server {
  return net.createServer((c) => {
    const up = connect();
    c.pipe(up).pipe(c);
    c.on('error', () => up.destroy());
    up.on('error', () => c.destroy());
  });
}

/** A TCP listener on 127.0.0.1:port inside the namespace that forwards to a unix socket. */
export function startForwarderInNamespace(ns: string, port: number, sock: string): Promise<ChildProcess> {
  const code = `const net=require('net');const [port,sock]=process.argv.slice(1);
    net.createServer((c)=>{const u=net.connect(sock);c.pipe(u).pipe(c);c.on('error',()=>u.destroy());u.on('error',()=>c.destroy());})
      .listen(Number(port),'127.0.0.1',()=>console.log('ready'));`;
  // nsenter execs node itself (ip netns exec forks and waits, so killing it would orphan the forwarder).
  const child = spawn('nsenter', [`--net=/var/run/netns/${ns}`, process.execPath, '-e', code, String(port), sock], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout?.once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`registry forwarder exited with ${code}: ${err}`)));
  });
}

export async function killProcess(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const gone = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill('SIGKILL');
  await gone;
}

/** A test registry holding busybox, for kubelets in namespaces without a link to the host. */
export interface BusyboxRegistry {
  /** "127.0.0.1:PORT/tsk/busybox:v1". */
  image: string;
  port: number;
  /** A unix socket forwarding to the registry: startForwarderInNamespace(ns, port, socket) makes it 127.0.0.1:PORT inside ns. */
  socket: string;
}

/** Starts a registry, pushes busybox to it and serves it on DIR/registry.sock; all undone through `cleanups`. */
export async function startBusyboxRegistry(cleanups: CleanupStack, dir: string): Promise<BusyboxRegistry> {
  const registry = await startRegistry();
  cleanups.push(() => registry.stop());
  await pushImage(registry.host, 'tsk/busybox', 'v1', await busyboxImage());
  const port = Number(registry.host.split(':')[1]);
  const socket = path.join(dir, 'registry.sock');
  const hostSide = pipeTo(() => net.connect(port, '127.0.0.1'));
  await new Promise<void>((r) => hostSide.listen(socket, r));
  cleanups.push(() => new Promise<void>((r) => hostSide.close(() => r())));
  return { image: `127.0.0.1:${port}/tsk/busybox:v1`, port, socket };
}
