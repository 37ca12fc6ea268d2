// One gRPC channel to one API server, and the two call shapes every kind's
// service uses (unary and server stream). Everything above this file is
// generic over api/kinds.ts; everything below it is @grpc/grpc-js.
//
// Every failure leaves this module as an ApiError (api/errors.ts), so callers
// branch with `instanceof` and never see a raw gRPC status.

import { Client, Metadata, credentials, experimental, status as GrpcStatus } from '@grpc/grpc-js';
import type { CallOptions, ChannelCredentials, ChannelOptions, ClientDuplexStream, ClientReadableStream, ServiceError } from '@grpc/grpc-js';
import { isIP } from 'node:net';
import { X509Certificate } from 'node:crypto';
import { checkServerIdentity, createSecureContext, type PeerCertificate } from 'node:tls';
import { ApiError, ConnectionLostError, STATUS_TRAILER, TooManyRequestsError, UnavailableError, fromServiceError } from '../api/errors';
import { jitteredMs } from '../util/backoff';
import type { MethodDef } from '../api/kinds';
import { errorMessage } from '../util/errors';
import { classifyFailure, sessionClosed, shouldFailOver, type CallFailure } from './failover';
import { ServerList } from './server-list';

/** Default deadline of a unary call. Watches have none. */
export const DEFAULT_UNARY_DEADLINE_MS = 30_000;

/**
 * Who the client is and whom it trusts. TLS always, unless insecurePlaintext:
 * the server is verified against caPem (the cluster CA; without it, the
 * system's roots) and its name against the address. The identity is a client
 * certificate (certPem + keyPem) or a bearer token, or none (anonymous).
 */
export interface ClientCredentials {
  readonly caPem?: string;
  readonly certPem?: string;
  readonly keyPem?: string;
  readonly token?: string;
  /** Plaintext, no TLS: only for the benchmark's comparison against a server run with --insecure-plaintext-for-benchmarks-only. */
  readonly insecurePlaintext?: boolean;
  /**
   * The CA, certificate and key as files that are renewed while the process
   * runs (a joined node's, client/bootstrap.ts): grpc-js re-reads them every
   * minute, so a reconnection uses the current certificate. Wins over the PEMs.
   */
  readonly files?: { readonly ca: string; readonly cert: string; readonly key: string };
}

export interface ConnectionOptions extends ClientCredentials {
  /** Deadline of unary calls in milliseconds; default 30 s. */
  readonly deadlineMs?: number;
  /**
   * Unary calls wait (up to their deadline) for the connection instead of
   * failing at once while the server is unreachable. Components that must
   * ride out an API server restart set it; tsctl leaves it off so an
   * unreachable server is reported at once. Default false.
   */
  readonly waitForReady?: boolean;
  /** Largest message accepted from the server; default 64 MiB (a list of many pods). */
  readonly maxReceiveMessageBytes?: number;
  /**
   * An HTTP/2 connection of this Connection's own. By default grpc-js gives
   * every channel of the process to the same server (same options and
   * credentials) one shared connection; a process standing for many clients
   * (hollow nodes) sets this so each group of them has its own, as separate
   * kubelets would: the server's per-connection limits (nghttp2's 1,000
   * stream resets at once, 33 a second after that) then apply per group.
   */
  readonly ownConnection?: boolean;
  /**
   * Connections of one group share an HTTP/2 connection (grpc-js shares a
   * connection between channels whose options are equal, and the group is
   * one of them), those of another group do not: hollow nodes with an
   * identity each (their own bearer token, sent per call) share one
   * connection per group of nodes.
   */
  readonly connectionGroup?: string;
}

/** The ApiError for a call that failed with `err`, phrased for a user who typed `address`. */
export function toApiError(err: ServiceError, address: string): ApiError {
  const hasStatus = err.metadata?.get(STATUS_TRAILER).length > 0;
  if (sessionClosed(err)) {
    // Not the server's answer (InternalError would say so, and callers that
    // retry only an unreachable server would give up): the connection was
    // lost under the call, which may or may not have been carried out; the
    // next call goes on a new connection.
    return new ConnectionLostError(`the API server at ${address} closed the connection under this call (${err.details}); the next call opens a new one`);
  }
  if (!hasStatus && err.code === GrpcStatus.UNAVAILABLE && classifyFailure(err) === 'in-flight') {
    return new ConnectionLostError(
      `the connection to the API server at ${address} broke while the call was out, so it may or may not have been carried out: ${err.details}`,
    );
  }
  if (!hasStatus && err.code === GrpcStatus.UNAVAILABLE) {
    return new UnavailableError(`cannot reach the API server at ${address}: ${connectProblem(err.details)}`);
  }
  if (!hasStatus && err.code === GrpcStatus.DEADLINE_EXCEEDED) {
    const apiErr = fromServiceError(err);
    apiErr.message = `the API server at ${address} did not answer in time (${err.details})`;
    return apiErr;
  }
  return fromServiceError(err);
}

/** Node's words for a server certificate the client does not trust, or that is not for the address. */
const UNTRUSTED =
  /(self[- ]signed certificate[^.]*|unable to verify the first certificate|unable to get local issuer certificate|certificate has expired|certificate is not yet valid|Hostname\/IP does not match certificate's altnames[^.]*|certificate signature failure)/i;

/** The useful part of grpc-js's "No connection established. Last error: ..." details. */
function connectProblem(details: string): string {
  const untrusted = UNTRUSTED.exec(details)?.[1];
  if (untrusted !== undefined) {
    return `the server's TLS certificate is not trusted (${untrusted}): the CA in the client config is not this server's cluster CA; pick the right one with --context or --kubeconfig`;
  }
  if (/wrong version number|packet length too long|http\/1\.1|unexpected eof|Protocol error/i.test(details)) {
    return `the TLS handshake failed (${details.replace(/^No connection established\. Last error: /, '')}): does the server speak TLS, and does it expect a client certificate?`;
  }
  const errno = /\b(ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|ENOTFOUND|EAI_AGAIN)\b/.exec(details)?.[1];
  switch (errno) {
    case 'ECONNREFUSED':
      return 'connection refused (is the API server running? check --server, TSCTL_SERVER or ~/.tsk/config)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the host name does not resolve';
    case undefined:
      return details.replace(/\s*Resolution note:\s*$/, '') || 'connection failed';
    default:
      return errno;
  }
}

/** The options of every channel to an API server; exported so benchmarks measure the same client. */
export function channelOptions(maxReceiveMessageBytes: number): ChannelOptions {
  return {
    'grpc.max_receive_message_length': maxReceiveMessageBytes,
    // A list of 10,000 pods is about 10 MiB. With HTTP/2's default 64 KiB
    // window the server stops every 64 KiB to wait for a WINDOW_UPDATE; a
    // larger one halved the time to receive such a list (125 -> 59 ms).
    'grpc-node.flow_control_window': 8 * 1024 * 1024,
    // Reconnect quickly after an API server restart; grpc-js backs off from here.
    'grpc.initial_reconnect_backoff_ms': 200,
    'grpc.max_reconnect_backoff_ms': 5_000,
    // Keep long watches alive through idle periods and detect dead peers,
    // within 40 s as before. grpc-js pings busy connections too and checks
    // the answer in a timer, which a stalled event loop runs before it reads
    // the socket holding the answer: with 10 s, a process of many hollow
    // nodes stalled for seconds took its own stall for a dead server and
    // dropped the connection, restarting every watch at once. client-go
    // waits 15 s for a ping (PingTimeout), and pings only idle connections.
    'grpc.keepalive_time_ms': 20_000,
    'grpc.keepalive_timeout_ms': 20_000,
  };
}

/** TLS credentials (or plaintext when asked for explicitly); throws naming the field for an incomplete credential. */
export function channelCredentials(c: ClientCredentials, address = ''): ChannelCredentials {
  const ip = ipTarget(address);
  const verifyHost = ip === undefined ? undefined : (_servername: string, cert: PeerCertificate): Error | undefined => checkServerIdentity(ip, cert);
  if ((c.certPem === undefined) !== (c.keyPem === undefined)) {
    throw new Error('client credentials: a client certificate needs its key and a key its certificate (certPem and keyPem)');
  }
  if (c.insecurePlaintext) {
    if (c.certPem !== undefined || c.caPem !== undefined) throw new Error('client credentials: insecurePlaintext cannot carry certificates');
    return credentials.createInsecure();
  }
  if (c.certPem !== undefined) checkOwnCertificate(c.certPem);
  if (c.files !== undefined) {
    const files = new experimental.FileWatcherCertificateProvider({
      caCertificateFile: c.files.ca,
      certificateFile: c.files.cert,
      privateKeyFile: c.files.key,
      refreshIntervalMs: 60_000,
    });
    return experimental.createCertificateProviderChannelCredentials(files, files, verifyHost === undefined ? {} : { checkServerIdentity: verifyHost });
  }
  const pem = (text: string | undefined): Buffer | null => (text === undefined ? null : Buffer.from(text));
  try {
    createSecureContext({ ca: c.caPem, cert: c.certPem, key: c.keyPem });
  } catch (err) {
    throw new Error(
      `client credentials: the CA, client certificate or key is not valid PEM, or the key does not match the certificate (${errorMessage(err)})`,
      { cause: err },
    );
  }
  return credentials.createSsl(pem(c.caPem), pem(c.keyPem), pem(c.certPem), verifyHost === undefined ? {} : { checkServerIdentity: verifyHost });
}

/**
 * The server would not name anyone with an expired client certificate (the
 * call would be anonymous and refused), so say it here, in one line.
 */
function checkOwnCertificate(certPem: string, now = new Date()): void {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    throw new Error('client credentials: the client certificate is not a valid PEM X.509 certificate');
  }
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  if (now > to)
    throw new Error(`client credentials: the client certificate (${cert.subject.replace(/\n/g, ', ')}) expired at ${to.toISOString()}; get a new one`);
  if (now < from) throw new Error(`client credentials: the client certificate is not valid before ${from.toISOString()} (is this clock right?)`);
}

/**
 * TLS forbids an IP address as the SNI server name (RFC 6066; node warns,
 * DEP0123), and grpc-js would send one for HOST:PORT addresses with an IP.
 * For those the channel names "localhost" in SNI (see channelOptions) and
 * this still checks the certificate against the address's real IP.
 */
export function ipTarget(address: string): string | undefined {
  const m = /^\[?([^\]]*?)\]?:\d+$/.exec(address);
  const host = m?.[1];
  return host !== undefined && isIP(host) !== 0 ? host : undefined;
}

/**
 * The bearer token as call metadata. Sent in the headers of each call rather
 * than through grpc-js call credentials, which refuse plaintext channels: the
 * benchmark's plaintext comparison authenticates the same way.
 */
export function authMetadata(c: ClientCredentials): Metadata {
  const md = new Metadata();
  if (c.token !== undefined && c.token !== '') md.set('authorization', `Bearer ${c.token}`);
  return md;
}

function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number';
}

/**
 * Channels to the API servers of one cluster: one server, or several that
 * fail over (ServerList). Calls go to the current server over one HTTP/2
 * connection that grpc-js re-establishes by itself after a failure; when the
 * current server cannot be reached, the list moves on to the next one, and a
 * unary call is tried there when that is safe (client/failover.ts). Each
 * server's certificate is checked against the address actually dialled.
 * close() ends every channel (idempotent).
 */
export class Connection {
  readonly servers: ServerList;
  private readonly clients = new Map<string, Client>();
  private readonly options: ConnectionOptions;
  private readonly deadlineMs: number;
  private readonly waitForReady: boolean;
  /** The bearer token, if any, sent with every call. */
  private readonly callMetadata: Metadata;
  /** Shared by unary calls (grpc-js copies call metadata before using it), with and without waitForReady. */
  private readonly unaryMetadata: { readonly wait: Metadata; readonly noWait: Metadata };
  private closed = false;

  /** `address`: one HOST:PORT (or unix:/PATH), or the servers of the cluster (the first is tried first). */
  constructor(address: string | readonly string[] | ServerList, options: ConnectionOptions = {}) {
    this.servers = address instanceof ServerList ? address : new ServerList(typeof address === 'string' ? [address] : address);
    this.options = options;
    this.deadlineMs = options.deadlineMs ?? DEFAULT_UNARY_DEADLINE_MS;
    this.waitForReady = options.waitForReady ?? false;
    this.callMetadata = authMetadata(options);
    this.unaryMetadata = { wait: this.callMetadata.clone(), noWait: this.callMetadata.clone() };
    this.unaryMetadata.wait.setOptions({ waitForReady: true });
    this.unaryMetadata.noWait.setOptions({ waitForReady: false });
    // Fail early on bad credentials, as a single-server connection always did.
    this.client(this.servers.current);
  }

  /** The server calls go to now. */
  get address(): string {
    return this.servers.current;
  }

  /**
   * One unary call with a deadline (the connection's default unless
   * `deadlineMs` is given). With several servers, a call that could not reach
   * the current one goes to the next, and so does one cut off in flight when
   * `replayable` (see shouldFailOver); with waitForReady it goes round the
   * servers, pausing between rounds, until its deadline. Rejects with an ApiError.
   */
  async unary<Req, Res>(method: MethodDef<Req, Res>, request: Req, deadlineMs = this.deadlineMs, replayable = false): Promise<Res> {
    const deadline = Date.now() + deadlineMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.unaryUntil(method, request, deadline, replayable);
      } catch (err) {
        // A 429 from API Priority and Fairness was never carried out: wait as
        // it asks and send it again, up to client-go's 10 tries, within the deadline.
        if (!(err instanceof TooManyRequestsError) || attempt >= MAX_TOO_MANY_REQUESTS_TRIES) throw err;
        const waitMs = jitteredMs((err.details.retryAfterSeconds ?? 1) * 1000, 0.1);
        if (Date.now() + waitMs >= deadline) throw err;
        await new Promise((r) => setTimeout(r, waitMs).unref());
        this.assertOpen();
      }
    }
  }

  private async unaryUntil<Req, Res>(method: MethodDef<Req, Res>, request: Req, deadline: number, replayable: boolean): Promise<Res> {
    this.assertOpen();
    if (this.servers.size === 1) {
      return this.unaryOn(this.servers.current, method, request, deadline, this.waitForReady).catch((err: unknown) => {
        throw err instanceof FailedCall ? err.apiError : err;
      });
    }
    let failures = 0;
    let pauseMs = ROUND_PAUSE_MS;
    for (;;) {
      const address = this.servers.current;
      const outcome = await this.unaryOn(address, method, request, deadline, false).then(
        (res) => ({ res }),
        (err: unknown) => ({ err }),
      );
      if ('res' in outcome) return outcome.res;
      const failure = outcome.err instanceof FailedCall ? outcome.err.failure : 'answered';
      const apiErr = outcome.err instanceof FailedCall ? outcome.err.apiError : outcome.err;
      if (!shouldFailOver(failure, replayable) || this.closed) throw apiErr;
      this.servers.failed(address);
      failures++;
      if (failures % this.servers.size === 0) {
        // Every server failed once: give up, or wait a little and go round again.
        const left = deadline - Date.now();
        if (!this.waitForReady || left <= 0) throw apiErr;
        await new Promise((r) => setTimeout(r, Math.min(pauseMs, left)).unref());
        pauseMs = Math.min(pauseMs * 2, MAX_ROUND_PAUSE_MS);
      }
    }
  }

  /** Opens a server stream (no deadline) on the current server. The caller owns the stream and must cancel it. */
  serverStream<Req, Res>(method: MethodDef<Req, Res>, request: Req): ClientReadableStream<Res> {
    this.assertOpen();
    const address = this.servers.current;
    const stream = this.client(address).makeServerStreamRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      request,
      this.callMetadata.clone(),
      {},
    );
    // A watch broken by its server's death moves the list on: the informer's next list and watch go to a live server.
    stream.on('error', (err: unknown) => this.noteStreamFailure(address, err));
    return stream;
  }

  /** Opens a bidirectional stream (no deadline: logs -f, exec, the node tunnel) on the current server. The caller owns it and must end or cancel it. */
  bidiStream<Req, Res>(method: MethodDef<Req, Res>): ClientDuplexStream<Req, Res> {
    this.assertOpen();
    const address = this.servers.current;
    const stream = this.client(address).makeBidiStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, this.callMetadata.clone(), {});
    stream.on('error', (err: unknown) => this.noteStreamFailure(address, err));
    return stream;
  }

  /** Converts what a stream emitted as 'error' into an ApiError. */
  streamError(err: unknown): ApiError {
    if (err instanceof ApiError) return err;
    if (isServiceError(err)) return toApiError(err, this.address);
    return new UnavailableError(`watch on ${this.address} failed: ${errorMessage(err)}`);
  }

  /** Closes every channel; pending calls fail with CANCELLED/UNAVAILABLE. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  private noteStreamFailure(address: string, err: unknown): void {
    if (this.servers.size > 1 && isServiceError(err) && classifyFailure(err) !== 'answered') this.servers.failed(address);
  }

  private unaryOn<Req, Res>(address: string, method: MethodDef<Req, Res>, request: Req, deadline: number, waitForReady: boolean): Promise<Res> {
    const metadata = waitForReady ? this.unaryMetadata.wait : this.unaryMetadata.noWait;
    const options: CallOptions = { deadline };
    return new Promise((resolve, reject) => {
      this.client(address).makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize, request, metadata, options, (err, res) => {
        if (err) reject(new FailedCall(classifyFailure(err), toApiError(err, address)));
        else if (res === undefined) reject(new FailedCall('answered', new UnavailableError(`empty answer from the API server at ${address}`)));
        else resolve(res);
      });
    });
  }

  /** The channel to `address`, made on first use. */
  private client(address: string): Client {
    let c = this.clients.get(address);
    if (c === undefined) {
      const channel = channelOptions(this.options.maxReceiveMessageBytes ?? 64 * 1024 * 1024);
      if (!this.options.insecurePlaintext && ipTarget(address) !== undefined) channel['grpc.ssl_target_name_override'] = 'localhost';
      if (this.options.ownConnection) channel['grpc.use_local_subchannel_pool'] = 1;
      if (this.options.connectionGroup !== undefined) channel['tsk.connection_group'] = this.options.connectionGroup;
      c = new Client(address, channelCredentials(this.options, address), channel);
      this.clients.set(address, c);
    }
    return c;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`invariant: call on a closed connection to ${this.address}`);
  }
}

/** client-go's maxRetries for a request refused with 429 (its Retry-After honoured between tries). */
const MAX_TOO_MANY_REQUESTS_TRIES = 10;

/** First pause after every server failed once (waitForReady), doubling up to MAX_ROUND_PAUSE_MS. */
const ROUND_PAUSE_MS = 200;
const MAX_ROUND_PAUSE_MS = 2_000;

/** A unary call's failure as unaryOn reports it: the ApiError for the caller and how failover sees it. */
class FailedCall {
  constructor(
    readonly failure: CallFailure,
    readonly apiError: ApiError,
  ) {}
}
