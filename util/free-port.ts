// Picks a free 127.0.0.1 TCP port for a listener that is bound later (by a
// child process such as etcd, or again after a restart at the same address).
//
// Why not bind to port 0: the kernel hands out port 0 binds from the same
// ephemeral range (net.ipv4.ip_local_port_range) that it uses for the source
// ports of outgoing connections. Between picking such a port and binding it,
// any outgoing connection on the machine (a test's gRPC client, etcd's own
// peers) may take it as its source port and keep it for its whole life, and
// the later bind fails with EADDRINUSE. Ports below the ephemeral range are
// only ever taken by explicit binds, so a port found free there stays free
// unless another listener picks the very same one. Processes picking at the
// same time (the test files run in parallel, each with its etcds and API
// servers, some restarted at the same port) could still pick the same port,
// so each pick is also reserved in a directory shared by all processes
// (a file per port, created exclusively, holding the picker's PID) until the
// picker exits; the reservations of dead processes are taken over.

import { mkdirSync, openSync, closeSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Lowest port handed out; below it lie well-known and registered services. */
const MIN_PORT = 20_000;
/** What Linux uses when /proc cannot be read: 32768-60999. */
const DEFAULT_EPHEMERAL_LOW = 32_768;
const ATTEMPTS = 50;

/** The first port of the kernel's ephemeral range, parsed from "low\thigh". */
export function ephemeralLow(procText: string | undefined): number {
  const low = Number(procText?.trim().split(/\s+/)[0]);
  return Number.isInteger(low) && low > 1024 && low <= 65_535 ? low : DEFAULT_EPHEMERAL_LOW;
}

/** The range [min, max] to pick from: below the ephemeral range when there is room, else all user ports. */
export function pickRange(low: number): { min: number; max: number } {
  if (low - 1 - MIN_PORT >= 1000) return { min: MIN_PORT, max: low - 1 };
  return { min: 1024, max: 65_535 };
}

function readEphemeralRange(): string | undefined {
  try {
    return readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8');
  } catch {
    return undefined;
  }
}

function canListen(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

const RESERVATIONS = join(tmpdir(), 'tsk-port-reservations');
const reserved: string[] = [];
let cleanupHooked = false;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Claims `port` for this process unless a live process holds it; false when taken. */
export function reservePort(port: number, dir = RESERVATIONS): boolean {
  mkdirSync(dir, { recursive: true, mode: 0o1777 });
  const file = join(dir, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o644);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      reserved.push(file);
      if (!cleanupHooked) {
        cleanupHooked = true;
        process.once('exit', () => {
          for (const f of reserved) {
            try {
              unlinkSync(f);
            } catch {
              // already gone
            }
          }
        });
      }
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(readFileSync(file, 'utf8').trim());
      if (holder === process.pid || (Number.isInteger(holder) && holder > 0 && alive(holder))) return false;
      // Its process is gone: take the reservation over.
      try {
        unlinkSync(file);
      } catch {
        // someone else took it over first
      }
    }
  }
  return false;
}

/** A TCP port on host (default 127.0.0.1) that nothing listens on, outside the ephemeral range, reserved for this process. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const { min, max } = pickRange(ephemeralLow(readEphemeralRange()));
  for (let i = 0; i < ATTEMPTS; i++) {
    const port = min + Math.floor(Math.random() * (max - min + 1));
    if ((await canListen(port, host)) && reservePort(port)) return port;
  }
  throw new Error(`no free TCP port on ${host} in ${min}-${max} after ${ATTEMPTS} attempts`);
}
