// The kubelet's side of a tunnel session: the API server asked for a pod's
// log, an exec, an attach or a port-forward connection; find the pod's
// container (or sandbox) in the runtime and stream it back under the
// session's credit (tunnel/framing.ts), so a slow reader pauses the log
// reader, the command's output pipes or the pod's socket instead of growing
// a buffer.

import type { ExecStart, PodLogsRequest, PortForwardStart, TunnelMessage, TunnelOpen } from '../../api/gen/tsk/v1/stream';
import { Credit, TunnelMux, TUNNEL_CHUNK_BYTES, chunks, type SessionHandler } from '../../tunnel';
import { LABEL_CONTAINER_NAME, LABEL_POD_NAME, LABEL_POD_NAMESPACE, LABEL_POD_UID } from '../pod-runtime';
import type { AttachStreams, ContainerRuntime, ContainerStatus, ExecProcess, LogEntry } from '../runtime/runtime';
import { errorMessage } from '../../util/errors';

/** A session failure the API server passes on with its HTTP code. */
/** How long an attach whose output ended waits for the runtime to record the process's exit. */
const ATTACH_EXIT_SETTLE_MS = 2_000;

export class SessionError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

/** The pod's instances of a container, newest first. */
export async function containerInstances(runtime: ContainerRuntime, ns: string, pod: string, uid: string, name: string): Promise<ContainerStatus[]> {
  const all = await runtime.listContainers();
  return all
    .filter((c) => {
      const l = c.labels;
      const samePod = uid ? l[LABEL_POD_UID] === uid : l[LABEL_POD_NAMESPACE] === ns && l[LABEL_POD_NAME] === pod;
      return samePod && l[LABEL_CONTAINER_NAME] === name;
    })
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
}

/** A log entry as kubectl prints it: the text, a newline unless partial, the time first with timestamps. */
export function formatEntry(e: LogEntry, timestamps: boolean, continuing: boolean): string {
  const prefix = timestamps && !continuing ? `${e.time} ` : '';
  return `${prefix}${e.text}${e.partial ? '' : '\n'}`;
}

/** What a session feeds the API server's stdin to and stops: an exec'd process or a port-forward connection. */
interface SessionTarget {
  readonly stdin: NodeJS.WritableStream | null;
  kill(): void;
  /** An exec with a terminal: its size. */
  readonly resize?: (width: number, height: number) => void;
}

/** One session on the kubelet's side. */
class Session implements SessionHandler {
  readonly credit = new Credit();
  readonly abort = new AbortController();
  private closed = false;
  private proc: SessionTarget | undefined;

  constructor(
    private readonly mux: TunnelMux,
    readonly id: number,
  ) {}

  onMessage(msg: TunnelMessage): void {
    if (msg.credit) this.credit.grant(msg.credit);
    const stdin = this.proc?.stdin;
    if (msg.stdin?.length && stdin) {
      const n = msg.stdin.length;
      stdin.write(msg.stdin, () => this.mux.send({ streamId: this.id, credit: n }));
    }
    if (msg.stdinEof) stdin?.end();
    if (msg.resize) this.proc?.resize?.(msg.resize.width ?? 0, msg.resize.height ?? 0);
    if (msg.close) this.stop(false);
  }

  onTunnelClosed(): void {
    this.stop(false);
  }

  /** Binds the session to what it drives, and tells the API server it runs. */
  attach(proc: SessionTarget): void {
    this.proc = proc;
    if (this.closed) proc.kill();
    else this.mux.send({ streamId: this.id, started: true });
  }

  get done(): boolean {
    return this.closed;
  }

  async send(stream: 'stdout' | 'stderr', data: Buffer): Promise<boolean> {
    for (const c of chunks(data)) {
      if (this.closed || !(await this.credit.take(c.length))) return false;
      this.mux.send({ streamId: this.id, [stream]: c });
    }
    return !this.closed;
  }

  finish(last: TunnelMessage): void {
    if (this.closed) return;
    this.mux.send({ ...last, streamId: this.id, close: true });
    this.stop(false);
  }

  stop(notify: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.credit.close();
    this.abort.abort();
    this.proc?.kill();
    this.mux.unregister(this.id);
    if (notify) this.mux.send({ streamId: this.id, close: true });
  }
}

/** Serves the sessions the API server opens on one tunnel. */
export class SessionServer {
  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly log: (line: string) => void,
  ) {}

  /** Starts a session for an open frame; everything after goes through the mux. */
  open(mux: TunnelMux, id: number, open: TunnelOpen): void {
    const session = new Session(mux, id);
    mux.register(id, session);
    const uid = open.podUid ?? '';
    const run = open.logs
      ? this.logs(session, open.logs, uid)
      : open.exec
        ? this.exec(session, open.exec, uid)
        : open.attach
          ? this.attach(session, open.attach, uid)
          : open.portForward
            ? this.portForward(session, open.portForward, uid)
            : Promise.reject(new SessionError('the session asks for none of logs, exec, attach or port-forward', 400));
    run.then(
      (last) => session.finish(last),
      (err: unknown) => {
        if (!(err instanceof SessionError)) this.log(`tunnel session ${id}: ${errorMessage(err)}`);
        const code = err instanceof SessionError ? err.code : 500;
        session.finish({ error: errorMessage(err), errorCode: code });
      },
    );
  }

  private async logs(s: Session, r: PodLogsRequest, uid: string): Promise<TunnelMessage> {
    const name = r.container ?? '';
    const pod = r.name ?? '';
    const instances = await containerInstances(this.runtime, r.namespace ?? '', pod, uid, name);
    const target = r.previous ? instances[1] : instances[0];
    if (!target) {
      if (r.previous) throw new SessionError(`previous terminated container "${name}" in pod "${pod}" not found`, 400);
      throw new SessionError(`container "${name}" in pod "${pod}" is waiting to start: ContainerCreating`, 400);
    }
    const opts = {
      follow: (r.follow ?? false) && !r.previous,
      signal: s.abort.signal,
      ...(r.tailLines !== undefined && r.tailLines >= 0 ? { tail: r.tailLines } : {}),
    };
    let pending = '';
    let continuing = false;
    const flush = async (): Promise<boolean> => {
      const data = Buffer.from(pending);
      pending = '';
      return data.length === 0 || s.send('stdout', data);
    };
    try {
      for await (const e of this.runtime.logs(target.id, opts)) {
        if (s.done) break;
        pending += formatEntry(e, r.timestamps ?? false, continuing);
        continuing = e.partial;
        // Without follow, lines are batched into chunks; with follow, each goes out as it comes.
        if ((opts.follow || pending.length >= TUNNEL_CHUNK_BYTES) && !(await flush())) break;
      }
    } catch (err) {
      if (!s.abort.signal.aborted) throw err;
    }
    await flush();
    return {};
  }

  /** The running instance of the container a request names; Kubernetes' errors when there is none. */
  private async running(r: ExecStart, uid: string): Promise<ContainerStatus> {
    const name = r.container ?? '';
    const pod = r.name ?? '';
    const [current] = await containerInstances(this.runtime, r.namespace ?? '', pod, uid, name);
    if (!current) throw new SessionError(`container not found ("${name}")`, 404);
    if (current.state !== 'running') throw new SessionError(`container ${name} is not running in pod ${pod} (state ${current.state})`, 400);
    return current;
  }

  private async exec(s: Session, r: ExecStart, uid: string): Promise<TunnelMessage> {
    const name = r.container ?? '';
    const pod = r.name ?? '';
    const current = await this.running(r, uid);
    let proc: ExecProcess;
    try {
      proc = this.runtime.execStream(current.id, { cmd: r.command ?? [], stdin: r.stdin ?? false, tty: r.tty ?? false });
    } catch (err) {
      throw new SessionError(`container ${name} is not running in pod ${pod}: ${errorMessage(err)}`, 400);
    }
    s.attach(proc);
    await Promise.all([this.pump(s, proc.stdout, 'stdout'), this.pump(s, proc.stderr, 'stderr')]);
    return { exitCode: await proc.exit };
  }

  /**
   * Attach (CRI Attach): the main process's output from now on, stdout and
   * stderr apart (one stream with a terminal), until it exits or the caller
   * leaves. A container made with stdin or tty is attached through its shim
   * (its stdin, its terminal's size); one made with neither has only output,
   * read from its log as it is written.
   */
  private async attach(s: Session, r: ExecStart, uid: string): Promise<TunnelMessage> {
    const current = await this.running(r, uid);
    let streams: AttachStreams | undefined;
    try {
      streams = await this.runtime.attach(current.id, { stdin: r.stdin ?? false });
    } catch (err) {
      throw new SessionError(`container ${r.container ?? ''} is not running in pod ${r.name ?? ''}: ${errorMessage(err)}`, 400);
    }
    if (streams) {
      s.attach(streams);
      await Promise.all([this.pump(s, streams.stdout, 'stdout'), this.pump(s, streams.stderr, 'stderr')]);
    } else {
      await this.followOutput(s, current.id);
    }
    return this.exitAfterOutput(s, current.id);
  }

  /**
   * The exit code to end an attach with. Output that ended while the caller
   * stays means the process closed it, nearly always by exiting; the shim
   * records the exit a moment after the pipes close, so wait a little for it.
   */
  private async exitAfterOutput(s: Session, id: string): Promise<TunnelMessage> {
    if (s.abort.signal.aborted) return {};
    const signal = AbortSignal.any([s.abort.signal, AbortSignal.timeout(ATTACH_EXIT_SETTLE_MS)]);
    const st = await this.runtime.waitContainer(id, signal).catch(() => this.runtime.containerStatus(id).catch(() => undefined));
    return st?.state === 'exited' && st.exitCode !== undefined ? { exitCode: st.exitCode } : {};
  }

  /** Attach to a container without stdin and tty: what it prints, from its log, until it exits or the caller leaves. */
  private async followOutput(s: Session, id: string): Promise<void> {
    s.attach({ stdin: null, kill: () => undefined });
    try {
      for await (const e of this.runtime.logs(id, { follow: true, tail: 0, signal: s.abort.signal })) {
        if (!(await s.send(e.stream, Buffer.from(`${e.text}${e.partial ? '' : '\n'}`)))) break;
      }
    } catch (err) {
      if (!s.abort.signal.aborted) throw err;
    }
  }

  /** One connection to the port on the pod's loopback: the API server's stdin in, the pod's bytes out as stdout. */
  private async portForward(s: Session, r: PortForwardStart, uid: string): Promise<TunnelMessage> {
    const pod = r.name ?? '';
    const port = r.port ?? 0;
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new SessionError(`invalid port ${port}: must be 1-65535`, 400);
    const sandboxes = await this.runtime.listSandboxes();
    const sandbox = sandboxes.find((sb) => sb.state === 'ready' && (uid ? sb.uid === uid : sb.namespace === r.namespace && sb.name === pod));
    if (!sandbox) throw new SessionError(`pod ${pod} has no running sandbox on this node`, 404);
    const conn = this.runtime.portForward(sandbox.id, port);
    s.attach({ stdin: conn.input, kill: () => conn.close() });
    await this.pump(s, conn.output, 'stdout');
    const failure = await conn.done;
    if (failure) throw new SessionError(`error forwarding port ${port} to pod ${sandbox.id}, uid ${uid}: ${failure}`, 500);
    return {};
  }

  /** Copies a pipe to the session, pausing the pipe while the session has no credit. */
  private pump(s: Session, from: NodeJS.ReadableStream, stream: 'stdout' | 'stderr'): Promise<void> {
    return new Promise((resolve) => {
      // Sends are chained: a pipe may still emit 'data' after pause(), and a
      // chunk must never overtake the one before it. 'end' may come while the
      // last chunk still waits for credit: done only once that is sent.
      let sending: Promise<boolean> = Promise.resolve(true);
      from.on('data', (d: Buffer) => {
        from.pause();
        sending = sending.then((ok) => ok && s.send(stream, d));
        void sending.then((ok) => {
          if (ok) from.resume();
          else resolve();
        });
      });
      from.on('end', () => void sending.then(() => resolve()));
      from.on('error', () => resolve());
    });
  }
}
