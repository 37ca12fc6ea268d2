// The wire of pods/exec, pods/attach and pods/portforward over WebSocket,
// as Kubernetes' remotecommand and portforward packages define it. Pure:
// subprotocol negotiation, channel framing, the error channel's Status and
// the query of each subresource; streams.ts moves the bytes.
//
// Channel protocols (remotecommand, "k8s.io/apimachinery/pkg/util/remotecommand"):
// every binary message is one channel byte and its data. Channels: 0 stdin,
// 1 stdout, 2 stderr, 3 error (one Status JSON, then the stream ends),
// 4 resize ({"Width":W,"Height":H}). v5 adds 255 "close": its one data byte
// names a channel the client will not write to again (stdin's end).
// Port-forward (portforward.k8s.io over WebSocket): per requested port i,
// channel 2i carries data and 2i+1 errors, and the server's first message on
// each is the port as 2 bytes little-endian. kubectl ≥1.31 instead tunnels
// SPDY/3.1 through the WebSocket ("SPDY/3.1+portforward.k8s.io", spdy.ts).

import { BadRequestError } from '../../api/errors';
import type { JsonObject } from '../../api/codec';

export const STREAM_V5 = 'v5.channel.k8s.io';
export const STREAM_V4 = 'v4.channel.k8s.io';
/** Exec and attach, best first. */
export const EXEC_PROTOCOLS: readonly string[] = [STREAM_V5, STREAM_V4];

export const PORT_FORWARD_SPDY_TUNNEL = 'SPDY/3.1+portforward.k8s.io';
export const PORT_FORWARD_WS = 'portforward.k8s.io';
/** Port-forward: SPDY through the WebSocket (kubectl), or the channel protocol (client libraries); v4.channel.k8s.io is its binary name. */
export const PORT_FORWARD_PROTOCOLS: readonly string[] = [PORT_FORWARD_SPDY_TUNNEL, PORT_FORWARD_WS, STREAM_V4];

export const CHANNEL = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

/** The subresources served over streams. */
export type StreamSubresource = 'exec' | 'attach' | 'portforward';

/**
 * The protocol of the server's choice among those the client offers
 * (Sec-WebSocket-Protocol, in the client's order of preference as
 * Kubernetes' wsstream takes them); a BadRequest naming both lists when none
 * is served.
 */
export function negotiate(offered: readonly string[], served: readonly string[]): string {
  const chosen = offered.find((p) => served.includes(p));
  if (chosen !== undefined) return chosen;
  throw new BadRequestError(`requested protocol(s) are not supported: [${offered.join(' ')}]; supports [${served.join(' ')}]`);
}

/** The Sec-WebSocket-Protocol header's list. */
export function offeredProtocols(header: string | undefined): string[] {
  return (header ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
}

/** One message: the channel byte, then the data. */
export function frame(channel: number, data: Uint8Array = new Uint8Array(0)): Buffer {
  const out = Buffer.allocUnsafe(data.length + 1);
  out[0] = channel;
  out.set(data, 1);
  return out;
}

/** A message's channel and data; undefined for an empty message (a keep-alive some clients send). */
export function unframe(msg: Buffer): { channel: number; data: Buffer } | undefined {
  if (msg.length === 0) return undefined;
  return { channel: msg[0]!, data: msg.subarray(1) };
}

/** A resize message's size; a BadRequest for anything but {"Width":N,"Height":N}. */
export function parseResize(data: Buffer): { width: number; height: number } {
  let v: unknown;
  try {
    v = JSON.parse(data.toString('utf8'));
  } catch {
    throw new BadRequestError(`resize: ${JSON.stringify(data.toString('utf8'))} is not JSON`);
  }
  const o = (v ?? {}) as { Width?: unknown; Height?: unknown };
  const ok = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffff;
  if (!ok(o.Width) || !ok(o.Height)) throw new BadRequestError(`resize: ${data.toString('utf8')} must be {"Width":N,"Height":N}`);
  return { width: o.Width, height: o.Height };
}

/** The error channel's Status for a command's end: Success, or NonZeroExitCode with the code as Kubernetes' kubelet reports it. */
export function exitStatus(code: number, command: readonly string[]): JsonObject {
  if (code === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}

/** The error channel's Status for a session that failed (reason and code as the Status of an API error, when given). */
export function failureStatus(message: string, reason?: string, code?: number): JsonObject {
  return { metadata: {}, status: 'Failure', message, ...(reason ? { reason } : {}), ...(code ? { code } : {}) };
}

function flag(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  if (v === null || v === '' || v === 'false' || v === '0') return false;
  if (v === 'true' || v === '1') return true;
  throw new BadRequestError(`${name}: "${v}" must be true or false`);
}

/** PodExecOptions / PodAttachOptions from the query. */
export interface StreamOptions {
  container: string;
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** The exec or attach query, checked as Kubernetes' validation does. */
export function parseStreamOptions(q: URLSearchParams, sub: 'exec' | 'attach'): StreamOptions {
  const o: StreamOptions = {
    container: q.get('container') ?? '',
    command: q.getAll('command'),
    stdin: flag(q, 'stdin'),
    stdout: flag(q, 'stdout'),
    stderr: flag(q, 'stderr'),
    tty: flag(q, 'tty'),
  };
  if (sub === 'exec' && o.command.length === 0) throw new BadRequestError('you must specify at least one command for the container');
  if (!o.stdin && !o.stdout && !o.stderr) throw new BadRequestError('you must specify at least 1 of stdin, stdout, stderr');
  // As Kubernetes' kubelet: with a TTY stderr is merged into stdout, and a request for it is dropped.
  if (o.tty) o.stderr = false;
  return o;
}

/** The ports of a port-forward query (?ports=80,443 or repeated); a BadRequest for none or one out of range. */
export function parsePorts(q: URLSearchParams): number[] {
  const raw = q.getAll('ports').flatMap((p) => p.split(','));
  const ports = raw.map((p) => p.trim()).filter((p) => p !== '');
  if (ports.length === 0) throw new BadRequestError('at least one port must be specified');
  return ports.map((p) => {
    const n = /^\d+$/.test(p) ? Number(p) : NaN;
    if (!(n >= 1 && n <= 65535)) throw new BadRequestError(`invalid port ${JSON.stringify(p)}: must be 1-65535`);
    return n;
  });
}

/** The first message on a port-forward channel: the port, 2 bytes little-endian. */
export function portPrefix(port: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(port, 0);
  return b;
}
