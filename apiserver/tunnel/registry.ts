// The API server's side of the node tunnels: node name -> the live tunnel a
// kubelet opened with NodeTunnel/Connect. The API server never dials a node;
// log and exec sessions go down the tunnel (see tunnel/framing.ts for the
// framing). A reconnect replaces the old tunnel and ends its sessions.
// Only the node itself may open its tunnel: the caller must be authorized
// for `create nodes/tunnel` under the hello's node name (the node authorizer
// allows system:node:NAME exactly its own), else it could take over another
// node's exec and logs.

import type * as grpc from '@grpc/grpc-js';
import { ApiError, InternalError, toServiceError } from '../../api/errors';
import type { TunnelMessage, TunnelOpen } from '../../api/gen/tsk/v1/stream';
import { TunnelMux } from '../../tunnel';
import type { UserInfo } from '../auth/user';
import type { ApiServerMetrics } from '../metrics';
import { TunnelSession, type SessionCallbacks } from './session';
import { errorMessage } from '../../util/errors';

/** How long a kubelet has to send its hello. */
const HELLO_TIMEOUT_MS = 10_000;

export class NodeTunnel {
  readonly mux: TunnelMux;

  constructor(
    readonly nodeName: string,
    private readonly call: grpc.ServerDuplexStream<TunnelMessage, TunnelMessage>,
  ) {
    this.mux = new TunnelMux((msg) => call.write(msg));
  }

  /** Opens a session on the node; `kind` labels the sessions metric. */
  open(open: TunnelOpen, cb: SessionCallbacks): TunnelSession {
    const id = this.mux.allocate();
    const session = new TunnelSession(this.mux, id, cb);
    this.mux.register(id, session);
    this.mux.send({ streamId: id, open });
    return session;
  }

  close(reason: string): void {
    this.mux.closeAll(reason);
    this.call.end();
  }
}

/** The gate's part the tunnels need (apiserver/grpc/gate.ts). */
export interface TunnelGate {
  authenticate(call: grpc.ServerDuplexStream<TunnelMessage, TunnelMessage>): UserInfo;
  authorize(user: UserInfo, attrs: { verb: string; resource: string; subresource: string; name: string }): void;
}

function asApiError(err: unknown): ApiError {
  return err instanceof ApiError ? err : new InternalError(errorMessage(err));
}

export class TunnelRegistry {
  private readonly tunnels = new Map<string, NodeTunnel>();

  constructor(
    private readonly metrics: ApiServerMetrics,
    private readonly log: (msg: string) => void,
  ) {}

  get(nodeName: string): NodeTunnel | undefined {
    return this.tunnels.get(nodeName);
  }

  /** Serves one NodeTunnel/Connect call for its whole life. */
  serve(call: grpc.ServerDuplexStream<TunnelMessage, TunnelMessage>, gate: TunnelGate): void {
    let tunnel: NodeTunnel | undefined;
    let refused = false;
    const refuse = (err: unknown, node: string): void => {
      refused = true;
      clearTimeout(helloTimer);
      const apiErr = asApiError(err);
      this.metrics.countRequest('create', 'nodes/tunnel', apiErr.httpCode);
      this.log(`node tunnel ${node ? `for ${node} ` : ''}refused: ${apiErr.message}`);
      call.emit('error', toServiceError(apiErr));
    };
    const helloTimer = setTimeout(() => call.end(), HELLO_TIMEOUT_MS);
    let caller: UserInfo;
    try {
      caller = gate.authenticate(call);
    } catch (err) {
      refuse(err, '');
      return;
    }
    const ended = (why: string): void => {
      clearTimeout(helloTimer);
      if (!tunnel) return;
      tunnel.mux.closeAll(why);
      if (this.tunnels.get(tunnel.nodeName) === tunnel) {
        this.tunnels.delete(tunnel.nodeName);
        this.metrics.nodeTunnels.set(this.tunnels.size);
        this.log(`node tunnel from ${tunnel.nodeName} closed: ${why}`);
      }
    };
    call.on('data', (msg: TunnelMessage) => {
      if (refused) return;
      if (tunnel) {
        tunnel.mux.dispatch(msg);
        return;
      }
      const node = msg.hello?.nodeName ?? '';
      if (!node) {
        call.end();
        return;
      }
      try {
        gate.authorize(caller, { verb: 'create', resource: 'nodes', subresource: 'tunnel', name: node });
      } catch (err) {
        refuse(err, node);
        return;
      }
      clearTimeout(helloTimer);
      this.metrics.countRequest('create', 'nodes/tunnel', 200);
      tunnel = new NodeTunnel(node, call);
      const old = this.tunnels.get(node);
      if (old) old.close('replaced by a new connection from the node');
      this.tunnels.set(node, tunnel);
      this.metrics.nodeTunnels.set(this.tunnels.size);
      call.write({ streamId: 0, hello: { nodeName: node } });
      this.log(`node tunnel from ${node} connected`);
    });
    call.on('end', () => {
      ended('the node closed it');
      call.end();
    });
    call.on('error', (err: Error) => ended(err.message));
    call.on('cancelled', () => ended('cancelled'));
  }

  /** Ends every tunnel (shutdown). */
  closeAll(): void {
    for (const t of [...this.tunnels.values()]) t.close('the API server is shutting down');
    this.tunnels.clear();
    this.metrics.nodeTunnels.set(0);
  }
}
