// pods/exec, pods/attach and pods/portforward in the REST API: upgrade
// requests (WebSocket with the channel protocols of stream-protocol.ts, or
// SPDY through a WebSocket for kubectl port-forward) turned into sessions on
// the pod's node through PodSessions, the path gRPC's Exec takes (one
// implementation of the session, two encodings). Port-forward's encodings
// are in portforward.ts.
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
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { type ApiError, BadRequestError } from '../../api/errors';
import type { Pod } from '../../api/gen/tsk/v1/core';
import type { TunnelOpen } from '../../api/gen/tsk/v1/stream';
import type { CallCredentials } from '../auth/user';
import type { RequestGate } from '../grpc/gate';
import { pickContainer, refuseAttachStdin, type PodSessions } from '../grpc/pod-sessions';
import type { ApiServerMetrics } from '../metrics';
import type { SessionCallbacks, TunnelSession } from '../tunnel/session';
import { PortForwardTarget, sendMessage, serveChannelPortForward, serveSpdyPortForward } from './portforward';
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
  unframe,
  type StreamOptions,
  type StreamSubresource,
} from './stream-protocol';

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

  /** Completes the WebSocket handshake with the protocol chosen; undefined when the client has gone meanwhile. */
  private upgrade(u: UpgradeRequest, protocol: string): Promise<WebSocket | undefined> {
    if (u.socket.destroyed || !u.socket.writable) return Promise.resolve(undefined);
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
    channel.bind(session, u.socket);
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
    if (!ws) return;
    this.deps.metrics.countRequest('create', 'pods/portforward', 101);
    if (protocol === PORT_FORWARD_SPDY_TUNNEL) serveSpdyPortForward(ws, target, this.deps.log);
    else serveChannelPortForward(ws, target, ports);
  }
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

  bind(session: TunnelSession, socket: Duplex): void {
    this.session = session;
    // The client may go before the upgrade (while the node starts the command): the session ends with it.
    socket.once('close', () => {
      if (!this.ws) session.cancel();
    });
    if (this.over || socket.destroyed || (this.ws !== undefined && this.ws.readyState === this.ws.CLOSED)) session.cancel();
  }

  callbacks(u: UpgradeRequest, upgrade: () => Promise<WebSocket | undefined>, deps: PodStreamDeps): SessionCallbacks {
    let ready: Promise<WebSocket | undefined> = Promise.resolve(undefined);
    return {
      onStarted: () => {
        this.started = true;
        ready = upgrade().then((ws) => {
          if (ws) {
            deps.metrics.countRequest('create', `pods/${u.info.subresource}`, 101);
            this.attach(ws);
          }
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
          ready = upgrade().then((ws) => {
            if (ws) this.attach(ws);
            return ws;
          });
          return;
        }
        this.status = failureStatus(message);
      },
      onClose: () => {
        this.over = true;
        void ready.then((ws) => {
          if (!ws) {
            // Ended before it started, or the client is gone (then nothing is written).
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
