// An API server for one integration test, on a real etcd from startTestEtcd,
// with raw gRPC clients built from the generated service definitions (no
// dependency on the client library, so the server is tested on its own).

import * as grpc from '@grpc/grpc-js';
import type { ExecutionContext } from 'ava';
import { ApiError, fromServiceError } from '../../api/errors';
import * as apiGen from '../../api/gen/tsk/v1/api';
import type { Pod } from '../../api/gen/tsk/v1/core';
import type { DeleteRequest, GetRequest, ListRequest, WatchRequest } from '../../api/gen/tsk/v1/meta';
import { KINDS, type KindName, type KindObjects, type ListOf, type MethodDef } from '../../api/kinds';
import { startApiServer, type ApiServerOptions, type RunningApiServer } from '../../apiserver/server';
import type { TestEtcd } from './etcd';
import { testTls, type TestTls } from './pki';
import { channelCredentials } from '../../client/connection';

type M = MethodDef<unknown, unknown>;

/** A minimal valid pod (busybox sleeping) for tests that only need some pod. */
export function pod(name: string, labels: Record<string, string> = { app: 'web' }, ns = 'default'): Pod {
  return { metadata: { name, namespace: ns, labels }, spec: { containers: [{ name: 'main', image: 'busybox:1.36', command: ['sleep', '3600'] }] } };
}

/** The ApiError a call fails with; the test fails if it succeeds or fails otherwise. */
export async function rejects(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}

export interface WatchEvent<T> {
  type: string;
  object: T;
}

/** A watch stream: events arrive in `events`; `next()` waits for the next one. */
export class TestWatch<T> {
  readonly events: WatchEvent<T>[] = [];
  error: ApiError | undefined;
  ended = false;
  private waiters: (() => void)[] = [];
  /** Resolves when the server sent the response headers: the watch is registered. */
  readonly registered: Promise<void>;
  constructor(readonly call: grpc.ClientReadableStream<WatchEvent<T>>) {
    this.registered = new Promise((resolve) => call.once('metadata', () => resolve()));
    call.on('data', (e: WatchEvent<T>) => {
      this.events.push(e);
      this.wake();
    });
    call.on('error', (err: grpc.ServiceError) => {
      if (err.code !== grpc.status.CANCELLED) this.error = fromServiceError(err);
      this.ended = true;
      this.wake();
    });
    call.on('end', () => {
      this.ended = true;
      this.wake();
    });
  }
  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  /** Waits until `n` events (optionally only non-BOOKMARK) arrived, or the stream ended. */
  async waitFor(pred: (events: WatchEvent<T>[]) => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this.events)) {
      if (this.ended) throw new Error(`watch ended${this.error ? `: ${this.error.message}` : ''} after ${this.events.length} events`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for watch events; have ${this.events.map((e) => e.type).join(',')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
  async waitEnd(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      if (Date.now() > deadline) throw new Error('timed out waiting for the watch to end');
      await new Promise<void>((r) => {
        const timer = setTimeout(r, 100);
        this.waiters.push(() => {
          clearTimeout(timer);
          r();
        });
      });
    }
  }
  objects(): WatchEvent<T>[] {
    return this.events.filter((e) => e.type !== 'BOOKMARK');
  }
  cancel(): void {
    this.call.cancel();
  }
}

/** Promise-returning calls for one kind over a raw grpc.Client. */
export class RawKindClient<K extends KindName> {
  private readonly def: Record<string, M>;
  constructor(
    private readonly client: grpc.Client,
    readonly kind: K,
  ) {
    this.def = (kind === 'Pod' ? apiGen.PodServiceService : KINDS[kind].service) as unknown as Record<string, M>;
  }

  private unary<Res>(method: string, req: unknown): Promise<Res> {
    const m = this.def[method]!;
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, req, { deadline: Date.now() + 30_000 }, (err, res) => {
        if (err) reject(fromServiceError(err));
        else resolve(res as Res);
      });
    });
  }

  create(object: KindObjects[K], options: { dryRun?: boolean } = {}): Promise<KindObjects[K]> {
    return this.unary('create', { object, options });
  }
  get(namespace: string, name: string): Promise<KindObjects[K]> {
    return this.unary('get', { namespace, name } satisfies GetRequest);
  }
  list(req: Partial<ListRequest> = {}): Promise<ListOf<KindObjects[K]>> {
    return this.unary('list', req);
  }
  update(object: KindObjects[K], options: { dryRun?: boolean } = {}): Promise<KindObjects[K]> {
    return this.unary('update', { object, options });
  }
  updateStatus(object: KindObjects[K], options: { dryRun?: boolean } = {}): Promise<KindObjects[K]> {
    return this.unary('updateStatus', { object, options });
  }
  delete(req: Partial<DeleteRequest>): Promise<KindObjects[K]> {
    return this.unary('delete', req);
  }
  bind(binding: apiGen.BindRequest['binding']): Promise<KindObjects[K]> {
    return this.unary('bind', { binding });
  }
  /** Sends raw bytes as a create request (for oversized and malformed input). */
  createRaw(bytes: Buffer): Promise<KindObjects[K]> {
    const m = this.def['create']!;
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        m.path,
        (b: Buffer) => b,
        m.responseDeserialize,
        bytes,
        (err, res) => {
          if (err) reject(fromServiceError(err));
          else resolve(res as KindObjects[K]);
        },
      );
    });
  }
  watch(req: Partial<WatchRequest> = {}): TestWatch<KindObjects[K]> {
    const m = this.def['watch']!;
    const call = this.client.makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, req) as grpc.ClientReadableStream<
      WatchEvent<KindObjects[K]>
    >;
    return new TestWatch(call);
  }
}

/** A raw gRPC client with the admin credential; TLS names localhost, which the test certificate covers. */
function rawClient(address: string, tls: TestTls): grpc.Client {
  return new grpc.Client(address, channelCredentials(tls.admin), { 'grpc.max_send_message_length': -1, 'grpc.ssl_target_name_override': 'localhost' });
}

export interface TestApiServer {
  server: RunningApiServer;
  client: grpc.Client;
  kind<K extends KindName>(kind: K): RawKindClient<K>;
  /** Stops the API server and starts a new one on the same etcd (new ports). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestApiServer(t: ExecutionContext, etcd: TestEtcd, extra: Partial<ApiServerOptions> = {}): Promise<TestApiServer> {
  const tls = await testTls();
  const opts = (): ApiServerOptions => ({
    tls: tls.serving,
    etcdServers: [etcd.etcd.clientUrl],
    address: '127.0.0.1:0',
    httpAddress: '127.0.0.1:0',
    log: () => undefined,
    ...extra,
  });
  let server = await startApiServer(opts());
  let client = rawClient(server.grpcAddress, tls);
  const state: TestApiServer = {
    get server() {
      return server;
    },
    get client() {
      return client;
    },
    kind: <K extends KindName>(kind: K) => new RawKindClient(client, kind),
    async restart() {
      client.close();
      await server.stop();
      server = await startApiServer(opts());
      client = rawClient(server.grpcAddress, tls);
    },
    async stop() {
      client.close();
      await server.stop();
    },
  };
  t.teardown(() => state.stop());
  return state;
}
