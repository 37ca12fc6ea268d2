// The architecture's floor, for bench/api.ts: a gRPC server (@grpc/grpc-js)
// whose Create does only what no API server can avoid: one etcd3 transaction
// that creates the request's bytes under a new key if it is absent, with an
// etcd watch on the prefix receiving every event (an API server's watch
// cache). No decoding, defaulting, validation, encoding or caching. Its
// creates/s is the most any API server built on grpc-js and etcd3 can reach
// on this machine; the bench prints it beside tsk's.
//
// Run as a child: node floor-server.js ETCD_URL; prints "port N" when ready.

import * as grpc from '@grpc/grpc-js';
import { Etcd3 } from 'etcd3';
import { errorMessage } from '../util/errors';

const PREFIX = '/floor/pods/default/';

const identity = (b: Buffer): Buffer => b;
export const FLOOR_CREATE: grpc.MethodDefinition<Buffer, Buffer> = {
  path: '/tsk.bench.Floor/Create',
  requestStream: false,
  responseStream: false,
  requestSerialize: identity,
  requestDeserialize: identity,
  responseSerialize: identity,
  responseDeserialize: identity,
};

async function main(): Promise<void> {
  const etcdUrl = process.argv[2];
  if (!etcdUrl) throw new Error('usage: floor-server ETCD_URL');
  const etcd = new Etcd3({ hosts: etcdUrl });
  let events = 0;
  const watcher = await etcd.watch().prefix(PREFIX).create();
  watcher.on('put', () => events++);
  let next = 0;
  const server = new grpc.Server();
  server.addService({ create: FLOOR_CREATE } as grpc.ServiceDefinition, {
    create: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      const key = Buffer.from(`${PREFIX}${next++}`);
      etcd.kv.txn({ compare: [{ key, target: 'Mod', result: 'Equal', mod_revision: 0 }], success: [{ request_put: { key, value: call.request } }] }).then(
        () => callback(null, call.request),
        (err: Error) => callback({ code: grpc.status.UNAVAILABLE, details: err.message }),
      );
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  process.stdout.write(`port ${port}\n`);
  process.on('SIGTERM', () => {
    process.stderr.write(`floor-server: ${events} watch events received\n`);
    server.forceShutdown();
    void watcher.cancel().finally(() => {
      etcd.close();
      process.exit(0);
    });
  });
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`floor-server: ${errorMessage(err)}\n`);
    process.exit(1);
  });
}
