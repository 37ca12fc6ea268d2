// Raw HTTPS requests to the REST API (apiserver/rest) with a client
// certificate, for tests that check answers byte for byte: status, headers
// and the body as text, whatever the code.

import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'node:https';
import { splitHostPort } from '../../apiserver/rest';
import type { ClientCredentials } from '../../client/connection';

export interface RestAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

export interface RestCall {
  body?: string | Buffer;
  /** Content-Type of the body (default application/json). */
  contentType?: string;
  /** Send the body chunked, with no Content-Length (as a streaming client). */
  chunked?: boolean;
  headers?: Record<string, string>;
}

/** One request to the REST API at HOST:PORT as `creds`; resolves with any answer, rejects only when the connection fails. */
export function restRequest(address: string, creds: ClientCredentials, method: string, path: string, call: RestCall = {}): Promise<RestAnswer> {
  const { host, port } = splitHostPort(address);
  const headers: Record<string, string> = { ...call.headers };
  if (call.body !== undefined) {
    headers['content-type'] = call.contentType ?? 'application/json';
    if (!call.chunked) headers['content-length'] = String(Buffer.byteLength(call.body));
  }
  return new Promise((resolve, reject) => {
    const req = request({ host, port, method, path, ca: creds.caPem, cert: creds.certPem, key: creds.keyPem, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (call.body !== undefined && call.chunked) {
      // Several writes, so the body really goes out in chunks.
      const body = Buffer.from(call.body);
      for (let at = 0; at < body.length; at += 256 * 1024) req.write(body.subarray(at, at + 256 * 1024));
      req.end();
    } else req.end(call.body);
  });
}
