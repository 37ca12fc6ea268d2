// A real registry for tests: Debian's docker-registry (distribution 2.8) on
// a free 127.0.0.1 port with its storage in a temp dir, optionally behind
// htpasswd basic auth; plus a tiny counting proxy to see what clients fetch.
// Everything is stopped and removed by stop(); tests call it from teardown.

import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, promises as fs, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from '../../util/free-port';

export const REGISTRY_BIN = '/usr/bin/docker-registry';

export interface TestRegistry {
  /** "127.0.0.1:PORT", usable as a reference's domain. */
  host: string;
  /** The registry's storage root (tests may tamper with blobs under it). */
  storageDir: string;
  /** Path of a stored blob's data file inside the registry's filesystem storage. */
  blobDataPath(digest: string): string;
  stop(): Promise<void>;
}

const BCRYPT_ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A bcrypt hash (all distribution's htpasswd accepts) without apache2-utils:
 * Perl's crypt() is glibc/libxcrypt's, which does bcrypt on Debian 12, and
 * perl-base is Essential, so every Debian machine has it.
 */
export function bcryptHash(password: string): string {
  const rnd = randomBytes(22);
  // The last salt character carries only 2 significant bits: pick one whose low bits are zero.
  const salt = [...rnd.subarray(0, 21)].map((b) => BCRYPT_ALPHABET[b % 64]).join('') + ('.Oeu'[(rnd[21] ?? 0) % 4] ?? '.');
  const hash = execFileSync('perl', ['-e', 'print crypt($ARGV[0], $ARGV[1])', password, `$2b$05$${salt}`], { encoding: 'utf8' });
  if (!hash.startsWith('$2b$05$') || hash.length !== 60)
    throw new Error(`perl crypt() did not produce a bcrypt hash (got "${hash}"): libcrypt without bcrypt?`);
  return hash;
}

async function waitReady(url: string, child: ChildProcess, logs: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}: ${logs()}`);
    const status = await new Promise<number>((resolve) => {
      const req = http.get(url, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', () => resolve(0));
      req.setTimeout(1000, () => req.destroy());
    });
    if (status === 200 || status === 401) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`docker-registry did not become ready at ${url}: ${logs()}`);
}

/** Starts a registry; with `users`, pushes and pulls need basic auth. */
export async function startRegistry(opts: { users?: Record<string, string> } = {}): Promise<TestRegistry> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsk-registry-'));
  const storageDir = path.join(dir, 'storage');
  await fs.mkdir(storageDir);
  let auth = '';
  if (opts.users) {
    const htpasswd = path.join(dir, 'htpasswd');
    writeFileSync(
      htpasswd,
      Object.entries(opts.users)
        .map(([u, p]) => `${u}:${bcryptHash(p)}\n`)
        .join(''),
    );
    auth = `auth:\n  htpasswd:\n    realm: tsk-test\n    path: ${htpasswd}\n`;
  }
  const port = await freePort();
  const config = path.join(dir, 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:\n  level: error\n  accesslog:\n    disabled: true',
      `storage:\n  filesystem:\n    rootdirectory: ${storageDir}\n  delete:\n    enabled: true`,
      `http:\n  addr: 127.0.0.1:${port}\n  secret: ${randomBytes(16).toString('hex')}`,
      auth,
    ].join('\n'),
  );
  let output = '';
  const child = spawn(REGISTRY_BIN, ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    await fs.rm(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(`http://127.0.0.1:${port}/v2/`, child, () => output.slice(-2000));
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    host: `127.0.0.1:${port}`,
    storageDir,
    blobDataPath: (digest) => {
      const hex = digest.slice('sha256:'.length);
      return path.join(storageDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
    },
    stop,
  };
}

export interface CountingProxy {
  host: string;
  /** Requests seen, as "METHOD /path". */
  requests: string[];
  count(pred: (r: string) => boolean): number;
  stop(): Promise<void>;
}

/**
 * An HTTP proxy on 127.0.0.1 that forwards everything to `target`
 * (host:port) and records each request. With `stallBlobs`, downloads of
 * blobs over 100 kB send their first chunk and then hang (to kill a client
 * mid-download).
 */
export async function startCountingProxy(target: string, opts: { stallBlobs?: boolean } = {}): Promise<CountingProxy> {
  const [thost, tport] = target.split(':');
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method ?? ''} ${(req.url ?? '').split('?')[0] ?? ''}`);
    const stall = opts.stallBlobs === true && req.method === 'GET' && (req.url ?? '').includes('/blobs/');
    const up = http.request({ host: thost, port: Number(tport), method: req.method, path: req.url, headers: req.headers }, (ures) => {
      res.writeHead(ures.statusCode ?? 502, ures.headers);
      // Small blobs (configs) pass whole: a response left open would wedge the client's keep-alive socket.
      if (!stall || Number(ures.headers['content-length']) < 100_000) {
        ures.pipe(res);
        return;
      }
      ures.once('data', (chunk: Buffer) => {
        res.write(chunk);
        ures.pause();
      });
    });
    up.on('error', (e) => {
      res.writeHead(502);
      res.end(String(e));
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address() as net.AddressInfo;
  return {
    host: `127.0.0.1:${addr.port}`,
    requests,
    count: (pred) => requests.filter(pred).length,
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface TokenAuthProxy {
  host: string;
  /** Token requests seen: the scope asked for and whether basic credentials came with it. */
  tokenRequests: Array<{ scope: string; service: string; user?: string }>;
  stop(): Promise<void>;
}

/**
 * Docker Hub's scheme in miniature: API requests without a valid bearer
 * token get 401 + `WWW-Authenticate: Bearer realm=...,service=...,scope=...`;
 * GET /token (with basic credentials when `users` is given) issues a token
 * for the scope; valid requests are forwarded to the registry at `target`.
 */
export async function startTokenAuthProxy(target: string, users?: Record<string, string>): Promise<TokenAuthProxy> {
  const [thost, tport] = target.split(':');
  const tokens = new Map<string, string>(); // token -> scope
  const tokenRequests: TokenAuthProxy['tokenRequests'] = [];
  let self = '';
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://${self}`);
    if (url.pathname === '/token') {
      const scope = url.searchParams.get('scope') ?? '';
      const service = url.searchParams.get('service') ?? '';
      const auth = req.headers.authorization ?? '';
      let user: string | undefined;
      if (auth.startsWith('Basic ')) {
        const [u, ...p] = Buffer.from(auth.slice(6), 'base64').toString().split(':');
        if (users?.[u ?? ''] !== p.join(':')) {
          res.writeHead(401, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ details: 'incorrect username or password' }));
          return;
        }
        user = u;
      }
      tokenRequests.push({ scope, service, ...(user !== undefined ? { user } : {}) });
      if (users && user === undefined) {
        res.writeHead(401);
        res.end();
        return;
      }
      const token = randomBytes(16).toString('hex');
      tokens.set(token, scope);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ access_token: token, expires_in: 300 }));
      return;
    }
    const repo = /^\/v2\/(.+)\/(?:manifests|blobs)\//.exec(url.pathname)?.[1];
    const scope = repo ? `repository:${repo}:pull` : '';
    const auth = req.headers.authorization ?? '';
    const granted = auth.startsWith('Bearer ') ? tokens.get(auth.slice(7)) : undefined;
    if (granted === undefined || (scope !== '' && granted !== scope)) {
      res.writeHead(401, {
        'WWW-Authenticate': `Bearer realm="http://${self}/token",service="tsk-test-registry"${scope ? `,scope="${scope}"` : ''}`,
        'Content-Type': 'application/json',
      });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
      return;
    }
    const headers = { ...req.headers };
    delete headers.authorization;
    const up = http.request({ host: thost, port: Number(tport), method: req.method, path: req.url, headers }, (ures) => {
      res.writeHead(ures.statusCode ?? 502, ures.headers);
      ures.pipe(res);
    });
    up.on('error', (e) => {
      res.writeHead(502);
      res.end(String(e));
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  self = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return {
    host: self,
    tokenRequests,
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
