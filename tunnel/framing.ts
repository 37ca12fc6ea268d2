// The framing shared by both ends of a node tunnel (proto/tsk/v1/stream.proto):
// many log/exec sessions multiplexed over one gRPC stream by stream id, with
// credit-based flow control per session. A sender may have at most one
// window of data outstanding on a session; the receiver returns credit as it
// hands data on, so a slow reader pauses the sender and no side ever buffers
// more than a window (plus one chunk) per session.

import type { TunnelMessage } from '../api/gen/tsk/v1/stream';

/** Bytes a sender may have unacknowledged on one session. */
export const TUNNEL_WINDOW_BYTES = 256 * 1024;
/** Largest data payload of one frame. */
export const TUNNEL_CHUNK_BYTES = 32 * 1024;

/** Splits `data` into frames of at most `max` bytes (views, no copies). */
export function chunks(data: Buffer, max = TUNNEL_CHUNK_BYTES): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < data.length; off += max) out.push(data.subarray(off, Math.min(off + max, data.length)));
  return out;
}

/** The send side of one session's window. */
export class Credit {
  private available: number;
  private closed = false;
  private waiters: (() => void)[] = [];

  constructor(window = TUNNEL_WINDOW_BYTES) {
    this.available = window;
  }

  /** Bytes that may be sent now. */
  get remaining(): number {
    return this.available;
  }

  /**
   * Waits until some credit is left, then takes `n` bytes of it (a frame is
   * never split by credit: the overshoot is at most one chunk). Resolves
   * false when the session was closed meanwhile.
   */
  async take(n: number): Promise<boolean> {
    while (!this.closed && this.available <= 0) await new Promise<void>((resolve) => this.waiters.push(resolve));
    if (this.closed) return false;
    this.available -= n;
    return true;
  }

  grant(n: number): void {
    this.available += n;
    this.wake();
  }

  close(): void {
    this.closed = true;
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }
}

/** What a session receives from the tunnel. */
export interface SessionHandler {
  onMessage(msg: TunnelMessage): void;
  /** The tunnel went away: the session is over. */
  onTunnelClosed(reason: string): void;
}

/**
 * Routes frames to sessions by stream id. The API server opens streams with
 * odd ids (as HTTP/2 clients); frames for an unknown stream are answered with
 * a close so the peer stops sending.
 */
export class TunnelMux {
  private readonly sessions = new Map<number, SessionHandler>();
  private nextId = 1;
  private closedReason: string | undefined;

  constructor(private readonly sink: (msg: TunnelMessage) => void) {}

  get size(): number {
    return this.sessions.size;
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  /** A fresh stream id for a session this side opens. */
  allocate(): number {
    const id = this.nextId;
    this.nextId += 2;
    return id;
  }

  register(id: number, handler: SessionHandler): void {
    if (this.closedReason !== undefined) {
      handler.onTunnelClosed(this.closedReason);
      return;
    }
    this.sessions.set(id, handler);
  }

  unregister(id: number): void {
    this.sessions.delete(id);
  }

  has(id: number): boolean {
    return this.sessions.has(id);
  }

  send(msg: TunnelMessage): void {
    if (this.closedReason === undefined) this.sink(msg);
  }

  /** Hands a received frame to its session; returns false when no session has that id. */
  dispatch(msg: TunnelMessage): boolean {
    const id = msg.streamId ?? 0;
    const handler = this.sessions.get(id);
    if (handler) {
      if (msg.close) this.sessions.delete(id);
      handler.onMessage(msg);
      return true;
    }
    if (id !== 0 && !msg.close) this.send({ streamId: id, close: true, error: 'no such stream', errorCode: 404 });
    return false;
  }

  /** Ends every session (the tunnel broke or is being replaced). Idempotent. */
  closeAll(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    const all = [...this.sessions.values()];
    this.sessions.clear();
    for (const h of all) h.onTunnelClosed(reason);
  }
}

/** The bytes of data a frame carries (what counts against the window). */
export function dataBytes(msg: TunnelMessage): number {
  return (msg.stdout?.length ?? 0) + (msg.stderr?.length ?? 0) + (msg.stdin?.length ?? 0);
}
