// pods/exec, pods/attach and pods/portforward in the REST API: upgrade
// requests (WebSocket with the channel protocols of stream-protocol.ts, or
// SPDY through a WebSocket for kubectl port-forward) turned into sessions on
// the pod's node through PodSessions, the path gRPC's Exec takes (one
// implementation of the session, two encodings).
//
// The API server's own refusals (no such pod, container, protocol, right)
// are HTTP answers with a Status before any upgrade (kubectl prints "Error
// from server (NotFound): ..."). The upgrade then waits for the kubelet to
// start the command, so no byte is sent before it runs; a kubelet's refusal
// (no running container) comes on the error channel as Kubernetes' API
// server words it ("Internal error occurred: unable to upgrade connection:
// container not found ...").
// Authorization: `create` on the subresource, for the WebSocket GET as for
// the SPDY POST (Kubernetes' AuthorizePodWebsocketUpgradeCreatePermission).

import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, createWebSocketStream, type RawData, type WebSocket } from 'ws';
import { type ApiError, BadRequestError } from '../../api/errors';
import type { Pod } from '../../api/gen/tsk/v1/core';
import type { TunnelOpen } from '../../api/gen/tsk/v1/stream';
import type { CallCredentials } from '../auth/user';
import type { RequestGate } from '../grpc/gate';
import { pickContainer, type PodSessions } from '../grpc/pod-sessions';
import type { ApiServerMetrics } from '../metrics';
import type { SessionCallbacks, TunnelSession } from '../tunnel/session';
import { SpdyServerConnection, type SpdyStream } from './spdy';
import type { ResourceRequest } from './request-info';
import { statusOf } from './status';
import {
  CHANNEL,
  EXEC_PROTOCOLS,
  PORT_FORWARD_PROTOCOLS,
  PORT_FORWARD_SPDY_TUNNEL,
  exitStatus,
  failureStatus,
  frame,
  negotiate,
  offeredProtocols,
  parsePorts,
  parseResize,
  parseStreamOptions,
  portPrefix,
  unframe,
  type StreamOptions,
  type StreamSubresource,
} from './stream-protocol';
import { errorMessage } from '../../util/errors';

/** An upgrade request for a pod's stream subresource, parsed and not yet answered. */
export interface UpgradeRequest {
  readonly req: IncomingMessage;
  readonly socket: Duplex;
  readonly head: Buffer;
  readonly query: URLSearchParams;
  readonly info: ResourceRequest;
  readonly credentials: CallCredentials;
  readonly gate: RequestGate;
}

export interface PodStreamDeps {
  sessions: PodSessions;
  metrics: ApiServerMetrics;
  log: (msg: string) => void;
}

/** Largest WebSocket message taken from a client. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** How long a port-forward's error and data streams may arrive apart (Kubernetes' streamCreationTimeout is 30 s). */
const PAIR_TIMEOUT_MS = 30_000;

/** Writes an HTTP answer on a socket that was not upgraded, and closes it. */
function answer(socket: Duplex, code: number, body: string, contentType: string): void {
  if (socket.destroyed || !socket.writable) return;
  socket.end(
    `HTTP/1.1 ${code} ${STATUS_CODES[code] ?? ''}\r\nContent-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** A failure before the upgrade as a Status answer. */
export function refuseUpgrade(socket: Duplex, err: ApiError): void {
  answer(socket, err.httpCode, JSON.stringify(statusOf(err)), 'application/json');
}

function isWebSocket(req: IncomingMessage): boolean {
  return (req.headers.upgrade ?? '').toLowerCase() === 'websocket';
}

/** A plain SPDY upgrade (kubectl before 1.30 for exec and attach, 1.31 for port-forward): refused, naming what is served. */
function spdyRefused(sub: StreamSubresource): BadRequestError {
  const served = sub === 'portforward' ? PORT_FORWARD_PROTOCOLS : EXEC_PROTOCOLS;
  const kubectl = sub === 'portforward' ? '1.31' : '1.30';
  return new BadRequestError(`tsk serves pods/${sub} over WebSocket only (${served.join(', ')}): use kubectl ${kubectl} or later`);
}

/** Sends one WebSocket message; resolves when it is written (a slow client pauses the node). */
function sendMessage(ws: WebSocket, data: Buffer): Promise<void> {
  if (ws.readyState !== ws.OPEN) return Promise.resolve();
  return new Promise((resolve) => ws.send(data, { binary: true }, () => resolve()));
}

export class PodStreams {
  private readonly wss: WebSocketServer;
  /** The protocol chosen for a request before its upgrade. */
  private readonly chosen = new WeakMap<IncomingMessage, string>();

  constructor(private readonly deps: PodStreamDeps) {
    this.wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_MESSAGE_BYTES });
    // ws checks Sec-WebSocket-Protocol against RFC 6455's token syntax, which
    // "SPDY/3.1+portforward.k8s.io" (with its "/") fails; the protocol is
    // negotiated here instead (negotiate), and named in the 101 answer.
    this.wss.on('headers', (headers, req) => {
      const protocol = this.chosen.get(req);
      if (protocol) headers.push(`Sec-WebSocket-Protocol: ${protocol}`);
    });
  }

  /** Serves one upgrade request; rejects with what fails before the upgrade (the caller answers it on the socket). */
  serve(u: UpgradeRequest, sub: StreamSubresource): Promise<void> {
    return sub === 'portforward' ? this.portForward(u) : this.execOrAttach(u, sub);
  }

  /** Completes the WebSocket handshake with the protocol chosen. */
  private upgrade(u: UpgradeRequest, protocol: string): Promise<WebSocket> {
    this.chosen.set(u.req, protocol);
    delete u.req.headers['sec-websocket-protocol'];
    return new Promise((resolve) => this.wss.handleUpgrade(u.req, u.socket, u.head, (ws) => resolve(ws)));
  }

  private admit(u: UpgradeRequest, sub: StreamSubresource): void {
    u.gate.admit(u.credentials, { verb: 'create', resource: 'pods', subresource: sub, namespace: u.info.namespace || 'default', name: u.info.name });
  }

  private async execOrAttach(u: UpgradeRequest, sub: 'exec' | 'attach'): Promise<void> {
    const websocket = isWebSocket(u.req);
    const protocol = websocket ? negotiate(offeredProtocols(u.req.headers['sec-websocket-protocol']), EXEC_PROTOCOLS) : '';
    const opts = parseStreamOptions(u.query, sub);
    this.admit(u, sub);
    const { namespace, name } = u.info;
    const build = (pod: Pod): TunnelOpen => {
      const container = pickContainer(pod, name, opts.container, false);
      if (sub === 'attach' && opts.stdin) refuseAttachStdin(pod, name, container);
      // After the pod's checks, so an old client falling back to SPDY reads the same errors as with WebSocket.
      if (!websocket) throw spdyRefused(sub);
      const start = { namespace: namespace || 'default', name, container, command: opts.command, stdin: opts.stdin, tty: opts.tty };
      return { ...(sub === 'exec' ? { exec: start } : { attach: start }), podUid: pod.metadata?.uid ?? '' };
    };
    const channel = new ChannelSession(opts, sub === 'exec' ? opts.command : []);
    const session = await this.deps.sessions.open(
      sub,
      namespace,
      name,
      build,
      channel.callbacks(u, () => this.upgrade(u, protocol), this.deps),
    );
    channel.bind(session);
  }

  private async portForward(u: UpgradeRequest): Promise<void> {
    const websocket = isWebSocket(u.req);
    const protocol = websocket ? negotiate(offeredProtocols(u.req.headers['sec-websocket-protocol']), PORT_FORWARD_PROTOCOLS) : '';
    // kubectl names its ports per connection (SPDY stream headers); the channel protocol in the query.
    const ports = protocol === PORT_FORWARD_SPDY_TUNNEL || !websocket ? [] : parsePorts(u.query);
    this.admit(u, 'portforward');
    const target = new PortForwardTarget(this.deps.sessions, u.info.namespace, u.info.name);
    await target.check();
    // After the pod's checks, as for exec.
    if (!websocket) throw spdyRefused('portforward');
    const ws = await this.upgrade(u, protocol);
    this.deps.metrics.countRequest('create', 'pods/portforward', 101);
    if (protocol === PORT_FORWARD_SPDY_TUNNEL) serveSpdyPortForward(ws, target, this.deps.log);
    else serveChannelPortForward(ws, target, ports);
  }
}

/** Kubernetes lets attach feed stdin only to a container made with stdin: true; tsk's runtime keeps no stdin for a main process at all. */
function refuseAttachStdin(pod: Pod, name: string, container: string): void {
  const spec = (pod.spec?.containers ?? []).find((c) => c.name === container);
  if (!spec?.stdin) throw new BadRequestError(`container ${container} in pod ${name} does not have stdin enabled (spec.containers[].stdin)`);
  throw new BadRequestError(`container ${container} in pod ${name}: tsk cannot feed stdin to a running container's main process; attach without stdin (-i)`);
}

/** One exec or attach over the channel protocol: the node's session on one side, the WebSocket on the other. */
class ChannelSession {
  private ws: WebSocket | undefined;
  private session: TunnelSession | undefined;
  /** The error channel's Status, sent before the close. */
  private status: Record<string, unknown> | undefined;
  private started = false;
  private over = false;
  private stdinChain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly opts: StreamOptions,
    private readonly command: readonly string[],
  ) {}

  bind(session: TunnelSession): void {
    this.session = session;
    // The client may have gone while the session was being opened.
    if (this.over || (this.ws !== undefined && this.ws.readyState === this.ws.CLOSED)) session.cancel();
  }

  callbacks(u: UpgradeRequest, upgrade: () => Promise<WebSocket>, deps: PodStreamDeps): SessionCallbacks {
    let ready: Promise<WebSocket | undefined> = Promise.resolve(undefined);
    return {
      onStarted: () => {
        this.started = true;
        ready = upgrade().then((ws) => {
          deps.metrics.countRequest('create', `pods/${u.info.subresource}`, 101);
          this.attach(ws);
          return ws;
        });
      },
      onData: async (stream, data) => {
        const ws = await ready;
        const ch = stream === 'stdout' ? CHANNEL.stdout : CHANNEL.stderr;
        // With a TTY, stderr is merged into stdout by the node; a stream the client did not ask for is dropped.
        if (ws && (stream === 'stdout' ? this.opts.stdout : this.opts.stderr)) await sendMessage(ws, frame(ch, data));
      },
      onExit: (code) => (this.status = exitStatus(code, this.command)),
      onError: (message, code) => {
        if (!this.ws && !this.started) {
          // The kubelet refused before starting: as Kubernetes' API server, whose
          // upgrade to the kubelet failed after the client's WebSocket was
          // upgraded, the refusal is an InternalError on the error channel.
          deps.metrics.countRequest('create', `pods/${u.info.subresource}`, code);
          this.status = failureStatus(`Internal error occurred: unable to upgrade connection: ${message}`, 'InternalError', 500);
          ready = upgrade().then((ws) => (this.attach(ws), ws));
          return;
        }
        this.status = failureStatus(message);
      },
      onClose: () => {
        this.over = true;
        void ready.then((ws) => {
          if (!ws) {
            answer(u.socket, 500, 'the session on the node ended before it started', 'text/plain');
            return;
          }
          const done = this.status ? sendMessage(ws, frame(CHANNEL.error, Buffer.from(JSON.stringify(this.status)))) : Promise.resolve();
          void done.then(() => ws.close(1000));
        });
      },
    };
  }

  private attach(ws: WebSocket): void {
    this.ws = ws;
    ws.on('message', (raw: RawData) => this.onMessage(ws, raw as Buffer));
    ws.on('close', () => this.session?.cancel());
    ws.on('error', () => this.session?.cancel());
  }

  private onMessage(ws: WebSocket, raw: Buffer): void {
    const s = this.session;
    const m = unframe(raw);
    if (!s || !m) return;
    switch (m.channel) {
      case CHANNEL.stdin: {
        if (!this.opts.stdin || m.data.length === 0) return;
        // Reading pauses until the node has room: a fast client cannot fill the API server's memory.
        ws.pause();
        const data = Buffer.from(m.data);
        this.stdinChain = this.stdinChain.then(() => s.writeStdin(data)).then(() => ws.resume());
        return;
      }
      case CHANNEL.resize:
        try {
          s.resize(parseResize(m.data));
        } catch {
          // A malformed resize is dropped, as Kubernetes' kubelet logs and ignores it.
        }
        return;
      case CHANNEL.close:
        if (m.data[0] === CHANNEL.stdin) this.stdinChain = this.stdinChain.then(() => s.stdinEof());
        return;
      default:
        return;
    }
  }
}

/** The pod a port-forward reaches, and its sessions (one per connection to a port). */
class PortForwardTarget {
  constructor(
    private readonly sessions: PodSessions,
    private readonly namespace: string,
    private readonly name: string,
  ) {}

  /** Fails as Kubernetes does for a pod that does not exist or has no node yet, before the upgrade. */
  async check(): Promise<void> {
    await this.sessions.locate(this.namespace, this.name, () => undefined);
  }

  /** One connection to `port` in the pod. */
  connect(port: number, cb: SessionCallbacks): Promise<TunnelSession> {
    const ns = this.namespace || 'default';
    return this.sessions.open(
      'portforward',
      this.namespace,
      this.name,
      (pod) => ({ portForward: { namespace: ns, name: this.name, port }, podUid: pod.metadata?.uid ?? '' }),
      cb,
    );
  }
}

/**
 * The channel protocol (client libraries): one connection per requested
 * port for the WebSocket's life; channel 2i its data, 2i+1 its errors, each
 * opened by the port number. The WebSocket closes when every connection has.
 */
function serveChannelPortForward(ws: WebSocket, target: PortForwardTarget, ports: readonly number[]): void {
  let open = ports.length;
  const closed = (): void => {
    if (--open === 0) ws.close(1000);
  };
  const opened = ports.map((port, i) => {
    void sendMessage(ws, frame(2 * i, portPrefix(port)));
    void sendMessage(ws, frame(2 * i + 1, portPrefix(port)));
    const session = target.connect(port, {
      onData: (_stream, data) => sendMessage(ws, frame(2 * i, data)),
      onExit: () => undefined,
      onError: (message) => void sendMessage(ws, frame(2 * i + 1, Buffer.from(message))),
      onClose: closed,
    });
    session.catch((err: unknown) => {
      void sendMessage(ws, frame(2 * i + 1, Buffer.from(errorMessage(err))));
      closed();
    });
    return session;
  });
  // Per port, data in order; what comes before the node's connection is open waits for it.
  const chains: Promise<unknown>[] = [...opened];
  ws.on('message', (raw: RawData) => {
    const m = unframe(raw as Buffer);
    if (!m || m.channel % 2 !== 0 || m.data.length === 0) return;
    const i = m.channel / 2;
    const session = opened[i];
    if (!session) return;
    ws.pause();
    const data = Buffer.from(m.data);
    chains[i] = chains[i]!.then(() => session.then((s) => s.writeStdin(data))).then(
      () => ws.resume(),
      () => ws.resume(),
    );
  });
  ws.on('close', () => opened.forEach((s) => void s.then((x) => x.cancel()).catch(() => undefined)));
}

/** A pair of SPDY streams kubectl opens for one local connection: errors, then data, under one requestid. */
interface PendingPair {
  error?: SpdyStream;
  data?: SpdyStream;
  timer: NodeJS.Timeout;
}

/**
 * kubectl's port-forward: SPDY streams inside the WebSocket. Each local
 * connection opens an error stream and a data stream (headers streamtype,
 * port, requestid); the pair becomes one connection to the port in the pod.
 * What fails goes on the error stream as text, and both streams end when
 * the pod closes the connection.
 */
function serveSpdyPortForward(ws: WebSocket, target: PortForwardTarget, log: (msg: string) => void): void {
  const io = createWebSocketStream(ws);
  const pending = new Map<string, PendingPair>();
  const conn = new SpdyServerConnection(
    io,
    (stream) => {
      const type = stream.headers.get('streamtype');
      const requestId = stream.headers.get('requestid') ?? '';
      const port = Number(stream.headers.get('port') ?? '');
      if ((type !== 'error' && type !== 'data') || !(Number.isInteger(port) && port >= 1 && port <= 65535)) {
        log(`port-forward: refused a stream with headers ${JSON.stringify([...stream.headers])}`);
        stream.reset();
        return;
      }
      let pair = pending.get(requestId);
      if (!pair) {
        pair = { timer: setTimeout(() => timedOut(requestId), PAIR_TIMEOUT_MS) };
        pending.set(requestId, pair);
      }
      pair[type] = stream;
      if (pair.error && pair.data) {
        clearTimeout(pair.timer);
        pending.delete(requestId);
        forwardPair(target, port, pair.error, pair.data);
      }
    },
    log,
  );
  const timedOut = (requestId: string): void => {
    const pair = pending.get(requestId);
    pending.delete(requestId);
    pair?.error?.reset();
    pair?.data?.reset();
  };
  ws.on('close', () => {
    for (const p of pending.values()) clearTimeout(p.timer);
    pending.clear();
    conn.close();
  });
}

/** One local connection: the data stream piped to a connection in the pod, its failure on the error stream. */
function forwardPair(target: PortForwardTarget, port: number, errorStream: SpdyStream, data: SpdyStream): void {
  let failure = '';
  const cb: SessionCallbacks = {
    onData: (_stream, bytes) => data.write(bytes),
    onExit: () => undefined,
    onError: (message) => (failure = message),
    onClose: () => {
      // The pod's side is done: kubectl reads the error stream to its end after the data stream's.
      data.end();
      void (failure ? errorStream.write(Buffer.from(failure)) : Promise.resolve()).then(() => errorStream.end());
    },
  };
  const opened = target.connect(port, cb);
  // What kubectl sends before the node's connection is open waits for it, in order.
  let chain: Promise<unknown> = opened;
  opened.catch((err: unknown) => {
    void errorStream.write(Buffer.from(errorMessage(err))).then(() => {
      errorStream.end();
      data.end();
    });
  });
  errorStream.onData = () => Promise.resolve();
  data.onData = (bytes) => {
    const copy = Buffer.from(bytes);
    // The SPDY connection reads no further frames until the node has room.
    chain = chain.then(() => opened.then((s) => s.writeStdin(copy)));
    return chain.then(
      () => undefined,
      () => undefined,
    );
  };
  data.onEnd = () => void chain.then(() => opened.then((s) => s.stdinEof())).catch(() => undefined);
  const stop = (): void => void opened.then((s) => s.cancel()).catch(() => undefined);
  data.onReset = stop;
  errorStream.onReset = stop;
}
