// A client for the OCI Distribution API (pull side, plus the few push calls
// tsk's own test-image builder uses), on Node's http/https. Handles
// anonymous access, Basic auth and Docker's bearer-token challenge; HTTPS by
// default, plain HTTP for localhost and insecure registries.

import * as http from 'node:http';
import * as https from 'node:https';
import { parseChallenges, pickChallenge } from './auth-challenge';
import { sha256Of } from './digest';
import { DigestMismatchError, ImageNotFoundError, RegistryAuthError, RegistryError } from './errors';
import { MANIFEST_ACCEPT } from './manifest';
import { DEFAULT_DOMAIN } from './reference';

const DOCKER_HUB_ENDPOINT = 'registry-1.docker.io';
const TIMEOUT_MS = 60_000;
const MAX_REDIRECTS = 5;
const MAX_MANIFEST_BYTES = 4 << 20;

export interface Credentials {
  username: string;
  password: string;
}

export interface RegistryOptions {
  insecureRegistries?: string[];
  auth?: Credentials;
}

/** True for hosts Docker talks plain HTTP to without being told: localhost and loopback. */
export function isLoopbackHost(domain: string): boolean {
  const host = domain.startsWith('[') ? domain.slice(0, domain.indexOf(']') + 1) : (domain.split(':')[0] ?? '');
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** "http" or "https" for a registry domain (host[:port]). */
export function registryScheme(domain: string, insecure: string[] = []): 'http' | 'https' {
  if (isLoopbackHost(domain)) return 'http';
  const host = domain.split(':')[0];
  return insecure.some((i) => i === domain || i === host) ? 'http' : 'https';
}

interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  stream: http.IncomingMessage;
}

async function readAll(stream: http.IncomingMessage, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of stream as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > limit) {
      stream.destroy();
      throw new Error(`${what} larger than ${limit} bytes`);
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

/** The first {code, message} of a registry error body, for messages. */
function errorDetail(body: Buffer): { code: string; message: string } {
  try {
    const j = JSON.parse(body.toString()) as { errors?: Array<{ code?: unknown; message?: unknown }> };
    const e = j.errors?.[0];
    if (e) return { code: String(e.code ?? ''), message: String(e.message ?? '') };
  } catch {
    /* not JSON */
  }
  return { code: '', message: body.toString('utf8', 0, Math.min(body.length, 200)).trim() };
}

export class RegistryClient {
  readonly base: string;
  private authHeader: string | undefined;
  private readonly tokenCache = new Map<string, string>();

  constructor(
    readonly domain: string,
    private readonly opts: RegistryOptions = {},
  ) {
    const host = domain === DEFAULT_DOMAIN ? DOCKER_HUB_ENDPOINT : domain;
    this.base = `${registryScheme(domain, opts.insecureRegistries)}://${host}`;
  }

  private send(method: string, url: URL, headers: Record<string, string>, body?: Buffer | AsyncIterable<Buffer>): Promise<Response> {
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(url, { method, headers, timeout: TIMEOUT_MS }, (res) => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, stream: res });
      });
      req.on('timeout', () => req.destroy(new Error(`no response within ${TIMEOUT_MS / 1000}s`)));
      req.on('error', (e) => reject(new RegistryError(this.domain, `${method} ${url.origin}${url.pathname}: ${e.message}`)));
      if (body === undefined) req.end();
      else if (Buffer.isBuffer(body)) req.end(body);
      else {
        void (async () => {
          try {
            for await (const c of body) if (!req.write(c)) await new Promise<void>((r) => req.once('drain', r));
            req.end();
          } catch (e) {
            req.destroy(e as Error);
          }
        })();
      }
    });
  }

  /**
   * One API request with auth: on 401 it answers the challenge once (Basic
   * or bearer token for `scope`) and retries. Follows redirects (blob
   * storage), dropping credentials when the host changes.
   */
  async request(
    method: string,
    pathOrUrl: string,
    scope: string,
    headers: Record<string, string> = {},
    body?: () => Buffer | AsyncIterable<Buffer>,
  ): Promise<Response> {
    let url = new URL(pathOrUrl, this.base);
    const origin = url.origin;
    let answered = false;
    for (let hop = 0; hop <= MAX_REDIRECTS;) {
      const h: Record<string, string> = { 'User-Agent': 'tsk', ...headers };
      if (url.origin === origin) {
        const a = this.tokenCache.get(scope) ?? this.authHeader;
        if (a) h['Authorization'] = a;
      }
      const res = await this.send(method, url, h, body?.());
      if (res.status === 401 && url.origin === origin && !answered) {
        const challenge = String(res.headers['www-authenticate'] ?? '');
        res.stream.resume();
        await this.answer(challenge, scope);
        answered = true;
        continue;
      }
      if ([301, 302, 303, 307, 308].includes(res.status) && typeof res.headers.location === 'string') {
        res.stream.resume();
        url = new URL(res.headers.location, url);
        hop++;
        continue;
      }
      if (res.status === 401 || (res.status === 403 && answered)) {
        const detail = errorDetail(await readAll(res.stream, 64 << 10, 'error body').catch(() => Buffer.alloc(0)));
        throw new RegistryAuthError(
          this.domain,
          this.opts.auth
            ? `access denied with the given credentials (${detail.message || `HTTP ${res.status}`})`
            : `access denied (${detail.message || `HTTP ${res.status}`}): the repository may not exist or may require credentials (--username/--password)`,
        );
      }
      return res;
    }
    throw new RegistryError(this.domain, `too many redirects for ${pathOrUrl}`);
  }

  private basic(): string {
    const c = this.opts.auth;
    if (!c) throw new RegistryAuthError(this.domain, 'the registry requires credentials: pass --username and --password');
    return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
  }

  private async answer(header: string, scope: string): Promise<void> {
    const c = pickChallenge(parseChallenges(header));
    if (!c) throw new RegistryAuthError(this.domain, `unsupported authentication challenge "${header}"`);
    if (c.scheme === 'basic') {
      this.authHeader = this.basic();
      return;
    }
    const realm = c.params['realm'];
    if (!realm) throw new RegistryAuthError(this.domain, 'bearer challenge without a realm');
    const tokenUrl = new URL(realm);
    if (c.params['service']) tokenUrl.searchParams.set('service', c.params['service']);
    tokenUrl.searchParams.set('scope', c.params['scope'] ?? scope);
    const h: Record<string, string> = { 'User-Agent': 'tsk', Accept: 'application/json' };
    if (this.opts.auth) h['Authorization'] = this.basic();
    const res = await this.send('GET', tokenUrl, h);
    const body = await readAll(res.stream, 1 << 20, 'token response');
    if (res.status === 401 || res.status === 403) {
      throw new RegistryAuthError(
        this.domain,
        `token service ${tokenUrl.origin} refused ${this.opts.auth ? 'the credentials' : 'anonymous access'} (HTTP ${res.status})`,
      );
    }
    if (res.status !== 200) throw new RegistryAuthError(this.domain, `token service ${tokenUrl.origin} answered HTTP ${res.status}`);
    let token: unknown;
    try {
      const j = JSON.parse(body.toString()) as { token?: unknown; access_token?: unknown };
      token = j.token ?? j.access_token;
    } catch {
      /* handled below */
    }
    if (typeof token !== 'string' || token === '') throw new RegistryAuthError(this.domain, `token service ${tokenUrl.origin} returned no token`);
    this.tokenCache.set(scope, `Bearer ${token}`);
  }

  private async fail(res: Response, what: string, ref: string): Promise<never> {
    const detail = errorDetail(await readAll(res.stream, 64 << 10, 'error body').catch(() => Buffer.alloc(0)));
    if (res.status === 404 || ['MANIFEST_UNKNOWN', 'NAME_UNKNOWN', 'BLOB_UNKNOWN'].includes(detail.code)) {
      throw new ImageNotFoundError(ref, 'registry', `${what}: ${detail.message || 'HTTP 404'}`);
    }
    throw new RegistryError(this.domain, `${what}: HTTP ${res.status}${detail.message ? ` ${detail.message}` : ''}`);
  }

  /**
   * Fetches a manifest or index by tag or digest. When `reference` is a
   * digest the body is verified against it; otherwise the digest is computed
   * (and checked against Docker-Content-Digest when the registry sends one).
   */
  async getManifest(repo: string, reference: string, displayRef: string): Promise<{ body: Buffer; contentType: string; digest: string }> {
    const res = await this.request('GET', `/v2/${repo}/manifests/${reference}`, `repository:${repo}:pull`, { Accept: MANIFEST_ACCEPT });
    if (res.status !== 200) return this.fail(res, `manifest ${reference} of ${repo}`, displayRef);
    const body = await readAll(res.stream, MAX_MANIFEST_BYTES, 'manifest');
    const digest = sha256Of(body);
    if (reference.startsWith('sha256:') && digest !== reference) throw new DigestMismatchError(reference, digest, `manifest of ${displayRef}`);
    const claimed = res.headers['docker-content-digest'];
    if (typeof claimed === 'string' && claimed.startsWith('sha256:') && claimed !== digest) {
      throw new DigestMismatchError(claimed, digest, `manifest of ${displayRef} (Docker-Content-Digest)`);
    }
    return { body, contentType: String(res.headers['content-type'] ?? ''), digest };
  }

  /** Opens a blob for streaming; the caller verifies the digest while storing it. */
  async openBlob(repo: string, digest: string, displayRef: string): Promise<{ stream: AsyncIterable<Buffer>; size?: number }> {
    const res = await this.request('GET', `/v2/${repo}/blobs/${digest}`, `repository:${repo}:pull`);
    if (res.status !== 200) return this.fail(res, `blob ${digest} of ${repo}`, displayRef);
    const len = Number(res.headers['content-length']);
    return { stream: res.stream as AsyncIterable<Buffer>, ...(Number.isSafeInteger(len) ? { size: len } : {}) };
  }

  /** Monolithic blob upload (POST then PUT ?digest=); a no-op when the registry has it. */
  async pushBlob(repo: string, digest: string, data: Buffer): Promise<void> {
    const scope = `repository:${repo}:pull,push`;
    const head = await this.request('HEAD', `/v2/${repo}/blobs/${digest}`, scope);
    head.stream.resume();
    if (head.status === 200) return;
    const start = await this.request('POST', `/v2/${repo}/blobs/uploads/`, scope, { 'Content-Length': '0' });
    start.stream.resume();
    const location = start.headers.location;
    if (start.status !== 202 || typeof location !== 'string') {
      throw new RegistryError(this.domain, `starting upload of ${digest} to ${repo}: HTTP ${start.status}`);
    }
    const url = new URL(location, this.base);
    url.searchParams.set('digest', digest);
    const put = await this.request(
      'PUT',
      url.toString(),
      scope,
      { 'Content-Type': 'application/octet-stream', 'Content-Length': String(data.length) },
      () => data,
    );
    if (put.status !== 201) return this.fail(put, `uploading blob ${digest} to ${repo}`, repo);
    put.stream.resume();
  }

  async pushManifest(repo: string, tag: string, mediaType: string, body: Buffer): Promise<void> {
    const res = await this.request(
      'PUT',
      `/v2/${repo}/manifests/${tag}`,
      `repository:${repo}:pull,push`,
      { 'Content-Type': mediaType, 'Content-Length': String(body.length) },
      () => body,
    );
    if (res.status !== 201) return this.fail(res, `pushing manifest ${repo}:${tag}`, `${repo}:${tag}`);
    res.stream.resume();
  }
}
