// Starts and supervises a local etcd: the API server's embedded default (no
// --etcd-servers given) and the real etcd every integration test runs against.
// It listens on free 127.0.0.1 ports only. With `tls`, both ports speak TLS
// and require a client certificate of the given CA (etcd's
// --client-cert-auth): a local user who can reach the port still cannot use it.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { basename, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './free-port';

/** The embedded etcd's backend quota: Kubernetes' recommended 8 GiB ceiling. */
export const EMBEDDED_ETCD_QUOTA_BYTES = 8 * 1024 * 1024 * 1024;

export class EtcdNotFoundError extends Error {
  constructor(binary: string) {
    super(
      `etcd not found (looked for "${binary}" on PATH). Install it with "apt-get install etcd-server" ` +
        `(Debian/Ubuntu), or point tsk at an existing cluster with --etcd-servers http://HOST:2379`,
    );
    this.name = 'EtcdNotFoundError';
  }
}

/** setpriv's exit code when it cannot execute the program (as a shell's "command not found"). */
const SETPRIV_EXEC_FAILED = 127;

/** etcd could not bind a port tsk picked (another process took it first). */
class PortInUseError extends Error {
  constructor(clientPort: number, peerPort: number) {
    super(`etcd could not bind 127.0.0.1:${clientPort} or :${peerPort}: address already in use`);
    this.name = 'PortInUseError';
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
  /** Client-certificate TLS on the client and peer ports. */
  tls?: EtcdTlsFiles;
  /** etcd's --force-new-cluster: the data's membership is rewritten to this one member (tsk server --cluster-reset). */
  forceNewCluster?: boolean;
  /**
   * Ports etcd must not take when it picks its own: the server's listen ports,
   * known but not bound yet when etcd starts first.
   */
  avoidPorts?: readonly number[];
  /**
   * A member of a cluster other servers join (tsk server --cluster-init or
   * --server): peers on https://ADDRESS:2380 with the peer CA's certificates,
   * clients on 127.0.0.1 and ADDRESS, port 2379 (k3s's ports). Absent: a
   * lone etcd on 127.0.0.1 only.
   */
  cluster?: EtcdClusterOptions;
  /** Where to say that a stale etcd of this data directory was stopped; default: not said. */
  log?: (msg: string) => void;
}

export interface EtcdClusterOptions {
  /** The member name, unique in the cluster. */
  name: string;
  /** This server's address, which the other members reach. */
  address: string;
  /** etcd's --initial-cluster: NAME=URL,... (used only when the data directory is new). */
  initialCluster: string;
  /** "new" for the first member (--cluster-init), "existing" for one joining. */
  state: 'new' | 'existing';
  peerTls: { caFile: string; certFile: string; keyFile: string };
}

/** k3s's etcd ports. */
export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;

/** https://ADDRESS:PORT, brackets around an IPv6 address. */
export function etcdUrl(address: string, port: number): string {
  return `https://${address.includes(':') ? `[${address}]` : address}:${port}`;
}

/** The URL and listen arguments of a clustered member. */
function clusterArgs(c: EtcdClusterOptions, tls: EtcdTlsFiles | undefined): { clientUrl: string; args: string[] } {
  const clientUrl = etcdUrl('127.0.0.1', ETCD_CLIENT_PORT);
  const peerUrl = etcdUrl(c.address, ETCD_PEER_PORT);
  return {
    clientUrl,
    args: [
      '--name',
      c.name,
      '--listen-client-urls',
      `${clientUrl},${etcdUrl(c.address, ETCD_CLIENT_PORT)}`,
      '--advertise-client-urls',
      etcdUrl(c.address, ETCD_CLIENT_PORT),
      '--listen-peer-urls',
      peerUrl,
      '--initial-advertise-peer-urls',
      peerUrl,
      '--initial-cluster',
      c.initialCluster,
      '--initial-cluster-state',
      c.state,
      ...(tls === undefined ? [] : ['--client-cert-auth', '--trusted-ca-file', tls.caFile, '--cert-file', tls.certFile, '--key-file', tls.keyFile]),
      '--peer-client-cert-auth',
      '--peer-trusted-ca-file',
      c.peerTls.caFile,
      '--peer-cert-file',
      c.peerTls.certFile,
      '--peer-key-file',
      c.peerTls.keyFile,
    ],
  };
}

/** DIR/etcd.pid: the pid of the etcd started on DIR, until it is stopped. */
export function etcdPidFile(dataDir: string): string {
  return join(dataDir, 'etcd.pid');
}

/** Whether the process's command line is an etcd with --data-dir DIR/etcd (a pid read from a file may have been reused since). */
export function isEtcdOf(cmdline: readonly string[], dataDir: string): boolean {
  const i = cmdline.indexOf('--data-dir');
  if (i < 0 || cmdline[i + 1] !== resolve(dataDir, 'etcd')) return false;
  // etcd itself, or setpriv in the instant before it execs etcd.
  const program = cmdline[0] === undefined ? '' : basename(cmdline[0]);
  const execd = cmdline[cmdline.indexOf('--') + 1];
  return program.startsWith('etcd') || (program === 'setpriv' && execd !== undefined && basename(execd).startsWith('etcd'));
}

async function processCmdline(pid: number): Promise<string[] | undefined> {
  const text = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
  return text === undefined || text === '' ? undefined : text.replace(/\0$/, '').split('\0');
}

/**
 * Stops an etcd still running on DIR from an earlier start (its server was
 * killed before it could stop it; the parent-death signal covers that, but
 * not a server killed between spawning etcd and etcd's prctl): SIGTERM, then
 * SIGKILL after 10 s. The pid comes from DIR/etcd.pid and is only signalled
 * when /proc/PID/cmdline is an etcd of DIR, so a reused pid is never killed.
 * An etcd whose parent is a live tsk server is not stale: that is an error.
 * Returns the pid it stopped, if any. Idempotent.
 */
export async function stopStaleEtcd(dataDir: string, log: (msg: string) => void = () => undefined): Promise<number | undefined> {
  const file = etcdPidFile(dataDir);
  const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const cmdline = await processCmdline(pid);
  if (cmdline === undefined || !isEtcdOf(cmdline, dataDir)) {
    await rm(file, { force: true });
    return undefined;
  }
  const owner = await parentServer(pid);
  if (owner !== undefined) {
    throw new Error(`etcd pid ${pid} on ${resolve(dataDir, 'etcd')} belongs to a running tsk server (pid ${owner}): stop that server first`);
  }
  log(`stopping etcd pid ${pid}, left running on ${resolve(dataDir, 'etcd')} by an earlier start`);
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(pid, sig);
    } catch {
      // Gone meanwhile.
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + 10_000;
  while (await runningEtcdOf(pid, dataDir)) {
    if (Date.now() > deadline) signal('SIGKILL');
    await sleep(100);
  }
  await rm(file, { force: true });
  return pid;
}

/** Whether a command line is a tsk server or API server (the parent of the etcd it runs). */
export function isTskServer(cmdline: readonly string[]): boolean {
  const i = cmdline.findIndex((a) => /^tsk(\.js)?$/.test(basename(a)));
  return i >= 0 && cmdline.slice(i + 1).some((a) => a === 'server' || a === 'apiserver');
}

/**
 * The pid of the live tsk server whose child the etcd is, if it is one: a
 * second server on the same data directory must not take the first one's
 * etcd away. An orphan's parent is init or a subreaper, never a server.
 */
async function parentServer(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // Fields after "(comm)": state, then ppid.
  const ppid = Number(/\) \S+ (\d+)/.exec(stat.slice(stat.lastIndexOf(')')))?.[1] ?? NaN);
  if (!(ppid > 1)) return undefined;
  const cmdline = await processCmdline(ppid);
  return cmdline !== undefined && isTskServer(cmdline) ? ppid : undefined;
}

/** Whether pid is still that etcd (not gone, not a zombie waiting for its reaper, not reused). */
async function runningEtcdOf(pid: number, dataDir: string): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  if (stat === '' || /^\d+ \(.*\) Z/.test(stat)) return false;
  const cmdline = await processCmdline(pid);
  return cmdline !== undefined && isEtcdOf(cmdline, dataDir);
}

/** Files of etcd's TLS: its certificate (usable as client and server, for the peer port too) and the CA clients' certificates must chain to. */
export interface EtcdTlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
  /** A client certificate of the CA, for the health check. */
  clientCertPem: string;
  clientKeyPem: string;
  caPem: string;
}

function tlsArgs(tls: EtcdTlsFiles | undefined): string[] {
  if (tls === undefined) return [];
  return [
    '--client-cert-auth',
    '--trusted-ca-file',
    tls.caFile,
    '--cert-file',
    tls.certFile,
    '--key-file',
    tls.keyFile,
    '--peer-client-cert-auth',
    '--peer-trusted-ca-file',
    tls.caFile,
    '--peer-cert-file',
    tls.certFile,
    '--peer-key-file',
    tls.keyFile,
  ];
}

/** GET /health over client-certificate TLS (fetch cannot present a client certificate). */
function healthyTls(url: string, tls: EtcdTlsFiles): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpsRequest(`${url}/health`, { ca: tls.caPem, cert: tls.clientCertPem, key: tls.clientKeyPem, timeout: 1000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        try {
          resolve(res.statusCode === 200 && (JSON.parse(body) as { health?: string }).health === 'true');
        } catch {
          resolve(false);
        }
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

async function healthy(url: string, tls?: EtcdTlsFiles): Promise<boolean> {
  if (tls !== undefined) return healthyTls(url, tls);
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
  private ready = false;
  private exited: Promise<void>;
  /** DIR/etcd.pid once written. */
  private pidFile: string | undefined;

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
    // A free port is free only until someone else binds it: when tsk picked
    // the ports and etcd could not bind them, pick new ones and try again.
    const picked = opts.clientPort === undefined || opts.peerPort === undefined;
    await stopStaleEtcd(opts.dataDir, opts.log);
    // A clustered member has k3s's fixed ports: the other servers know them.
    if (opts.cluster !== undefined) return EtcdProcess.startOnce(opts, ETCD_CLIENT_PORT, ETCD_PEER_PORT);
    for (let attempt = 1; ; attempt++) {
      try {
        const avoid = new Set(opts.avoidPorts ?? []);
        const pick = async (): Promise<number> => {
          for (;;) {
            const p = await freePort();
            if (!avoid.has(p)) return p;
          }
        };
        return await EtcdProcess.startOnce(opts, opts.clientPort ?? (await pick()), opts.peerPort ?? (await pick()));
      } catch (err) {
        if (!(picked && err instanceof PortInUseError && attempt < 5)) throw err;
      }
    }
  }

  private static async startOnce(opts: EtcdProcessOptions, clientPort: number, peerPort: number): Promise<EtcdProcess> {
    const binary = opts.binary ?? 'etcd';
    // Absolute: the pid file's owner is recognized by this path in its command line.
    const dataDir = resolve(opts.dataDir, 'etcd');
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const log = await open(join(opts.dataDir, 'etcd.log'), 'a');
    const logSize = (await log.stat()).size;
    const scheme = opts.tls === undefined ? 'http' : 'https';
    const peerUrl = `${scheme}://127.0.0.1:${peerPort}`;
    const lone = [
      '--name',
      'tsk',
      '--listen-client-urls',
      `${scheme}://127.0.0.1:${clientPort}`,
      '--advertise-client-urls',
      `${scheme}://127.0.0.1:${clientPort}`,
      '--listen-peer-urls',
      peerUrl,
      '--initial-advertise-peer-urls',
      peerUrl,
      '--initial-cluster',
      `tsk=${peerUrl}`,
      ...tlsArgs(opts.tls),
    ];
    const clustered = opts.cluster === undefined ? undefined : clusterArgs(opts.cluster, opts.tls);
    const clientUrl = clustered?.clientUrl ?? `${scheme}://127.0.0.1:${clientPort}`;
    // setpriv (util-linux) sets the parent-death signal and execs etcd in
    // the same process: etcd is stopped even when its server is killed
    // (SIGKILL, OOM) and cannot stop it, instead of living on orphaned with
    // its ports and data directory (k3s's etcd dies with k3s: it runs inside).
    const child = spawn(
      'setpriv',
      [
        '--pdeathsig',
        'TERM',
        '--',
        binary,
        '--data-dir',
        dataDir,
        ...(clustered?.args ?? lone),
        // A single member: 100 ms heartbeats are fine on loopback, and the
        // quota matches Kubernetes' recommended 8 GiB ceiling.
        '--quota-backend-bytes',
        String(EMBEDDED_ETCD_QUOTA_BYTES),
        '--max-request-bytes',
        String(2 * 1024 * 1024),
        ...(opts.forceNewCluster ? ['--force-new-cluster'] : []),
      ],
      { stdio: ['ignore', log.fd, log.fd] },
    );
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
    const proc = new EtcdProcess(child, clientUrl, clientPort, peerPort, dataDir, binary);
    // setpriv execs etcd in its own process: this pid is etcd's.
    const pidFile = etcdPidFile(opts.dataDir);
    if (child.pid !== undefined) await writeFile(pidFile, `${child.pid}\n`, { mode: 0o600 });
    proc.pidFile = pidFile;
    child.once('exit', (code, signal) => {
      void log.close();
      void proc.removePidFile();
      // Only a running etcd's death is unexpected; a failed start is reported by start().
      if (proc.ready && !proc.stopping) opts.onUnexpectedExit?.(code, signal);
    });
    const deadline = Date.now() + (opts.startTimeoutMs ?? 20_000);
    for (;;) {
      const failed = await Promise.race([spawnError, sleep(100).then(() => undefined)]);
      if (failed) {
        // A process that never spawned emits no 'exit': close its log here.
        await log.close().catch(() => undefined);
        const code = (failed as NodeJS.ErrnoException).code;
        throw code === 'ENOENT' ? new Error('setpriv not found on PATH: install util-linux', { cause: failed }) : failed;
      }
      if (child.exitCode !== null || child.signalCode !== null) {
        const logText = await readFile(join(opts.dataDir, 'etcd.log'), 'utf8').catch(() => '');
        if (child.exitCode === SETPRIV_EXEC_FAILED && logText.slice(logSize).includes(`setpriv: failed to execute ${binary}`))
          throw new EtcdNotFoundError(binary);
        if (/address already in use/.test(logText.slice(logSize))) throw new PortInUseError(clientPort, peerPort);
        throw new Error(`etcd exited during start-up (code ${child.exitCode}); see ${join(opts.dataDir, 'etcd.log')}`);
      }
      if (await healthy(clientUrl, opts.tls)) {
        proc.ready = true;
        return proc;
      }
      if (Date.now() > deadline) {
        await proc.stop();
        throw new Error(`etcd did not become healthy within the timeout; see ${join(opts.dataDir, 'etcd.log')}`);
      }
    }
  }

  /** SIGTERM, then SIGKILL after 5 s; the pid file goes. Safe to call twice. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.removePidFile();
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
    await this.removePidFile();
  }

  /** Kills etcd at once (SIGKILL), as a crash would; for restart tests. */
  async kill(): Promise<void> {
    this.stopping = true;
    this.child.kill('SIGKILL');
    await this.exited;
    await this.removePidFile();
  }

  /** Removes the pid file if it still names this etcd (a restarted one may have written its own meanwhile). */
  private async removePidFile(): Promise<void> {
    const { pidFile } = this;
    const pid = this.child.pid;
    if (pidFile === undefined || pid === undefined) return;
    if ((await readFile(pidFile, 'utf8').catch(() => '')).trim() === String(pid)) await rm(pidFile, { force: true });
  }
}
