// When a call that failed may go to the next API server, and what the
// `default/kubernetes` Endpoints say the servers are. Pure functions, unit
// tested beside this file; client/connection.ts acts on them.

import type { ServiceError } from '@grpc/grpc-js';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { Endpoints } from '../api/gen/tsk/v1/core';
import { STATUS_TRAILER } from '../api/errors';

/**
 * How a call failed, seen from failover:
 * - `unsent`: no connection to the server could be made (refused, no route,
 *   TLS handshake with an unreachable or dead host): the server never saw the
 *   call, so any call may go to the next server.
 * - `in-flight`: the connection broke while the call was out: the server may
 *   or may not have acted on it; only a replayable call is tried again.
 * - `answered`: the server answered (an API status, a deadline): not a
 *   failover matter.
 */
export type CallFailure = 'unsent' | 'in-flight' | 'answered';

/** grpc-js's words for a call that never left the client. */
const UNSENT = /No connection established|connect ECONNREFUSED|connect ENOENT|ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN/;

/**
 * grpc-js's words for a call whose HTTP/2 session the server closed with an
 * error (a GOAWAY with a code other than NO_ERROR: Node destroys the session
 * with "Session closed with error code N" and grpc-js reports every open call
 * as INTERNAL "Received RST_STREAM with code 2 triggered by internal client
 * error: ..."). The server never answered these calls: the connection was
 * lost under them, and the channel's next call opens a new one.
 */
const SESSION_CLOSED = /Session closed with error code \d+|New streams cannot be created after receiving a GOAWAY|The session has been destroyed/;

/** A call failed because its HTTP/2 session was closed under it (see SESSION_CLOSED), not by an answer of the server. */
export function sessionClosed(err: Pick<ServiceError, 'code' | 'details' | 'metadata'>): boolean {
  if (err.metadata !== undefined && err.metadata.get(STATUS_TRAILER).length > 0) return false;
  return err.code === GrpcStatus.INTERNAL && SESSION_CLOSED.test(err.details);
}

export function classifyFailure(err: Pick<ServiceError, 'code' | 'details' | 'metadata'>): CallFailure {
  // A status trailer is the API server's own answer (NotFound, Conflict, Unavailable from etcd, ...).
  if (err.metadata !== undefined && err.metadata.get(STATUS_TRAILER).length > 0) return 'answered';
  if (sessionClosed(err)) return 'in-flight';
  if (err.code !== GrpcStatus.UNAVAILABLE) return 'answered';
  return UNSENT.test(err.details) ? 'unsent' : 'in-flight';
}

/**
 * Whether a call that failed this way goes to the next server. `replayable`
 * says that doing the call twice is harmless or detected by the server:
 * reads; a create of a fixed name (the replay answers AlreadyExists); an
 * update or delete with a resourceVersion or UID precondition (the replay
 * answers Conflict or NotFound). Everything else (a generateName create, an
 * unconditional update, a bind) is retried only when it was never sent.
 */
export function shouldFailOver(failure: CallFailure, replayable: boolean): boolean {
  return failure === 'unsent' || (failure === 'in-flight' && replayable);
}

/** The port of an API server in the kubernetes Endpoints when none is named "https". */
export const DEFAULT_API_PORT = 6443;

/**
 * The API servers' HOST:PORT addresses the `default/kubernetes` Endpoints
 * list: every ready address on the port named "https" (else the only port,
 * else 6443), as k3s's agent load balancer reads them.
 */
export function serversFromEndpoints(ep: Endpoints | undefined): string[] {
  const out: string[] = [];
  for (const subset of ep?.subsets ?? []) {
    const ports = subset.ports ?? [];
    const port = ports.find((p) => p.name === 'https')?.port ?? (ports.length === 1 ? ports[0]?.port : undefined) ?? DEFAULT_API_PORT;
    for (const a of subset.addresses ?? []) {
      if (!a.ip) continue;
      out.push(a.ip.includes(':') ? `[${a.ip}]:${port}` : `${a.ip}:${port}`);
    }
  }
  return [...new Set(out)];
}
