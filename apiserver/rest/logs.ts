// GET pods/NAME/log: the container's log as a streamed text/plain answer
// (kubectl logs [-f] [--tail] [--timestamps] [--previous] [-c] [--since]),
// proxied from the node through its tunnel by the PodSessions the gRPC API
// uses. A failure before the first byte is a Status; after it, the stream
// is cut.

import { BadRequestError } from '../../api/errors';
import type { PodLogsRequest } from '../../api/gen/tsk/v1/stream';
import type { PodSessions } from '../grpc/pod-sessions';
import type { RestRequest } from './context';
import { sendError } from './http';
import { SinceFilter } from './log-filter';

function flag(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  if (v === null || v === '' || v === 'false') return false;
  if (v === 'true' || v === '1') return true;
  throw new BadRequestError(`${name}: "${v}" must be true or false`);
}

function count(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw new BadRequestError(`${name}: "${v}" must be a non-negative integer`);
  return Number(v);
}

/** The node's request, and the since bound (ms since the epoch) applied here. */
export function parseLogQuery(q: URLSearchParams, namespace: string, name: string, now: number): { request: PodLogsRequest; sinceMs: number | undefined } {
  if (q.has('limitBytes')) throw new BadRequestError('limitBytes is not supported by tsk; use tailLines');
  const sinceSeconds = count(q, 'sinceSeconds');
  const sinceTime = q.get('sinceTime');
  if (sinceSeconds !== undefined && sinceTime !== null) throw new BadRequestError('at most one of sinceTime or sinceSeconds may be specified');
  let sinceMs: number | undefined;
  if (sinceSeconds !== undefined) sinceMs = now - sinceSeconds * 1000;
  if (sinceTime !== null) {
    sinceMs = Date.parse(sinceTime);
    if (Number.isNaN(sinceMs)) throw new BadRequestError(`sinceTime: "${sinceTime}" is not an RFC 3339 time`);
  }
  const timestamps = flag(q, 'timestamps');
  return {
    request: {
      namespace,
      name,
      container: q.get('container') ?? '',
      follow: flag(q, 'follow'),
      tailLines: count(q, 'tailLines'),
      previous: flag(q, 'previous'),
      // The since bound is applied to the node's timestamps.
      timestamps: timestamps || sinceMs !== undefined,
    },
    sinceMs,
  };
}

export function servePodLogs(sessions: PodSessions, r: RestRequest, now: number): void {
  const { request, sinceMs } = parseLogQuery(r.query, r.info.namespace || 'default', r.info.name, now);
  const filter = sinceMs === undefined ? undefined : new SinceFilter(sinceMs, flag(r.query, 'timestamps'));
  const res = r.res;
  const start = (): void => {
    if (!res.headersSent) res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private' });
  };
  sessions.streamLogs(r.credentials, request, {
    write: (data) => {
      start();
      const out = filter ? filter.push(data) : data;
      if (out.length === 0 || res.write(out)) return Promise.resolve();
      return new Promise((resolve) => {
        res.once('drain', resolve);
        res.once('close', resolve);
      });
    },
    fail: (err) => sendError(res, err),
    end: () => {
      start();
      res.end(filter?.flush());
    },
    onCancel: (f) => {
      if (res.destroyed || res.writableEnded) f();
      else res.once('close', f);
    },
  });
}
