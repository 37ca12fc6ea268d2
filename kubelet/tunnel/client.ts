// The kubelet's reverse tunnel to the API server (NodeTunnel/Connect): opened
// by the kubelet, so the API server reaches nodes behind NAT or in network
// namespaces it cannot dial (a `tsk lab` node talks to it through a unix
// socket). Reconnects with back-off, so an API server restart only ends the
// sessions open at that moment.

import type { ClientDuplexStream } from '@grpc/grpc-js';
import { NodeTunnelService, type TunnelMessage } from '../../api/gen/tsk/v1/stream';
import type { Connection } from '../../client';
import { TunnelMux } from '../../tunnel';
import { Backoff } from '../../util/backoff';
import type { ContainerRuntime } from '../runtime/runtime';
import { SessionServer } from './sessions';

export interface TunnelClientOptions {
  connection: Connection;
  nodeName: string;
  runtime: ContainerRuntime;
  log: (line: string) => void;
  /** First and largest wait between connection attempts; default 250 ms and 10 s. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

/** A tunnel that stayed up this long resets the back-off. */
const STABLE_MS = 10_000;

export class TunnelClient {
  private readonly sessions: SessionServer;
  private call: ClientDuplexStream<TunnelMessage, TunnelMessage> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly backoff: Backoff;
  private stopped = false;
  private connected = false;

  constructor(private readonly o: TunnelClientOptions) {
    this.sessions = new SessionServer(o.runtime, o.log);
    this.backoff = new Backoff({ initialMs: o.initialBackoffMs ?? 250, maxMs: o.maxBackoffMs ?? 10_000 });
  }

  start(): void {
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.call?.cancel();
  }

  private connect(): void {
    if (this.stopped) return;
    const call = this.o.connection.bidiStream(NodeTunnelService.connect);
    this.call = call;
    const mux = new TunnelMux((m) => call.write(m));
    const openedAt = Date.now();
    let over = false;
    call.on('data', (msg: TunnelMessage) => {
      if (msg.hello) {
        // The API server's answer to our hello: the tunnel is registered.
        this.connected = true;
        this.o.log(`tunnel to the API server at ${this.o.connection.address} is up`);
        return;
      }
      if (msg.open && msg.streamId) this.sessions.open(mux, msg.streamId, msg.open);
      else mux.dispatch(msg);
    });
    const ended = (why: string): void => {
      if (over) return;
      over = true;
      mux.closeAll(why);
      if (this.stopped) return;
      if (this.connected) this.o.log(`tunnel to the API server closed (${why}); reconnecting`);
      this.connected = false;
      if (Date.now() - openedAt > STABLE_MS) this.backoff.reset();
      this.timer = setTimeout(() => this.connect(), this.backoff.next());
    };
    call.on('error', (err: Error) => ended(err.message));
    call.on('end', () => ended('the API server ended it'));
    call.on('status', (st: { details?: string }) => ended(st.details ?? 'closed'));
    call.write({ streamId: 0, hello: { nodeName: this.o.nodeName } });
  }
}
