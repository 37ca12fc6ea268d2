// The proxy's long-lived nftables helper (proxy/native/tsk-nft.c, built into
// build/native by scripts/build-native.sh): one process for the proxy's
// life, started inside its network namespace, that runs each request as one
// nft transaction through libnftables. It saves the start of an `nft`
// process per sync (20-70 ms under load, more than a one-service change
// costs the kernel). Requests go one at a time, in order.
//
// If the helper dies, the request in flight fails (the proxier retries with
// a full sync), the next request starts a new one, and `generation` changes
// so the backend's next sync is a full one. If the helper cannot start
// (libnftables missing), every request goes to `nft -f` from then on.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Socket } from 'node:net';
import path from 'node:path';
import { describeNftError, ExecNftables, keepChunks, type NftInput, type Nftables } from './nftables';

/** build/native of this checkout (dist/proxy -> repository root), or $TSK_NATIVE_DIR, as the runtime finds its helpers. */
export function nftHelperPath(): string {
  return path.join(process.env['TSK_NATIVE_DIR'] ?? path.resolve(__dirname, '..', '..', 'build', 'native'), 'tsk-nft');
}

const READY = 'tsk-nft ready\n';
/** The frame that ends a request's input: a chunk of length 0. */
const END_OF_INPUT = Buffer.alloc(4);
/** What `list()` asks: every IPv4 table's chains and sets (the helper lists tersely: no elements). */
const LIST_INPUT = 'list chains ip\nlist sets ip\n';

interface Reply {
  readonly ok: boolean;
  readonly output: string;
  readonly error: string;
}

interface Pending {
  readonly resolve: (r: Reply) => void;
  readonly reject: (err: Error) => void;
}

/** One running helper process: sends requests, parses replies in order. */
class HelperProcess {
  private readonly child: ChildProcess;
  private buffer: Buffer = Buffer.alloc(0);
  private ready = false;
  private readonly pending: Pending[] = [];
  private startup: { resolve: () => void; reject: (err: Error) => void } | undefined;
  readonly started: Promise<void>;
  /** Why the process ended; set once it has. */
  exited: string | undefined;
  /** Set once it was killed: it takes no more requests, though its exit may not have been seen yet. */
  killed = false;

  constructor(
    private readonly file: string,
    private readonly onExit: (why: string, wasReady: boolean) => void,
  ) {
    this.started = new Promise((resolve, reject) => (this.startup = { resolve, reject }));
    this.started.catch(() => undefined);
    this.child = spawn(file, [], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.child.stdout?.on('data', (d: Buffer) => this.data(d));
    this.child.stdin?.on('error', () => undefined); // the exit reports what went wrong
    this.child.on('error', (err) => this.end(`${file}: ${err.message}`));
    this.child.on('exit', (code, signal) => this.end(`${file} exited (${signal ?? `status ${code}`})`));
  }

  /**
   * One request: the input's chunks sent as they are made (tsk-nft streams
   * them to nft), then the end mark. If making the input throws, the helper is
   * killed (it holds half an input, which must never be applied) and the
   * request fails with that error.
   */
  request(input: Iterable<string>, timeoutMs: number): Promise<Reply> {
    if (this.exited || this.killed) return Promise.reject(new Error(this.exited ?? `${this.file} was killed`));
    this.busy();
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.kill();
        reject(new Error(`${this.file}: no answer in ${timeoutMs / 1000} s; killed`));
      }, timeoutMs);
      const done =
        <T>(fn: (v: T) => void) =>
        (v: T): void => {
          clearTimeout(timer);
          fn(v);
        };
      const pending = { resolve: done(resolve), reject: done(reject) };
      this.pending.push(pending);
      this.write(input).catch((err: unknown) => {
        pending.reject(err instanceof Error ? err : new Error(String(err)));
        this.kill();
      });
    });
  }

  /**
   * Writes each chunk as a frame as soon as it is made; while the pipe is
   * full, waits for it to drain (the helper hands it on to nft) before
   * making the next, so nft parses while the input is rendered.
   */
  private async write(input: Iterable<string>): Promise<void> {
    const stdin = this.child.stdin;
    if (!stdin) return;
    for (const chunk of input) {
      if (this.exited) return;
      if (chunk.length === 0) continue; // a frame of length 0 ends the request
      const body = Buffer.from(chunk);
      const head = Buffer.alloc(4);
      head.writeUInt32BE(body.length);
      stdin.write(head);
      if (!stdin.write(body)) await this.drained();
    }
    stdin.write(END_OF_INPUT);
  }

  /** Resolves when stdin can take more, or the helper has gone. */
  private drained(): Promise<void> {
    const stdin = this.child.stdin;
    return new Promise((resolve) => {
      const go = (): void => {
        stdin?.off('drain', go);
        this.child.off('exit', go);
        resolve();
      };
      stdin?.once('drain', go);
      this.child.once('exit', go);
    });
  }

  /** Ends the helper: stdin closed, it exits. Resolves when it has. */
  close(): Promise<void> {
    if (this.exited) return Promise.resolve();
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.busy(); // held alive until it has exited
    this.child.stdin?.end();
    return exited;
  }

  kill(): void {
    this.killed = true;
    if (!this.exited) this.child.kill('SIGKILL');
  }

  private data(d: Buffer): void {
    this.buffer = this.buffer.length === 0 ? d : Buffer.concat([this.buffer, d]);
    if (!this.ready) {
      const nl = this.buffer.indexOf(10);
      if (nl < 0) return;
      const line = this.buffer.subarray(0, nl + 1).toString();
      this.buffer = this.buffer.subarray(nl + 1);
      if (line !== READY) return this.startup?.reject(new Error(line.trim()));
      this.ready = true;
      if (this.pending.length === 0) this.idle();
      this.startup?.resolve();
    }
    while (this.buffer.length >= 12) {
      const outLen = this.buffer.readUInt32BE(4);
      const errLen = this.buffer.readUInt32BE(8);
      if (this.buffer.length < 12 + outLen + errLen) return;
      const ok = this.buffer.readUInt32BE(0) === 0;
      const output = this.buffer.toString('utf8', 12, 12 + outLen);
      const error = this.buffer.toString('utf8', 12 + outLen, 12 + outLen + errLen);
      this.buffer = this.buffer.subarray(12 + outLen + errLen);
      this.pending.shift()?.resolve({ ok, output, error });
      if (this.pending.length === 0) this.idle();
    }
  }

  private end(why: string): void {
    if (this.exited) return;
    this.exited = why;
    this.startup?.reject(new Error(why));
    for (const p of this.pending.splice(0)) p.reject(new Error(`the nftables helper ended mid-request: ${why}`));
    this.onExit(why, this.ready);
  }

  /** While no request waits, the helper does not keep the process alive (the proxier's own timers do not either). */
  private idle(): void {
    this.child.unref();
    for (const s of [this.child.stdin, this.child.stdout]) if (s instanceof Socket) s.unref();
  }

  private busy(): void {
    this.child.ref();
    for (const s of [this.child.stdin, this.child.stdout]) if (s instanceof Socket) s.ref();
  }
}

export interface HelperNftablesOptions {
  /** The helper executable; default nftHelperPath(). */
  readonly file?: string;
  /** Longest a request may take before the helper is killed; default 2 minutes (as ExecNftables). */
  readonly timeoutMs?: number;
  /** Where requests go when the helper cannot start; default ExecNftables (nft -f). */
  readonly fallback?: Nftables;
  readonly log?: (line: string) => void;
}

/** The nftables of this network namespace through the long-lived helper. */
export class HelperNftables implements Nftables {
  private readonly file: string;
  private readonly timeoutMs: number;
  private readonly log: (line: string) => void;
  private process: HelperProcess | undefined;
  /** Set once the helper could not start: every request goes there. */
  private fallback: Nftables | undefined;
  private readonly fallbackTo: Nftables;
  /** Requests in order, one at a time. */
  private queue: Promise<unknown> = Promise.resolve();
  private started = 0;
  private closed = false;

  constructor(options: HelperNftablesOptions = {}) {
    this.file = options.file ?? nftHelperPath();
    this.timeoutMs = options.timeoutMs ?? 120_000;
    this.log = options.log ?? ((line) => console.log(line));
    this.fallbackTo = options.fallback ?? new ExecNftables();
  }

  /** Changes each time a new helper process starts: what the kernel holds was maybe written by a request that died with the last one. */
  get generation(): number {
    return this.started;
  }

  async run(input: NftInput): Promise<void> {
    // The chunks sent, kept to name the line of an error (nft cannot read it back from the pipe it parsed).
    const chunks: string[] = [];
    const reply = await this.request(typeof input === 'string' ? [input] : keepChunks(input, chunks));
    if (reply && !reply.ok) {
      const text = typeof input === 'string' ? input : chunks.join('');
      throw new Error(`nft (${this.file}) failed: ${describeNftError(reply.error, text)}`);
    }
    if (!reply) await this.fallback?.run(input);
  }

  async list(): Promise<string> {
    const reply = await this.request([LIST_INPUT]);
    if (!reply) return (this.fallback ?? this.fallbackTo).list();
    if (!reply.ok) throw new Error(`nft (${this.file}) list failed: ${reply.error.trim()}`);
    return reply.output;
  }

  /** Stops the helper. Requests after it are refused. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue.catch(() => undefined);
    await this.process?.close();
    this.process = undefined;
  }

  /** One request through the helper, after the ones before it; undefined when the fallback must answer. */
  private request(input: Iterable<string>): Promise<Reply | undefined> {
    const next = this.queue.then(
      () => this.send(input),
      () => this.send(input),
    );
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async send(input: Iterable<string>): Promise<Reply | undefined> {
    if (this.closed) throw new Error('the nftables helper was closed');
    if (this.fallback) return undefined;
    const proc = await this.running();
    if (!proc) return undefined;
    return proc.request(input, this.timeoutMs);
  }

  /** The helper, started when none runs; undefined when it cannot start (then the fallback answers from now on). */
  private async running(): Promise<HelperProcess | undefined> {
    if (this.process && !this.process.exited && !this.process.killed) return this.process;
    const proc = new HelperProcess(this.file, (why, wasReady) => {
      if (wasReady && !this.closed) this.log(`proxy: the nftables helper ended (${why}); it is restarted for the next sync, which is a full one`);
    });
    this.process = proc;
    try {
      await proc.started;
    } catch (err) {
      this.process = undefined;
      this.fallback = this.fallbackTo;
      this.log(`proxy: the nftables helper ${this.file} cannot start (${err instanceof Error ? err.message : String(err)}); using nft -f`);
      return undefined;
    }
    this.started++;
    return proc;
  }
}

/**
 * The proxy's nftables: the helper when it is built, else `nft -f` per sync
 * (said once in the log).
 */
export function defaultNftables(log: (line: string) => void): Nftables {
  const file = nftHelperPath();
  if (existsSync(file)) return new HelperNftables({ file, log });
  log(`proxy: the nftables helper ${file} is missing (scripts/build-native.sh builds it); using nft -f`);
  return new ExecNftables();
}
