// One log or exec session on a node's tunnel, seen from the API server: it
// forwards what the kubelet sends to the caller's stream and returns credit
// only once the caller's stream has taken the data (drained), so a slow
// client pauses the kubelet instead of filling the API server's memory.

import type { TerminalSize, TunnelMessage } from '../../api/gen/tsk/v1/stream';
import { Credit, TunnelMux, chunks, dataBytes, type SessionHandler } from '../../tunnel';

export interface SessionCallbacks {
  /** The kubelet's process or connection runs (exec, attach, port-forward); errors after this come as onError too. */
  onStarted?(): void;
  /** Data for the caller; resolves when the caller's stream can take more. */
  onData(stream: 'stdout' | 'stderr', data: Buffer): Promise<void>;
  onExit(code: number): void;
  /** The session failed; `code` is an HTTP status (404, 400, 503, ...). Terminal. */
  onError(message: string, code: number): void;
  /** The kubelet closed the stream (after the data, exit or error). Terminal. */
  onClose(): void;
}

export class TunnelSession implements SessionHandler {
  private readonly stdinCredit = new Credit();
  private finished = false;
  private startedFlag = false;
  /** Resolves true once the kubelet said started, false if the session ended first: stdin waits for it, as the kubelet drops what comes earlier. */
  private readonly started: Promise<boolean>;
  private markStarted: (ok: boolean) => void = () => undefined;

  constructor(
    private readonly mux: TunnelMux,
    readonly id: number,
    private readonly cb: SessionCallbacks,
  ) {
    this.started = new Promise((resolve) => (this.markStarted = resolve));
  }

  onMessage(msg: TunnelMessage): void {
    if (msg.credit) this.stdinCredit.grant(msg.credit);
    if (msg.started && !this.startedFlag) {
      this.startedFlag = true;
      this.markStarted(true);
      this.cb.onStarted?.();
    }
    const n = dataBytes(msg);
    if (n > 0) {
      const pending: Promise<void>[] = [];
      if (msg.stdout?.length) pending.push(this.cb.onData('stdout', msg.stdout));
      if (msg.stderr?.length) pending.push(this.cb.onData('stderr', msg.stderr));
      void Promise.all(pending).then(() => {
        if (!this.finished) this.mux.send({ streamId: this.id, credit: n });
      });
    }
    if (msg.error) this.cb.onError(msg.error, msg.errorCode ?? 500);
    else if (msg.exitCode !== undefined) this.cb.onExit(msg.exitCode);
    if (msg.close) this.finish(false);
  }

  onTunnelClosed(reason: string): void {
    if (this.finished) return;
    this.cb.onError(`the connection to the node was lost: ${reason}`, 503);
    this.finish(false);
  }

  /** Sends stdin, waiting for the kubelet's credit; false once the session is over. */
  async writeStdin(data: Buffer): Promise<boolean> {
    if (!(await this.started)) return false;
    for (const c of chunks(data)) {
      if (this.finished || !(await this.stdinCredit.take(c.length))) return false;
      this.mux.send({ streamId: this.id, stdin: c });
    }
    return !this.finished;
  }

  /** Ends the kubelet's stdin, once it has started. */
  stdinEof(): void {
    void this.started.then((ok) => {
      if (ok && !this.finished) this.mux.send({ streamId: this.id, stdinEof: true });
    });
  }

  /** Sets the terminal's size, once the kubelet has started (it has nothing to size before). */
  resize(size: TerminalSize): void {
    void this.started.then((ok) => {
      if (ok && !this.finished) this.mux.send({ streamId: this.id, resize: size });
    });
  }

  /** The caller went away: tells the kubelet to stop the session. Idempotent. */
  cancel(): void {
    this.finish(true);
  }

  private finish(notify: boolean): void {
    if (this.finished) return;
    this.finished = true;
    this.markStarted(false);
    this.stdinCredit.close();
    this.mux.unregister(this.id);
    if (notify) this.mux.send({ streamId: this.id, close: true });
    this.cb.onClose();
  }
}
