// Starts and supervises a local etcd: the API server's embedded default (no
// --etcd-servers given) and the real etcd every integration test runs against.
// It listens on free 127.0.0.1 ports only.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, open } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export class EtcdNotFoundError extends Error {
  constructor(binary: string) {
    super(
      `etcd not found (looked for "${binary}" on PATH). Install it with "apt-get install etcd-server" ` +
        `(Debian/Ubuntu), or point tsk at an existing cluster with --etcd-servers http://HOST:2379`,
    );
    this.name = 'EtcdNotFoundError';
  }
}

export interface EtcdProcessOptions {
  /** Directory for etcd's data (member/) and its log (etcd.log). */
  dataDir: string;
  /** etcd binary; default "etcd" from PATH. */
  binary?: string;
  /** Fixed client port; default a free one. Reusing the port lets clients reconnect after a restart. */
  clientPort?: number;
  peerPort?: number;
  /** How long to wait for /health; default 20 s. */
  startTimeoutMs?: number;
  /** Called when etcd exits without stop() having been called. */
  onUnexpectedExit?: (code: number | null, signal: NodeJS.Signals | null) => void;
}

/** Finds a free TCP port on 127.0.0.1 (the kernel picks; the socket is closed at once). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
    const body = (await res.json()) as { health?: string };
    return res.ok && body.health === 'true';
  } catch {
    return false;
  }
}

/** A running etcd. Start with EtcdProcess.start(); stop() is idempotent. */
export class EtcdProcess {
  private stopping = false;
  private exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly clientUrl: string,
    readonly clientPort: number,
    readonly peerPort: number,
    readonly dataDir: string,
    readonly binary: string,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  static async start(opts: EtcdProcessOptions): Promise<EtcdProcess> {
    const binary = opts.binary ?? 'etcd';
    const clientPort = opts.clientPort ?? (await freePort());
    const peerPort = opts.peerPort ?? (await freePort());
    const dataDir = join(opts.dataDir, 'etcd');
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const log = await open(join(opts.dataDir, 'etcd.log'), 'a');
    const clientUrl = `http://127.0.0.1:${clientPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const child = spawn(
      binary,
      [
        '--name', 'tsk',
        '--data-dir', dataDir,
        '--listen-client-urls', clientUrl,
        '--advertise-client-urls', clientUrl,
        '--listen-peer-urls', peerUrl,
        '--initial-advertise-peer-urls', peerUrl,
        '--initial-cluster', `tsk=${peerUrl}`,
        // A single member: 100 ms heartbeats are fine on loopback, and the
        // quota matches Kubernetes' recommended 8 GiB ceiling.
        '--quota-backend-bytes', String(8 * 1024 * 1024 * 1024),
        '--max-request-bytes', String(2 * 1024 * 1024),
      ],
      { stdio: ['ignore', log.fd, log.fd] },
    );
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
    const proc = new EtcdProcess(child, clientUrl, clientPort, peerPort, dataDir, binary);
    child.once('exit', (code, signal) => {
      void log.close();
      if (!proc.stopping) opts.onUnexpectedExit?.(code, signal);
    });
    const deadline = Date.now() + (opts.startTimeoutMs ?? 20_000);
    for (;;) {
      const failed = await Promise.race([spawnError, sleep(100).then(() => undefined)]);
      if (failed) {
        const code = (failed as NodeJS.ErrnoException).code;
        throw code === 'ENOENT' ? new EtcdNotFoundError(binary) : failed;
      }
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`etcd exited during start-up (code ${child.exitCode}); see ${join(opts.dataDir, 'etcd.log')}`);
      }
      if (await healthy(clientUrl)) return proc;
      if (Date.now() > deadline) {
        await proc.stop();
        throw new Error(`etcd did not become healthy within the timeout; see ${join(opts.dataDir, 'etcd.log')}`);
      }
    }
  }

  /** SIGTERM, then SIGKILL after 5 s. Safe to call twice. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }

  /** Kills etcd at once (SIGKILL), as a crash would; for restart tests. */
  async kill(): Promise<void> {
    this.stopping = true;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}
