// PodService Logs, Exec, Attach and PortForward: find the pod, its node and the node's tunnel, and
// proxy one session down the tunnel (the API server never dials a kubelet).
// Errors are worded as Kubernetes words them. Logs are `get pods/log`, exec
// and attach `create pods/exec` and `create pods/attach`, authorized before
// the pod is even looked up.

import type * as grpc from '@grpc/grpc-js';
import { ApiError, BadRequestError, InternalError, UnavailableError, toServiceError, type StatusReason } from '../../api/errors';
import type { Pod } from '../../api/gen/tsk/v1/core';
import type {
  ExecClientMessage,
  ExecServerMessage,
  ExecStart,
  PodLogsChunk,
  PodLogsRequest,
  PortForwardClientMessage,
  PortForwardServerMessage,
  TunnelOpen,
} from '../../api/gen/tsk/v1/stream';
import type { CallCredentials, UserInfo } from '../auth/user';
import type { ApiServerMetrics } from '../metrics';
import type { Registry } from '../registry/store';
import type { NodeTunnel, TunnelRegistry } from '../tunnel/registry';
import type { SessionCallbacks, TunnelSession } from '../tunnel/session';
import type { RequestGate } from './gate';
import { errorMessage } from '../../util/errors';

/** Where a log stream goes: a gRPC call, or a REST response. */
export interface LogsOutput {
  /** Resolves when the output can take more. */
  write(data: Buffer): Promise<void>;
  fail(err: ApiError): void;
  end(): void;
  /** `f` runs when the client goes away (at once if it already has). */
  onCancel(f: () => void): void;
}

export interface PodSessionDeps {
  pods: Registry;
  tunnels: TunnelRegistry;
  metrics: ApiServerMetrics;
  gate: RequestGate;
  log: (msg: string) => void;
}

/** The container a request names: the only one when none is named, as kubectl. */
export function pickContainer(pod: Pod, name: string, requested: string, includeInit: boolean): string {
  const names = (pod.spec?.containers ?? []).map((c) => c.name ?? '');
  const all = includeInit ? [...names, ...(pod.spec?.initContainers ?? []).map((c) => c.name ?? '')] : names;
  if (!requested) {
    if (names.length === 1) return names[0]!;
    throw new BadRequestError(`a container name must be specified for pod ${name}, choose one of: [${all.join(' ')}]`);
  }
  if (!all.includes(requested)) throw new BadRequestError(`container ${requested} is not valid for pod ${name}`);
  return requested;
}

/** Attach feeds stdin only to a container made with stdin: true (its runtime holds no stdin for one made without). */
export function refuseAttachStdin(pod: Pod, name: string, container: string): void {
  const spec = (pod.spec?.containers ?? []).find((c) => c.name === container);
  if (!spec?.stdin) throw new BadRequestError(`container ${container} in pod ${name} does not have stdin enabled (spec.containers[].stdin)`);
}

const REASON_OF_CODE: Record<number, StatusReason> = { 400: 'BadRequest', 404: 'NotFound', 503: 'ServiceUnavailable' };

function errorFromNode(message: string, code: number): ApiError {
  const reason = REASON_OF_CODE[code];
  return reason ? new ApiError(reason, message) : new InternalError(message);
}

function asApiError(err: unknown): ApiError {
  return err instanceof ApiError ? err : new InternalError(errorMessage(err));
}

/** Waits for a stream that refused a write to drain. */
function written(ok: boolean, stream: NodeJS.EventEmitter): Promise<void> {
  return ok ? Promise.resolve() : new Promise((resolve) => stream.once('drain', () => resolve()));
}

export class PodSessions {
  constructor(private readonly deps: PodSessionDeps) {}

  /**
   * The pod and its node's tunnel, with Kubernetes' errors for a pod that
   * does not exist or has no node, and for a node not connected. `check`
   * runs on the pod first (the container's name, ...) and its result is returned.
   */
  async locate<T>(namespace: string, name: string, check: (pod: Pod) => T): Promise<{ tunnel: NodeTunnel; checked: T }> {
    const pod = (await this.deps.pods.get(namespace || 'default', name)) as Pod;
    const checked = check(pod);
    const node = pod.spec?.nodeName;
    if (!node) throw new BadRequestError(`pod ${name} does not have a host assigned`);
    const tunnel = this.deps.tunnels.get(node);
    if (!tunnel) throw new UnavailableError(`the node ${node} is not connected`);
    return { tunnel, checked };
  }

  /**
   * Opens a session on the pod's node for a caller already authorized:
   * `build` turns the pod into what the kubelet is asked (and may throw, as
   * pickContainer does). Every session kind goes through here, whatever the
   * transport (gRPC, or the REST API's WebSocket and SPDY streams).
   */
  async open(
    type: 'logs' | 'exec' | 'attach' | 'portforward',
    namespace: string,
    name: string,
    build: (pod: Pod) => TunnelOpen,
    cb: SessionCallbacks,
  ): Promise<TunnelSession> {
    const { tunnel, checked: open } = await this.locate(namespace, name, build);
    const gauge = this.deps.metrics.tunnelSessions.labels({ type });
    gauge.inc();
    this.deps.metrics.tunnelSessionsTotal.inc({ type });
    return tunnel.open(open, {
      ...cb,
      onClose: () => {
        gauge.dec();
        cb.onClose();
      },
    });
  }

  /** The gRPC PodService.Logs call: chunks of the container's log. */
  logs(call: grpc.ServerWritableStream<PodLogsRequest, PodLogsChunk>): void {
    this.streamLogs(call, call.request, {
      write: (data) => written(call.write({ data }), call),
      fail: (err) => call.emit('error', toServiceError(err)),
      end: () => call.end(),
      onCancel: (f) => {
        if (call.cancelled) f();
        else call.on('cancelled', f);
      },
    });
  }

  /**
   * A container's log (`get pods/log`) into `out`, whatever the transport:
   * authorized first, then proxied from the pod's node through its tunnel.
   */
  streamLogs(credentials: CallCredentials, r: PodLogsRequest, out: LogsOutput): void {
    let failed = false;
    const fail = (err: ApiError): void => {
      if (failed) return;
      failed = true;
      this.deps.metrics.countRequest('get', 'pods/log', err.httpCode);
      out.fail(err);
    };
    const build = (pod: Pod): TunnelOpen => ({
      logs: { ...r, container: pickContainer(pod, r.name ?? '', r.container ?? '', true) },
      podUid: pod.metadata?.uid ?? '',
    });
    try {
      this.deps.gate.admit(credentials, { verb: 'get', resource: 'pods', subresource: 'log', namespace: r.namespace || 'default', name: r.name ?? '' });
    } catch (err) {
      fail(asApiError(err));
      return;
    }
    this.open('logs', r.namespace ?? '', r.name ?? '', build, {
      onData: (_stream, data) => out.write(data),
      onExit: () => {},
      onError: (message, code) => fail(errorFromNode(message, code)),
      onClose: () => {
        if (failed) return;
        this.deps.metrics.countRequest('get', 'pods/log', 200);
        out.end();
      },
    }).then(
      // The caller may have gone while the session was being opened.
      (session) => out.onCancel(() => session.cancel()),
      (err: unknown) => fail(asApiError(err)),
    );
  }

  /** PodService.Exec (tsctl exec): a command in a running container, `create pods/exec`. */
  exec(call: grpc.ServerDuplexStream<ExecClientMessage, ExecServerMessage>): void {
    this.execOrAttach(call, 'exec');
  }

  /** PodService.Attach (tsctl attach): the container's main process, `create pods/attach`. */
  attach(call: grpc.ServerDuplexStream<ExecClientMessage, ExecServerMessage>): void {
    this.execOrAttach(call, 'attach');
  }

  /** The first message's start, checked for `sub`; throws the BadRequestError a caller gets otherwise. */
  private static checkStart(sub: 'exec' | 'attach', first: ExecClientMessage): ExecStart {
    const start = first.start;
    if (!start) {
      throw new BadRequestError(
        sub === 'exec' ? 'exec: the first message must carry start (namespace, name, command)' : 'attach: the first message must carry start (namespace, name)',
      );
    }
    const command = start.command ?? [];
    if (sub === 'exec' && command.length === 0) throw new BadRequestError('you must specify at least one command for the container');
    if (sub === 'attach' && command.length > 0)
      throw new BadRequestError('attach: start.command must be empty (attach joins the main process; use exec to run a command)');
    return start;
  }

  private execOrAttach(call: grpc.ServerDuplexStream<ExecClientMessage, ExecServerMessage>, sub: 'exec' | 'attach'): void {
    let session: TunnelSession | undefined;
    let failed = false;
    const fail = (err: ApiError): void => {
      if (failed) return;
      failed = true;
      this.deps.metrics.countRequest('create', `pods/${sub}`, err.httpCode);
      call.emit('error', toServiceError(err));
    };
    const cb: SessionCallbacks = {
      onData: (stream, data) => written(call.write(stream === 'stdout' ? { stdout: data } : { stderr: data }), call),
      onExit: (exitCode) => call.write({ exitCode }),
      onError: (message, code) => fail(errorFromNode(message, code)),
      onClose: () => {
        if (failed) return;
        this.deps.metrics.countRequest('create', `pods/${sub}`, 200);
        call.end();
      },
    };
    // The stdin chunk in flight: its end is sent only after it ('end' can come while it waits for credit).
    let stdinSent: Promise<unknown> = Promise.resolve();
    const stdinEof = (s: TunnelSession): void => void stdinSent.then(() => s.stdinEof());
    const onMessage = (msg: ExecClientMessage): void => {
      const s = session;
      if (!s) return;
      if (msg.stdin?.length) {
        // Reading from the caller pauses until the kubelet has room for this chunk. Chunks
        // go one after another: a message already received despite pause() must not overtake.
        call.pause();
        const data = msg.stdin;
        stdinSent = stdinSent.then(() => s.writeStdin(data)).then(() => call.resume());
      }
      if (msg.resize) s.resize(msg.resize);
      if (msg.stdinEof) stdinEof(s);
    };
    let user: UserInfo;
    try {
      user = this.deps.gate.authenticate(call);
    } catch (err) {
      fail(asApiError(err));
      return;
    }
    call.once('data', (first: ExecClientMessage) => {
      let start: ExecStart;
      try {
        start = PodSessions.checkStart(sub, first);
      } catch (err) {
        fail(asApiError(err));
        return;
      }
      try {
        this.deps.gate.authorize(user, { verb: 'create', resource: 'pods', subresource: sub, namespace: start.namespace || 'default', name: start.name ?? '' });
      } catch (err) {
        fail(asApiError(err));
        return;
      }
      call.pause();
      const build = (pod: Pod): TunnelOpen => {
        const container = pickContainer(pod, start.name ?? '', start.container ?? '', false);
        if (sub === 'attach' && start.stdin) refuseAttachStdin(pod, start.name ?? '', container);
        const open = { ...start, container };
        return { ...(sub === 'exec' ? { exec: open } : { attach: open }), podUid: pod.metadata?.uid ?? '' };
      };
      this.open(sub, start.namespace ?? '', start.name ?? '', build, cb).then(
        (s) => {
          session = s;
          // The caller may have gone while the session was being opened.
          if (call.cancelled) {
            s.cancel();
            return;
          }
          call.on('cancelled', () => s.cancel());
          call.on('data', onMessage);
          call.on('end', () => stdinEof(s));
          call.resume();
        },
        (err: unknown) => fail(asApiError(err)),
      );
    });
  }

  /**
   * PodService.PortForward (tsctl port-forward): one connection to a port in
   * the pod, `create pods/portforward` as in Kubernetes. The first message
   * names the pod and port; data both ways, the caller's end half-closes.
   */
  portForward(call: grpc.ServerDuplexStream<PortForwardClientMessage, PortForwardServerMessage>): void {
    let failed = false;
    const fail = (err: ApiError): void => {
      if (failed) return;
      failed = true;
      this.deps.metrics.countRequest('create', 'pods/portforward', err.httpCode);
      call.emit('error', toServiceError(err));
    };
    let user: UserInfo;
    try {
      user = this.deps.gate.authenticate(call);
    } catch (err) {
      fail(asApiError(err));
      return;
    }
    call.once('data', (first: PortForwardClientMessage) => {
      const start = first.start;
      const port = start?.port ?? 0;
      if (!start || !(Number.isInteger(port) && port >= 1 && port <= 65535)) {
        fail(new BadRequestError('port-forward: the first message must carry start with a port 1-65535'));
        return;
      }
      const namespace = start.namespace || 'default';
      try {
        this.deps.gate.authorize(user, { verb: 'create', resource: 'pods', subresource: 'portforward', namespace, name: start.name ?? '' });
      } catch (err) {
        fail(asApiError(err));
        return;
      }
      call.pause();
      const build = (pod: Pod): TunnelOpen => ({ portForward: { ...start, namespace }, podUid: pod.metadata?.uid ?? '' });
      const cb: SessionCallbacks = {
        onData: (_stream, data) => written(call.write({ data }), call),
        onExit: () => undefined,
        onError: (message, code) => fail(errorFromNode(message, code)),
        onClose: () => {
          if (failed) return;
          this.deps.metrics.countRequest('create', 'pods/portforward', 200);
          call.end();
        },
      };
      this.open('portforward', namespace, start.name ?? '', build, cb).then(
        (s) => {
          if (call.cancelled) {
            s.cancel();
            return;
          }
          let sent: Promise<unknown> = Promise.resolve();
          call.on('cancelled', () => s.cancel());
          call.on('data', (msg: PortForwardClientMessage) => {
            if (msg.data?.length) {
              // As exec's stdin: reading pauses until the node has room, chunks in order.
              call.pause();
              const data = msg.data;
              sent = sent.then(() => s.writeStdin(data)).then(() => call.resume());
            }
            if (msg.dataEof) sent = sent.then(() => s.stdinEof());
          });
          call.on('end', () => void sent.then(() => s.stdinEof()));
          call.resume();
        },
        (err: unknown) => fail(asApiError(err)),
      );
    });
  }
}
