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
// unless another listener picks the very same one.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

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

/** A TCP port on host (default 127.0.0.1) that nothing listens on, outside the ephemeral range. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const { min, max } = pickRange(ephemeralLow(readEphemeralRange()));
  for (let i = 0; i < ATTEMPTS; i++) {
    const port = min + Math.floor(Math.random() * (max - min + 1));
    if (await canListen(port, host)) return port;
  }
  throw new Error(`no free TCP port on ${host} in ${min}-${max} after ${ATTEMPTS} attempts`);
}
