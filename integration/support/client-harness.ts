// A control plane for the client library's and tsctl's integration tests:
// a real etcd, the API server in-process on a FIXED free port (so it can be
// restarted at the same address and clients reconnect), and a TCP proxy that
// can cut connections to test reconnection (as etcd3's tests do).

import type { ExecutionContext } from 'ava';
import { Etcd3 } from 'etcd3';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { startApiServer, type ApiServerOptions, type RunningApiServer } from '../../apiserver/server';
import { freePort } from '../../util/free-port';
import { startTestEtcd, type TestEtcd } from './etcd';
import { testTls } from './pki';

export interface TestControlPlane {
  readonly etcd: TestEtcd;
  /** The API server's gRPC HOST:PORT (stable across restart()). */
  readonly address: string;
  readonly server: RunningApiServer;
  /** Stops the API server and starts it again on the same address. */
  restart(between?: () => Promise<void>): Promise<void>;
  stopServer(): Promise<void>;
  startServer(): Promise<void>;
  /** Compacts etcd's history up to its current revision. */
  compactEtcd(): Promise<number>;
}

export async function startControlPlane(t: ExecutionContext, extra: Partial<ApiServerOptions> = {}): Promise<TestControlPlane> {
  const etcd = await startTestEtcd(t);
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const tls = await testTls();
  const opts = (): ApiServerOptions => ({
    tls: tls.serving,
    etcdServers: [etcd.etcd.clientUrl],
    address,
    httpAddress: '127.0.0.1:0',
    log: () => undefined,
    ...extra,
  });
  let server: RunningApiServer | undefined = await startApiServer(opts());
  const plane: TestControlPlane = {
    etcd,
    address,
    get server(): RunningApiServer {
      if (!server) throw new Error('the API server is stopped');
      return server;
    },
    async stopServer() {
      const s = server;
      server = undefined;
      await s?.stop();
    },
    async startServer() {
      if (server) throw new Error('the API server is already running');
      server = await startApiServer(opts());
    },
    async restart(between) {
      await plane.stopServer();
      await between?.();
      await plane.startServer();
    },
    async compactEtcd() {
      const client = new Etcd3({ hosts: etcd.etcd.clientUrl });
      try {
        const res = await client.kv.range({ key: Buffer.from('/'), limit: '1' });
        const revision = res.header.revision;
        await client.kv.compact({ revision, physical: true });
        return Number(revision);
      } finally {
        client.close();
      }
    },
  };
  t.teardown(() => plane.stopServer());
  return plane;
}

/** A TCP proxy on a free 127.0.0.1 port; cut() drops every connection and refuses new ones until resume(). */
export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private cutOff = false;
  private constructor(
    private readonly server: Server,
    readonly address: string,
  ) {}

  static async start(t: ExecutionContext, target: string): Promise<TcpProxy> {
    const i = target.lastIndexOf(':');
    const host = target.slice(0, i);
    const port = Number(target.slice(i + 1));
    const listenPort = await freePort();
    let proxy: TcpProxy | undefined;
    const server = createServer((client) => {
      if (!proxy || proxy.cutOff) {
        client.destroy();
        return;
      }
      const upstream = connect(port, host);
      for (const s of [client, upstream]) {
        proxy.sockets.add(s);
        s.on('close', () => proxy?.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(listenPort, '127.0.0.1', resolve));
    proxy = new TcpProxy(server, `127.0.0.1:${listenPort}`);
    t.teardown(() => proxy?.close());
    return proxy;
  }

  cut(): void {
    this.cutOff = true;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  resume(): void {
    this.cutOff = false;
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export { eventually } from './wait';
