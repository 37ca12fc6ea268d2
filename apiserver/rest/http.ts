// The HTTP side of the REST API: bodies read under Kubernetes' 3 MiB limit,
// JSON responses with Kubernetes' Warning headers, Status errors.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JsonObject } from '../../api/codec';
import { TooLargeError, type ApiError } from '../../api/errors';
import { MAX_REQUEST_BYTES } from '../grpc/server';
import { parseJsonObject } from './objects';
import { statusOf } from './status';

/** Bytes of a body still drained (and dropped) after the limit, so the client reads the 413 instead of a reset connection. */
const DRAIN_LIMIT = 64 * 1024 * 1024;

/** The request body; a TooLargeError past `limit` bytes (the rest is drained, up to DRAIN_LIMIT). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else if (size > DRAIN_LIMIT) req.destroy();
    });
    req.on('end', () => {
      if (size > limit) reject(new TooLargeError(`Request entity too large: limit is ${limit}`));
      else resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

/** Kubernetes' Warning header values: `299 - "text"`; characters beyond ASCII escaped (a header is Latin-1 only). */
export function warningHeaders(warnings: readonly string[]): string[] {
  return warnings.map((w) => `299 - ${JSON.stringify(w).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}`);
}

export function sendJson(res: ServerResponse, code: number, body: JsonObject, warnings: readonly string[] = []): void {
  const text = JSON.stringify(body);
  const headers: Record<string, string | string[]> = { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)) };
  if (warnings.length > 0) headers['Warning'] = warningHeaders(warnings);
  res.writeHead(code, headers);
  res.end(text);
}

/** Bytes of a list answer gathered before each write (about 30 pods). */
const LIST_CHUNK_CHARS = 64 * 1024;

/**
 * A list answer written as its items are encoded, in chunks, as
 * kube-apiserver's streaming collection encoding (KEP-5116): the whole list
 * is never one string (10,000 pods are ~20 MB of JSON), each item's garbage
 * dies young, and the first bytes leave while the rest is encoded. `head` is
 * the list without items (kind, apiVersion, metadata, in that order).
 * Waits for the client when it reads slower; stops if it goes away.
 */
export async function sendJsonList(
  res: ServerResponse,
  head: JsonObject,
  count: number,
  item: (i: number) => JsonObject,
  warnings: readonly string[] = [],
): Promise<void> {
  const headers: Record<string, string | string[]> = { 'Content-Type': 'application/json' };
  if (warnings.length > 0) headers['Warning'] = warningHeaders(warnings);
  // The first item is encoded before the head is sent: a failure there is still a Status.
  let chunk = `${JSON.stringify(head).slice(0, -1)},"items":[${count > 0 ? JSON.stringify(item(0)) : ''}`;
  res.writeHead(200, headers);
  for (let i = 1; i < count; i++) {
    chunk += `,${JSON.stringify(item(i))}`;
    if (chunk.length < LIST_CHUNK_CHARS) continue;
    if (res.destroyed) return;
    if (!res.write(chunk)) await drainedOrClosed(res);
    chunk = '';
  }
  res.end(`${chunk}]}`);
}

function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * A failure as a Status, unless the response has started (then the
 * connection is ended). A Status with retryAfterSeconds also sets
 * Retry-After, as kube-apiserver does (client-go waits that long, then retries).
 */
export function sendError(res: ServerResponse, err: ApiError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (err.details.retryAfterSeconds) res.setHeader('Retry-After', String(err.details.retryAfterSeconds));
  sendJson(res, err.httpCode, statusOf(err));
}

/**
 * The request's object of `kind` (JSON or YAML by Content-Type; the kind is
 * named in decode errors); undefined for an empty body when `optional` (a
 * DELETE without DeleteOptions).
 */
export async function readObjectBody(req: IncomingMessage, kind: string, optional = false): Promise<JsonObject | undefined> {
  const text = (await readBody(req, MAX_REQUEST_BYTES)).toString('utf8');
  if (optional && text.trim() === '') return undefined;
  return parseJsonObject(text, req.headers['content-type'], kind);
}

/** The request's object of `kind`; a BadRequest when the body is empty. */
export async function readObject(req: IncomingMessage, kind: string): Promise<JsonObject> {
  return (await readObjectBody(req, kind))!;
}
