// The embedded etcd, supervised: when it dies under a running server (killed,
// OOM), it is started again on the same ports and data, after a back-off,
// instead of taking the server down with it (k3s's etcd lives in its
// process; tsk's runs beside it, so tsk restarts it). The API server's etcd
// client reconnects to the same URL and its watches resume; while etcd is
// down, /readyz fails and requests get Unavailable. Only when etcd cannot be
// started again `maxFailures` times in a row does `died` resolve, and the
// server exits, saying why.

import { join } from 'node:path';
import { Backoff } from '../../util/backoff';
import { errorMessage } from '../../util/errors';
import { EtcdProcess, type EtcdProcessOptions } from '../../util/etcd-process';

export interface EmbeddedEtcdOptions extends Omit<EtcdProcessOptions, 'onUnexpectedExit' | 'log'> {
  log: (msg: string) => void;
  /** Called after each restart that succeeded (the restart counter). */
  onRestart?: () => void;
  /** Failed restarts in a row before giving up; default 5. */
  maxFailures?: number;
  /** The waits before restarts; default 1 s doubling to 30 s. */
  backoff?: { initialMs: number; maxMs: number };
}

/** How long etcd must have run for its next death to be restarted after the shortest wait again. */
const STABLE_MS = 60_000;

/** Started with EmbeddedEtcd.start(); stop() is idempotent and also ends a restart in progress. */
export class EmbeddedEtcd {
  private current: EtcdProcess;
  private currentSince = Date.now();
  private stopping = false;
  private restarting: Promise<void> | undefined;
  private restarts = 0;
  private lastRestart: { at: Date; cause: string } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private readonly backoff: Backoff;
  private giveUp: (msg: string) => void = () => undefined;
  /** Resolves with a message when etcd could not be restarted; the server should then exit non-zero. */
  readonly died = new Promise<string>((resolve) => (this.giveUp = resolve));

  private constructor(
    private readonly opts: EmbeddedEtcdOptions,
    first: EtcdProcess,
  ) {
    this.current = first;
    this.backoff = new Backoff(opts.backoff ?? { initialMs: 1000, maxMs: 30_000 });
  }

  static async start(opts: EmbeddedEtcdOptions): Promise<EmbeddedEtcd> {
    let self: EmbeddedEtcd | undefined;
    const first = await EtcdProcess.start({ ...opts, onUnexpectedExit: (code, signal) => self?.exited(code, signal) });
    self = new EmbeddedEtcd(opts, first);
    return self;
  }

  get clientUrl(): string {
    return this.current.clientUrl;
  }

  get pid(): number | undefined {
    return this.current.pid;
  }

  /** The /readyz line: how often etcd was restarted, and why last; undefined while it never was. */
  status(): string | undefined {
    if (this.restarting) return `embedded etcd: restarting after it exited (${this.lastRestart?.cause ?? '?'})`;
    if (this.lastRestart === undefined) return undefined;
    return `embedded etcd: restarted ${this.restarts} time(s), last at ${this.lastRestart.at.toISOString()} after it exited (${this.lastRestart.cause})`;
  }

  /** Stops etcd (and a restart under way). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    await this.restarting;
    await this.current.stop();
  }

  private exited(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.stopping || this.restarting) return;
    const cause = signal ?? `code ${code}`;
    // An etcd that ran a while before dying starts over at the shortest wait (as the kubelet's CrashLoopBackOff).
    if (Date.now() - this.currentSince > STABLE_MS) this.backoff.reset();
    this.lastRestart = { at: new Date(), cause };
    this.restarting = this.restart(cause).finally(() => (this.restarting = undefined));
  }

  private async restart(cause: string): Promise<void> {
    const { log } = this.opts;
    const maxFailures = this.opts.maxFailures ?? 5;
    for (let failures = 0; !this.stopping;) {
      const wait = this.backoff.next();
      const why =
        failures === 0 ? `the embedded etcd exited unexpectedly (${cause})` : `restarting the embedded etcd failed (attempt ${failures} of ${maxFailures})`;
      log(`${why}; restarting it in ${wait / 1000}s (see ${join(this.opts.dataDir, 'etcd.log')})`);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.timer = setTimeout(resolve, wait);
      });
      if (this.stopping) return;
      try {
        // The same ports: the API server's client and `tsk etcd-snapshot` keep their URL.
        const next = await EtcdProcess.start({
          ...this.opts,
          clientPort: this.current.clientPort,
          peerPort: this.current.peerPort,
          onUnexpectedExit: (c, s) => this.exited(c, s),
        });
        this.current = next;
        this.currentSince = Date.now();
        if (this.stopping) return;
        this.restarts++;
        this.lastRestart = { at: new Date(), cause };
        log(`embedded etcd restarted at ${next.clientUrl} (pid ${next.pid ?? '?'}), restart ${this.restarts}`);
        this.opts.onRestart?.();
        return;
      } catch (err) {
        failures++;
        log(`starting the embedded etcd again failed: ${errorMessage(err)}`);
        if (failures >= maxFailures) {
          this.giveUp(
            `the embedded etcd exited and could not be restarted (${failures} attempts; last: ${errorMessage(err)}); see ${join(this.opts.dataDir, 'etcd.log')}`,
          );
          return;
        }
      }
    }
  }
}
