// pods/portforward's two encodings over the WebSocket streams.ts upgraded:
// the channel protocol of client libraries (one connection per requested
// port) and kubectl's SPDY streams tunnelled through the WebSocket (one
// connection per error/data stream pair). Each connection is a session on
// the pod's node through PodSessions (the kubelet connects inside the pod's
// network namespace).

import { createWebSocketStream, type RawData, type WebSocket } from 'ws';
import type { PodSessions } from '../grpc/pod-sessions';
import type { SessionCallbacks, TunnelSession } from '../tunnel/session';
import { SpdyServerConnection, type SpdyStream } from './spdy';
import { frame, portPrefix, unframe } from './stream-protocol';
import { errorMessage } from '../../util/errors';

/** How long a port-forward's error and data streams may arrive apart (Kubernetes' streamCreationTimeout is 30 s). */
const PAIR_TIMEOUT_MS = 30_000;

/** Sends one WebSocket message; resolves when it is written (a slow client pauses the node). */
export function sendMessage(ws: WebSocket, data: Buffer): Promise<void> {
  if (ws.readyState !== ws.OPEN) return Promise.resolve();
  return new Promise((resolve) => ws.send(data, { binary: true }, () => resolve()));
}

/** The pod a port-forward reaches, and its sessions (one per connection to a port). */
export class PortForwardTarget {
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
export function serveChannelPortForward(ws: WebSocket, target: PortForwardTarget, ports: readonly number[]): void {
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
export function serveSpdyPortForward(ws: WebSocket, target: PortForwardTarget, log: (msg: string) => void): void {
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
