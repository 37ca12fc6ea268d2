// What every command runs with: its parsed flags, the streams, the clock and
// a lazily opened clientset. Injected so commands can be driven in tests.

import { Clientset, resolveClient, type ClientTarget } from '../client';
import { flagInt, flagString, flagStrings, type ParsedArgs } from './args';
import { CliError, UsageError } from './errors';
import { errorMessage } from '../util/errors';

/** Plaintext to a server run with --insecure-plaintext-for-benchmarks-only; an environment variable, not a flag, so no user types it by accident. */
export const PLAINTEXT_ENV = 'TSCTL_INSECURE_PLAINTEXT_FOR_BENCHMARKS_ONLY';

export interface Io {
  /** Bytes as well as text: logs and exec pass the container's output through unchanged. */
  readonly stdout: { write(s: string | Uint8Array): unknown };
  readonly stderr: { write(s: string | Uint8Array): unknown };
  readonly stdin: NodeJS.ReadableStream;
}

export interface ContextOptions {
  readonly io: Io;
  readonly env?: NodeJS.ProcessEnv;
  readonly now?: () => number;
  /** Aborted on SIGINT/SIGTERM: long-running commands (get -w) stop cleanly. */
  readonly signal?: AbortSignal;
  /** After how long a slow call prints that it is waiting; default 2 s. */
  readonly progressAfterMs?: number;
}

export class Context {
  readonly io: Io;
  readonly now: () => number;
  readonly signal: AbortSignal;
  private readonly env: NodeJS.ProcessEnv;
  private readonly progressAfterMs: number;
  private client: Clientset | undefined;
  private serverAddress: string | undefined;
  private target: ClientTarget | undefined;

  constructor(
    readonly args: ParsedArgs,
    options: ContextOptions,
  ) {
    this.io = options.io;
    this.env = options.env ?? process.env;
    this.now = options.now ?? Date.now;
    this.signal = options.signal ?? new AbortController().signal;
    this.progressAfterMs = options.progressAfterMs ?? 2000;
  }

  /** -n/--namespace as given, or undefined. */
  get explicitNamespace(): string | undefined {
    const ns = flagString(this.args, 'namespace');
    if (ns === '') throw new UsageError('--namespace must not be empty');
    return ns;
  }

  /** The namespace to use: -n, else "default". */
  get namespace(): string {
    return this.explicitNamespace ?? 'default';
  }

  /**
   * The API server and the credentials for it (client/config.ts
   * resolveClient: --server, TSCTL_SERVER, the context's); says on stderr
   * when it connects without credentials.
   */
  async resolveTarget(): Promise<ClientTarget> {
    if (this.target === undefined) {
      let target: ClientTarget;
      try {
        target = await resolveClient({
          server: flagStrings(this.args, 'server')[0],
          kubeconfig: flagString(this.args, 'kubeconfig'),
          context: flagString(this.args, 'context'),
          env: this.env,
        });
      } catch (err) {
        // A broken client config or an unknown context is no misuse of the
        // command: one line and exit 1, as kubectl (no hint to --help).
        throw new CliError(errorMessage(err));
      }
      const token = flagString(this.args, 'token');
      if (this.env[PLAINTEXT_ENV] === 'true') {
        // Only for bench/api.ts, which times `tsctl get pods` against a server
        // run with --insecure-plaintext-for-benchmarks-only beside a TLS one.
        // The identity is a bearer token (--token): certificates need TLS.
        this.io.stderr.write(`warning: ${PLAINTEXT_ENV}: connecting to ${target.server} in PLAINTEXT (no TLS)\n`);
        target = { server: target.server, servers: target.servers, credentials: { insecurePlaintext: true, ...(token === undefined ? {} : { token }) } };
      } else if (token !== undefined) target = { ...target, credentials: { caPem: target.credentials.caPem, token } };
      else if (target.warning !== undefined) this.io.stderr.write(`warning: ${target.warning}\n`);
      // --server repeated: the first chooses the context, the others are more servers to fail over to.
      const more = flagStrings(this.args, 'server').slice(1);
      if (more.length > 0) target = { ...target, servers: [...new Set([...target.servers, ...more])] };
      this.target = target;
      this.serverAddress = target.server;
    }
    return this.target;
  }

  /** The API server address: --server, TSCTL_SERVER, the context's, 127.0.0.1:6443. */
  async server(): Promise<string> {
    return (await this.resolveTarget()).server;
  }

  async clientset(): Promise<Clientset> {
    if (!this.client) {
      const target = await this.resolveTarget();
      const seconds = flagInt(this.args, 'request-timeout');
      this.client = new Clientset(target.servers, { ...target.credentials, ...(seconds && seconds > 0 ? { deadlineMs: seconds * 1000 } : {}) });
    }
    return this.client;
  }

  /**
   * Awaits a call to the server; if it takes longer than a moment, says on
   * stderr what it is waiting for (and again every 10 s), so a slow or
   * starting server never looks like a hang.
   */
  async wait<T>(p: Promise<T>): Promise<T> {
    const start = this.now();
    const address = this.serverAddress ?? 'the configured address';
    let timer: NodeJS.Timeout | undefined;
    const tick = (first: boolean): void => {
      const secs = Math.round((this.now() - start) / 1000);
      this.io.stderr.write(
        first ? `waiting for the API server at ${address} to answer...\n` : `still waiting for the API server at ${address} (${secs}s)...\n`,
      );
      timer = setTimeout(() => tick(false), 10_000);
      timer.unref();
    };
    timer = setTimeout(() => tick(true), this.progressAfterMs);
    timer.unref();
    try {
      return await p;
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.client?.close();
  }
}
